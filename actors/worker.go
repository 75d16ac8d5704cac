package actors

import (
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-ml/troupe/actors/core"
	"github.com/troupe-ml/troupe/engine/optim"
	"github.com/troupe-ml/troupe/engine/tensor"
	"github.com/troupe-ml/troupe/engine/train"
	"github.com/troupe-ml/troupe/messages"
)

// worker is a model shard: in data-parallel training, a full replica of
// the model. For each batch, in its link's order, it pulls the parameters
// of its current step from every parameter-server shard, computes the
// gradients, pushes each shard its slice, and gives the batch's credit
// back to the loader. It trains only between the coordinator's start signal
// for an epoch and its own end of that epoch, when it leaves the shards'
// clocks so that synchronous steps stop waiting for it.
type worker struct {
	p      *plan
	t      *topology
	out    *outcome
	i      int
	name   string
	tr     *train.Trainer
	params []optim.Param
	// model[j] is parameter j's tensor. Where shows[j] is set, its data is
	// the memory a shard's reply shows, else the replica's own, into which
	// replies are copied: a tensor that straddles shards needs one buffer.
	model []*tensor.Tensor
	shows []bool
	rcv   *core.Receiver
	// pulls[k] and pushes[k] are the messages to shard k, reused once the
	// shard has answered (see the package documentation); the pushes are
	// views of the Grad buffers. vals is scratch for a reply's views.
	pulls  []*messages.PullParams
	pushes []*messages.PushGradients
	vals   [][]float32
	// codec encodes the pushes when the job compresses them (compress.go);
	// nil for compress none.
	codec *pushCodec
	// sel is the step's data selection in progress and its buffers
	// (selector_worker.go); selStats counts the passes it ran this epoch.
	sel      selStep
	selStats passCounts
	buf      reorder

	ready    []*messages.Batch // arrived in order, not yet trained on
	cur      *messages.Batch   // the batch of the step in progress
	got      int               // parameter shards that answered for cur
	versions []uint64          // per shard: version of the parameters in use
	losses   []float32

	epoch      uint64
	step       int
	admitted   bool // started for the epoch and not yet left
	allArrived bool // the loader's last batch of the epoch is here
	m          meter
}

func newWorker(p *plan, t *topology, out *outcome, i int, g *depthGauge) *worker {
	w := &worker{p: p, t: t, out: out, i: i, name: workerName(i), versions: make([]uint64, p.shards)}
	w.m.gauge = g
	return w
}

func (w *worker) Receive(ctx actor.Context) {
	if w.out.ended() {
		return
	}
	var err error
	switch m := ctx.Message().(type) {
	case *actor.Started:
		err = w.start(ctx)
	case *messages.Batch:
		err = w.arrive(ctx, m)
	case *messages.EpochEnd:
		w.buf.end = m
		err = w.drain(ctx)
	case *messages.Presence:
		err = w.admit(ctx, m)
	case *messages.Params:
		err = w.takeParams(ctx, m)
	case *messages.Selection:
		err = w.selected(ctx, m)
	}
	if err != nil {
		w.out.fail(fmt.Errorf("actors: %s: %w", w.name, err))
	}
}

func (w *worker) start(ctx actor.Context) error {
	var err error
	if w.tr, err = train.NewReplica(w.p.job, w.i, w.p.backend); err != nil {
		return err
	}
	w.params = train.OptimParams(w.tr.Model())
	w.plumb()
	if err := w.plumbCompression(); err != nil {
		return err
	}
	w.rcv, err = core.NewReceiver(core.ReceiverConfig{Consumer: core.ConsumerID(workerID(w.i)), Window: w.p.prefetch})
	if err != nil {
		return err
	}
	w.buf.early = map[uint64]*messages.Batch{}
	acts, err := w.rcv.Step(core.Open{})
	w.grant(ctx, acts)
	return err
}

// plumb builds the reused messages and decides, per parameter, whether the
// replica computes on the memory of a shard's replies: those that lie whole
// in one shard and on the CPU (a device tensor's data is not its host
// slice).
func (w *worker) plumb() {
	for _, p := range w.tr.Model().Params() {
		w.model = append(w.model, p.T)
		w.shows = append(w.shows, p.T.Device() == tensor.CPU)
	}
	for k, segs := range w.p.parts {
		for _, g := range segs {
			if g.lo != 0 || g.hi != len(w.params[g.param].Data) {
				w.shows[g.param] = false
			}
		}
		w.pulls = append(w.pulls, &messages.PullParams{Worker: uint32(w.i), Shard: uint32(k)})
		w.pushes = append(w.pushes, &messages.PushGradients{Worker: uint32(w.i), Shard: uint32(k),
			Grads: viewTensors(segs, func(_ int, g segment) []float32 { return w.params[g.param].Grad[g.lo:g.hi] })})
	}
}

// grant carries out the receiver's actions: credit goes back to the loader.
func (w *worker) grant(ctx actor.Context, acts []core.ReceiverAction) {
	for _, a := range acts {
		switch a := a.(type) {
		case core.Grant:
			ctx.Send(w.t.loader, &messages.Credit{Stage: string(a.Consumer), N: uint32(a.N), Acked: a.Acked})
		case core.AllArrived:
			w.allArrived = true
		}
	}
}

func (w *worker) arrive(ctx actor.Context, b *messages.Batch) error {
	if int(b.GetWorker()) != w.i {
		return fmt.Errorf("batch %d of epoch %d addressed to worker %d: %w", b.GetSeq(), b.GetEpoch(), b.GetWorker(), core.ErrProtocol)
	}
	if err := w.buf.add(b, w.rcv.Status().Next, w.p.prefetch); err != nil {
		return err
	}
	return w.drain(ctx)
}

// drain steps the batches that are next on the link, then the end of the
// epoch once every batch before it is in, and starts work.
func (w *worker) drain(ctx actor.Context) error {
	for {
		b := w.buf.next(w.rcv.Status().Next)
		if b == nil {
			break
		}
		if _, err := w.rcv.Step(core.Arrived{Epoch: int(b.GetEpoch()), Seq: b.GetLinkSeq()}); err != nil {
			return err
		}
		w.ready = append(w.ready, b)
	}
	w.m.held = max(w.m.held, len(w.ready)+len(w.buf.early))
	if e := w.buf.end; e != nil && w.rcv.Status().Arrived == int(e.GetBatches()) {
		w.buf.end = nil
		end := core.EndOfEpoch{Consumer: core.ConsumerID(workerID(w.i)), Epoch: int(e.GetEpoch()), Batches: int(e.GetBatches())}
		acts, err := w.rcv.Step(end)
		if err != nil {
			return err
		}
		w.grant(ctx, acts)
	}
	return w.next(ctx)
}

// admit takes the coordinator's start signal: the epoch, and the step the
// shards admitted this replica at.
func (w *worker) admit(ctx actor.Context, m *messages.Presence) error {
	if !m.GetActive() || int(m.GetWorker()) != w.i {
		return fmt.Errorf("start signal %v: %w", m, core.ErrProtocol)
	}
	w.epoch, w.step, w.admitted = m.GetEpoch(), int(m.GetStep()), true
	return w.next(ctx)
}

// next starts the step of the next ready batch by pulling parameters, or
// leaves the clocks when the epoch holds nothing more for this replica.
func (w *worker) next(ctx actor.Context) error {
	if w.cur != nil {
		return nil
	}
	if !w.admitted {
		if len(w.ready) > 0 {
			w.m.set(blocked)
		}
		return nil
	}
	if len(w.ready) == 0 {
		if w.allArrived {
			w.leave(ctx)
		} else {
			w.m.set(idle)
		}
		return nil
	}
	w.cur, w.ready = w.ready[0], w.ready[1:]
	if w.cur.GetEpoch() != w.epoch {
		return fmt.Errorf("batch %d of epoch %d during epoch %d: %w", w.cur.GetSeq(), w.cur.GetEpoch(), w.epoch, core.ErrProtocol)
	}
	w.got = 0
	w.m.set(blocked)
	for k, s := range w.t.shards {
		pull := w.pulls[k]
		pull.Step = uint64(w.step)
		ctx.Send(s, pull)
	}
	return nil
}

// takeParams takes one shard's answer into the replica and, once every
// shard has answered, runs the step. The reply's memory stays as it is until
// this replica's next message to the shard, so the model computes on it
// directly where it can.
func (w *worker) takeParams(ctx actor.Context, m *messages.Params) error {
	k := int(m.GetShard())
	if w.cur == nil || k >= len(w.t.shards) {
		return fmt.Errorf("parameters from shard %d with no pull outstanding: %w", k, core.ErrProtocol)
	}
	segs := w.p.parts[k]
	vals, err := matchTensors(w.vals, segs, m.GetParams())
	if err != nil {
		return fmt.Errorf("parameters from shard %d: %w", k, err)
	}
	w.vals = vals
	for j, s := range segs {
		if w.shows[s.param] {
			w.model[s.param].Data = vals[j]
		} else {
			copy(w.params[s.param].Data[s.lo:s.hi], vals[j])
		}
	}
	w.versions[k] = m.GetVersion()
	if w.got++; w.got < len(w.t.shards) {
		return nil
	}
	return w.train(ctx)
}

func (w *worker) train(ctx actor.Context) error {
	b := w.cur
	w.m.set(busy)
	if d := w.p.hooks.workerDelay; d != nil {
		time.Sleep(d(w.i))
	}
	x, err := b.GetInputs().Float32()
	if err != nil {
		return fmt.Errorf("batch %d of epoch %d: inputs: %w", b.GetSeq(), b.GetEpoch(), err)
	}
	n := len(b.GetLabels())
	if cap(w.losses) < n {
		w.losses = make([]float32, n)
	}
	w.losses = w.losses[:n]
	if w.p.selects() {
		return w.selectStep(ctx, b, x, n) // selector_worker.go; it calls finish
	}
	loss, err := w.gradients(b, x, n)
	if err != nil {
		return fmt.Errorf("batch %d of epoch %d: %w", b.GetSeq(), b.GetEpoch(), err)
	}
	w.selStats.add(n, n)
	return w.finish(ctx, b, n, n, loss)
}

// finish ends the step on batch b, whose gradient is in the Grad buffers:
// n is how many samples the step covered (a batch's score-only samples
// aside), scored how many of them loss averages.
func (w *worker) finish(ctx actor.Context, b *messages.Batch, n, scored int, loss float32) error {
	if c := w.p.job.ClipNorm; c > 0 {
		// Each replica clips its own gradient: with one replica this is
		// the plain loop's clipping, with several it bounds each one's
		// share of the average.
		optim.ClipGradNorm(w.params, float32(c))
	}
	w.m.samples += uint64(n)
	if f := w.p.hooks.trained; f != nil {
		ids := b.GetSampleIds()
		f(w.i, b.GetEpoch(), ids[:len(ids)-int(b.GetScoreOnly())])
	}
	if f := w.p.hooks.trainedBatch; f != nil {
		f(w.i, b)
	}
	// The shards go last: Go runs the goroutine woken last on this core
	// first, and the replica waits for the shards, while the loader and the
	// coordinator have slack. Woken first, the loader made the next batch
	// before the shards could start the update.
	ctx.Send(w.t.coordinator, &messages.BatchDone{Worker: uint32(w.i), Epoch: b.GetEpoch(), Seq: b.GetSeq(),
		Samples: uint32(scored), Loss: float64(loss), ParamVersion: w.versions[0],
		ForwardSamples: w.selStats.forward, BackwardSamples: w.selStats.backward})
	acts, err := w.rcv.Step(core.Done{Seq: b.GetLinkSeq()})
	if err != nil {
		return err
	}
	w.grant(ctx, acts)
	// From here the replica waits for its update, which a shard on this
	// goroutine may compute inside the Send.
	w.m.set(blocked)
	for k, s := range w.t.shards {
		push := w.pushes[k]
		push.Step, push.ParamVersion, push.Samples = uint64(w.step), w.versions[k], uint32(n)
		if err := w.encodePush(k); err != nil {
			return err
		}
		size, err := w.sizePush(ctx, k)
		if err != nil {
			return err
		}
		w.m.pushBytes += uint64(size)
		ctx.Send(s, push)
	}
	w.m.steps++
	w.step++
	w.cur = nil
	return w.next(ctx)
}

// gradients leaves this batch's gradient in the replica's Grad buffers and
// returns the batch's mean loss.
func (w *worker) gradients(b *messages.Batch, x []float32, n int) (float32, error) {
	res, err := w.tr.GradientsTargets(x, mixTargets(b), w.losses)
	return res.Loss, err
}

func resize[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n)
}

// leave takes the replica out of every shard's clock for the rest of the
// epoch and tells the coordinator, metrics first.
func (w *worker) leave(ctx actor.Context) {
	w.admitted, w.allArrived = false, false
	w.m.set(idle)
	bye := &messages.Presence{Worker: uint32(w.i), Active: false, Epoch: w.epoch, Step: uint64(w.step)}
	for _, s := range w.t.shards {
		ctx.Send(s, bye)
	}
	r := w.m.report(w.name)
	w.selStats.report(r)
	w.selStats = passCounts{}
	ctx.Send(w.t.coordinator, r)
	ctx.Send(w.t.coordinator, bye)
}
