package actors

import (
	"testing"

	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/train"
)

// One replica under BSP must train exactly as the plain loop: same batches
// in the same order, the same gradients, and an optimizer over slices that
// updates every element as the one over whole tensors does.
func TestOneWorkerBSPMatchesPlainLoop(t *testing.T) {
	noLeak(t)
	trainSet, testSet := synth(192, 1), synth(50, 2)
	// Two epochs on the small model also cover the replica leaving and
	// rejoining the clocks and the schedule's epoch boundary.
	adamClip := tinyJob(2)
	adamClip.Optimizer, adamClip.LR, adamClip.ClipNorm, adamClip.Schedule = spec.AdamW, 0.002, 0.5, spec.Step
	adamClip.StepEpochs = 1
	for _, tc := range []struct {
		name   string
		job    spec.Job
		shards int
	}{
		{"mlp/sgd/1 shard", smallJob(1), 1},
		{"mlp/sgd/2 shards", smallJob(1), 2},
		{"tiny/sgd/2 shards/2 epochs", tinyJob(2), 2},
		{"tiny/adamw+clip/3 shards/2 epochs", adamClip, 3},
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
			got, _, err := Run(t.Context(), Config{Job: job, Workers: 1, PSShards: tc.shards}, trainSet, testSet)
			if err != nil {
				t.Fatal(err)
			}
			sameBits(t, checkpointParams(t, want.Checkpoint), checkpointParams(t, got.Checkpoint))
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
