package actors

import (
	"errors"
	"fmt"
	"slices"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-ml/troupe/actors/core"
	"github.com/troupe-ml/troupe/engine/nn"
	"github.com/troupe-ml/troupe/engine/optim"
	"github.com/troupe-ml/troupe/engine/train"
	"github.com/troupe-ml/troupe/messages"
)

// shard is one parameter-server shard. It owns a contiguous slice of the
// flattened parameters, the optimizer state for that slice, and a
// core.Clock that decides, under the configured consistency, when a pull
// is answered and which pushed gradients form one update.
type shard struct {
	p    *plan
	t    *topology
	out  *outcome
	k    int
	name string
	segs []segment

	params []optim.Param // the owned slices, with their gradient accumulators
	opt    optim.Optimizer
	sched  optim.Schedule
	clk    *core.Clock
	// pushed holds gradients until an Apply names them: views of the
	// pushing replica's memory, which it lent with the push, or copies in
	// the shard's own memory once the loan ends (see keep).
	pushed  map[gradKey]held
	spare   [][][]float32 // own gradient buffers free for reuse
	version uint64        // the clock's: updates applied so far
	index   map[core.WorkerID]int
	// replies[i] answers worker i's pulls, reused once i has sent its next
	// message. With lend its tensors are views of params; otherwise of
	// copies[i], which each reply refreshes.
	replies []*messages.Params
	copies  [][][]float32
	lend    bool
	grads   [][][]float32 // per worker: scratch for a push's views
	codec   shardCodec    // decodes compressed pushes (compress.go)
	lost    shardLoss     // replicas the coordinator declared lost (ps_restore.go)
	// bound is the memory the optimizer reads gradients from when it is not
	// the shards' own Grad buffers: a lone replica's, whose pushes lend the
	// same memory every step (see apply). tried is set once it was bound.
	bound [][]float32
	tried bool
	m     meter
	// waiting holds end-of-epoch requests that came before every replica
	// had left the clock (see answer).
	waiting []request
	every   shardEval // mid-epoch evaluations (evalevery_shard.go)
}

// request is a request to answer later.
type request struct {
	from *actor.PID
	msg  any
}

type gradKey struct {
	w    core.WorkerID
	step int
}

// held is a pushed gradient; lent ones are views of the pusher's memory.
type held struct {
	g    [][]float32
	lent bool
}

func newShard(p *plan, t *topology, out *outcome, k int, g *depthGauge) *shard {
	s := &shard{p: p, t: t, out: out, k: k, name: shardName(k), segs: p.parts[k],
		pushed: map[gradKey]held{}, index: map[core.WorkerID]int{},
		grads: make([][][]float32, p.workers),
		// Under BSP an update needs a push from every live replica, and
		// a replica pushes only once done with its parameters; a lone
		// replica's own push is the next update whatever the consistency.
		// Either way no update can change the parameters a reply shows
		// before the replica's next message, so replies may show them live.
		lend: p.sync == core.BSP || p.workers == 1,
	}
	for i := range p.workers {
		s.index[workerID(i)] = i
	}
	s.m.gauge = g
	return s
}

func (s *shard) Receive(ctx actor.Context) {
	if s.out.ended() {
		return
	}
	if s.fence(ctx) {
		return // ps_restore.go
	}
	var err error
	switch m := ctx.Message().(type) {
	case *actor.Started:
		err = s.start()
	case *messages.PullParams:
		s.m.set(busy)
		acts, serr := s.clk.Step(core.Pull{Worker: workerID(int(m.GetWorker())), Step: int(m.GetStep())})
		err = s.do(ctx, acts, serr)
		s.m.set(idle)
	case *messages.PushGradients:
		s.m.set(busy)
		err = s.push(ctx, m)
		s.m.set(idle)
	case *messages.Presence:
		err = s.presence(ctx, m)
	case *messages.Evaluate, *messages.EpochEnd:
		s.answer(ctx, ctx.Sender(), m)
	case *messages.EvalResult:
		s.resumeEval(ctx) // evalevery_shard.go
	}
	if err != nil {
		s.out.fail(fmt.Errorf("actors: %s: %w", s.name, err))
	}
}

// start takes the shard's slices of the job's initial parameters: the
// model built from the job's seed, as the plain loop builds it, or the
// checkpoint's model and optimizer state when the job resumes.
func (s *shard) start() error {
	var model *nn.Model
	if s.p.from != nil {
		model = s.p.from.Model
	} else {
		var err error
		if model, err = train.NewModel(s.p.job); err != nil {
			return err
		}
	}
	full := model.Params()
	for _, g := range s.segs {
		data := slices.Clone(full[g.param].T.Data[g.lo:g.hi])
		s.params = append(s.params, optim.Param{Name: g.name, Data: data, Grad: make([]float32, len(data)), NoDecay: g.noDecay})
	}
	var err error
	if s.opt, err = train.NewOptimizerOn(s.p.job, s.params, s.p.cpu()); err != nil {
		return err
	}
	if err := s.resumeState(); err != nil {
		return err
	}
	if s.sched, err = train.NewSchedule(s.p.job, s.p.stepsPerEpoch); err != nil {
		return err
	}
	s.clk, err = core.NewClock(core.ClockConfig{Mode: s.p.sync, Staleness: s.p.staleness})
	if err != nil {
		return err
	}
	for range s.p.workers {
		if s.lend {
			s.replies = append(s.replies, &messages.Params{Shard: uint32(s.k),
				Params: viewTensors(s.segs, func(i int, _ segment) []float32 { return s.params[i].Data })})
			continue
		}
		bufs := s.newBuffers()
		s.copies = append(s.copies, bufs)
		s.replies = append(s.replies, &messages.Params{Shard: uint32(s.k),
			Params: viewTensors(s.segs, func(i int, _ segment) []float32 { return bufs[i] })})
	}
	return nil
}

// newBuffers allocates one buffer per owned segment.
func (s *shard) newBuffers() [][]float32 {
	bufs := make([][]float32, len(s.params))
	for i, p := range s.params {
		bufs[i] = make([]float32, len(p.Data))
	}
	return bufs
}

func (s *shard) push(ctx actor.Context, m *messages.PushGradients) error {
	w := int(m.GetWorker())
	if w >= s.p.workers || int(m.GetShard()) != s.k {
		return fmt.Errorf("push from worker %d for shard %d: %w", w, m.GetShard(), core.ErrProtocol)
	}
	key := gradKey{w: workerID(w), step: int(m.GetStep())}
	if _, dup := s.pushed[key]; dup {
		return nil // a repeat of a push that is still pending
	}
	if k, ok := s.lentBy(key.w); ok {
		// The scratch below still holds that loan; only a replica that
		// pushes twice without a reply between can cause this.
		return fmt.Errorf("push from %s for step %d while its push for step %d is held: %w", key.w, key.step, k.step, core.ErrProtocol)
	}
	h, err := s.received(w, m) // compress.go
	if err != nil {
		return err
	}
	s.pushed[key] = h
	acts, err := s.clk.Step(core.Push{Worker: key.w, Step: key.step, Version: m.GetParamVersion()})
	if err != nil {
		delete(s.pushed, key)
		if errors.Is(err, core.ErrDuplicate) {
			return nil
		}
		return err
	}
	s.m.samples += uint64(m.GetSamples())
	return s.do(ctx, acts, nil)
}

// presence moves a replica in or out of the clock. A join comes from the
// coordinator, which gets the step the replica is admitted at.
func (s *shard) presence(ctx actor.Context, m *messages.Presence) error {
	w := int(m.GetWorker())
	if w >= s.p.workers {
		return fmt.Errorf("presence of unknown worker %d: %w", w, core.ErrUnknown)
	}
	if !m.GetActive() {
		acts, err := s.clk.Step(core.WorkerLeft{Worker: workerID(w)})
		if err := s.do(ctx, acts, err); err != nil {
			return err
		}
		s.answerWaiting(ctx)
		return nil
	}
	acts, err := s.clk.Step(core.WorkerJoined{Worker: workerID(w)})
	if err != nil {
		return err
	}
	for _, a := range acts {
		if a, ok := a.(core.Admit); ok {
			ctx.Respond(&messages.Presence{Worker: uint32(w), Active: true, Epoch: m.GetEpoch(), Step: uint64(a.Step)})
		}
	}
	return nil
}

func (s *shard) do(ctx actor.Context, acts []core.ClockAction, err error) error {
	if err != nil {
		return err
	}
	for _, a := range acts {
		switch a := a.(type) {
		case core.Apply:
			if err := s.apply(a); err != nil {
				return err
			}
			s.evalReached(ctx)
		case core.Reply:
			if s.holdReply(a.Worker) {
				continue // until the evaluation is over
			}
			s.keep(a.Worker)
			ctx.Send(s.t.workers[s.index[a.Worker]], s.reply(s.index[a.Worker]))
		}
	}
	return nil
}

// reply returns worker i's reply message at the current version. The
// replica sent a pull to get here, so it is done with the previous one.
func (s *shard) reply(i int) *messages.Params {
	r := s.replies[i]
	if !s.lend {
		for j, p := range s.params {
			copy(s.copies[i][j], p.Data)
		}
	}
	r.Version = s.version
	return r
}

// lentBy returns the key of a gradient that w lent and the shard still holds.
func (s *shard) lentBy(w core.WorkerID) (gradKey, bool) {
	for k, h := range s.pushed {
		if k.w == w && h.lent {
			return k, true
		}
	}
	return gradKey{}, false
}

// keep ends w's gradient loans before a reply to w, which gives the
// replica its memory back: a gradient it lent that no Apply has used yet is
// copied into the shard's own memory. The clocks apply every push before
// the pusher's next reply, so this is a safeguard, not a hot path.
func (s *shard) keep(w core.WorkerID) {
	for {
		k, ok := s.lentBy(w)
		if !ok {
			return
		}
		var own [][]float32
		if n := len(s.spare); n > 0 {
			own, s.spare = s.spare[n-1], s.spare[:n-1]
		} else {
			own = s.newBuffers()
		}
		for i, g := range s.pushed[k].g {
			copy(own[i], g)
		}
		s.pushed[k] = held{g: own}
	}
}

// apply adds Scale × the named gradients, in worker order so that the sum
// does not depend on arrival order, and steps the optimizer with the
// schedule's rate for the version before this update, as the plain loop
// uses its step count. The first term is a product rather than an added
// one, so that a lone gradient with scale 1 arrives bit for bit.
func (s *shard) apply(a core.Apply) error {
	refs := a.Grads
	if len(refs) > 1 {
		refs = slices.Clone(refs)
		slices.SortFunc(refs, func(x, y core.GradRef) int {
			if d := s.index[x.Worker] - s.index[y.Worker]; d != 0 {
				return d
			}
			return x.Step - y.Step
		})
	}
	for n, r := range refs {
		key := gradKey{w: r.Worker, step: r.Step}
		h, ok := s.pushed[key]
		if !ok {
			return fmt.Errorf("apply names gradient %s@%d, which is not held: %w", r.Worker, r.Step, core.ErrProtocol)
		}
		delete(s.pushed, key)
		direct, err := s.direct(h, len(refs), a.Scale)
		if err != nil {
			return err
		}
		if direct {
			break
		}
		for i, p := range s.params {
			acc, src := p.Grad, h.g[i]
			switch {
			case n == 0 && a.Scale == 1:
				// x × 1 is x (NaN payloads aside), and a copy is cheaper.
				copy(acc, src)
			case n == 0:
				for j := range acc {
					acc[j] = src[j] * a.Scale
				}
			default:
				for j := range acc {
					acc[j] += src[j] * a.Scale
				}
			}
		}
		if !h.lent {
			s.spare = append(s.spare, h.g)
		}
	}
	s.opt.Step(s.sched.LR(s.p.base + s.lost.position(s.p, a.Version))) // ps_restore.go
	s.version = a.Version
	return nil
}

// direct reports whether the optimizer reads the lone gradient h of an
// update where it lies, and binds it there the first time. A lone replica in
// this process computes every gradient in the same memory and lends it with
// each push until the shard's next reply, so an optimizer built over that
// memory reads it only while it is lent, and the update needs no copy. Any
// other update goes through the shard's own Grad buffers, and the first one
// that does after a binding ends it for the run.
func (s *shard) direct(h held, grads int, scale float32) (bool, error) {
	lone := s.p.workers == 1 && grads == 1 && scale == 1 && h.lent
	if lone && s.bound == nil && !s.tried {
		s.tried = true
		if err := s.rebind(h.g); err != nil {
			return false, err
		}
	}
	if lone && s.bound != nil && sameMemory(s.bound, h.g) {
		return true, nil
	}
	if s.bound != nil {
		return false, s.rebind(nil)
	}
	return false, nil
}

// rebind rebuilds the optimizer to read gradients from grads (nil: the own
// Grad buffers), carrying its state over.
func (s *shard) rebind(grads [][]float32) error {
	ps := slices.Clone(s.params)
	if grads != nil {
		for i := range ps {
			ps[i].Grad = grads[i]
		}
	}
	opt, err := train.NewOptimizerOn(s.p.job, ps, s.p.cpu())
	if err != nil {
		return err
	}
	if err := opt.LoadState(s.opt.State()); err != nil {
		return fmt.Errorf("moving the optimizer state to new gradient buffers: %w", err)
	}
	// The views come in a scratch slice that the next push overwrites.
	s.opt, s.bound = opt, slices.Clone(grads)
	return nil
}

func sameMemory(a, b [][]float32) bool {
	for i := range a {
		if len(a[i]) != len(b[i]) || (len(a[i]) > 0 && &a[i][0] != &b[i][0]) {
			return false
		}
	}
	return len(a) == len(b)
}

// snapshot copies the owned parameters, followed by the optimizer's state
// (see stateTensors), into a new Params message, for the coordinator's
// evaluation and checkpoint.
func (s *shard) snapshot() *messages.Params {
	ts := sliceTensors(s.segs, func(i int, _ segment) []float32 { return s.params[i].Data })
	ts = append(ts, stateTensors(s.segs, s.opt.State())...)
	return &messages.Params{Version: s.version, Shard: uint32(s.k), Params: ts}
}

// answer replies to the coordinator's end-of-epoch requests, Evaluate with
// the parameters and EpochEnd with the metrics, once every replica has left
// the clock, so that the epoch's last update is in. In one process the
// replicas' leaves always come first (see coordinator.evaluate); when the
// replicas run in other processes than the coordinator, its request travels
// on another connection than their leaves and may overtake them, and then
// waits here.
func (s *shard) answer(ctx actor.Context, from *actor.PID, req any) {
	if e, ok := req.(*messages.Evaluate); ok && e.GetStep() > 0 {
		s.midEvaluate(ctx, from, e) // evalevery_shard.go
		return
	}
	if len(s.clk.Status().Workers) > 0 {
		s.waiting = append(s.waiting, request{from: from, msg: req})
		return
	}
	if from == nil {
		return // not a request: nobody to answer
	}
	switch req.(type) {
	case *messages.Evaluate:
		s.flushEval(ctx)
		ctx.Send(from, s.snapshot())
	case *messages.EpochEnd:
		ctx.Send(from, s.m.report(s.name))
	}
}

// answerWaiting answers the waiting requests once no replica is left.
func (s *shard) answerWaiting(ctx actor.Context) {
	if len(s.waiting) == 0 || len(s.clk.Status().Workers) > 0 {
		return
	}
	waiting := s.waiting
	s.waiting = nil
	for _, r := range waiting {
		s.answer(ctx, r.from, r.msg)
	}
}
