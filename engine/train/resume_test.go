package train_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/train"
)

// stopAfter stops a run after the given epoch, as a killed job would.
type stopAfter struct{ epoch int }

var errStopped = errors.New("stopped")

func (stopAfter) Progress(train.Progress) {}
func (s stopAfter) Epoch(r train.EpochReport) error {
	if r.Epoch == s.epoch {
		return errStopped
	}
	return nil
}

// TestResumeMatchesUninterrupted stops a 3-epoch job after epoch 1,
// resumes it from the checkpoint and compares the final weights with a run
// that was never stopped: they must be bit-identical (no dropout in these
// models), for SGD with momentum and for Adam (whose state includes its
// step count).
func TestResumeMatchesUninterrupted(t *testing.T) {
	for _, opt := range []spec.Optimizer{spec.SGD, spec.AdamW} {
		t.Run(string(opt), func(t *testing.T) {
			job := smallJob("mlp")
			job.Epochs, job.Optimizer, job.Threads, job.Out = 3, opt, 1, ""
			if opt != spec.SGD {
				job.LR = 1e-3
			}
			trainSet, testSet := synth(320, 1), synth(100, 2)
			straight, err := train.Run(t.Context(), job, trainSet, testSet, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			job.Out = t.TempDir()
			if _, err := train.Run(t.Context(), job, trainSet, testSet, nil, stopAfter{1}); !errors.Is(err, errStopped) {
				t.Fatalf("the stopped run returned %v", err)
			}
			from, err := train.LoadCheckpoint(job.Out+"/"+train.CheckpointName, nil)
			if err != nil {
				t.Fatal(err)
			}
			if from.State.Epoch != 1 || len(from.Optimizer) == 0 {
				t.Fatalf("checkpoint at epoch %d with %d optimizer tensors", from.State.Epoch, len(from.Optimizer))
			}
			resumed, err := train.RunFrom(t.Context(), from.State.Job, trainSet, testSet, nil, nil, from)
			if err != nil {
				t.Fatal(err)
			}
			if len(resumed.Epochs) != 2 || resumed.Epochs[0].Epoch != 2 {
				t.Fatalf("resumed run reported epochs %+v, want 2 and 3", resumed.Epochs)
			}
			a, b := straight.Trainer.Model().Params(), resumed.Trainer.Model().Params()
			for i := range a {
				if !slices.Equal(a[i].T.Data, b[i].T.Data) {
					t.Fatalf("%s differs between the straight and the resumed run", a[i].Name)
				}
			}
			if straight.Trainer.StepCount() != resumed.Trainer.StepCount() {
				t.Errorf("steps %d vs %d", straight.Trainer.StepCount(), resumed.Trainer.StepCount())
			}
			// Nothing left to do is an error, not a silent no-op.
			from.State.Epoch = 3
			if _, err := train.RunFrom(t.Context(), from.State.Job, trainSet, testSet, nil, nil, from); err == nil || !strings.Contains(err.Error(), "nothing to do") {
				t.Errorf("resuming a finished job: %v", err)
			}
		})
	}
}
