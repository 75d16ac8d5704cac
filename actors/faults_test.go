package actors

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-ml/troupe/actors/core"
)

var errInjected = errors.New("injected fault")

// A slow replica must not make the loader read ahead for it: credit keeps
// what is in flight towards each replica, augmenters included, within the
// prefetch window.
func TestSlowWorkerBoundsInFlight(t *testing.T) {
	noLeak(t)
	trainSet, testSet := synth(480, 1), synth(50, 2)
	job := tinyJob(2)
	cfg := Config{Job: job, Workers: 3, Sync: core.Async, Prefetch: 2, Augment: "noise(std=0.05)", Augmenters: 2}
	cfg.hooks.workerDelay = func(w int) time.Duration {
		if w == 0 {
			return 5 * time.Millisecond
		}
		return 0
	}
	s := newSeen(trainSet.N)
	cfg.hooks.trained = s.trained
	_, met, err := Run(t.Context(), cfg, trainSet, testSet)
	if err != nil {
		t.Fatal(err)
	}
	s.check(t, job.Epochs)
	for i, n := range met.MaxInFlight {
		if n > cfg.Prefetch {
			t.Errorf("worker %d: up to %d batches in flight, want ≤ %d", i, n, cfg.Prefetch)
		}
	}
	// The slow replica's window was full at some point, or the bound was
	// never put to the test.
	if met.MaxInFlight[0] != cfg.Prefetch {
		t.Errorf("slow worker: at most %d batches in flight, want its window of %d filled", met.MaxInFlight[0], cfg.Prefetch)
	}
	t.Logf("samples per worker: %d %d %d", met.Workers[0].Samples, met.Workers[1].Samples, met.Workers[2].Samples)
}

// An augmenter that crashes is restarted and handed its batch again, so the
// job completes with every sample trained on once per epoch.
func TestAugmenterCrashIsRetried(t *testing.T) {
	noLeak(t)
	trainSet, testSet := synth(320, 1), synth(50, 2)
	job := tinyJob(2)
	cfg := Config{Job: job, Workers: 2, PSShards: 2, Augment: "affine,noise", Augmenters: 3}
	var faults atomic.Int32
	cfg.hooks.augmentFault = func(epoch, seq uint64, attempt int) error {
		// Every third batch fails once, and batch 4 of epoch 2 fails on
		// every attempt the budget allows.
		if (seq%3 == 0 && attempt == 1) || (epoch == 2 && seq == 4 && attempt <= augmentRetries) {
			faults.Add(1)
			return errInjected
		}
		return nil
	}
	s := newSeen(trainSet.N)
	cfg.hooks.trained = s.trained
	res, _, err := Run(t.Context(), cfg, trainSet, testSet)
	if err != nil {
		t.Fatal(err)
	}
	s.check(t, job.Epochs)
	if want := int32(2*4 + augmentRetries); faults.Load() != want {
		t.Errorf("%d faults injected, want %d", faults.Load(), want)
	}
	if len(res.Epochs) != job.Epochs {
		t.Errorf("%d epoch reports, want %d", len(res.Epochs), job.Epochs)
	}
}

// A batch that keeps crashing its augmenter fails the job once the retry
// budget is spent, with an error that names the actor, the batch and the
// cause.
func TestAugmenterRetryBudget(t *testing.T) {
	noLeak(t)
	cfg := Config{Job: tinyJob(2), Workers: 2, Augment: "noise", Augmenters: 2}
	cfg.hooks.augmentFault = func(epoch, seq uint64, _ int) error {
		if epoch == 1 && seq == 3 {
			return errInjected
		}
		return nil
	}
	_, _, err := Run(t.Context(), cfg, synth(320, 1), synth(50, 2))
	if !errors.Is(err, errInjected) {
		t.Fatalf("error %v, want the injected fault", err)
	}
	for _, want := range []string{"augmenter/", "failed 4 times", "batch 3 of epoch 1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// Cancelling the context stops the run between messages: Run returns the
// context's error with every actor stopped, long before the job's end.
func TestCancelStopsRun(t *testing.T) {
	noLeak(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	job := tinyJob(100)
	cfg := Config{Job: job, Workers: 2, PSShards: 2, Sync: core.SSP, Staleness: 1}
	var batches atomic.Int32
	cfg.hooks.trained = func(int, uint64, []int64) {
		if batches.Add(1) == 5 {
			cancel()
		}
	}
	res, _, err := Run(ctx, cfg, synth(320, 1), synth(50, 2))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if len(res.Epochs) != 0 {
		t.Errorf("a cancelled run reported %d epochs", len(res.Epochs))
	}
	// The job has 100 × 10 batches; stopping lets at most the steps in
	// progress finish.
	if n := batches.Load(); n > 50 {
		t.Errorf("%d batches trained after cancelling at the 5th", n)
	}
	if _, _, err := Run(ctx, cfg, synth(32, 1), synth(10, 2)); !errors.Is(err, context.Canceled) {
		t.Errorf("run with a cancelled context: %v, want context.Canceled", err)
	}
}
