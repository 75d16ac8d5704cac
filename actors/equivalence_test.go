package actors

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/train"
)

// One replica under BSP must train exactly as the plain loop: same batches
// in the same order, the same gradients, and an optimizer over slices that
// updates every element as the one over whole tensors does, down to the
// optimizer state in the checkpoint.
func TestOneWorkerBSPMatchesPlainLoop(t *testing.T) {
	noLeak(t)
	trainSet, testSet := synth(192, 1), synth(50, 2)
	// Two epochs on the small model also cover the replica leaving and
	// rejoining the clocks and the schedule's epoch boundary.
	adamClip := tinyJob(2)
	adamClip.Optimizer, adamClip.LR, adamClip.ClipNorm, adamClip.Schedule = spec.AdamW, 0.002, 0.5, spec.Step
	adamClip.StepEpochs = 1
	// Prefetch 1 reuses one inputs buffer for every batch, the tightest
	// test of the loader's lending; 3 lends several at once.
	for _, tc := range []struct {
		name             string
		job              spec.Job
		shards, prefetch int
	}{
		{"mlp/sgd/1 shard", smallJob(1), 1, 0},
		{"mlp/sgd/2 shards/prefetch 1", smallJob(1), 2, 1},
		{"tiny/sgd/2 shards/2 epochs/prefetch 3", tinyJob(2), 2, 3},
		{"tiny/adamw+clip/3 shards/2 epochs", adamClip, 3, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plain := tc.job
			plain.Out = t.TempDir()
			want, err := train.Run(t.Context(), plain, trainSet, testSet, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			job := tc.job
			job.Out = t.TempDir()
			got, _, err := Run(t.Context(), Config{Job: job, Workers: 1, PSShards: tc.shards, Prefetch: tc.prefetch}, trainSet, testSet)
			if err != nil {
				t.Fatal(err)
			}
			sameBits(t, checkpointParams(t, want.Checkpoint), checkpointParams(t, got.Checkpoint))
			// The shards' optimizer state, stitched together, is the one
			// optimizer's of the plain loop.
			sameBits(t, checkpointState(t, want.Checkpoint), checkpointState(t, got.Checkpoint))
			if len(got.Epochs) != len(want.Epochs) {
				t.Fatalf("%d epoch reports, want %d", len(got.Epochs), len(want.Epochs))
			}
			for i, w := range want.Epochs {
				g := got.Epochs[i]
				if g.Step != w.Step || g.TrainLoss != w.TrainLoss || g.TestLoss != w.TestLoss || g.TestAccuracy != w.TestAccuracy || g.LR != w.LR {
					t.Errorf("epoch %d: step %d, train loss %v, test loss %v, accuracy %v, lr %v; plain loop %d, %v, %v, %v, %v",
						w.Epoch, g.Step, g.TrainLoss, g.TestLoss, g.TestAccuracy, g.LR, w.Step, w.TrainLoss, w.TestLoss, w.TestAccuracy, w.LR)
				}
			}
		})
	}
}

var errStop = errors.New("stopped after the first epoch")

// stopAfterFirst ends a run once its first epoch is checkpointed.
type stopAfterFirst struct{}

func (stopAfterFirst) Progress(train.Progress)       {}
func (stopAfterFirst) Epoch(train.EpochReport) error { return errStop }

// A pipeline checkpoint is a whole one: the plain loop resumes from it, the
// stitched optimizer state included, and ends bit for bit where a run that
// never stopped ends.
func TestPlainLoopResumesPipelineCheckpoint(t *testing.T) {
	noLeak(t)
	trainSet, testSet := synth(192, 1), synth(50, 2)
	job := tinyJob(2)
	job.Optimizer, job.LR = spec.AdamW, 0.002
	straight, err := train.Run(t.Context(), job, trainSet, testSet, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	stopped := job
	stopped.Out = t.TempDir()
	_, _, err = Run(t.Context(), Config{Job: stopped, Workers: 1, PSShards: 3, Observer: stopAfterFirst{}}, trainSet, testSet)
	if !errors.Is(err, errStop) {
		t.Fatalf("the stopped pipeline returned %v", err)
	}
	from, err := train.LoadCheckpoint(filepath.Join(stopped.Out, train.CheckpointName), nil)
	if err != nil {
		t.Fatal(err)
	}
	resumed, err := train.RunFrom(t.Context(), job, trainSet, testSet, nil, nil, from)
	if err != nil {
		t.Fatal(err)
	}
	want, got := map[string][]float32{}, map[string][]float32{}
	for i, p := range straight.Trainer.Model().Params() {
		want[p.Name], got[p.Name] = p.T.Data, resumed.Trainer.Model().Params()[i].T.Data
	}
	sameBits(t, want, got)
}
