package actors

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/troupe-ml/troupe/actors/core"
	"github.com/troupe-ml/troupe/engine/spec"
)

// seen counts, per epoch, how often replicas trained on each sample.
type seen struct {
	mu     sync.Mutex
	counts map[uint64][]int
	n      int
}

func newSeen(n int) *seen { return &seen{counts: map[uint64][]int{}, n: n} }

func (s *seen) trained(_ int, epoch uint64, ids []int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.counts[epoch]
	if c == nil {
		c = make([]int, s.n)
		s.counts[epoch] = c
	}
	for _, id := range ids {
		c[id]++
	}
}

// check fails unless each of epochs 1..epochs trained on every sample once.
func (s *seen) check(t *testing.T, epochs int) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for e := 1; e <= epochs; e++ {
		c := s.counts[uint64(e)]
		if c == nil {
			t.Errorf("epoch %d: no samples trained on", e)
			continue
		}
		for id, k := range c {
			if k != 1 {
				t.Errorf("epoch %d: sample %d trained on %d times, want once", e, id, k)
				break
			}
		}
	}
	if len(s.counts) != epochs {
		t.Errorf("samples trained on in %d epochs, want %d", len(s.counts), epochs)
	}
}

func TestFourWorkersTwoShards(t *testing.T) {
	noLeak(t)
	trainSet, testSet := synth(640, 1), synth(200, 2)
	for _, tc := range []struct {
		sync      core.Consistency
		staleness int
	}{{core.BSP, 0}, {core.SSP, 2}, {core.Async, 0}} {
		t.Run(fmt.Sprintf("%v(%d)", tc.sync, tc.staleness), func(t *testing.T) {
			job := tinyJob(3)
			// Asynchrony acts as extra momentum (Mitliagkas et al. 2016):
			// with 0.05 and Nesterov momentum 0.9, four stale replicas
			// sometimes diverge, so the rate is lower than the plain loop's.
			job.Schedule, job.LR = spec.Constant, 0.02
			s := newSeen(trainSet.N)
			cfg := Config{Job: job, Workers: 4, PSShards: 2, Sync: tc.sync, Staleness: tc.staleness}
			cfg.hooks.trained = s.trained
			res, met, err := Run(t.Context(), cfg, trainSet, testSet)
			if err != nil {
				t.Fatal(err)
			}
			s.check(t, job.Epochs)
			if len(res.Epochs) != job.Epochs {
				t.Fatalf("%d epoch reports, want %d", len(res.Epochs), job.Epochs)
			}
			last := res.Epochs[len(res.Epochs)-1]
			if last.TestAccuracy < 0.9 {
				t.Errorf("test accuracy %.3f after %d epochs, want ≥ 0.9 on an easy task", last.TestAccuracy, job.Epochs)
			}
			wantSteps := job.Epochs * 20 // batches of the epoch
			if tc.sync == core.BSP {
				wantSteps = job.Epochs * 5 // one update per four batches
			}
			if last.Step < wantSteps || (tc.sync != core.BSP && last.Step != wantSteps) {
				t.Errorf("%d updates after %d epochs, want %d", last.Step, job.Epochs, wantSteps)
			}
			var samples uint64
			for _, w := range met.Workers {
				samples += w.Samples
			}
			if want := uint64(job.Epochs * trainSet.N); samples != want || met.Loader.Samples != want {
				t.Errorf("workers trained on %d samples and the loader made %d, want %d", samples, met.Loader.Samples, want)
			}
			if slices.Max(met.MaxInFlight) > 2 {
				t.Errorf("loader had up to %v batches in flight per worker, want ≤ the prefetch of 2", met.MaxInFlight)
			}
			t.Logf("accuracy %.3f, %d updates, %.0f samples/s; stages %+v", last.TestAccuracy, last.Step, res.SamplesPerSec, met.Workers)
		})
	}
}
