package actors

import (
	"fmt"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-ml/troupe/actors/core"
	"github.com/troupe-ml/troupe/engine/train"
	"github.com/troupe-ml/troupe/messages"
)

// evalEvery is the coordinator's side of a job's eval_every: evaluations
// every eval_every optimizer steps in mid-epoch, besides the epoch ends.
// The coordinator asks every shard for the parameters at the next such
// version; each shard sends them when it gets there and holds its replies
// to the replicas (evalevery_shard.go), so training pauses while the
// coordinator evaluates, and the pause is left out of the training time.
// It also counts the replicas' passes from their BatchDone reports, so
// that each evaluation knows how many samples it took to get there.
type evalEvery struct {
	asked int    // global step of the last request; 0: none yet
	want  []bool // per shard: its answer to the pending request is due
	got   int    // answers in
	at    uint64 // the version they answered at (shard 0's)

	epoch    int      // the epoch the running counts are of
	fwd, bwd []uint64 // per replica, this epoch so far
	fwdDone  uint64   // the epochs before
	bwdDone  uint64
}

// passes returns the samples run forward and backward since the start.
func (e *evalEvery) passes() (fwd, bwd uint64) {
	fwd, bwd = e.fwdDone, e.bwdDone
	for i := range e.fwd {
		fwd, bwd = fwd+e.fwd[i], bwd+e.bwd[i]
	}
	return fwd, bwd
}

// everyState returns c.every, sized for the job on first use.
func (c *coordinator) everyState() *evalEvery {
	e := &c.every
	if e.fwd == nil {
		e.fwd, e.bwd, e.want = make([]uint64, c.p.workers), make([]uint64, c.p.workers), make([]bool, c.p.shards)
	}
	return e
}

// countBatch notes a replica's pass counts, whether or not the job
// evaluates in mid-epoch.
func (c *coordinator) countBatch(m *messages.BatchDone) {
	e := c.everyState()
	if ep := int(m.GetEpoch()); ep != e.epoch {
		e.fwdDone, e.bwdDone = e.passes()
		clear(e.fwd)
		clear(e.bwd)
		e.epoch = ep
	}
	if w := int(m.GetWorker()); w < len(e.fwd) {
		e.fwd[w], e.bwd[w] = m.GetForwardSamples(), m.GetBackwardSamples()
	}
}

// askEval asks the shards for the parameters at the first step after both
// now and the last request that is a multiple of eval_every, if no request
// is pending and that step falls before the epoch's end (which is
// evaluated anyway). The coordinator asks at each epoch's start, before
// any replica trains, and after each mid-epoch evaluation, while the
// shards wait: so the request is at a shard before its step comes.
func (c *coordinator) askEval(ctx actor.Context, now int) {
	e, n := c.everyState(), c.p.job.EvalEvery
	if n <= 0 || e.got > 0 || slices.Contains(e.want, true) {
		return
	}
	next := (max(now, e.asked)/n + 1) * n
	if next >= c.p.base+int(c.version)+c.p.stepsPerEpoch {
		return
	}
	e.asked = next
	for k, s := range c.t.shards {
		e.want[k] = true
		ctx.Request(s, &messages.Evaluate{Epoch: uint64(c.epoch), Step: uint64(next - c.p.base)})
	}
}

// midParams reports whether m answers a mid-epoch request and, if so,
// takes it; once every shard has answered it evaluates, reports, and lets
// training go on, or ends the run if the target accuracy is reached.
func (c *coordinator) midParams(ctx actor.Context, m *messages.Params) (bool, error) {
	e := c.everyState()
	k := int(m.GetShard())
	if k >= len(e.want) || !e.want[k] {
		return false, nil
	}
	e.want[k] = false
	vals, err := matchTensors(nil, c.p.parts[k], m.GetParams())
	if err != nil {
		return true, fmt.Errorf("mid-epoch parameters from shard %d: %w", k, err)
	}
	for j, s := range c.p.parts[k] {
		copy(c.params[s.param].Data[s.lo:s.hi], vals[j])
	}
	if k == 0 {
		e.at = m.GetVersion()
	}
	if e.got++; e.got < c.p.shards {
		return true, nil
	}
	e.got = 0
	paused := time.Now()
	trained := c.totalTime + paused.Sub(c.epochStart)
	ev, err := c.eval.Evaluate(c.model, c.p.testSet, c.p.job.EvalBatch)
	if err != nil {
		return true, err
	}
	fwd, bwd := e.passes()
	rep := train.EvalReport{Epoch: c.epoch, Step: c.p.base + int(e.at), TestLoss: ev.Loss, TestAccuracy: ev.Accuracy,
		ForwardSamples: fwd, BackwardSamples: bwd, Seconds: trained.Seconds(), EvalSeconds: time.Since(paused).Seconds()}
	if err := c.reportEval(rep); err != nil {
		return true, err
	}
	if c.p.job.TargetReached(ev.Accuracy) {
		return true, c.finishEarly(ctx, rep, trained-c.totalTime)
	}
	c.askEval(ctx, rep.Step)
	for _, s := range c.t.shards {
		ctx.Send(s, &messages.EvalResult{Epoch: uint64(c.epoch), Step: uint64(e.at), Samples: uint64(ev.Samples),
			Loss: ev.Loss, Accuracy: ev.Accuracy})
	}
	// The pause is not training time.
	c.epochStart = c.epochStart.Add(time.Since(paused))
	return true, nil
}

// epochEval reports the epoch-end evaluation as an EvalReport when the job
// evaluates in mid-epoch too, so that the evaluations form one series.
func (c *coordinator) epochEval() error {
	if c.p.job.EvalEvery <= 0 {
		return nil
	}
	fwd, bwd := c.every.passes()
	return c.reportEval(train.EvalReport{Epoch: c.epoch, Step: c.rep.Step, TestLoss: c.rep.TestLoss, TestAccuracy: c.rep.TestAccuracy,
		ForwardSamples: fwd, BackwardSamples: bwd, Seconds: (c.totalTime + c.trainTime).Seconds(), EvalSeconds: c.rep.EvalSeconds})
}

func (c *coordinator) reportEval(rep train.EvalReport) error {
	if eo, ok := c.p.observer.(train.EvalObserver); ok {
		return eo.Eval(rep)
	}
	return nil
}

// finishEarly ends the run at a mid-epoch evaluation that reached the
// target: the epoch, cut short, is reported with that evaluation and with
// the replicas' passes only (the stages' other metrics come at epoch ends;
// so does the checkpoint, which stays the last epoch end's).
func (c *coordinator) finishEarly(ctx actor.Context, ev train.EvalReport, trained time.Duration) error {
	met := newMetrics(c.p)
	for i := range met.Workers {
		met.Workers[i].ForwardSamples, met.Workers[i].BackwardSamples = c.every.fwd[i], c.every.bwd[i]
	}
	c.rep = train.EpochReport{Epoch: c.epoch, Step: ev.Step, TrainLoss: c.lossSum / float64(max(c.samples, 1)),
		TestLoss: ev.TestLoss, TestAccuracy: ev.TestAccuracy, SamplesPerSec: float64(c.samples) / trained.Seconds(),
		TrainSeconds: trained.Seconds(), EvalSeconds: ev.EvalSeconds}
	if ev.Step > 0 {
		c.rep.LR = float64(c.sched.LR(ev.Step - 1))
	}
	if mo, ok := c.p.observer.(MetricsObserver); ok {
		mo.EpochMetrics(c.epoch, met.clone())
	}
	if c.p.observer != nil {
		if err := c.p.observer.Epoch(c.rep); err != nil {
			return err
		}
	}
	c.res.Epochs = append(c.res.Epochs, c.rep)
	c.total.add(met)
	c.totalSamples += c.samples
	c.totalTime += trained
	return c.do(ctx, []core.CoordinatorAction{core.Finish{}}, nil)
}
