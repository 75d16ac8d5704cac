package actors

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-ml/troupe/actors/core"
	"github.com/troupe-ml/troupe/engine/train"
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

// A loader that crashes anywhere in making or sending a batch is restarted
// and carries on where it stopped: with one replica the run stays bit for
// bit the plain loop's, so no batch was lost, repeated or reordered, and
// with several every sample is still trained on once per epoch.
func TestLoaderCrashIsResumed(t *testing.T) {
	noLeak(t)
	trainSet, testSet := synth(192, 1), synth(50, 2)
	type at struct {
		epoch      uint64
		seq, where int
	}
	// How often each point fails before it lets the batch through; 3 is
	// the whole budget of crashes in a row.
	faults := map[at]int{
		{1, 0, faultBeforeNext}: 1,
		{1, 2, faultInNext}:     2,
		{1, 4, faultBeforeSend}: 1,
		{2, 1, faultInNext}:     loaderRetries,
		{2, 5, faultBeforeNext}: 1,
	}
	want := 0
	for _, n := range faults {
		want += n
	}
	inject := func() (func(uint64, int, int) error, func() int) {
		var mu sync.Mutex
		calls := map[at]int{}
		injected := 0
		hook := func(epoch uint64, seq, where int) error {
			mu.Lock()
			defer mu.Unlock()
			k := at{epoch, seq, where}
			calls[k]++
			if calls[k] <= faults[k] {
				injected++
				return errInjected
			}
			return nil
		}
		return hook, func() int { mu.Lock(); defer mu.Unlock(); return injected }
	}

	// A lost message would stall the run rather than fail it.
	stallGuard := func(t *testing.T) context.Context {
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		t.Cleanup(cancel)
		return ctx
	}

	t.Run("one worker matches the plain loop", func(t *testing.T) {
		job := tinyJob(2)
		plain := job
		plain.Out = t.TempDir()
		ref, err := train.Run(t.Context(), plain, trainSet, testSet, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		job.Out = t.TempDir()
		cfg := Config{Job: job, Workers: 1, Prefetch: 2}
		hook, injected := inject()
		cfg.hooks.loaderFault = hook
		got, _, err := Run(stallGuard(t), cfg, trainSet, testSet)
		if err != nil {
			t.Fatal(err)
		}
		if n := injected(); n != want {
			t.Errorf("%d faults injected, want %d", n, want)
		}
		sameBits(t, checkpointParams(t, ref.Checkpoint), checkpointParams(t, got.Checkpoint))
	})
	t.Run("two workers and augmenters train every sample once", func(t *testing.T) {
		job := tinyJob(2)
		cfg := Config{Job: job, Workers: 2, PSShards: 2, Sync: core.Async, Augment: "noise", Augmenters: 2}
		hook, injected := inject()
		cfg.hooks.loaderFault = hook
		s := newSeen(trainSet.N)
		cfg.hooks.trained = s.trained
		if _, _, err := Run(stallGuard(t), cfg, trainSet, testSet); err != nil {
			t.Fatal(err)
		}
		s.check(t, job.Epochs)
		if n := injected(); n != want {
			t.Errorf("%d faults injected, want %d", n, want)
		}
	})
}

// A loader that keeps crashing fails the job once the budget of crashes in
// a row is spent, with an error that names the actor, the batch and the
// cause.
func TestLoaderRetryBudget(t *testing.T) {
	noLeak(t)
	cfg := Config{Job: tinyJob(2), Workers: 2}
	cfg.hooks.loaderFault = func(epoch uint64, seq, where int) error {
		if epoch == 1 && seq == 3 && where == faultBeforeSend {
			return errInjected
		}
		return nil
	}
	_, _, err := Run(t.Context(), cfg, synth(320, 1), synth(50, 2))
	if !errors.Is(err, errInjected) {
		t.Fatalf("error %v, want the injected fault", err)
	}
	for _, want := range []string{"loader", "failed 4 times", "batch 3 of epoch 1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
