package actors

import (
	"testing"

	"github.com/troupe-ml/troupe/engine/spec"
)

// A run placed on nodes resumes a checkpoint too: the coordinator hands
// each placed shard its slice of the parameters and optimizer state, and
// the step the schedule goes on from, so one replica under BSP ends bit for
// bit where a run that never stopped ends, with one shard on a node and one
// in the coordinator's process.
func TestPlacedRunResumes(t *testing.T) {
	noLeak(t)
	trainSet, testSet := synth(192, 1), synth(50, 2)
	job := tinyJob(3) // cosine schedule with warm-up: the step offset matters
	job.Optimizer, job.LR = spec.AdamW, 0.002
	job.PSShards = 2
	straight := job
	straight.Out = t.TempDir()
	want, _, err := Run(t.Context(), Config{Job: straight, Workers: 1, PSShards: 2}, trainSet, testSet)
	if err != nil {
		t.Fatal(err)
	}
	from := stopFirst(t, job, 2)
	node := startNode(t, 16<<10)
	resumed := job
	resumed.Out = t.TempDir()
	cfg, err := ConfigFromJob(resumed)
	if err != nil {
		t.Fatal(err)
	}
	cfg.From = from
	got, err := placedRun(t, cfg, trainSet, testSet, 16<<10, []string{node.sys.Address()}, []string{node.sys.Address(), ""}, map[string]*testNode{"a": node})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Epochs) != 2 {
		t.Fatalf("resumed run reported %d epochs, want 2 (epochs 2 and 3)", len(got.Epochs))
	}
	sameBits(t, checkpointParams(t, want.Checkpoint), checkpointParams(t, got.Checkpoint))
	sameBits(t, checkpointState(t, want.Checkpoint), checkpointState(t, got.Checkpoint))
	for i, w := range want.Epochs[1:] {
		if g := got.Epochs[i]; g.TrainLoss != w.TrainLoss || g.Step != w.Step || g.LR != w.LR {
			t.Errorf("epoch %d: loss %v step %d lr %v, straight run %v %d %v", w.Epoch, g.TrainLoss, g.Step, g.LR, w.TrainLoss, w.Step, w.LR)
		}
	}
}
