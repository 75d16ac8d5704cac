package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"

	"github.com/troupe-ml/troupe/actors"
	"github.com/troupe-ml/troupe/engine/data"
	"github.com/troupe-ml/troupe/engine/gpu"
	"github.com/troupe-ml/troupe/engine/nn"
	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/train"
	"github.com/troupe-ml/troupe/kernels/cuda"
)

const benchUsage = `Usage:
  troupe bench train [--model mlp|lenet5] [--batch B] [--threads T] [--device cpu|cuda] [--json]
  troupe bench pipeline [--model mlp|lenet5] [--batch B] [--threads T] [--json]
  troupe bench gemm [--threads T] [--impl auto|avx512|avx2|generic] [--json]
  troupe bench augment [--augment LIST] [--seconds S] [--json]
  troupe bench select [--select LIST] [--target A] [--epochs CAP] [--threads T] [--json]
  troupe bench cluster [--modes none,fp16,bf16,int8,topk:0.01] [--workers 1,2] [--ps P] [--steps S] [--json]
  troupe bench gemm --device cuda [--sizes 4096,8192] [--precision fp32,tf32,bf16] [--reps R] [--json]
`

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, benchUsage)
		return fmt.Errorf("bench: which benchmark? %w", errUsage)
	}
	switch args[0] {
	case "train":
		return runBenchTrain(ctx, args[1:], stdout, stderr)
	case "pipeline":
		return runBenchPipeline(ctx, args[1:], stdout, stderr)
	case "gemm":
		return runBenchGemm(ctx, args[1:], stdout, stderr)
	case "augment":
		return runBenchAugment(ctx, args[1:], stdout, stderr)
	case "select":
		return runBenchSelect(ctx, args[1:], stdout, stderr)
	case "cluster":
		return runBenchCluster(ctx, args[1:], stdout, stderr)
	}
	return fmt.Errorf("bench: unknown benchmark %q (want train, pipeline, gemm, augment, select, cluster): %w", args[0], errUsage)
}

// benchTrainResult is the JSON line of `troupe bench train`.
type benchTrainResult struct {
	Bench         string  `json:"bench"`
	Device        string  `json:"device"`
	Model         string  `json:"model"`
	Batch         int     `json:"batch"`
	Threads       int     `json:"threads"`
	SamplesPerSec float64 `json:"samples_per_sec"`
	AllocsPerStep float64 `json:"allocs_per_step"`
	Epochs        int     `json:"epochs"`
	TestAccuracy  float64 `json:"test_accuracy"`
}

// benchJob is the comparison recipe: plain SGD with momentum 0.9 at a
// constant learning rate, no weight decay, one epoch, no output files.
func benchJob() spec.Job {
	job := spec.Default()
	job.Nesterov, job.WeightDecay, job.Schedule, job.LR, job.Epochs, job.Out = false, 0, spec.Constant, 0.01, 1, ""
	return job
}

// benchFlags binds the flags shared by the training benchmarks.
func benchFlags(name string, job *spec.Job) (*flag.FlagSet, *bool) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.StringVar(&job.Model, "model", job.Model, "model preset: "+strings.Join(nn.PresetNames(), ", "))
	fs.IntVar(&job.Batch, "batch", job.Batch, "batch size")
	fs.IntVar(&job.Epochs, "epochs", job.Epochs, "epochs to time")
	fs.IntVar(&job.Threads, "threads", 0, "CPU threads (0: all cores)")
	fs.StringVar(&job.Data, "data", "", "MNIST directory")
	enumFlag(fs, "device", "where to train: cpu, cuda", &job.Device, spec.ParseDevice)
	return fs, fs.Bool("json", false, "print one JSON line")
}

// benchPrepare parses a training benchmark's flags and loads its data; the
// returned function restores the thread count and is never nil. The train
// benchmark also takes --workers: it runs what `troupe train` runs.
func benchPrepare(name string, args []string, stderr io.Writer) (job spec.Job, jsonOut bool, trainSet, testSet *data.Dataset, restore func(), err error) {
	job = benchJob()
	fs, js := benchFlags(name, &job)
	fs.IntVar(&job.Workers, "workers", job.Workers, "model replicas in the actor pipeline, as troupe train (0: the plain loop; cuda trains one replica)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return job, false, nil, nil, func() {}, err
	}
	trainSet, testSet, restore, err = benchSetup(job)
	return job, *js, trainSet, testSet, restore, err
}

// benchSetup validates the job, applies its thread count and loads MNIST;
// the returned function restores the thread count.
func benchSetup(job spec.Job) (trainSet, testSet *data.Dataset, restore func(), err error) {
	restore = func() {}
	if err := job.Validate(); err != nil {
		return nil, nil, restore, err
	}
	if _, err := nn.Preset(job.Model); err != nil {
		return nil, nil, restore, err
	}
	if job.Threads > 0 {
		prev := runtime.GOMAXPROCS(job.Threads)
		restore = func() { runtime.GOMAXPROCS(prev) }
	}
	dir, err := data.LocateMNIST(job.Data)
	if err != nil {
		return nil, nil, restore, err
	}
	trainSet, testSet, err = data.LoadMNIST(dir)
	return trainSet, testSet, restore, err
}

// writeBench prints v as one JSON line, or human text.
func writeBench(stdout io.Writer, jsonOut bool, v any, text string) error {
	if jsonOut {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s\n", b)
		return err
	}
	_, err := fmt.Fprintln(stdout, text)
	return err
}

// benchPipelineResult is the JSON line of `troupe bench pipeline`.
type benchPipelineResult struct {
	Bench                  string  `json:"bench"`
	Model                  string  `json:"model"`
	Batch                  int     `json:"batch"`
	Threads                int     `json:"threads"`
	LoopSamplesPerSec      float64 `json:"loop_samples_per_sec"`
	PipelineSamplesPerSec  float64 `json:"pipeline_samples_per_sec"`
	Rounds                 int     `json:"rounds"`
	Overhead               float64 `json:"overhead"` // median over rounds of 1 − pipeline/loop
	OverheadMin            float64 `json:"overhead_min"`
	OverheadMax            float64 `json:"overhead_max"`
	PipelineWorkerWaitFrac float64 `json:"pipeline_worker_wait_fraction"`
}

// runBenchPipeline trains, in each of --rounds rounds, one epoch with the
// plain loop and one with the actor pipeline (1 worker, 1 shard, BSP, no
// augmentation) in the same process, and reports the median overhead.
func runBenchPipeline(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	job := benchJob()
	fs, js := benchFlags("bench pipeline", &job)
	rounds := fs.Int("rounds", 5, "loop/pipeline pairs, alternated; the median of the pairs' overheads is reported")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if *rounds < 1 {
		return fmt.Errorf("bench pipeline: --rounds must be ≥ 1: %w", errUsage)
	}
	trainSet, testSet, restore, err := benchSetup(job)
	defer restore()
	if err != nil {
		return err
	}
	pipeJob := job
	pipeJob.Workers = 1
	cfg, err := actors.ConfigFromJob(pipeJob)
	if err != nil {
		return err
	}
	// Each round times an epoch of each, the order alternating, so that
	// drifts in the machine's load hit both sides alike; the median of the
	// per-round ratios discards the rounds a burst of other work spoiled.
	var loops, pipes, overheads, waits []float64
	for r := range *rounds {
		var wait waitRecorder
		cfg.Observer = &wait
		var loop, pipe train.Result
		runLoop := func() error { var err error; loop, err = train.Run(ctx, job, trainSet, testSet, nil, nil); return err }
		runPipe := func() error { var err error; pipe, _, err = actors.Run(ctx, cfg, trainSet, testSet); return err }
		first, second := runLoop, runPipe
		if r%2 == 1 {
			first, second = runPipe, runLoop
		}
		if err := first(); err != nil {
			return err
		}
		if err := second(); err != nil {
			return err
		}
		loops, pipes = append(loops, loop.SamplesPerSec), append(pipes, pipe.SamplesPerSec)
		overheads, waits = append(overheads, 1-pipe.SamplesPerSec/loop.SamplesPerSec), append(waits, wait.workerWait)
	}
	out := benchPipelineResult{
		Bench: "pipeline", Model: job.Model, Batch: job.Batch, Threads: runtime.GOMAXPROCS(0), Rounds: *rounds,
		LoopSamplesPerSec: median(loops), PipelineSamplesPerSec: median(pipes),
		Overhead: median(overheads), OverheadMin: slices.Min(overheads), OverheadMax: slices.Max(overheads),
		PipelineWorkerWaitFrac: median(waits),
	}
	return writeBench(stdout, *js, out, fmt.Sprintf("pipeline %s batch %d threads %d, %d rounds: loop %.0f samples/s, pipeline %.0f samples/s, overhead %.1f%% (median; range %.1f%% to %.1f%%)",
		out.Model, out.Batch, out.Threads, out.Rounds, out.LoopSamplesPerSec, out.PipelineSamplesPerSec, 100*out.Overhead, 100*out.OverheadMin, 100*out.OverheadMax))
}

// median returns the middle value (the mean of the two middle ones for an
// even count).
func median(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// waitRecorder keeps the first worker's wait fraction of the last epoch.
type waitRecorder struct{ workerWait float64 }

func (w *waitRecorder) Progress(train.Progress)       {}
func (w *waitRecorder) Epoch(train.EpochReport) error { return nil }
func (w *waitRecorder) EpochMetrics(_ int, m actors.Metrics) {
	if len(m.Workers) > 0 {
		w.workerWait = m.Workers[0].WaitFraction
	}
}

// runBenchTrain trains through the same code path as `troupe train` (the
// actor pipeline with one replica by default, the plain loop with --workers
// 0, the device trainer with --device cuda) with the comparison recipe of
// the side-by-side scripts: plain SGD with momentum 0.9 at a constant
// learning rate, no weight decay.
func runBenchTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	job, jsonOut, trainSet, testSet, restore, err := benchPrepare("bench train", args, stderr)
	defer restore()
	if err != nil {
		return err
	}
	obs := &allocCounter{}
	var res train.Result
	device := "cpu"
	if job.Device == spec.CUDA {
		dev, err := cuda.Open(cuda.Options{})
		if err != nil {
			return fmt.Errorf("bench train: %w", err)
		}
		defer dev.Close()
		device = dev.Name()
		res, err = gpu.Run(ctx, dev, job, trainSet, testSet, obs, gpu.RunOptions{})
		if err != nil {
			return err
		}
	} else if job.Workers > 0 {
		cfg, err := actors.ConfigFromJob(job)
		if err != nil {
			return err
		}
		cfg.Observer = obs
		if res, _, err = actors.Run(ctx, cfg, trainSet, testSet); err != nil {
			return err
		}
	} else if res, err = train.Run(ctx, job, trainSet, testSet, nil, obs); err != nil {
		return err
	}
	out := benchTrainResult{
		Bench: "train", Device: device, Model: job.Model, Batch: job.Batch, Threads: runtime.GOMAXPROCS(0),
		SamplesPerSec: res.SamplesPerSec, AllocsPerStep: obs.perStep(), Epochs: job.Epochs,
		TestAccuracy: res.Epochs[len(res.Epochs)-1].TestAccuracy,
	}
	return writeBench(stdout, jsonOut, out, fmt.Sprintf("train %s on %s, batch %d, threads %d: %.0f samples/s, %.1f allocs/step, test accuracy %.2f%%",
		out.Model, out.Device, out.Batch, out.Threads, out.SamplesPerSec, out.AllocsPerStep, 100*out.TestAccuracy))
}

// allocCounter counts heap allocations per training step in the first epoch,
// after a warm-up of a few steps.
type allocCounter struct {
	start, end     uint64
	startB, endB   int
	started, ended bool
}

const warmupSteps = 5

func (a *allocCounter) Progress(p train.Progress) {
	if p.Epoch != 1 {
		return
	}
	var ms runtime.MemStats
	switch {
	case p.Batch == warmupSteps && !a.started:
		runtime.ReadMemStats(&ms)
		a.start, a.startB, a.started = ms.Mallocs, p.Batch, true
	case p.Batch == p.Batches && a.started:
		runtime.ReadMemStats(&ms)
		a.end, a.endB, a.ended = ms.Mallocs, p.Batch, true
	}
}

func (a *allocCounter) Epoch(train.EpochReport) error { return nil }

func (a *allocCounter) perStep() float64 {
	if !a.ended || a.endB == a.startB {
		return 0
	}
	return float64(a.end-a.start) / float64(a.endB-a.startB)
}
