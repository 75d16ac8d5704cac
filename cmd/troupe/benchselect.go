package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"

	"github.com/troupe-ml/troupe/actors"
	"github.com/troupe-ml/troupe/engine/data"
	"github.com/troupe-ml/troupe/engine/nn"
	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/train"
)

// benchSelectResult is one strategy's JSON line of `troupe bench select`.
// The ratios compare with uniform: its backward samples (or seconds) over
// this strategy's, so above 1 is better; null when either missed the
// target.
type benchSelectResult struct {
	Bench           string   `json:"bench"`
	Select          string   `json:"select"`
	Seed            uint64   `json:"seed"`
	ForwardSamples  uint64   `json:"forward_samples"`
	BackwardSamples uint64   `json:"backward_samples"`
	SecondsToTarget *float64 `json:"seconds_to_target"` // null: not reached within the epoch cap
	TestAccuracy    float64  `json:"test_accuracy"`
	Epochs          int      `json:"epochs"`
	Steps           int      `json:"steps"` // optimizer steps to the target (or to the cap)
	Target          float64  `json:"target"`
	EvalEvery       int      `json:"eval_every"`
	Optimizer       string   `json:"optimizer"`
	Schedule        string   `json:"schedule"`
	LR              float64  `json:"lr"`
	Threads         int      `json:"threads"`
	BackwardRatio   *float64 `json:"backward_ratio_vs_uniform"`
	TimeRatio       *float64 `json:"time_ratio_vs_uniform"`
}

// runBenchSelect trains one job once per strategy, one after the other
// in one process, each until the target test accuracy, and reports the
// passes and the training time each needed. The job is the default one
// with the comparison's settings (benchSelectJob), the same for every
// strategy.
func runBenchSelect(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	job := benchSelectJob()
	fs := flag.NewFlagSet("bench select", flag.ContinueOnError)
	fs.StringVar(&job.Model, "model", job.Model, "model preset: "+strings.Join(nn.PresetNames(), ", "))
	fs.IntVar(&job.Epochs, "epochs", job.Epochs, "epoch cap, which is also the schedule's length")
	fs.Float64Var(&job.TargetAccuracy, "target", job.TargetAccuracy, "test accuracy each strategy trains to")
	fs.IntVar(&job.EvalEvery, "eval-every", job.EvalEvery, "evaluate every N optimizer steps (0: at epoch ends only)")
	fs.Float64Var(&job.LR, "lr", job.LR, "learning rate, the same for every strategy")
	enumFlag(fs, "optimizer", "optimizer: sgd, adam, adamw", &job.Optimizer, spec.ParseOptimizer)
	enumFlag(fs, "schedule", "learning-rate schedule: constant, step, cosine", &job.Schedule, spec.ParseSchedule)
	fs.Float64Var(&job.WarmupEpochs, "warmup-epochs", job.WarmupEpochs, "linear warm-up of the cosine schedule, in epochs")
	fs.IntVar(&job.Threads, "threads", 0, "CPU threads (0: all cores)")
	fs.StringVar(&job.Data, "data", "", "MNIST directory")
	fs.Uint64Var(&job.Seed, "seed", job.Seed, "random seed (of the first run with --seeds)")
	seeds := fs.Int("seeds", 1, "runs per strategy, with seeds seed, seed+1, …; more than one adds a summary line per strategy")
	fs.IntVar(&job.ScoreStaleness, "score-staleness", job.ScoreStaleness, "optimizer steps a stored loss stays usable")
	fs.Float64Var(&job.SelectBeta, "select-beta", job.SelectBeta, "selective-backprop: keep probability exponent")
	fs.Float64Var(&job.SelectPressure, "select-pressure", job.SelectPressure, "loss-rank: selection pressure at the start")
	fs.Float64Var(&job.SelectPressureEnd, "select-pressure-end", job.SelectPressureEnd, "loss-rank: selection pressure at the end")
	fs.Float64Var(&job.SelectSmoothing, "select-smoothing", job.SelectSmoothing, "importance: uniform share of the sampling mix")
	fs.Float64Var(&job.SelectFraction, "select-fraction", job.SelectFraction, "loss-rank, importance: share of each batch drawn")
	list := fs.String("select", "uniform,selective-backprop,loss-rank,importance", "strategies to compare, uniform first")
	js := fs.Bool("json", false, "print JSON lines")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the runs to this file")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	var sels []spec.Selection
	for _, s := range strings.Split(*list, ",") {
		sel, err := spec.ParseSelection(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("bench select: --select: %v: %w", err, errUsage)
		}
		sels = append(sels, sel)
	}
	if job.TargetAccuracy <= 0 {
		return fmt.Errorf("bench select: --target must be in (0, 1]: %w", errUsage)
	}
	if *seeds < 1 {
		return fmt.Errorf("bench select: --seeds must be ≥ 1, got %d: %w", *seeds, errUsage)
	}
	trainSet, testSet, restore, err := benchSetup(job)
	defer restore()
	if err != nil {
		return err
	}
	stopProfile, err := startCPUProfile(*profile)
	if err != nil {
		return fmt.Errorf("bench select: %w", err)
	}
	defer func() {
		if perr := stopProfile(); perr != nil && err == nil {
			err = fmt.Errorf("bench select: %w", perr)
		}
	}()
	sums := make([]benchSelectSummary, len(sels))
	first := job.Seed
	for k := range *seeds {
		job.Seed = first + uint64(k)
		var base *benchSelectResult
		for i, sel := range sels {
			r, err := benchSelectOne(ctx, job, sel, trainSet, testSet)
			if err != nil {
				return fmt.Errorf("bench select: %s, seed %d: %w", sel, job.Seed, err)
			}
			if sel == spec.Uniform && base == nil {
				base = &r
			}
			if base != nil && base.SecondsToTarget != nil && r.SecondsToTarget != nil && r.BackwardSamples > 0 && *r.SecondsToTarget > 0 {
				b := float64(base.BackwardSamples) / float64(r.BackwardSamples)
				tr := *base.SecondsToTarget / *r.SecondsToTarget
				r.BackwardRatio, r.TimeRatio = &b, &tr
			}
			sums[i].add(r)
			if err := writeBench(stdout, *js, r, benchSelectText(r)); err != nil {
				return err
			}
		}
	}
	if *seeds == 1 {
		return nil
	}
	for i := range sums {
		sums[i].means()
	}
	for i := range sums {
		if sels[0] == spec.Uniform {
			sums[i].ratios(&sums[0])
		}
		if err := writeBench(stdout, *js, sums[i], sums[i].text()); err != nil {
			return err
		}
	}
	return nil
}

// benchSelectSummary is one strategy's summary line over the seeds of
// `troupe bench select --seeds N`: the means over the runs that reached
// the target, and uniform's means over this strategy's (ratios of means,
// so that a seed with long runs weighs as much as it costs); the ratios
// are null unless every run of both reached it.
type benchSelectSummary struct {
	Bench           string   `json:"bench"` // "select-summary"
	Select          string   `json:"select"`
	Seeds           int      `json:"seeds"`
	Reached         int      `json:"reached"` // runs that reached the target
	BackwardSamples float64  `json:"backward_samples_mean"`
	SecondsToTarget float64  `json:"seconds_to_target_mean"`
	BackwardRatio   *float64 `json:"backward_ratio_vs_uniform"`
	TimeRatio       *float64 `json:"time_ratio_vs_uniform"`
}

func (s *benchSelectSummary) add(r benchSelectResult) {
	s.Bench, s.Select = "select-summary", r.Select
	s.Seeds++
	if r.SecondsToTarget != nil {
		s.Reached++
		s.BackwardSamples += float64(r.BackwardSamples)
		s.SecondsToTarget += *r.SecondsToTarget
	}
}

// means turns the sums of the runs that reached the target into means.
func (s *benchSelectSummary) means() {
	if s.Reached > 0 {
		s.BackwardSamples /= float64(s.Reached)
		s.SecondsToTarget /= float64(s.Reached)
	}
}

// ratios sets the ratios against uniform's summary base, when every run
// of both reached the target.
func (s *benchSelectSummary) ratios(base *benchSelectSummary) {
	if s.Reached < s.Seeds || base.Reached < base.Seeds || s.BackwardSamples <= 0 || s.SecondsToTarget <= 0 {
		return
	}
	b, t := base.BackwardSamples/s.BackwardSamples, base.SecondsToTarget/s.SecondsToTarget
	s.BackwardRatio, s.TimeRatio = &b, &t
}

func (s *benchSelectSummary) text() string {
	out := fmt.Sprintf("select %-18s over %d seeds: reached %d, mean %.0f backward samples, %.1fs to target",
		s.Select, s.Seeds, s.Reached, s.BackwardSamples, s.SecondsToTarget)
	if s.BackwardRatio != nil {
		out += fmt.Sprintf("; vs uniform %.2fx fewer backward samples, %.2fx less time", *s.BackwardRatio, *s.TimeRatio)
	}
	return out
}

func benchSelectText(r benchSelectResult) string {
	reached := "not reached"
	if r.SecondsToTarget != nil {
		reached = fmt.Sprintf("%.1fs", *r.SecondsToTarget)
	}
	s := fmt.Sprintf("select %-18s to %.2f%%: %s after %d steps (%d epochs), %d forward and %d backward samples, test accuracy %.2f%%",
		r.Select, 100*r.Target, reached, r.Steps, r.Epochs, r.ForwardSamples, r.BackwardSamples, 100*r.TestAccuracy)
	if r.BackwardRatio != nil {
		s += fmt.Sprintf("; vs uniform %.2fx fewer backward samples, %.2fx less time", *r.BackwardRatio, *r.TimeRatio)
	}
	return s
}

// benchSelectOne trains one strategy through the actor pipeline with one
// replica until the target or the cap.
func benchSelectOne(ctx context.Context, job spec.Job, sel spec.Selection, trainSet, testSet *data.Dataset) (benchSelectResult, error) {
	job.Select, job.Workers = sel, 1
	cfg, err := actors.ConfigFromJob(job)
	if err != nil {
		return benchSelectResult{}, err
	}
	obs := &selectWatch{job: job, start: time.Now()}
	cfg.Observer = obs
	res, _, err := actors.Run(ctx, cfg, trainSet, testSet)
	if err != nil {
		return benchSelectResult{}, err
	}
	last := res.Epochs[len(res.Epochs)-1]
	r := benchSelectResult{
		Bench: "select", Select: string(sel), Seed: job.Seed, ForwardSamples: obs.forward, BackwardSamples: obs.backward,
		SecondsToTarget: obs.toTarget, TestAccuracy: last.TestAccuracy, Epochs: len(res.Epochs), Steps: last.Step,
		Target: job.TargetAccuracy, EvalEvery: job.EvalEvery, Optimizer: string(job.Optimizer), Schedule: string(job.Schedule),
		LR: job.LR, Threads: runtime.GOMAXPROCS(0),
	}
	if obs.reached != nil {
		// The evaluation that reached the target: its passes and its
		// training time, evaluations left out.
		e := obs.reached
		r.ForwardSamples, r.BackwardSamples, r.TestAccuracy, r.Steps = e.ForwardSamples, e.BackwardSamples, e.TestAccuracy, e.Step
		r.SecondsToTarget = &e.Seconds
	}
	return r, nil
}

// selectWatch adds up a run's passes and notes when it reached the target:
// at the first evaluation that did, with eval_every; otherwise at the end
// of the first epoch that did.
type selectWatch struct {
	job               spec.Job
	start             time.Time
	forward, backward uint64
	toTarget          *float64
	reached           *train.EvalReport
}

func (w *selectWatch) Eval(e train.EvalReport) error {
	if w.job.TargetReached(e.TestAccuracy) && w.reached == nil {
		w.reached = &e
	}
	return nil
}

func (w *selectWatch) Progress(train.Progress) {}

func (w *selectWatch) EpochMetrics(_ int, m actors.Metrics) {
	for _, s := range m.Workers {
		w.forward += s.ForwardSamples
		w.backward += s.BackwardSamples
	}
}

func (w *selectWatch) Epoch(e train.EpochReport) error {
	if w.job.TargetReached(e.TestAccuracy) && w.toTarget == nil {
		s := time.Since(w.start).Seconds()
		w.toTarget = &s
	}
	return nil
}

// benchSelectJob is the job bench select compares the strategies on: the
// default one (mlp, SGD with Nesterov momentum, batch 64), trained to 98 %
// test accuracy with an evaluation every 100 steps, at a constant learning
// rate of 0.01, so that when a run first reaches the target depends on
// what it trained on and not on how far a decaying rate has come down, and
// with the strategies' parameters that did best in the measurements of
// the docs' "troupe bench select": a backward pass for 30 % of each batch
// (loss-rank, importance), selective backprop's β = 2, loss-rank's
// selection pressure 100.
func benchSelectJob() spec.Job {
	job := spec.Default()
	job.Out = ""
	job.TargetAccuracy = 0.98
	job.EvalEvery = 100
	job.Schedule = spec.Constant
	job.LR = 0.01
	job.SelectFraction = 0.3
	job.SelectBeta = 2
	job.SelectPressure, job.SelectPressureEnd = 100, 100
	return job
}
