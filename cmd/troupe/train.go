package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/troupe-ml/troupe/actors"
	"github.com/troupe-ml/troupe/engine/compress"
	"github.com/troupe-ml/troupe/engine/data"
	"github.com/troupe-ml/troupe/engine/gpu"
	"github.com/troupe-ml/troupe/engine/nn"
	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/train"
	"github.com/troupe-ml/troupe/kernels/cuda"
)

// trainFlags binds the command line onto a job specification: the config file
// (if any) is read first, then every flag the user set overrides it.
type trainFlags struct {
	fs     *flag.FlagSet
	config string
	resume string
	from   *train.Loaded // the checkpoint --resume names, once resolved
	job    spec.Job      // flag values; only the ones set are applied
	// cluster holds the coordinator's flags (cluster.go).
	cluster clusterFlags
}

func newTrainFlags() *trainFlags {
	f := &trainFlags{fs: flag.NewFlagSet("train", flag.ContinueOnError), job: spec.Default()}
	fs, j := f.fs, &f.job
	fs.StringVar(&f.config, "config", "", "job file (YAML or JSON) with the same fields as the flags; flags override it")
	fs.StringVar(&f.resume, "resume", "", "continue the job whose output folder this is, from its last checkpoint; flags override its job (e.g. --epochs to train longer)")
	f.cluster.bind(fs)
	fs.StringVar(&j.Model, "model", j.Model, "model preset: "+strings.Join(nn.PresetNames(), ", "))
	fs.IntVar(&j.Epochs, "epochs", j.Epochs, "number of passes over the training set")
	fs.IntVar(&j.Batch, "batch", j.Batch, "training batch size")
	fs.IntVar(&j.EvalBatch, "eval-batch", j.EvalBatch, "evaluation batch size")
	fs.Float64Var(&j.LR, "lr", j.LR, "peak learning rate")
	enumFlag(fs, "optimizer", "optimizer: sgd, adam, adamw", &j.Optimizer, spec.ParseOptimizer)
	enumFlag(fs, "schedule", "learning-rate schedule: constant, step, cosine", &j.Schedule, spec.ParseSchedule)
	fs.Float64Var(&j.Momentum, "momentum", j.Momentum, "SGD momentum")
	fs.BoolVar(&j.Nesterov, "nesterov", j.Nesterov, "use Nesterov momentum with SGD")
	fs.Float64Var(&j.WeightDecay, "weight-decay", j.WeightDecay, "weight decay (L2 for sgd/adam, decoupled for adamw)")
	fs.Float64Var(&j.WarmupEpochs, "warmup-epochs", j.WarmupEpochs, "linear warm-up length of the cosine schedule, in epochs")
	fs.IntVar(&j.StepEpochs, "step-epochs", j.StepEpochs, "step schedule: decay every N epochs (0: a third of the run)")
	fs.Float64Var(&j.Gamma, "gamma", j.Gamma, "step schedule: decay factor")
	fs.Float64Var(&j.ClipNorm, "clip-norm", j.ClipNorm, "clip the global gradient norm to this value (0: off)")
	fs.Float64Var(&j.LabelSmoothing, "label-smoothing", j.LabelSmoothing, "label smoothing ε of the cross-entropy")
	fs.IntVar(&j.Workers, "workers", j.Workers, "data-parallel model replicas in the actor pipeline (0: the plain single-process loop, without augmentation or selection)")
	fs.IntVar(&j.PSShards, "ps-shards", j.PSShards, "parameter-server shards (pipeline)")
	enumFlag(fs, "sync", "parameter-server consistency: bsp, async, ssp", &j.Sync, spec.ParseSync)
	fs.IntVar(&j.Staleness, "staleness", j.Staleness, "ssp: how many steps a worker may run ahead of the slowest")
	fs.StringVar(&j.Augment, "augment", j.Augment, "augmentation transforms, e.g. affine,elastic or affine(degrees=15,p=0.5) (pipeline)")
	fs.IntVar(&j.Augmenters, "augmenters", j.Augmenters, "augmenter actors (pipeline)")
	enumFlag(fs, "select", "online data selection: uniform, selective-backprop, loss-rank, importance (pipeline)", &j.Select, spec.ParseSelection)
	fs.IntVar(&j.ScoreStaleness, "score-staleness", j.ScoreStaleness, "selection: optimizer steps a stored loss stays usable before a fresh forward pass")
	fs.Float64Var(&j.SelectBeta, "select-beta", j.SelectBeta, "selective-backprop: keep probability is the loss's percentile to this power")
	fs.Float64Var(&j.SelectPressure, "select-pressure", j.SelectPressure, "loss-rank: selection pressure s_e (most / least likely sample) at the start")
	fs.Float64Var(&j.SelectPressureEnd, "select-pressure-end", j.SelectPressureEnd, "loss-rank: selection pressure at the end of the run")
	fs.Float64Var(&j.SelectSmoothing, "select-smoothing", j.SelectSmoothing, "importance: share of the uniform distribution in the sampling mix")
	fs.Float64Var(&j.SelectFraction, "select-fraction", j.SelectFraction, "loss-rank, importance: share of each batch drawn for the backward pass")
	fs.Float64Var(&j.TargetAccuracy, "target-accuracy", j.TargetAccuracy, "stop after the first evaluation whose test accuracy reaches this (0: off)")
	fs.IntVar(&j.EvalEvery, "eval-every", j.EvalEvery, "also evaluate every N optimizer steps, with an eval event (0: at epoch ends only)")
	enumFlag(fs, "device", "where to train: cpu, cuda (an NVIDIA GPU)", &j.Device, spec.ParseDevice)
	fs.IntVar(&j.Prefetch, "prefetch", j.Prefetch, "batches in flight per worker (pipeline)")
	fs.Func("compress", "gradient compression of the pipeline's pushes: none, fp16, bf16, int8, topk:FRACTION (default "+j.Compress+")", func(v string) error {
		_, err := compress.Parse(v)
		j.Compress = v
		return err
	})
	fs.Uint64Var(&j.Seed, "seed", j.Seed, "random seed for initialisation, data order and dropout")
	fs.IntVar(&j.Threads, "threads", j.Threads, "CPU threads (0: all cores)")
	fs.StringVar(&j.Data, "data", j.Data, "directory holding the MNIST IDX files (default: $TROUPE_DATA, then the GoMNIST module copy)")
	fs.StringVar(&j.Out, "out", j.Out, "output directory for the checkpoint, metrics.jsonl and curves.png")
	fs.BoolVar(&j.JSON, "json", j.JSON, "print one JSON object per line on stdout and nothing else")
	return f
}

// enumFlag binds a flag whose value must parse as one of an enum's
// spellings; a bad value fails at parse time naming the flag.
func enumFlag[T ~string](fs *flag.FlagSet, name, usage string, dst *T, parse func(string) (T, error)) {
	fs.Func(name, usage+" (default "+string(*dst)+")", func(s string) error {
		v, err := parse(s)
		*dst = v
		return err
	})
}

// resolve builds the job: defaults, then the config file, then set flags.
func (f *trainFlags) resolve() (spec.Job, error) {
	job := spec.Default()
	switch {
	case f.config != "" && f.resume != "":
		return job, fmt.Errorf("--config and --resume: give one (a resumed job's settings come from its checkpoint): %w", errUsage)
	case f.config != "":
		var err error
		if job, err = spec.Load(f.config); err != nil {
			return job, err
		}
	case f.resume != "":
		from, err := train.LoadCheckpoint(filepath.Join(f.resume, train.CheckpointName), nil)
		if err != nil {
			return job, fmt.Errorf("--resume: %w", err)
		}
		if !from.HasJob {
			return job, fmt.Errorf("--resume: %s has no job in its metadata", filepath.Join(f.resume, train.CheckpointName))
		}
		job, f.from = from.State.Job, from
		job.Out = f.resume
	}
	var errs []string
	f.fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "config", "resume":
		case "listen", "advertise", "tls-cert", "tls-key", "tls-ca", "nodes": // cluster.go
		case "model":
			job.Model, job.ModelSpec = f.job.Model, nil
		case "epochs":
			job.Epochs = f.job.Epochs
		case "batch":
			job.Batch = f.job.Batch
		case "eval-batch":
			job.EvalBatch = f.job.EvalBatch
		case "lr":
			job.LR = f.job.LR
		case "optimizer":
			job.Optimizer = f.job.Optimizer
		case "schedule":
			job.Schedule = f.job.Schedule
		case "momentum":
			job.Momentum = f.job.Momentum
		case "nesterov":
			job.Nesterov = f.job.Nesterov
		case "weight-decay":
			job.WeightDecay = f.job.WeightDecay
		case "warmup-epochs":
			job.WarmupEpochs = f.job.WarmupEpochs
		case "step-epochs":
			job.StepEpochs = f.job.StepEpochs
		case "gamma":
			job.Gamma = f.job.Gamma
		case "clip-norm":
			job.ClipNorm = f.job.ClipNorm
		case "label-smoothing":
			job.LabelSmoothing = f.job.LabelSmoothing
		case "workers":
			job.Workers = f.job.Workers
		case "ps-shards":
			job.PSShards = f.job.PSShards
		case "sync":
			job.Sync = f.job.Sync
		case "staleness":
			job.Staleness = f.job.Staleness
		case "augment":
			job.Augment = f.job.Augment
		case "augmenters":
			job.Augmenters = f.job.Augmenters
		case "select":
			job.Select = f.job.Select
		case "score-staleness":
			job.ScoreStaleness = f.job.ScoreStaleness
		case "select-beta":
			job.SelectBeta = f.job.SelectBeta
		case "select-pressure":
			job.SelectPressure = f.job.SelectPressure
		case "select-pressure-end":
			job.SelectPressureEnd = f.job.SelectPressureEnd
		case "select-smoothing":
			job.SelectSmoothing = f.job.SelectSmoothing
		case "select-fraction":
			job.SelectFraction = f.job.SelectFraction
		case "target-accuracy":
			job.TargetAccuracy = f.job.TargetAccuracy
		case "eval-every":
			job.EvalEvery = f.job.EvalEvery
		case "prefetch":
			job.Prefetch = f.job.Prefetch
		case "compress":
			job.Compress = f.job.Compress
		case "seed":
			job.Seed = f.job.Seed
		case "threads":
			job.Threads = f.job.Threads
		case "device":
			job.Device = f.job.Device
		case "data":
			job.Data = f.job.Data
		case "out":
			job.Out = f.job.Out
		case "json":
			job.JSON = f.job.JSON
		default:
			errs = append(errs, fl.Name)
		}
	})
	if len(errs) > 0 {
		panic("troupe: train flags without a job field: " + strings.Join(errs, ", "))
	}
	if err := job.Validate(); err != nil {
		return job, err
	}
	if job.ModelSpec == nil {
		if _, err := nn.Preset(job.Model); err != nil {
			return job, err
		}
	}
	return job, nil
}

func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newTrainFlags()
	if err := parseFlags(f.fs, args, stderr); err != nil {
		return err
	}
	job, err := f.resolve()
	if err != nil {
		return err
	}
	if job.Threads > 0 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(job.Threads))
	}
	log := newLogger(stderr, job.JSON)
	dir, err := data.LocateMNIST(job.Data)
	if err != nil {
		return err
	}
	var dev *cuda.Device
	if job.Device == spec.CUDA {
		if job.Workers > 1 {
			return fmt.Errorf("--device cuda trains one replica on the device: use --workers 1 (or 0): %w", errUsage)
		}
		if dev, err = cuda.Open(cuda.Options{}); err != nil {
			return err
		}
		defer dev.Close()
		log.Info().Str("device", dev.String()).Msg("cuda")
	}
	trainSet, testSet, err := data.LoadMNIST(dir)
	if err != nil {
		return err
	}
	if job.Out != "" {
		if err := os.MkdirAll(job.Out, 0o755); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
		if err := writeJob(filepath.Join(job.Out, "job.json"), job); err != nil {
			return err
		}
	}
	log.Info().Str("model", modelName(job)).Int("epochs", job.Epochs).Int("batch", job.Batch).
		Str("optimizer", string(job.Optimizer)).Float64("lr", job.LR).Str("data", dir).
		Int("threads", runtime.GOMAXPROCS(0)).Msg("training")

	first := 1
	if f.from != nil {
		first = f.from.State.Epoch + 1
	}
	rep, err := newReporter(job, stdout, stderr, log, first)
	if err != nil {
		return err
	}
	defer rep.close()
	start := time.Now()
	var res train.Result
	if f.from != nil {
		if dev != nil {
			return fmt.Errorf("--resume with --device cuda is not supported yet: resume on the CPU (--device cpu): %w", errUsage)
		}
		log.Info().Int("epoch", f.from.State.Epoch).Int("step", f.from.State.Step).Str("from", f.resume).Msg("resuming")
	}
	switch {
	case dev != nil:
		if job.Augment != "" || job.Select != spec.Uniform {
			return fmt.Errorf("augment and select need the actor pipeline, which runs on the CPU: %w", errUsage)
		}
		res, err = gpu.Run(ctx, dev, job, trainSet, testSet, rep, gpu.RunOptions{})
	case f.cluster.nodes > 0:
		res, err = runCluster(ctx, &f.cluster, job, trainSet, testSet, rep, stderr, f.from, log)
	case job.Workers > 0:
		res, err = runPipeline(ctx, job, trainSet, testSet, rep, stderr, f.from)
	default:
		if job.Augment != "" || job.Select != spec.Uniform {
			return fmt.Errorf("augment and select need the actor pipeline: use --workers 1 or more: %w", errUsage)
		}
		if m, _ := compress.Parse(job.Compress); m.Kind != compress.None {
			return fmt.Errorf("compress compresses the actor pipeline's pushes: use --workers 1 or more: %w", errUsage)
		}
		res, err = train.RunFrom(ctx, job, trainSet, testSet, nil, rep, f.from)
	}
	if err != nil {
		return err
	}
	last := res.Epochs[len(res.Epochs)-1]
	return rep.done(doneEvent{
		Event: "done", TestAccuracy: last.TestAccuracy, SamplesPerSec: res.SamplesPerSec,
		Checkpoint: res.Checkpoint, Seconds: time.Since(start).Seconds(), FinalTrainLoss: last.TrainLoss,
	})
}

// runPipeline trains through the actor pipeline; protoactor's own logs go to
// stderr at warning level so that stdout stays clean for --json.
func runPipeline(ctx context.Context, job spec.Job, trainSet, testSet *data.Dataset, rep *reporter, stderr io.Writer, from *train.Loaded) (train.Result, error) {
	cfg, err := actors.ConfigFromJob(job)
	if err != nil {
		return train.Result{}, err
	}
	cfg.From = from
	cfg.Observer = rep
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	res, _, err := actors.Run(ctx, cfg, trainSet, testSet)
	return res, err
}

func modelName(job spec.Job) string {
	if job.ModelSpec != nil {
		return "custom"
	}
	return job.Model
}

func writeJob(path string, job spec.Job) error {
	b, err := json.MarshalIndent(job, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	return nil
}

func newLogger(stderr io.Writer, jsonOut bool) zerolog.Logger {
	if jsonOut {
		return zerolog.New(stderr).With().Timestamp().Logger()
	}
	return zerolog.New(zerolog.ConsoleWriter{Out: stderr, TimeFormat: time.TimeOnly}).With().Timestamp().Logger()
}
