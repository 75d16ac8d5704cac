package actors

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-ml/troupe/actors/core"
	"github.com/troupe-ml/troupe/engine/data"
	"github.com/troupe-ml/troupe/messages"
)

// loader makes batches against the replicas' credit. Each epoch visits the
// training set in the order data.Loader gives for (seed, epoch), and each
// Produce takes the next batch of that order, whoever it is for: replicas
// that go faster get more batches, and a lone replica sees exactly the
// plain loop's sequence.
type loader struct {
	p   *plan
	t   *topology
	out *outcome
	ld  *data.Loader
	snd *core.Sender

	x     []float32
	y     []int32
	per   int
	epoch int
	pos   int             // the next batch's position in the epoch
	made  *messages.Batch // produced, waiting for its Send
	links map[core.ConsumerID]int

	m         meter
	inFlight  []int // per replica: most batches in flight this epoch
	linkCount []int // per replica: samples sent this epoch
}

func newLoader(p *plan, t *topology, out *outcome, g *depthGauge) *loader {
	l := &loader{p: p, t: t, out: out, per: p.trainSet.SampleSize(), links: map[core.ConsumerID]int{},
		inFlight: make([]int, p.workers), linkCount: make([]int, p.workers)}
	l.m.gauge = g
	return l
}

func (l *loader) Receive(ctx actor.Context) {
	if l.out.ended() {
		return
	}
	var err error
	switch m := ctx.Message().(type) {
	case *actor.Started:
		err = l.start()
	case *messages.Start:
		err = l.startEpoch(ctx, int(m.GetEpoch()))
	case *messages.Credit:
		acts, serr := l.snd.Step(core.Grant{Consumer: core.ConsumerID(m.GetStage()), N: int(m.GetN()), Acked: m.GetAcked()})
		err = l.do(ctx, acts, serr)
	case *messages.EpochEnd:
		l.report(ctx)
	}
	if err != nil {
		l.out.fail(fmt.Errorf("actors: %s: %w", loaderName, err))
	}
}

func (l *loader) start() error {
	var err error
	if l.ld, err = data.NewLoader(l.p.trainSet, l.p.job.Batch, l.p.job.Seed, true, false); err != nil {
		return err
	}
	links := make([]core.LinkConfig, l.p.workers)
	for i := range links {
		links[i] = core.LinkConfig{Consumer: core.ConsumerID(workerID(i)), Window: l.p.prefetch}
		l.links[links[i].Consumer] = i
	}
	if l.snd, err = core.NewSender(core.SenderConfig{Links: links}); err != nil {
		return err
	}
	l.x = make([]float32, l.p.job.Batch*l.per)
	l.y = make([]int32, l.p.job.Batch)
	return nil
}

func (l *loader) startEpoch(ctx actor.Context, epoch int) error {
	l.m.set(idle)
	l.epoch, l.pos = epoch, 0
	l.ld.Epoch(epoch)
	acts, err := l.snd.Step(core.StartEpoch{Epoch: epoch, Batches: l.ld.BatchesPerEpoch()})
	return l.do(ctx, acts, err)
}

// do carries out the sender's actions depth first, so that the Send that a
// Produced causes goes out before the next Produce overwrites l.made.
func (l *loader) do(ctx actor.Context, acts []core.SenderAction, err error) error {
	for err == nil && len(acts) > 0 {
		a := acts[0]
		acts = acts[1:]
		var more []core.SenderAction
		switch a := a.(type) {
		case core.Produce:
			if err = l.produce(a.Consumer); err == nil {
				more, err = l.snd.Step(core.Produced(a))
			}
		case core.Send:
			err = l.send(ctx, a)
		case core.EndOfEpoch:
			i := l.links[a.Consumer]
			ctx.Send(l.t.workers[i], &messages.EpochEnd{Epoch: uint64(a.Epoch), Batches: uint64(a.Batches), Samples: uint64(l.linkCount[i])})
			l.linkCount[i] = 0
		}
		acts = append(more, acts...)
	}
	return err
}

func (l *loader) produce(c core.ConsumerID) error {
	l.m.set(busy)
	defer l.m.set(idle)
	n, ok := l.ld.Next(l.x, l.y)
	if !ok {
		return fmt.Errorf("asked for batch %d of epoch %d, which has %d: %w", l.pos, l.epoch, l.ld.BatchesPerEpoch(), core.ErrProtocol)
	}
	idx := l.ld.Indices()
	ids := make([]int64, n)
	for k, i := range idx {
		ids[k] = int64(i)
	}
	ds := l.p.trainSet
	l.made = &messages.Batch{
		Epoch:     uint64(l.epoch),
		Seq:       uint64(l.pos),
		SampleIds: ids,
		Inputs:    messages.FromFloat32(l.x[:n*l.per], []int{n, ds.C, ds.H, ds.W}),
		Labels:    append([]int32(nil), l.y[:n]...),
		Worker:    uint32(l.links[c]),
	}
	l.pos++
	l.m.samples += uint64(n)
	return nil
}

func (l *loader) send(ctx actor.Context, s core.Send) error {
	b := l.made
	i := l.links[s.Consumer]
	if b == nil || int(b.Worker) != i {
		return fmt.Errorf("send to %s with no batch made for it: %w", s.Consumer, core.ErrProtocol)
	}
	l.made = nil
	b.LinkSeq = s.Seq
	if st, ok := l.snd.Link(s.Consumer); ok {
		l.inFlight[i] = max(l.inFlight[i], st.InFlight())
	}
	l.linkCount[i] += len(b.SampleIds)
	if l.t.router != nil {
		ctx.Send(l.t.router, b)
	} else {
		ctx.Send(l.t.workers[i], b)
	}
	return nil
}

// report answers the coordinator's end of epoch with the loader's metrics
// and, per link, the most batches it had in flight.
func (l *loader) report(ctx actor.Context) {
	ctx.Respond(l.m.report(loaderName))
	for i, n := range l.inFlight {
		ctx.Respond(&messages.Metrics{Stage: loaderName + "/" + workerName(i), QueueDepth: uint32(n)})
		l.inFlight[i] = 0
	}
}
