package train_test

import (
	"testing"

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

// TestEvalEvery checks that the plain loop evaluates every EvalEvery steps
// and at epoch ends, counting the samples trained so far, and that a
// target stops it at the first evaluation reaching it, in mid-epoch.
func TestEvalEvery(t *testing.T) {
	job := smallJob("mlp")
	job.Out = ""
	job.EvalEvery = 7 // 640 samples in batches of 32: 20 steps per epoch
	trainSet, testSet := synth(640, 1), synth(200, 2)
	var all evalLog
	if _, err := train.Run(t.Context(), job, trainSet, testSet, nil, &all); err != nil {
		t.Fatal(err)
	}
	wantSteps := []int{7, 14, 20, 21, 28, 35, 40}
	if len(all.evals) != len(wantSteps) {
		t.Fatalf("%d evaluations %+v, want at steps %v", len(all.evals), all.evals, wantSteps)
	}
	for i, e := range all.evals {
		n := uint64(32 * e.Step)
		if e.Step != wantSteps[i] || e.BackwardSamples != n || e.ForwardSamples != n {
			t.Errorf("evaluation %d at step %d with %d forward and %d backward samples, want step %d and %d samples",
				i, e.Step, e.ForwardSamples, e.BackwardSamples, wantSteps[i], n)
		}
		if i > 0 && !(e.Seconds >= all.evals[i-1].Seconds) {
			t.Errorf("evaluation %d at %gs, before the one before it (%gs)", i, e.Seconds, all.evals[i-1].Seconds)
		}
	}
	if got, want := all.evals[2].TestAccuracy, all.epochs[0].TestAccuracy; got != want {
		t.Errorf("epoch-end evaluation %v, epoch report %v", got, want)
	}

	// Stop at the first mid-epoch evaluation at or above the accuracy the
	// full run had at step 28.
	job.TargetAccuracy = all.evals[4].TestAccuracy
	first := 0
	for first < len(all.evals) && all.evals[first].TestAccuracy < job.TargetAccuracy {
		first++
	}
	job.Out = t.TempDir()
	var stopped evalLog
	res, err := train.Run(t.Context(), job, trainSet, testSet, nil, &stopped)
	if err != nil {
		t.Fatal(err)
	}
	last := stopped.evals[len(stopped.evals)-1]
	if len(stopped.evals) != first+1 || last.Step != all.evals[first].Step || last.TestAccuracy != all.evals[first].TestAccuracy {
		t.Fatalf("stopped after evaluations %+v, want the first %d of %+v", stopped.evals, first+1, all.evals)
	}
	if got := res.Trainer.StepCount(); got != last.Step {
		t.Errorf("trained %d steps, want to stop at step %d", got, last.Step)
	}
	if e := res.Epochs[len(res.Epochs)-1]; e.TestAccuracy != last.TestAccuracy || e.Step != last.Step {
		t.Errorf("last epoch report %+v, want the stopping evaluation's accuracy %v at step %d", e, last.TestAccuracy, last.Step)
	}
	// The epoch cut short is not checkpointed; an earlier whole one may be.
	if last.Step%20 != 0 && res.Checkpoint != "" {
		l, err := train.LoadCheckpoint(res.Checkpoint, nil)
		if err != nil {
			t.Fatal(err)
		}
		if l.State.Epoch >= last.Epoch {
			t.Errorf("checkpoint of epoch %d, want one before the epoch cut short (%d)", l.State.Epoch, last.Epoch)
		}
	}
}
