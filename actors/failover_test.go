package actors

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/troupe-ml/troupe/actors/core"
)

// A replica lost mid-epoch (here: one that fails, which failover handles as
// a node that went away) leaves the shards' clocks, so that BSP rounds and
// SSP bounds stop waiting for it, and the batches it had not finished go to
// the others: every sample is still trained on once per epoch, by a replica
// that survived, and the job reports every epoch. The loss comes early in
// an epoch, and at a replica's last batches, after the loader has made all
// of the epoch's.
func TestLostWorkerBatchesReassigned(t *testing.T) {
	for _, tc := range []struct {
		sync             core.Consistency
		staleness, epoch int
		nth              int32 // the lost replica's nth batch of the epoch
	}{
		{core.BSP, 0, 2, 2},
		{core.BSP, 0, 1, 5},
		{core.SSP, 1, 2, 3},
		{core.Async, 0, 3, 2},
	} {
		t.Run(fmt.Sprintf("%v/epoch%d/batch%d", tc.sync, tc.epoch, tc.nth), func(t *testing.T) {
			noLeak(t)
			trainSet, testSet := synth(640, 1), synth(100, 2)
			job := tinyJob(3)
			cfg := Config{Job: job, Workers: 3, PSShards: 2, Sync: tc.sync, Staleness: tc.staleness, Prefetch: 3}
			cfg.hooks.failover = true
			s := newSeen(trainSet.N)
			var n atomic.Int32
			var lost atomic.Bool
			cfg.hooks.trained = func(w int, epoch uint64, ids []int64) {
				if w == 1 && int(epoch) == tc.epoch && n.Add(1) == tc.nth && lost.CompareAndSwap(false, true) {
					panic(errInjected)
				}
				s.trained(w, epoch, ids)
			}
			res, met, err := Run(t.Context(), cfg, trainSet, testSet)
			if err != nil {
				t.Fatal(err)
			}
			if !lost.Load() {
				t.Fatalf("replica 1 trained fewer than %d batches in epoch %d: nothing was lost", tc.nth, tc.epoch)
			}
			s.check(t, job.Epochs)
			if len(res.Epochs) != job.Epochs {
				t.Errorf("%d epoch reports, want %d", len(res.Epochs), job.Epochs)
			}
			// The lost replica trained only the batches before its loss.
			if got, max := met.Workers[1].Samples, uint64(tc.epoch)*uint64(trainSet.N); got >= max {
				t.Errorf("lost replica: %d samples, want fewer than %d", got, max)
			}
			if last := res.Epochs[len(res.Epochs)-1]; last.TestAccuracy <= 0 {
				t.Errorf("last epoch's accuracy %v", last.TestAccuracy)
			}
		})
	}
}

// Losing every replica fails the run with an error naming the last one.
func TestAllWorkersLostFails(t *testing.T) {
	noLeak(t)
	cfg := Config{Job: tinyJob(2), Workers: 2}
	cfg.hooks.failover = true
	cfg.hooks.trained = func(int, uint64, []int64) { panic(errInjected) }
	_, _, err := Run(t.Context(), cfg, synth(320, 1), synth(50, 2))
	if err == nil {
		t.Fatal("the run succeeded with every replica lost")
	}
	t.Log(err)
}

// Once a replica is lost under BSP, an update moves the learning-rate
// schedule on by the live share of the replicas, so that the schedule still
// spans the job's samples; before, and under SSP, it moves by one.
func TestShardLossSchedulePosition(t *testing.T) {
	bsp := &plan{workers: 2, sync: core.BSP}
	var l shardLoss
	for v := uint64(1); v <= 10; v++ {
		if got := l.position(bsp, v); got != int(v)-1 {
			t.Fatalf("no loss: version %d at step %d, want %d", v, got, v-1)
		}
	}
	l.lose(1, 10)
	var got []int
	for v := uint64(11); v <= 15; v++ {
		got = append(got, l.position(bsp, v))
	}
	if want := []int{10, 10, 11, 11, 12}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after losing 1 of 2 replicas at version 10: steps %v, want %v", got, want)
	}
	var s shardLoss
	s.lose(0, 3)
	if got := s.position(&plan{workers: 2, sync: core.SSP}, 7); got != 6 {
		t.Errorf("SSP: version 7 at step %d, want 6", got)
	}
}
