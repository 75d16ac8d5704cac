package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/term"

	"github.com/troupe-ml/troupe/actors"
	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/train"
)

// epochEvent is the --json line after each epoch (a stable contract).
type epochEvent struct {
	Event         string  `json:"event"`
	Epoch         int     `json:"epoch"`
	TrainLoss     float64 `json:"train_loss"`
	TestAccuracy  float64 `json:"test_accuracy"`
	SamplesPerSec float64 `json:"samples_per_sec"`
	TestLoss      float64 `json:"test_loss"`
	LR            float64 `json:"lr"`
	Step          int     `json:"step"`
	TrainSeconds  float64 `json:"train_seconds"`
	EvalSeconds   float64 `json:"eval_seconds"`
	// Stages holds the actor pipeline's per-stage metrics (absent for the
	// plain loop).
	Stages []stageEvent `json:"stages,omitempty"`
	// BytesPerStep is the gradient bytes a replica pushed per step, as
	// encoded for the wire, averaged over the replicas (absent for the
	// plain loop).
	BytesPerStep float64 `json:"bytes_per_step,omitempty"`
}

// stageEvent is one pipeline stage's metrics for an epoch.
type stageEvent struct {
	Stage         string  `json:"stage"`
	SamplesPerSec float64 `json:"samples_per_sec"`
	QueueDepth    int     `json:"queue_depth"`
	WaitFraction  float64 `json:"wait_fraction"`            // share of the epoch spent waiting for upstream
	Forwarded     uint64  `json:"forwarded,omitempty"`      // data selection: samples given a backward pass
	Dropped       uint64  `json:"dropped,omitempty"`        // and skipped
	BytesPerStep  float64 `json:"bytes_per_step,omitempty"` // a replica: gradient bytes pushed per step
}

// doneEvent is the --json line at the end of a run.
type doneEvent struct {
	Event          string  `json:"event"`
	TestAccuracy   float64 `json:"test_accuracy"`
	SamplesPerSec  float64 `json:"samples_per_sec"`
	Checkpoint     string  `json:"checkpoint"`
	Seconds        float64 `json:"seconds"`
	FinalTrainLoss float64 `json:"final_train_loss"`
	// ForwardSamples and BackwardSamples count the samples the replicas
	// ran forward and backward passes on (data selection makes them
	// differ); SecondsToTarget is the time from the start to the end of
	// the first epoch that reached --target-accuracy (null: no target, or
	// not reached).
	ForwardSamples  uint64   `json:"forward_samples"`
	BackwardSamples uint64   `json:"backward_samples"`
	SecondsToTarget *float64 `json:"seconds_to_target"`
	// BytesPerStep is the epochs' bytes_per_step over the whole run.
	BytesPerStep float64 `json:"bytes_per_step,omitempty"`
	// ReplayedSteps counts the optimizer steps a job placed on nodes
	// trained again after losing a ps node (from its last checkpoint).
	ReplayedSteps int `json:"replayed_steps,omitempty"`
}

// reporter turns a run's events into terminal output, --json lines and the
// files in the output directory (metrics.jsonl, curves.png).
type reporter struct {
	job     spec.Job
	stdout  io.Writer
	log     zerolog.Logger
	bar     *progressBar // nil unless stderr is a terminal and output is human
	metrics *os.File
	epochs  []train.EpochReport
	stages  []stageEvent // from the pipeline, for the next Epoch call
	// bytesPerStep is the epoch's, for the next Epoch call; pushes holds
	// the run's pushed bytes and steps.
	bytesPerStep float64
	pushes       actors.Stage
	passes       passTotals
	replayed     int // steps replayed after a lost ps node (cluster.go)
}

// passTotals adds up the run's forward and backward passes, and when it
// reached the target accuracy.
type passTotals struct {
	start             time.Time
	forward, backward uint64
	metered           bool // the pipeline reported the passes
	epochSamples      int  // samples of the epoch in progress, from Progress
	toTarget          *float64
}

// EpochMetrics receives the pipeline's per-stage metrics just before Epoch.
func (r *reporter) EpochMetrics(_ int, m actors.Metrics) {
	r.stages = r.stages[:0]
	add := func(s actors.Stage) {
		r.stages = append(r.stages, stageEvent{Stage: s.Name, SamplesPerSec: s.SamplesPerSec, QueueDepth: s.QueueDepth, WaitFraction: s.WaitFraction, Forwarded: s.Forwarded, Dropped: s.Dropped,
			BytesPerStep: s.BytesPerStep()})
	}
	add(m.Loader)
	for _, group := range [][]actors.Stage{m.Augmenters, m.Workers, m.Shards} {
		for _, s := range group {
			add(s)
		}
	}
	r.bytesPerStep = m.BytesPerStep()
	r.passes.metered = true
	for _, w := range m.Workers {
		r.pushes.Steps += w.Steps
		r.pushes.PushBytes += w.PushBytes
		r.passes.forward += w.ForwardSamples
		r.passes.backward += w.BackwardSamples
	}
}

// newReporter starts the run's reporting. A run resumed at epoch first > 1
// keeps the epoch lines before it from the output folder's metrics.jsonl
// (and draws them in curves.png); a fresh run (first = 1) starts the file.
func newReporter(job spec.Job, stdout, stderr io.Writer, log zerolog.Logger, first int) (*reporter, error) {
	r := &reporter{job: job, stdout: stdout, log: log, passes: passTotals{start: time.Now()}}
	if f, ok := stderr.(*os.File); ok && !job.JSON && term.IsTerminal(int(f.Fd())) {
		r.bar = &progressBar{w: stderr}
	}
	if job.Out == "" {
		return r, nil
	}
	path := filepath.Join(job.Out, "metrics.jsonl")
	var kept [][]byte
	if first > 1 {
		old, err := os.ReadFile(path)
		if err != nil && !os.IsNotExist(err) {
			return nil, fmt.Errorf("--out: %w", err)
		}
		for _, line := range bytes.Split(old, []byte("\n")) {
			var ev epochEvent
			if json.Unmarshal(line, &ev) != nil || ev.Event != "epoch" || ev.Epoch >= first {
				continue
			}
			kept = append(kept, line)
			r.epochs = append(r.epochs, train.EpochReport{Epoch: ev.Epoch, Step: ev.Step, TrainLoss: ev.TrainLoss,
				TestLoss: ev.TestLoss, TestAccuracy: ev.TestAccuracy, LR: ev.LR, SamplesPerSec: ev.SamplesPerSec,
				TrainSeconds: ev.TrainSeconds, EvalSeconds: ev.EvalSeconds})
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--out: %w", err)
	}
	for _, line := range kept {
		if _, err := f.Write(append(line, '\n')); err != nil {
			f.Close()
			return nil, fmt.Errorf("--out: %w", err)
		}
	}
	r.metrics = f
	return r, nil
}

func (r *reporter) Progress(p train.Progress) {
	r.passes.epochSamples = p.Samples
	if r.bar != nil {
		r.bar.update(p, r.job.Epochs)
	}
}

func (r *reporter) Epoch(e train.EpochReport) error {
	if r.bar != nil {
		r.bar.clear()
	}
	r.epochs = append(r.epochs, e)
	if !r.passes.metered {
		// The plain loop runs one forward and one backward pass per sample.
		n := uint64(r.passes.epochSamples)
		r.passes.forward, r.passes.backward = r.passes.forward+n, r.passes.backward+n
	}
	r.passes.epochSamples = 0
	if r.job.TargetReached(e.TestAccuracy) && r.passes.toTarget == nil {
		s := time.Since(r.passes.start).Seconds()
		r.passes.toTarget = &s
	}
	ev := epochEvent{Event: "epoch", Epoch: e.Epoch, TrainLoss: e.TrainLoss, TestAccuracy: e.TestAccuracy,
		SamplesPerSec: e.SamplesPerSec, TestLoss: e.TestLoss, LR: e.LR, Step: e.Step,
		TrainSeconds: e.TrainSeconds, EvalSeconds: e.EvalSeconds, Stages: r.stages, BytesPerStep: r.bytesPerStep}
	if err := r.emit(ev); err != nil {
		return err
	}
	if !r.job.JSON {
		fmt.Fprintf(r.stdout, "epoch %2d/%d  train loss %.4f  test loss %.4f  test accuracy %.2f%%  %.0f samples/s  (%.1fs + %.1fs eval)\n",
			e.Epoch, r.job.Epochs, e.TrainLoss, e.TestLoss, 100*e.TestAccuracy, e.SamplesPerSec, e.TrainSeconds, e.EvalSeconds)
	}
	if r.job.Out != "" {
		if err := writeCurves(filepath.Join(r.job.Out, "curves.png"), r.epochs); err != nil {
			return err
		}
	}
	return nil
}

func (r *reporter) done(d doneEvent) error {
	d.ForwardSamples, d.BackwardSamples, d.SecondsToTarget = r.passes.forward, r.passes.backward, r.passes.toTarget
	d.BytesPerStep = r.pushes.BytesPerStep()
	d.ReplayedSteps = r.replayed
	if err := r.emit(d); err != nil {
		return err
	}
	if !r.job.JSON {
		fmt.Fprintf(r.stdout, "done: test accuracy %.2f%%, %.0f samples/s, %.1fs", 100*d.TestAccuracy, d.SamplesPerSec, d.Seconds)
		if d.SecondsToTarget != nil {
			fmt.Fprintf(r.stdout, " (target %.2f%% at %.1fs)", 100*r.job.TargetAccuracy, *d.SecondsToTarget)
		}
		fmt.Fprintf(r.stdout, ", %d forward and %d backward samples", d.ForwardSamples, d.BackwardSamples)
		if d.Checkpoint != "" {
			fmt.Fprintf(r.stdout, ", checkpoint %s", d.Checkpoint)
		}
		fmt.Fprintln(r.stdout)
	}
	return nil
}

// emit writes an event to metrics.jsonl and, with --json, to stdout.
func (r *reporter) emit(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if r.metrics != nil {
		if _, err := r.metrics.Write(b); err != nil {
			return fmt.Errorf("metrics.jsonl: %w", err)
		}
	}
	if r.job.JSON {
		if _, err := r.stdout.Write(b); err != nil {
			return fmt.Errorf("stdout: %w", err)
		}
	}
	return nil
}

func (r *reporter) close() {
	if r.bar != nil {
		r.bar.clear()
	}
	if r.metrics != nil {
		if err := r.metrics.Close(); err != nil {
			r.log.Error().Err(err).Msg("closing metrics.jsonl")
		}
	}
}

// progressBar draws one self-overwriting line on a terminal, at most ten
// times a second.
type progressBar struct {
	w    io.Writer
	last time.Time
	drew bool
}

func (b *progressBar) update(p train.Progress, epochs int) {
	now := time.Now()
	if now.Sub(b.last) < 100*time.Millisecond && p.Batch != p.Batches {
		return
	}
	b.last = now
	const width = 30
	done := width * p.Batch / max(p.Batches, 1)
	rate := float64(p.Samples) / max(p.Elapsed.Seconds(), 1e-9)
	fmt.Fprintf(b.w, "\repoch %d/%d [%s%s] %3d%%  %7.0f samples/s  loss %.4f  lr %.4g ",
		p.Epoch, epochs, strings.Repeat("█", done), strings.Repeat("·", width-done),
		100*p.Batch/max(p.Batches, 1), rate, p.Loss, p.LR)
	b.drew = true
}

func (b *progressBar) clear() {
	if b.drew {
		fmt.Fprint(b.w, "\r\033[K")
		b.drew = false
	}
}
