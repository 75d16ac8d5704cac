package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"runtime"

	"github.com/troupe-ml/troupe/engine/data"
	"github.com/troupe-ml/troupe/engine/nn"
	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/train"
)

type evalOptions struct {
	checkpoint string
	model      string
	data       string
	batch      int
	threads    int
	json       bool
}

func runEval(_ context.Context, args []string, stdout, stderr io.Writer) error {
	var o evalOptions
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.StringVar(&o.checkpoint, "checkpoint", "", "safetensors checkpoint written by troupe train (required)")
	fs.StringVar(&o.model, "model", "", "model preset to load the weights into (default: the architecture recorded in the checkpoint)")
	fs.StringVar(&o.data, "data", "", "directory holding the MNIST IDX files (default: $TROUPE_DATA, then the GoMNIST module copy)")
	fs.IntVar(&o.batch, "batch", 0, "evaluation batch size (default: the training job's)")
	fs.IntVar(&o.threads, "threads", 0, "CPU threads (0: all cores)")
	fs.BoolVar(&o.json, "json", false, "print one JSON object on stdout")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if o.checkpoint == "" {
		return fmt.Errorf("eval: --checkpoint is required: %w", errUsage)
	}
	if o.threads < 0 {
		return fmt.Errorf("eval: --threads: must be ≥ 0, got %d: %w", o.threads, errUsage)
	}
	if o.threads > 0 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(o.threads))
	}
	var override *spec.Model
	if o.model != "" {
		m, err := nn.Preset(o.model)
		if err != nil {
			return fmt.Errorf("eval: --%w", err)
		}
		override = &m
	}
	l, err := train.LoadCheckpoint(o.checkpoint, override)
	if err != nil {
		return err
	}
	batch := o.batch
	if batch == 0 {
		batch = spec.Default().EvalBatch
		if l.HasJob && l.State.Job.EvalBatch > 0 {
			batch = l.State.Job.EvalBatch
		}
	}
	if batch < 1 {
		return fmt.Errorf("eval: --batch: must be ≥ 1, got %d: %w", batch, errUsage)
	}
	dir, err := data.LocateMNIST(o.data)
	if err != nil {
		return err
	}
	_, test, err := data.LoadMNIST(dir)
	if err != nil {
		return err
	}
	ev, err := train.NewEvaluator(nil).Evaluate(l.Model, test, batch)
	if err != nil {
		return err
	}
	if o.json {
		b, err := json.Marshal(struct {
			Event        string  `json:"event"`
			TestAccuracy float64 `json:"test_accuracy"`
			TestLoss     float64 `json:"test_loss"`
			Samples      int     `json:"samples"`
		}{"eval", ev.Accuracy, ev.Loss, ev.Samples})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s\n", b)
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s: test accuracy %.2f%% (%d samples), test loss %.4f\n", o.checkpoint, 100*ev.Accuracy, ev.Samples, ev.Loss)
	return err
}
