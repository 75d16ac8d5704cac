package actors

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-ml/troupe/actors/core"
	"github.com/troupe-ml/troupe/engine/data"
	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/tensor"
	"github.com/troupe-ml/troupe/engine/train"
	"github.com/troupe-ml/troupe/kernels"
	"github.com/troupe-ml/troupe/messages"
)

// Config describes one run of the actor pipeline. The zero values of the
// pipeline fields take the defaults noted beside them.
type Config struct {
	// Job is the training job: model, optimizer, schedule, epochs, seed.
	// Run reads the pipeline's shape from the fields below, not from the
	// job's own pipeline fields; ConfigFromJob copies those over.
	Job spec.Job
	// Workers is the number of data-parallel model replicas (0: 1) and
	// PSShards the number of parameter-server shards (0: 1).
	Workers, PSShards int
	// Sync is the parameter servers' consistency (0: core.BSP); Staleness
	// is SSP's bound and must be 0 otherwise.
	Sync      core.Consistency
	Staleness int
	// Augment is an augmentation pipeline in augment.Parse syntax; "" or
	// "none" turns augmentation off. Augmenters is the size of the
	// augmenter pool (0: 2).
	Augment    string
	Augmenters int
	// Prefetch is the credit window of each replica: the most batches the
	// loader has in flight towards it (0: 2).
	Prefetch int
	// Backend computes the replicas' steps and the evaluation; nil is the
	// CPU.
	Backend tensor.Backend
	// Observer receives progress and epoch reports, on the coordinator
	// actor's goroutine; nil for none. If it also implements
	// MetricsObserver it receives each epoch's stage metrics too.
	Observer train.Observer
	// Logger receives protoactor's own log, and in a placed run the input
	// rejected from peers; nil discards it, so that standard output and
	// error stay clean for machine-readable output.
	Logger *slog.Logger
	// Placement, when set, runs some replicas and shards on other nodes
	// (see Placement); nil runs everything in this process.
	Placement *Placement
	// From, when set, continues a job from its checkpoint: the shards
	// start from its parameters and optimizer state, the learning-rate
	// schedule from its step, and training from the epoch after its own.
	// It may come from the plain loop or from the pipeline with any number
	// of workers or shards: the checkpoint's format is the same.
	From *train.Loaded

	hooks hooks
}

// hooks let tests inject faults and delays; all are nil in production and
// must be safe for concurrent use.
type hooks struct {
	// augmentFault, when it returns an error, makes the augmenter panic
	// with it on that attempt (1 for the first) at batch seq of epoch.
	augmentFault func(epoch, seq uint64, attempt int) error
	// loaderFault, when it returns an error, makes the loader panic with
	// it at point where (faultBeforeNext, ...) of batch seq of epoch.
	loaderFault func(epoch uint64, seq, where int) error
	// workerDelay makes a replica sleep before each step.
	workerDelay func(worker int) time.Duration
	// trained sees the samples of every batch a replica trained on.
	trained func(worker int, epoch uint64, ids []int64)
	// trainedBatch sees every batch a replica trained on, after trained
	// and before the replica reports it done.
	trainedBatch func(worker int, b *messages.Batch)
	// scoresSent sees every Scores a replica sent the selector, just after
	// the send.
	scoresSent func(worker int, m *messages.Scores)
	// failover turns failover on in a run in one process: a replica that
	// fails is then stopped and handled as lost (failover.go), as a placed
	// run handles a replica whose node went away.
	failover bool
}

// MetricsObserver is implemented by Observers that want each epoch's stage
// metrics; EpochMetrics is called just before Observer.Epoch.
type MetricsObserver interface {
	EpochMetrics(epoch int, m Metrics)
}

// ConfigFromJob returns the Config that job's own pipeline fields describe
// (workers, ps_shards, sync, staleness, augment, augmenters, prefetch).
// Workers 0, which asks the command line for the plain loop, becomes 1.
func ConfigFromJob(job spec.Job) (Config, error) {
	sync, err := core.ParseConsistency(string(job.Sync))
	if err != nil {
		return Config{}, fmt.Errorf("actors: job field sync: %w", err)
	}
	return Config{
		Job: job, Workers: max(job.Workers, 1), PSShards: job.PSShards,
		Sync: sync, Staleness: job.Staleness,
		Augment: job.Augment, Augmenters: job.Augmenters, Prefetch: job.Prefetch,
	}, nil
}

// Run trains cfg.Job on trainSet with the actor pipeline, evaluating on
// testSet after every epoch, and writes a checkpoint into Job.Out after
// every epoch when it is set. It returns when the last epoch is reported,
// when an actor fails, or when ctx is cancelled (with ctx.Err()); in every
// case all actors have stopped. Result.Trainer is nil: the parameters live
// on the parameter-server shards, and the checkpoint holds them.
func Run(ctx context.Context, cfg Config, trainSet, testSet *data.Dataset) (train.Result, Metrics, error) {
	if cfg.Backend == nil && max(cfg.Workers, 1) == 1 {
		// One replica gets the multi-threaded kernels, as the plain loop
		// does; several replicas each run single-threaded products on the
		// calling actor's goroutine and share the cores between them.
		cpu, err := kernels.NewCPU(cfg.Job.Threads, kernels.ImplAuto)
		if err != nil {
			return train.Result{}, Metrics{}, fmt.Errorf("actors: %w", err)
		}
		defer cpu.Close()
		cfg.Backend = tensor.CPUBackend{K: cpu}
	}
	if cfg.Placement != nil {
		if err := checkPlaceable(cfg); err != nil {
			return train.Result{}, Metrics{}, err
		}
	}
	p, err := newPlan(cfg, trainSet, testSet)
	if err != nil {
		return train.Result{}, Metrics{}, err
	}
	if err := ctx.Err(); err != nil {
		return train.Result{}, Metrics{}, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	var sys *actor.ActorSystem
	if cfg.Placement == nil {
		sys = actor.NewActorSystem(
			actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logger.With("lib", "protoactor") }),
			// A message to a stopped actor during shutdown is a dead letter;
			// protoactor's log throttle for them holds a goroutine for this
			// long, so keep it short enough to be gone when Run returns.
			actor.WithDeadLetterThrottleInterval(time.Millisecond),
		)
	} else {
		sys = cfg.Placement.System
	}
	out := newOutcome()
	t := newTopology(sys, p)
	var pl *placed
	if cfg.Placement != nil {
		if pl, err = place(ctx, sys, p, t, cfg.Placement, out, logger); err != nil {
			return train.Result{}, Metrics{}, err
		}
	}
	job, err := sys.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor {
		return &jobActor{p: p, t: t, out: out, wire: pl.wiring()}
	}), jobName)
	if err != nil {
		pl.stop(sys)
		return train.Result{}, Metrics{}, fmt.Errorf("actors: spawning the job: %w", err)
	}
	select {
	case <-out.done:
	case <-ctx.Done():
		out.fail(ctx.Err())
	}
	stopAll(sys, t, job, pl)
	return out.result()
}

// stopAll stops every actor and waits for each: the placed ones first (pl,
// nil for a run in one process), whose system stays up. Stopping the job
// actor stops its children first; the router's own actor is not among
// them, so it is stopped before.
func stopAll(sys *actor.ActorSystem, t *topology, job *actor.PID, pl *placed) {
	pl.stop(sys)
	if t.router != nil {
		_ = sys.Root.StopFuture(t.router).Wait()
	}
	_ = sys.Root.StopFuture(job).Wait()
	if pl == nil {
		sys.Shutdown()
	}
}

// errStopped is what result reports if the outcome was never set, which
// only a bug can cause.
var errStopped = errors.New("actors: pipeline stopped without a result")
