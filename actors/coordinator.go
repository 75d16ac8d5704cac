package actors

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-ml/troupe/actors/core"
	"github.com/troupe-ml/troupe/engine/nn"
	"github.com/troupe-ml/troupe/engine/optim"
	"github.com/troupe-ml/troupe/engine/train"
	"github.com/troupe-ml/troupe/messages"
)

// coordinator drives the epochs with a core.Coordinator: it starts each
// epoch at the loader and admits every replica to the shards' clocks,
// counts the batches done, and once every replica has left the clocks
// (so that the last synchronous update is applied) it gathers the
// parameters for evaluation and the optimizer state, writes the
// checkpoint, collects the stages' metrics and reports the epoch.
type coordinator struct {
	p   *plan
	t   *topology
	out *outcome
	co  *core.Coordinator

	model  *nn.Model // evaluation copy of the parameters
	params []optim.Param
	state  *stateGather // the shards' optimizer state, for the checkpoint
	eval   *train.Evaluator
	sched  optim.Schedule // for reporting learning rates

	epoch      int
	epochStart time.Time
	lossSum    float64
	samples    int
	admits     [][]uint64 // per worker: the steps the shards admitted it at
	left       int        // workers that left the clocks this epoch
	evalWanted bool
	trainTime  time.Duration
	gotParams  int
	version    uint64 // updates applied, as the shards report at evaluation

	rep          train.EpochReport
	checkpointed bool
	epochMet     Metrics
	metWant      int
	metGot       int
	ls           lostState // lost replicas (failover.go)
	every        evalEvery // passes and mid-epoch evaluations (evalevery.go)

	res          train.Result
	total        Metrics
	totalSamples int
	totalTime    time.Duration
}

func newCoordinator(p *plan, t *topology, out *outcome) *coordinator {
	return &coordinator{p: p, t: t, out: out, total: newMetrics(p)}
}

func (c *coordinator) Receive(ctx actor.Context) {
	if c.out.ended() {
		return
	}
	var err error
	switch m := ctx.Message().(type) {
	case *actor.Started:
		err = c.start()
	case *messages.Start:
		if err = c.restorePlaced(ctx); err != nil { // ps_restore.go
			break
		}
		acts, serr := c.co.Step(core.Begin{})
		err = c.do(ctx, acts, serr)
	case *messages.BatchDone:
		err = c.batchDone(ctx, m)
	case *messages.Presence:
		err = c.presence(ctx, m)
	case *messages.Params:
		var mid bool
		if mid, err = c.midParams(ctx, m); !mid && err == nil {
			err = c.evalParams(ctx, m)
		}
	case *messages.Metrics:
		if c.lostStage(m.GetStage()) {
			break // a lost replica's late report
		}
		if err = c.epochMet.set(m); err == nil {
			c.metGot++
			c.ls.metricsFrom(m.GetStage())
			err = c.report(ctx)
		}
	case *workerLost:
		err = c.lose(ctx, m.worker, m.why)
	case *shardLost:
		c.loseShard(m) // ps_restore.go
	}
	if err != nil {
		c.out.fail(fmt.Errorf("actors: %s: %w", coordinatorName, err))
	}
}

func (c *coordinator) start() error {
	ws := make([]core.WorkerID, c.p.workers)
	for i := range ws {
		ws[i] = workerID(i)
	}
	var err error
	// The loader numbers epochs from 1, as the plain loop does; Epochs is
	// the coordinator's exclusive bound.
	c.co, err = core.NewCoordinator(core.CoordinatorConfig{Samples: c.p.trainSet.N, BatchSize: c.p.job.Batch,
		Epochs: c.p.job.Epochs + 1, StartEpoch: c.p.first, Workers: ws})
	if err != nil {
		return err
	}
	if c.model, err = train.NewModel(c.p.job); err != nil {
		return err
	}
	c.params = train.OptimParams(c.model)
	c.ls = newLostState(c.p.workers)
	c.state = newStateGather(c.params, c.p.shards)
	c.eval = train.NewEvaluator(c.p.backend)
	c.sched, err = train.NewSchedule(c.p.job, c.p.stepsPerEpoch)
	return err
}

func (c *coordinator) do(ctx actor.Context, acts []core.CoordinatorAction, err error) error {
	for _, a := range acts {
		if err != nil {
			break
		}
		switch a := a.(type) {
		case core.EpochStarted:
			c.startEpoch(ctx, a.Epoch)
		case core.Evaluate:
			c.evalWanted = true
			c.evaluate(ctx)
		case core.Checkpoint:
			if err = c.checkpoint(); err == nil {
				c.checkpointed = true
				err = c.report(ctx)
			}
		case core.Finish:
			c.res.SamplesPerSec = float64(c.totalSamples) / c.totalTime.Seconds()
			c.out.finish(c.res, c.total)
		}
		// Assign is bookkeeping here: batches go to whichever replica has
		// credit, and a batch counts as done whoever trained on it.
	}
	return err
}

func (c *coordinator) startEpoch(ctx actor.Context, epoch int) {
	c.epoch, c.epochStart = epoch, time.Now()
	c.askEval(ctx, c.p.base+int(c.version)) // evalevery.go
	c.lossSum, c.samples, c.gotParams = 0, 0, 0
	c.left = c.ls.newEpoch()
	c.state.reset()
	c.admits = make([][]uint64, c.p.workers)
	c.epochMet = newMetrics(c.p)
	// The loader answers with its own report and one per link, lost or not.
	c.metWant, c.metGot = 1+c.p.workers+c.ls.live()+c.p.augmenters+c.p.shards, 0
	ctx.Send(c.t.loader, &messages.Start{Epoch: uint64(epoch)})
	// Every replica joins before any trains, so that under BSP the first
	// step waits for all of them.
	for w := range c.p.workers {
		if c.ls.lost[w] {
			continue
		}
		for _, s := range c.t.shards {
			ctx.Request(s, &messages.Presence{Worker: uint32(w), Active: true, Epoch: uint64(epoch)})
		}
	}
}

func (c *coordinator) presence(ctx actor.Context, m *messages.Presence) error {
	w := int(m.GetWorker())
	if w >= c.p.workers || int(m.GetEpoch()) != c.epoch {
		return fmt.Errorf("presence %v during epoch %d: %w", m, c.epoch, core.ErrProtocol)
	}
	if c.ls.lost[w] {
		return nil // late news of a lost replica
	}
	if !m.GetActive() {
		c.ls.leftW[w] = true
		c.left++
		c.evaluate(ctx)
		return nil
	}
	// A shard's answer to a join; when all have answered, the replica may
	// start at the step they agree on.
	c.admits[w] = append(c.admits[w], m.GetStep())
	if len(c.admits[w]) < c.p.shards {
		return nil
	}
	for _, s := range c.admits[w] {
		if s != c.admits[w][0] {
			return fmt.Errorf("shards admitted %s at different steps %v: %w", workerName(w), c.admits[w], core.ErrProtocol)
		}
	}
	ctx.Send(c.t.workers[w], &messages.Presence{Worker: uint32(w), Active: true, Epoch: uint64(c.epoch), Step: c.admits[w][0]})
	return nil
}

func (c *coordinator) batchDone(ctx actor.Context, m *messages.BatchDone) error {
	before := c.co.Progress().Done
	acts, err := c.co.Step(core.BatchDone{Worker: workerID(int(m.GetWorker())), Epoch: int(m.GetEpoch()), Seq: int(m.GetSeq())})
	if err != nil {
		return err
	}
	if done := c.co.Progress().Done; done > before {
		c.ls.saw(m)
		c.countBatch(m) // evalevery.go
		n := int(m.GetSamples())
		c.lossSum += m.GetLoss() * float64(n)
		c.samples += n
		if c.p.observer != nil {
			c.p.observer.Progress(train.Progress{Epoch: c.epoch, Batch: done, Batches: c.p.batches,
				Loss: float32(m.GetLoss()), LR: c.sched.LR(c.p.base + int(m.GetParamVersion())), Samples: c.samples,
				Elapsed: time.Since(c.epochStart)})
		}
	}
	return c.do(ctx, acts, nil)
}

// evaluate starts the evaluation once every batch is done and every
// replica has left the clocks: a replica's leave reaches each shard before
// its report reaches here, so the shards have applied every update by the
// time they see the requests below.
func (c *coordinator) evaluate(ctx actor.Context) {
	if !c.evalWanted || c.left < c.p.workers {
		return
	}
	c.evalWanted = false
	c.trainTime = time.Since(c.epochStart)
	end := &messages.EpochEnd{Epoch: uint64(c.epoch)}
	for _, s := range c.t.shards {
		ctx.Request(s, &messages.Evaluate{Epoch: uint64(c.epoch)})
		ctx.Request(s, end)
	}
	ctx.Request(c.t.loader, end)
	for _, a := range c.t.augmenters {
		ctx.Request(a, end)
	}
}

func (c *coordinator) evalParams(ctx actor.Context, m *messages.Params) error {
	k := int(m.GetShard())
	if k >= c.p.shards {
		return fmt.Errorf("parameters from shard %d of %d: %w", k, c.p.shards, core.ErrProtocol)
	}
	segs := c.p.parts[k]
	ts := m.GetParams()
	if len(ts) < len(segs) {
		return fmt.Errorf("parameters from shard %d: %d tensors, want at least %d", k, len(ts), len(segs))
	}
	vals, err := matchTensors(nil, segs, ts[:len(segs)])
	if err != nil {
		return fmt.Errorf("parameters from shard %d: %w", k, err)
	}
	if err := c.state.add(k, ts[len(segs):]); err != nil {
		return fmt.Errorf("shard %d: %w", k, err)
	}
	for j, s := range segs {
		copy(c.params[s.param].Data[s.lo:s.hi], vals[j])
	}
	if k == 0 {
		c.version = m.GetVersion()
	}
	if c.gotParams++; c.gotParams < c.p.shards {
		return nil
	}
	start := time.Now()
	ev, err := c.eval.Evaluate(c.model, c.p.testSet, c.p.job.EvalBatch)
	if err != nil {
		return err
	}
	c.rep = train.EpochReport{
		Epoch: c.epoch, Step: c.p.base + int(c.version), TrainLoss: c.lossSum / float64(max(c.samples, 1)),
		TestLoss: ev.Loss, TestAccuracy: ev.Accuracy,
		SamplesPerSec: float64(c.samples) / c.trainTime.Seconds(), TrainSeconds: c.trainTime.Seconds(),
		EvalSeconds: time.Since(start).Seconds(),
	}
	if c.version > 0 {
		c.rep.LR = float64(c.sched.LR(c.p.base + int(c.version) - 1))
	}
	if err := c.epochEval(); err != nil {
		return err
	}
	acts, err := c.co.Step(core.Evaluated{Epoch: c.epoch})
	return c.do(ctx, acts, err)
}

// checkpoint writes the evaluated parameters and the optimizer state the
// shards sent with them, in the plain loop's format.
func (c *coordinator) checkpoint() error {
	if c.p.job.Out == "" {
		return nil
	}
	opt, err := c.state.state()
	if err != nil {
		return fmt.Errorf("epoch %d: %w", c.epoch, err)
	}
	path := filepath.Join(c.p.job.Out, train.CheckpointName)
	st := train.State{Job: c.p.job, Epoch: c.epoch, Step: c.p.base + int(c.version), TestAccuracy: c.rep.TestAccuracy, TrainLoss: c.rep.TrainLoss}
	if err := train.SaveCheckpointState(path, c.model, opt, st); err != nil {
		return fmt.Errorf("epoch %d: %w", c.epoch, err)
	}
	c.res.Checkpoint = path
	return nil
}

// report hands the epoch to the observer once it is checkpointed and every
// stage has sent its metrics, then lets the next epoch begin.
func (c *coordinator) report(ctx actor.Context) error {
	if !c.checkpointed || c.metGot < c.metWant {
		return nil
	}
	c.checkpointed = false
	if mo, ok := c.p.observer.(MetricsObserver); ok {
		mo.EpochMetrics(c.epoch, c.epochMet.clone())
	}
	if c.p.observer != nil {
		if err := c.p.observer.Epoch(c.rep); err != nil {
			return err
		}
	}
	c.res.Epochs = append(c.res.Epochs, c.rep)
	c.total.add(c.epochMet)
	c.totalSamples += c.samples
	c.totalTime += c.trainTime
	if c.p.job.TargetReached(c.rep.TestAccuracy) {
		// The job's target accuracy ends the run early (data selection).
		return c.do(ctx, []core.CoordinatorAction{core.Finish{}}, nil)
	}
	acts, err := c.co.Step(core.Checkpointed{Epoch: c.epoch})
	return c.do(ctx, acts, err)
}
