package actors

import (
	"testing"

	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/train"
)

// selectionTally sums the replicas' selection counts over every epoch.
type selectionTally struct{ forwarded, dropped, trained uint64 }

func (s *selectionTally) Progress(train.Progress)       {}
func (s *selectionTally) Epoch(train.EpochReport) error { return nil }
func (s *selectionTally) EpochMetrics(_ int, m Metrics) {
	for _, w := range m.Workers {
		s.forwarded += w.Forwarded
		s.dropped += w.Dropped
		s.trained += w.Samples
	}
}

func TestSelectiveBackprop(t *testing.T) {
	noLeak(t)
	trainSet, testSet := synth(640, 1), synth(200, 2)
	run := func() (train.Result, *selectionTally) {
		job := tinyJob(3)
		job.Select = spec.SelectiveBackprop
		var tally selectionTally
		cfg, err := ConfigFromJob(job)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Workers, cfg.Observer = 2, &tally
		res, _, err := Run(t.Context(), cfg, trainSet, testSet)
		if err != nil {
			t.Fatal(err)
		}
		return res, &tally
	}
	res, tally := run()
	if got, want := tally.forwarded+tally.dropped, uint64(3*trainSet.N); got != want {
		t.Errorf("forwarded %d + dropped %d = %d, want every sample of 3 epochs (%d)", tally.forwarded, tally.dropped, got, want)
	}
	// percentile^1 keeps half of a stationary loss stream; while the loss
	// falls, new losses rank low against the history and fewer are kept.
	if frac := float64(tally.forwarded) / float64(3*trainSet.N); frac < 0.05 || frac > 0.75 {
		t.Errorf("kept %.2f of the samples, want some but not most", frac)
	}
	if acc := res.Epochs[len(res.Epochs)-1].TestAccuracy; acc < 0.9 {
		t.Errorf("test accuracy %.3f with selective backprop, want ≥ 0.9 on an easy task", acc)
	}
}
