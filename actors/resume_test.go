package actors

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/train"
)

// stopFirst runs job through the pipeline with shards parameter-server
// shards, stops it once its first epoch is checkpointed, and loads that
// checkpoint.
func stopFirst(t *testing.T, job spec.Job, shards int) *train.Loaded {
	t.Helper()
	trainSet, testSet := synth(192, 1), synth(50, 2)
	job.Out = t.TempDir()
	_, _, err := Run(t.Context(), Config{Job: job, Workers: 1, PSShards: shards, Observer: stopAfterFirst{}}, trainSet, testSet)
	if !errors.Is(err, errStop) {
		t.Fatalf("the stopped pipeline returned %v", err)
	}
	from, err := train.LoadCheckpoint(filepath.Join(job.Out, train.CheckpointName), nil)
	if err != nil {
		t.Fatal(err)
	}
	return from
}

// The pipeline resumes its own checkpoints, and the plain loop's, with any
// shard count: one replica under BSP then ends bit for bit where a run that
// never stopped ends, optimizer state, step count and learning rate
// included.
func TestPipelineResumes(t *testing.T) {
	noLeak(t)
	trainSet, testSet := synth(192, 1), synth(50, 2)
	adamw := tinyJob(3)
	adamw.Optimizer, adamw.LR = spec.AdamW, 0.002
	sgd := tinyJob(3) // cosine schedule with warm-up: the step offset matters
	for _, tc := range []struct {
		name                 string
		job                  spec.Job
		fromLoop             bool
		stopShards, goShards int
	}{
		{"adamw/pipeline 2 shards → 3 shards", adamw, false, 2, 3},
		{"sgd/pipeline 1 shard → 1 shard", sgd, false, 1, 1},
		{"sgd/plain loop → 2 shards", sgd, true, 0, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			straight := tc.job
			straight.Out = t.TempDir()
			want, _, err := Run(t.Context(), Config{Job: straight, Workers: 1, PSShards: tc.goShards}, trainSet, testSet)
			if err != nil {
				t.Fatal(err)
			}
			var from *train.Loaded
			if tc.fromLoop {
				loop := tc.job
				loop.Epochs, loop.Out = 1, t.TempDir()
				if _, err := train.Run(t.Context(), loop, trainSet, testSet, nil, nil); err != nil {
					t.Fatal(err)
				}
				if from, err = train.LoadCheckpoint(filepath.Join(loop.Out, train.CheckpointName), nil); err != nil {
					t.Fatal(err)
				}
			} else {
				from = stopFirst(t, tc.job, tc.stopShards)
			}
			resumed := tc.job
			resumed.Out = t.TempDir()
			got, _, err := Run(t.Context(), Config{Job: resumed, Workers: 1, PSShards: tc.goShards, From: from}, trainSet, testSet)
			if err != nil {
				t.Fatal(err)
			}
			sameBits(t, checkpointParams(t, want.Checkpoint), checkpointParams(t, got.Checkpoint))
			sameBits(t, checkpointState(t, want.Checkpoint), checkpointState(t, got.Checkpoint))
			if len(got.Epochs) != 2 {
				t.Fatalf("resumed run reported %d epochs, want 2 (epochs 2 and 3)", len(got.Epochs))
			}
			for i, g := range got.Epochs {
				w := want.Epochs[i+1]
				if g.Epoch != w.Epoch || g.Step != w.Step || g.LR != w.LR || g.TrainLoss != w.TrainLoss || g.TestAccuracy != w.TestAccuracy {
					t.Errorf("resumed epoch %d: step %d, lr %v, train loss %v, accuracy %v; straight run epoch %d: %d, %v, %v, %v",
						g.Epoch, g.Step, g.LR, g.TrainLoss, g.TestAccuracy, w.Epoch, w.Step, w.LR, w.TrainLoss, w.TestAccuracy)
				}
			}
		})
	}
}

// A resumed job is checked against its checkpoint before any actor starts.
func TestPipelineResumeRejects(t *testing.T) {
	noLeak(t)
	trainSet, testSet := synth(192, 1), synth(50, 2)
	from := stopFirst(t, tinyJob(2), 1)
	wider := tinyJob(2)
	wider.ModelSpec.Layers[1].Out = 33
	done := tinyJob(1)
	for _, tc := range []struct {
		name string
		job  spec.Job
		want string
	}{
		{"other model", wider, "does not match the checkpoint"},
		{"no epochs left", done, "nothing to do"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Run(t.Context(), Config{Job: tc.job, Workers: 1, From: from}, trainSet, testSet)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
