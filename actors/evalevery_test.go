package actors

import (
	"testing"

	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/train"
)

// evalLog records a run's evaluations and epochs.
type evalLog struct {
	evals  []train.EvalReport
	epochs []train.EpochReport
}

func (l *evalLog) Progress(train.Progress) {}
func (l *evalLog) Epoch(e train.EpochReport) error {
	l.epochs = append(l.epochs, e)
	return nil
}
func (l *evalLog) Eval(e train.EvalReport) error {
	l.evals = append(l.evals, e)
	return nil
}

// TestEvalEveryMatchesPlainLoop checks that mid-epoch evaluations see the
// parameters of exactly the step they name: with one replica the pipeline
// trains bit for bit as the plain loop does, so each evaluation's accuracy
// and loss must be the plain loop's at the same step, with the same
// sample counts.
func TestEvalEveryMatchesPlainLoop(t *testing.T) {
	noLeak(t)
	trainSet, testSet := synth(640, 1), synth(200, 2)
	job := tinyJob(2) // 20 steps per epoch
	job.EvalEvery = 7
	var want evalLog
	if _, err := train.Run(t.Context(), job, trainSet, testSet, nil, &want); err != nil {
		t.Fatal(err)
	}
	for _, shards := range []int{1, 2} {
		var got evalLog
		cfg := Config{Job: job, Workers: 1, PSShards: shards, Observer: &got}
		if _, _, err := Run(t.Context(), cfg, trainSet, testSet); err != nil {
			t.Fatal(err)
		}
		if len(got.evals) != len(want.evals) {
			t.Fatalf("%d shards: %d evaluations %+v, want %d %+v", shards, len(got.evals), got.evals, len(want.evals), want.evals)
		}
		for i, w := range want.evals {
			g := got.evals[i]
			if g.Step != w.Step || g.TestAccuracy != w.TestAccuracy || g.TestLoss != w.TestLoss ||
				g.BackwardSamples != w.BackwardSamples || g.ForwardSamples != w.ForwardSamples {
				t.Errorf("%d shards: evaluation %d: step %d, accuracy %v, loss %v, %d/%d samples; plain loop %d, %v, %v, %d/%d",
					shards, i, g.Step, g.TestAccuracy, g.TestLoss, g.ForwardSamples, g.BackwardSamples,
					w.Step, w.TestAccuracy, w.TestLoss, w.ForwardSamples, w.BackwardSamples)
			}
			if i > 0 && !(g.Seconds >= got.evals[i-1].Seconds) {
				t.Errorf("%d shards: evaluation %d at %gs, before the one before it (%gs)", shards, i, g.Seconds, got.evals[i-1].Seconds)
			}
		}
	}
}

// TestEvalEveryTargetAndPasses checks, under loss-rank with half batches,
// that an evaluation counts exactly the backward passes trained so far and
// more forward ones (the score-only rows), and that a target ends the run
// at the first evaluation reaching it, in mid-epoch, with the epoch cut
// short reported.
func TestEvalEveryTargetAndPasses(t *testing.T) {
	noLeak(t)
	trainSet, testSet := synth(640, 1), synth(200, 2)
	job := tinyJob(2)
	job.EvalEvery = 5
	job.Select, job.SelectFraction, job.ScoreStaleness = spec.LossRank, 0.5, 20
	run := func(job spec.Job) (train.Result, *evalLog) {
		var log evalLog
		cfg, err := ConfigFromJob(job)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Observer = &log
		res, _, err := Run(t.Context(), cfg, trainSet, testSet)
		if err != nil {
			t.Fatal(err)
		}
		return res, &log
	}
	_, all := run(job)
	steps := []int{5, 10, 15, 20, 25, 30, 35, 40}
	if len(all.evals) != len(steps) {
		t.Fatalf("%d evaluations %+v, want at steps %v", len(all.evals), all.evals, steps)
	}
	for i, e := range all.evals {
		if e.Step != steps[i] || e.BackwardSamples != uint64(16*e.Step) || e.ForwardSamples <= e.BackwardSamples {
			t.Errorf("evaluation %d at step %d with %d forward and %d backward samples, want step %d, %d backward and more forward",
				i, e.Step, e.ForwardSamples, e.BackwardSamples, steps[i], 16*e.Step)
		}
	}
	// The first mid-epoch evaluation of the second epoch becomes the target
	// unless an earlier one reaches its accuracy.
	job.TargetAccuracy = all.evals[4].TestAccuracy
	first := 0
	for all.evals[first].TestAccuracy < job.TargetAccuracy {
		first++
	}
	res, stopped := run(job)
	if len(stopped.evals) != first+1 {
		t.Fatalf("%d evaluations %+v, want to stop after the first %d of %+v", len(stopped.evals), stopped.evals, first+1, all.evals)
	}
	last, ep := stopped.evals[first], res.Epochs[len(res.Epochs)-1]
	if last.Step != all.evals[first].Step || ep.Step != last.Step || ep.TestAccuracy != last.TestAccuracy {
		t.Errorf("stopped at step %d (epoch report: step %d, accuracy %v), want step %d with accuracy %v",
			last.Step, ep.Step, ep.TestAccuracy, all.evals[first].Step, last.TestAccuracy)
	}
}

// TestEvalEveryAsync checks that mid-epoch evaluations pause and resume
// several replicas and shards without stalling them: the run finishes
// with an evaluation at every multiple of eval_every.
func TestEvalEveryAsync(t *testing.T) {
	noLeak(t)
	trainSet, testSet := synth(640, 1), synth(200, 2)
	job := tinyJob(2)
	job.EvalEvery = 6
	job.Workers, job.PSShards, job.Sync = 2, 2, spec.Async
	cfg, err := ConfigFromJob(job)
	if err != nil {
		t.Fatal(err)
	}
	var log evalLog
	cfg.Observer = &log
	if _, _, err := Run(t.Context(), cfg, trainSet, testSet); err != nil {
		t.Fatal(err)
	}
	mid := 0
	for _, e := range log.evals {
		if e.Step%6 == 0 && e.Step%20 != 0 {
			mid++
		}
	}
	// 40 updates in all; the mid-epoch multiples of 6 are 6 to 36.
	if mid != 6 {
		t.Errorf("%d mid-epoch evaluations at multiples of 6 in %+v, want 6", mid, log.evals)
	}
}
