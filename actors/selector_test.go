package actors

import (
	"errors"
	"math"
	"testing"

	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/train"
)

// passTally keeps the replicas' pass counts of every epoch.
type passTally struct{ epochs []Stage }

func (p *passTally) Progress(train.Progress)       {}
func (p *passTally) Epoch(train.EpochReport) error { return nil }
func (p *passTally) EpochMetrics(_ int, m Metrics) {
	var sum Stage
	for _, w := range m.Workers {
		sum.ForwardSamples += w.ForwardSamples
		sum.BackwardSamples += w.BackwardSamples
		sum.Forwarded += w.Forwarded
		sum.Dropped += w.Dropped
	}
	p.epochs = append(p.epochs, sum)
}

func (p *passTally) total() Stage {
	var t Stage
	for _, e := range p.epochs {
		t.ForwardSamples += e.ForwardSamples
		t.BackwardSamples += e.BackwardSamples
		t.Forwarded += e.Forwarded
		t.Dropped += e.Dropped
	}
	return t
}

// runSelect trains job with the given replicas and returns its result and
// pass counts.
func runSelect(t *testing.T, job spec.Job, workers int, sync spec.Sync) (train.Result, *passTally) {
	t.Helper()
	trainSet, testSet := synth(640, 1), synth(200, 2)
	job.Workers, job.Sync = workers, sync
	cfg, err := ConfigFromJob(job)
	if err != nil {
		t.Fatal(err)
	}
	var tally passTally
	cfg.Observer = &tally
	res, _, err := Run(t.Context(), cfg, trainSet, testSet)
	if err != nil {
		t.Fatal(err)
	}
	return res, &tally
}

// drawnPerEpoch is how many samples a loader-side strategy trains on per
// epoch: ⌈fraction·size⌉ of every batch.
func drawnPerEpoch(n, batch int, fraction float64) uint64 {
	var d uint64
	for lo := 0; lo < n; lo += batch {
		d += uint64(math.Ceil(fraction * float64(min(batch, n-lo))))
	}
	return d
}

func TestLoaderSideSelection(t *testing.T) {
	noLeak(t)
	for _, c := range []struct {
		sel      spec.Selection
		fraction float64
	}{{spec.LossRank, 1}, {spec.Importance, 0.5}} {
		t.Run(string(c.sel), func(t *testing.T) {
			job := tinyJob(3)
			job.Select, job.SelectFraction, job.ScoreStaleness = c.sel, c.fraction, 30
			job.SelectPressure, job.SelectPressureEnd = 50, 5
			job.Out = t.TempDir()
			res, tally := runSelect(t, job, 1, spec.BSP)
			got := tally.total()
			want := 3 * drawnPerEpoch(640, job.Batch, c.fraction)
			if got.BackwardSamples != want || got.Forwarded != want {
				t.Errorf("backward passes on %d samples, %d kept; want %d each", got.BackwardSamples, got.Forwarded, want)
			}
			// Every sample trained on or refreshed went through one
			// forward pass.
			if got.ForwardSamples != got.Forwarded+got.Dropped || got.Dropped == 0 {
				t.Errorf("forward passes on %d samples, want %d trained + %d scored, some scored", got.ForwardSamples, got.Forwarded, got.Dropped)
			}
			if acc := res.Epochs[len(res.Epochs)-1].TestAccuracy; acc < 0.9 {
				t.Errorf("test accuracy %.3f, want ≥ 0.9 on an easy task", acc)
			}
			// Same seed, same run.
			job.Out = t.TempDir()
			again, _ := runSelect(t, job, 1, spec.BSP)
			sameBits(t, checkpointParams(t, res.Checkpoint), checkpointParams(t, again.Checkpoint))
		})
	}
}

func TestLossRankSeveralWorkers(t *testing.T) {
	noLeak(t)
	for _, sync := range []spec.Sync{spec.BSP, spec.Async} {
		job := tinyJob(2)
		job.Select, job.ScoreStaleness, job.Prefetch = spec.LossRank, 20, 1
		_, tally := runSelect(t, job, 3, sync)
		if got, want := tally.total().BackwardSamples, 2*drawnPerEpoch(640, job.Batch, 1); got != want {
			t.Errorf("%s: backward passes on %d samples, want %d", sync, got, want)
		}
	}
}

func TestSelectiveBackpropReusesStoredLosses(t *testing.T) {
	noLeak(t)
	for _, staleness := range []int{0, 1 << 20} {
		job := tinyJob(3)
		job.Select, job.ScoreStaleness = spec.SelectiveBackprop, staleness
		_, tally := runSelect(t, job, 1, spec.BSP)
		for e, s := range tally.epochs {
			if s.Forwarded+s.Dropped != 640 || s.BackwardSamples != s.Forwarded {
				t.Errorf("staleness %d, epoch %d: %d kept + %d dropped, %d backward; want 640 samples, backward = kept",
					staleness, e+1, s.Forwarded, s.Dropped, s.BackwardSamples)
			}
			// A scoring pass over the batch, unless every loss is
			// stored and recent enough, then the training pass. A
			// trained sample's loss is not reused: the samples kept in
			// the epoch before are scored again.
			scoring := uint64(640)
			if staleness > 0 && e > 0 {
				scoring = tally.epochs[e-1].Forwarded
			}
			if want := scoring + s.Forwarded; s.ForwardSamples != want {
				t.Errorf("staleness %d, epoch %d: forward passes on %d samples, want %d", staleness, e+1, s.ForwardSamples, want)
			}
		}
	}
}

func TestUniformCountsPasses(t *testing.T) {
	noLeak(t)
	_, tally := runSelect(t, tinyJob(1), 1, spec.BSP)
	if s := tally.total(); s.ForwardSamples != 640 || s.BackwardSamples != 640 || s.Forwarded != 0 || s.Dropped != 0 {
		t.Errorf("plain training counted %+v, want 640 forward and backward, no selection counts", s)
	}
}

func TestSelectionRejectsBatchMix(t *testing.T) {
	noLeak(t)
	job := tinyJob(1)
	job.Select, job.Augment = spec.LossRank, "mixup"
	cfg, err := ConfigFromJob(job)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Run(t.Context(), cfg, synth(64, 1), synth(32, 2)); !errors.Is(err, errSelectMix) {
		t.Errorf("Run with loss-rank and mixup = %v, want errSelectMix", err)
	}
}

func TestTargetAccuracyStopsEarly(t *testing.T) {
	noLeak(t)
	job := tinyJob(4)
	job.TargetAccuracy = 0.5
	res, tally := runSelect(t, job, 1, spec.BSP)
	// An easy task passes 50 % in its first epoch.
	if len(res.Epochs) != 1 || len(tally.epochs) != 1 || res.Epochs[0].TestAccuracy < 0.5 {
		t.Errorf("trained %d epochs (accuracy %v), want to stop after the first", len(res.Epochs), res.Epochs)
	}
	job.TargetAccuracy = 1
	if res, _ := runSelect(t, job, 1, spec.BSP); len(res.Epochs) != 4 && res.Epochs[len(res.Epochs)-1].TestAccuracy < 1 {
		t.Errorf("stopped after %d epochs short of the target, want all 4", len(res.Epochs))
	}
}
