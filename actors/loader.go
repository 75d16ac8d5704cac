package actors

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

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
//
// Its state outlives the actor: a loader that panics is restarted by its
// supervisor and resumes the message it failed on where the failed one
// stopped, so that no batch is lost or sent twice (see resume).
type loader struct {
	p   *plan
	t   *topology
	out *outcome
	*loaderState
}

// loaderState is everything a loader knows.
type loaderState struct {
	ld  *data.Loader
	snd *core.Sender

	y     []int32
	per   int
	epoch int
	pos   int             // the next batch's position in the epoch
	made  *messages.Batch // produced, waiting for its Send
	madeX []float32       // inputs buffer of the batch being made or made
	links map[core.ConsumerID]int
	// A batch's inputs are lent to its consumer until the consumer's
	// credit acknowledges the batch: lent[i] holds link i's in sequence
	// order, free the buffers that came back. Credit bounds how many can
	// be out, so the loader allocates at most the windows' total.
	lent [][]lentInputs
	free [][]float32

	m         meter
	inFlight  []int // per replica: most batches in flight this epoch
	linkCount []int // per replica: samples sent this epoch

	// What a restarted loader needs to carry on: the message being handled
	// and its sender, whether its event has reached the Sender already, the
	// Sender's actions not yet carried out (next first), and whether a
	// data.Loader.Next began and did not return.
	cur     any
	replyTo *actor.PID
	applied bool
	queue   []core.SenderAction
	nexting bool
	// plans are the data selector's compositions of the batches still to
	// make, when it composes them (selector_loader.go).
	plans map[planKey]*messages.Plan
	// failures counts crashes since the loader last finished a message.
	// The supervisor adds to it and the loader clears it, one after the
	// other: a crashed actor does nothing until it is restarted.
	failures atomic.Int32
	// fo hands a lost replica's batches to the others (failover.go).
	fo failoverState
}

func newLoaderState(p *plan, g *depthGauge) *loaderState {
	st := &loaderState{per: p.trainSet.SampleSize(), links: map[core.ConsumerID]int{},
		inFlight: make([]int, p.workers), linkCount: make([]int, p.workers), lent: make([][]lentInputs, p.workers)}
	st.m.gauge = g
	return st
}

// batch is the position in the epoch of the batch in hand: made and not
// yet sent, or else the next to make.
func (st *loaderState) batch() int {
	if st.made != nil {
		return int(st.made.GetSeq())
	}
	return st.pos
}

type lentInputs struct {
	seq uint64 // on the link
	x   []float32
	b   *messages.Batch // sent again if its replica is lost
}

func (l *loader) Receive(ctx actor.Context) {
	if l.out.ended() {
		return
	}
	var err error
	switch m := ctx.Message().(type) {
	case *actor.Started:
		if l.ld == nil {
			err = l.start()
		} else {
			err = l.resume(ctx)
		}
	case *messages.Start, *messages.Credit, *messages.EpochEnd:
		l.cur, l.replyTo, l.applied = m, ctx.Sender(), false
		err = l.handle(ctx)
	case *messages.Plan:
		err = l.takePlan(ctx, m)
	case *workerLost:
		err = l.lose(ctx, m.worker)
	}
	if err != nil {
		l.out.fail(fmt.Errorf("actors: %s: %w", loaderName, err))
	}
}

// resume carries on, after a backoff, with the message the previous
// instance failed on: its event again if the Sender never saw it, and the
// actions it left undone (with no message in hand, those a batch plan set
// going).
func (l *loader) resume(ctx actor.Context) error {
	time.Sleep(time.Duration(l.failures.Load()) * loaderBackoff)
	if l.cur == nil {
		return l.do(ctx)
	}
	return l.handle(ctx)
}

// handle steps the Sender with the current message's event, unless that is
// done, and carries out the actions.
func (l *loader) handle(ctx actor.Context) error {
	if !l.applied {
		var acts []core.SenderAction
		var err error
		switch m := l.cur.(type) {
		case *messages.Start:
			acts, err = l.startEpoch(int(m.GetEpoch()))
		case *messages.Credit:
			c := core.ConsumerID(m.GetStage())
			if l.lostCredit(c) {
				break // late credit of a lost replica
			}
			if acts, err = l.snd.Step(core.Grant{Consumer: c, N: int(m.GetN()), Acked: m.GetAcked()}); err == nil {
				l.release(c)
			}
		case *messages.EpochEnd:
			l.report(ctx)
		}
		if err != nil {
			return err
		}
		l.applied = true
		l.queue = append(l.queue, acts...)
	}
	if err := l.do(ctx); err != nil {
		return err
	}
	l.cur, l.replyTo = nil, nil
	l.failures.Store(0)
	return nil
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
	l.y = make([]int32, l.p.job.Batch)
	return nil
}

// release takes back the inputs of the batches c has acknowledged.
func (l *loader) release(c core.ConsumerID) {
	st, ok := l.snd.Link(c)
	if !ok {
		return
	}
	i := l.links[c]
	q := l.lent[i]
	for len(q) > 0 && q[0].seq < st.Acked {
		l.free = append(l.free, q[0].x)
		q = q[1:]
	}
	l.lent[i] = q
}

// inputs returns a free inputs buffer.
func (l *loader) inputs() []float32 {
	if n := len(l.free); n > 0 {
		x := l.free[n-1]
		l.free = l.free[:n-1]
		return x
	}
	return make([]float32, l.p.job.Batch*l.per)
}

func (l *loader) startEpoch(epoch int) ([]core.SenderAction, error) {
	l.m.set(idle)
	l.epoch, l.pos = epoch, 0
	l.ld.Epoch(epoch)
	return l.snd.Step(core.StartEpoch{Epoch: epoch, Batches: l.epochBudget()})
}

// do carries out the queued actions depth first, so that the Send that a
// Produced causes goes out before the next Produce overwrites l.made. An
// action leaves the queue only once it is done, so that a restarted loader
// finds the one it crashed in at the front.
func (l *loader) do(ctx actor.Context) error {
	for len(l.queue) > 0 {
		var more []core.SenderAction
		var err error
		switch a := l.queue[0].(type) {
		case core.Produce:
			if err = l.produce(a.Consumer); err == nil {
				more, err = l.snd.Step(core.Produced(a))
			} else if errors.Is(err, errAwaitPlan) || errors.Is(err, errAwaitEnd) {
				return nil // it stays first in the queue until its plan, or with failover its batch, comes
			} else if errors.Is(err, errExhausted) {
				if err = l.exhaust(); err != nil {
					return err
				}
				continue
			}
		case core.Send:
			err = l.send(ctx, a)
		case core.EndOfEpoch:
			i := l.links[a.Consumer]
			ctx.Send(l.t.workers[i], &messages.EpochEnd{Epoch: uint64(a.Epoch), Batches: uint64(a.Batches), Samples: uint64(l.linkCount[i])})
			l.linkCount[i] = 0
		}
		if err != nil {
			return err
		}
		l.queue = append(more, l.queue[1:]...)
	}
	return nil
}

// produce makes batch pos of the epoch for c. After a crash it may run
// again for the same batch: a batch already made is kept, and a Next that
// never returned may have moved data.Loader on, so the epoch is walked
// again up to the batch (the order depends on (seed, epoch) alone).
func (l *loader) produce(c core.ConsumerID) error {
	if l.made != nil {
		return nil
	}
	if again, err := l.produceAgain(c); again || err != nil {
		return err // failover.go
	}
	if l.p.composes() {
		return l.producePlanned(c) // selector_loader.go
	}
	l.m.set(busy)
	defer l.m.set(idle)
	if l.madeX == nil {
		l.madeX = l.inputs()
	}
	x := l.madeX
	l.fault(faultBeforeNext, l.pos)
	if l.nexting {
		l.ld.Epoch(l.epoch)
		for range l.pos {
			l.ld.Next(x, l.y)
		}
	}
	l.nexting = true
	n, ok := l.ld.Next(x, l.y)
	l.fault(faultInNext, l.pos)
	l.nexting = false
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
		Inputs:    messages.ViewFloat32(x[:n*l.per], []int{n, ds.C, ds.H, ds.W}),
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
	l.fault(faultBeforeSend, int(b.GetSeq()))
	b.LinkSeq = s.Seq
	if l.t.router != nil {
		ctx.Send(l.t.router, b)
	} else {
		ctx.Send(l.t.workers[i], b)
	}
	l.lent[i] = append(l.lent[i], lentInputs{seq: s.Seq, x: l.madeX, b: b})
	l.made, l.madeX = nil, nil
	if st, ok := l.snd.Link(s.Consumer); ok {
		l.inFlight[i] = max(l.inFlight[i], st.InFlight())
	}
	l.linkCount[i] += len(b.SampleIds)
	return nil
}

// report answers the coordinator's end of epoch with the loader's metrics
// and, per link, the most batches it had in flight.
func (l *loader) report(ctx actor.Context) {
	if l.replyTo == nil {
		return // not a request: nobody to answer
	}
	ctx.Send(l.replyTo, l.m.report(loaderName))
	for i, n := range l.inFlight {
		ctx.Send(l.replyTo, &messages.Metrics{Stage: loaderName + "/" + workerName(i), QueueDepth: uint32(n)})
		l.inFlight[i] = 0
	}
}

// Where a test's loaderFault hook can make the loader panic.
const (
	faultBeforeNext = iota // before the batch is read
	faultInNext            // as if data.Loader.Next panicked after moving on
	faultBeforeSend        // with the batch made
)

// fault panics when the test hook asks for a crash here, at batch pos.
func (l *loader) fault(where, pos int) {
	if f := l.p.hooks.loaderFault; f != nil {
		if err := f(uint64(l.epoch), pos, where); err != nil {
			panic(err)
		}
	}
}
