package actors

import (
	"cmp"
	"fmt"
	"testing"

	"github.com/troupe-ml/troupe/actors/core"
)

// Under failover the loader ends an epoch only once every batch is
// acknowledged, so the replicas leave the shards' clocks at nearly the same
// time and their leaves reach the shards in different orders. The shards
// must still admit each replica at the same step when the next epoch
// starts, whatever the orders; a split fails the run with a protocol
// violation. The race is not forced, so each case runs several short jobs
// with many epoch starts, on twice as many shards as replicas to give the
// orders more room to differ.
func TestEpochStartAfterConcurrentLeaves(t *testing.T) {
	runs := 20
	if testing.Short() || raceEnabled {
		// The race detector slows each run many times over; a few still check
		// the runs for data races.
		runs = 2
	}
	for _, tc := range []struct {
		sync      core.Consistency
		staleness int
	}{
		{core.Async, 0},
		{core.SSP, 2},
	} {
		t.Run(tc.sync.String(), func(t *testing.T) {
			noLeak(t)
			trainSet, testSet := synth(160, 1), synth(50, 2)
			job := tinyJob(10)
			job.Batch = 8
			failed := 0
			var first error
			for i := range runs {
				cfg := Config{Job: job, Workers: 3, PSShards: 6, Sync: tc.sync, Staleness: tc.staleness, Prefetch: 2}
				cfg.hooks.failover = true
				res, _, err := Run(t.Context(), cfg, trainSet, testSet)
				if err == nil && len(res.Epochs) != job.Epochs {
					err = fmt.Errorf("%d epoch reports, want %d", len(res.Epochs), job.Epochs)
				}
				if err != nil {
					failed++
					first = cmp.Or(first, fmt.Errorf("run %d: %w", i, err))
				}
			}
			if failed > 0 {
				t.Errorf("%d of %d runs failed, the first: %v", failed, runs, first)
			}
		})
	}
}
