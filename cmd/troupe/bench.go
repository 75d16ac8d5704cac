package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/troupe-ml/troupe/engine/data"
	"github.com/troupe-ml/troupe/engine/nn"
	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/train"
)

const benchUsage = `Usage:
  troupe bench train [--model mlp|lenet5] [--batch B] [--threads T] [--json]
`

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, benchUsage)
		return fmt.Errorf("bench: which benchmark? %w", errUsage)
	}
	switch args[0] {
	case "train":
		return runBenchTrain(ctx, args[1:], stdout, stderr)
	}
	return fmt.Errorf("bench: unknown benchmark %q (want train): %w", args[0], errUsage)
}

// benchTrainResult is the JSON line of `troupe bench train`.
type benchTrainResult struct {
	Bench         string  `json:"bench"`
	Model         string  `json:"model"`
	Batch         int     `json:"batch"`
	Threads       int     `json:"threads"`
	SamplesPerSec float64 `json:"samples_per_sec"`
	AllocsPerStep float64 `json:"allocs_per_step"`
	Epochs        int     `json:"epochs"`
	TestAccuracy  float64 `json:"test_accuracy"`
}

// runBenchTrain trains through the same code path as `troupe train` (train.Run)
// with the comparison recipe of the side-by-side scripts: plain SGD with
// momentum 0.9 at a constant learning rate, no weight decay.
func runBenchTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	job := spec.Default()
	job.Nesterov, job.WeightDecay, job.Schedule, job.LR, job.Epochs, job.Out = false, 0, spec.Constant, 0.01, 1, ""
	fs := flag.NewFlagSet("bench train", flag.ContinueOnError)
	fs.StringVar(&job.Model, "model", job.Model, "model preset: "+strings.Join(nn.PresetNames(), ", "))
	fs.IntVar(&job.Batch, "batch", job.Batch, "batch size")
	fs.IntVar(&job.Epochs, "epochs", job.Epochs, "epochs to time")
	fs.IntVar(&job.Threads, "threads", 0, "CPU threads (0: all cores)")
	fs.StringVar(&job.Data, "data", "", "MNIST directory")
	jsonOut := fs.Bool("json", false, "print one JSON line")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if err := job.Validate(); err != nil {
		return err
	}
	if _, err := nn.Preset(job.Model); err != nil {
		return err
	}
	if job.Threads > 0 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(job.Threads))
	}
	dir, err := data.LocateMNIST(job.Data)
	if err != nil {
		return err
	}
	trainSet, testSet, err := data.LoadMNIST(dir)
	if err != nil {
		return err
	}
	obs := &allocCounter{}
	res, err := train.Run(ctx, job, trainSet, testSet, nil, obs)
	if err != nil {
		return err
	}
	out := benchTrainResult{
		Bench: "train", Model: job.Model, Batch: job.Batch, Threads: runtime.GOMAXPROCS(0),
		SamplesPerSec: res.SamplesPerSec, AllocsPerStep: obs.perStep(), Epochs: job.Epochs,
		TestAccuracy: res.Epochs[len(res.Epochs)-1].TestAccuracy,
	}
	if *jsonOut {
		b, err := json.Marshal(out)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s\n", b)
		return err
	}
	_, err = fmt.Fprintf(stdout, "train %s batch %d threads %d: %.0f samples/s, %.1f allocs/step, test accuracy %.2f%%\n",
		out.Model, out.Batch, out.Threads, out.SamplesPerSec, out.AllocsPerStep, 100*out.TestAccuracy)
	return err
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
