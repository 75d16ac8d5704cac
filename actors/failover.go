package actors

import (
	"errors"
	"fmt"
	"slices"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-ml/troupe/actors/core"
	"github.com/troupe-ml/troupe/messages"
)

// workerLost says that replica worker is gone for good: its node exited or
// lost its connection. The monitor of a placed run tells the coordinator,
// which tells the loader and the shards.
type workerLost struct {
	worker int
	why    string
}

// Loss of a replica (plan.failover). The coordinator takes the replica out
// of every shard's clock, so that BSP rounds and SSP bounds stop waiting
// for it, and counts it as having left the epoch. The loader takes its
// link out of the credit protocol and sends the batches the replica had not
// acknowledged (held, or on the way) to the others, before any new batch.
// Since a loss can come at any time until the last batch is trained, the
// loader ends an epoch only once every batch it sent is acknowledged: its
// Sender runs with an unbounded budget, and the loader says the source is
// exhausted only then. So every batch of the epoch is trained, once, by a
// replica that survived it; a batch whose BatchDone reached the
// coordinator before its gradient reached the shards is the exception (its
// update is lost with the replica).
//
// When the selector composes the batches (loss-rank, importance) a batch
// sent again is the one made from its plan, the same samples, loss weights
// and score-only rows, so the selector's rounds go on as planned: each
// batch of the epoch still reports its losses under its (epoch, seq),
// whichever replica trained it. No report goes missing: a replica sends a
// batch's Scores before the credit that acknowledges it, and messages from
// one process keep their order, so a batch the loader does not send again
// has reported. A report may come twice, though: a replica lost after
// sending its Scores and before its acknowledgement leaves its batch to be
// trained again. The selector keeps the first report and drops the
// others (reportLog), even one that comes after the epoch it belongs to
// was applied in full.
//
// Under selective backprop the replica asks the selector about each batch
// it trains (Scores with decide), and a batch sent again is asked about
// again, by the survivor: the selector decides again, from the survivor's
// losses or the stored ones. Nothing stands in the way, since the Filter's
// state is per replica (the batch it is having scored), not per batch; the
// earlier answer went to the lost replica and is dropped with it, and a
// lost replica's half-asked batch is never asked about again. Deciding
// again rather than repeating the first decision keeps the store as it is
// without a loss: measured losses only, the kept samples' forgotten (a
// survivor that may use stored losses scores those again); it costs one
// batch's losses entered twice in the Filter's history. A repeat would
// have to hold every decision until its batch is acknowledged, which the
// selector does not see, and a replica lost between a ScoreFirst and its
// scores leaves no decision.
// Without a loss no batch is asked about twice, so nothing changes there.

// errAwaitEnd holds a Produce while every batch of the epoch is made but
// some are not acknowledged yet: a loss may still hand them to this link.
var errAwaitEnd = errors.New("actors: every batch of the epoch is made; waiting for the replicas to finish theirs")

// errExhausted says that the epoch has nothing left to produce.
var errExhausted = errors.New("actors: the epoch's batches are all trained")

// failoverState is the loader's part.
type failoverState struct {
	requeue []lentInputs // batches of lost replicas, to send again, by seq
	lost    map[core.ConsumerID]bool
}

// epochBudget is the number of batches the loader's Sender may produce in
// an epoch: all of them, or with failover no bound, since batches may be
// sent again (the loader says when the epoch is exhausted).
func (l *loader) epochBudget() int {
	if l.p.failover {
		return core.Unbounded
	}
	return l.ld.BatchesPerEpoch()
}

// produceAgain makes the batch for c from a lost replica's batch when one
// waits to be sent again and reports true; it reports false when the next
// new batch is to be made. Once the epoch's new batches are all made it
// returns errAwaitEnd while some batch is not acknowledged, and
// errExhausted when all are.
func (l *loader) produceAgain(c core.ConsumerID) (bool, error) {
	if !l.p.failover {
		return false, nil
	}
	if len(l.fo.requeue) > 0 {
		r := l.fo.requeue[0]
		l.fo.requeue = l.fo.requeue[1:]
		b := shallowCopy(r.b)
		b.Worker, b.LinkSeq = uint32(l.links[c]), 0
		if l.madeX != nil {
			l.free = append(l.free, l.madeX)
		}
		l.made, l.madeX = b, r.x
		return true, nil
	}
	if l.pos < l.ld.BatchesPerEpoch() {
		return false, nil
	}
	for _, id := range l.snd.Consumers() {
		if st, _ := l.snd.Link(id); st.Sent > st.Acked {
			return false, errAwaitEnd
		}
	}
	return false, errExhausted
}

// exhaust ends the epoch at the Sender, which turns the Produce actions
// still queued back into credit, so they leave the queue.
func (l *loader) exhaust() error {
	acts, err := l.snd.Step(core.Exhausted{})
	if err != nil {
		return err
	}
	rest := slices.DeleteFunc(l.queue[1:], func(a core.SenderAction) bool {
		_, produce := a.(core.Produce)
		return produce
	})
	l.queue = append(acts, rest...)
	return nil
}

// lostCredit reports whether c is the link of a lost replica, whose late
// messages are dropped.
func (l *loader) lostCredit(c core.ConsumerID) bool { return l.fo.lost[c] }

// lose takes replica w's link out and queues the batches it had not
// acknowledged for the others.
func (l *loader) lose(ctx actor.Context, w int) error {
	c := core.ConsumerID(workerID(w))
	if l.fo.lost[c] {
		return nil
	}
	if l.fo.lost == nil {
		l.fo.lost = map[core.ConsumerID]bool{}
	}
	l.fo.lost[c] = true
	if _, ok := l.snd.Link(c); !ok {
		return nil
	}
	l.fo.requeue = append(l.fo.requeue, l.lent[w]...)
	l.lent[w] = nil
	if l.made != nil && int(l.made.GetWorker()) == w {
		// Made and not sent: only a loader restarted in between has one.
		l.fo.requeue = append(l.fo.requeue, lentInputs{b: l.made, x: l.madeX})
		l.made, l.madeX = nil, nil
	}
	slices.SortFunc(l.fo.requeue, func(a, b lentInputs) int { return int(a.b.GetSeq()) - int(b.b.GetSeq()) })
	kept := slices.DeleteFunc(l.queue, func(a core.SenderAction) bool {
		p, ok := a.(core.Produce)
		return ok && p.Consumer == c
	})
	acts, err := l.snd.Step(core.RemoveConsumer{Consumer: c})
	if err != nil {
		return err
	}
	l.queue = append(kept, acts...)
	return l.do(ctx)
}

// reportLog is the selector's part: it knows which batches of the epoch
// the selector applies have reported, under failover with a composing
// strategy, where every batch reports once and a batch sent again may
// report twice.
type reportLog struct {
	epoch int             // the epoch the selector applies
	got   map[uint64]bool // its batches that reported
}

// again reports whether m repeats a report the selector took: one for a
// batch of an epoch it applied in full, or of the current epoch that
// reported already. Anything else goes to the selector, which judges it.
func (r *reportLog) again(p *plan, m *messages.Scores) bool {
	if !p.failover || !p.composes() {
		return false
	}
	r.begin(p)
	e := m.GetEpoch()
	return e < uint64(r.epoch) || (e == uint64(r.epoch) && r.got[m.GetSeq()])
}

// took notes a report the selector accepted; the epoch moves on once every
// batch of it reported, as the selector's does.
func (r *reportLog) took(p *plan, m *messages.Scores) {
	if !p.failover || !p.composes() {
		return
	}
	if r.begin(p); m.GetEpoch() != uint64(r.epoch) {
		return
	}
	r.got[m.GetSeq()] = true
	if len(r.got) == p.batches {
		r.epoch++
		clear(r.got)
	}
}

func (r *reportLog) begin(p *plan) {
	if r.got == nil {
		r.epoch, r.got = p.first, map[uint64]bool{}
	}
}

// coordinator's part: lostState tracks the replicas lost and, per epoch,
// those that left the clocks and sent their metrics.
type lostState struct {
	lost   []bool
	leftW  []bool // left the clocks this epoch
	gotMet []bool // sent its metrics this epoch
	// reached is the most updates any batch done was computed after, plus
	// one: the step the run has reached, which a ShardLostError reports.
	reached uint64
}

// saw notes a batch done.
func (s *lostState) saw(m *messages.BatchDone) { s.reached = max(s.reached, m.GetParamVersion()+1) }

func newLostState(workers int) lostState {
	return lostState{lost: make([]bool, workers), leftW: make([]bool, workers), gotMet: make([]bool, workers)}
}

// live is the number of replicas not lost.
func (s *lostState) live() int {
	n := 0
	for _, l := range s.lost {
		if !l {
			n++
		}
	}
	return n
}

// newEpoch clears the per-epoch marks; a lost replica counts as left.
func (s *lostState) newEpoch() (left int) {
	for w, l := range s.lost {
		s.leftW[w], s.gotMet[w] = l, false
		if l {
			left++
		}
	}
	return left
}

// metricsFrom notes a replica's metrics; other stages are not replicas.
func (s *lostState) metricsFrom(stage string) {
	for w := range s.gotMet {
		if stage == workerName(w) {
			s.gotMet[w] = true
		}
	}
}

// lose handles the loss of replica w (see above).
func (c *coordinator) lose(ctx actor.Context, w int, why string) error {
	if w < 0 || w >= c.p.workers {
		return fmt.Errorf("loss of unknown worker %d: %w", w, core.ErrUnknown)
	}
	if c.ls.lost[w] {
		return nil
	}
	if !c.p.failover {
		return fmt.Errorf("%s is lost (%s) and this run cannot go on without it", workerName(w), why)
	}
	c.ls.lost[w] = true
	if c.ls.live() == 0 {
		return fmt.Errorf("every replica is lost, the last %s: %s", workerName(w), why)
	}
	if _, err := c.co.Step(core.WorkerLeft{Worker: workerID(w)}); err != nil {
		return err
	}
	// A Request, unlike a replica's own leave, tells the shard that the
	// replica is gone (ps_restore.go).
	bye := &messages.Presence{Worker: uint32(w), Active: false, Epoch: uint64(c.epoch)}
	for _, s := range c.t.shards {
		ctx.Request(s, bye)
	}
	ctx.Send(c.t.loader, &workerLost{worker: w, why: why})
	if c.epoch == 0 || c.ls.leftW[w] {
		return nil
	}
	c.ls.leftW[w] = true
	c.left++
	if !c.ls.gotMet[w] {
		c.metWant--
	}
	c.evaluate(ctx)
	return c.report(ctx)
}

// lostStage reports whether a metrics report comes from a lost replica.
func (c *coordinator) lostStage(stage string) bool {
	for w, l := range c.ls.lost {
		if l && stage == workerName(w) {
			return true
		}
	}
	return false
}
