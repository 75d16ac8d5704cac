package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/troupe-ml/troupe/engine/active"
	"github.com/troupe-ml/troupe/engine/augment"
	"github.com/troupe-ml/troupe/engine/data"
)

type activeOptions struct {
	acquire                      string
	seeds                        int
	seed                         uint64
	initial, perRound, maxLabels int
	poolSubset, mc, testMC       int
	dupCosine                    float64
	train                        active.TrainConfig
	threads, workers, jobs       int
	data, plot                   string
	json                         bool
}

func newActiveFlags(o *activeOptions) *flag.FlagSet {
	fs := flag.NewFlagSet("active-learn", flag.ContinueOnError)
	names := make([]string, 0, 7)
	for _, s := range active.Strategies() {
		names = append(names, string(s))
	}
	o.train = active.DefaultTrain()
	fs.StringVar(&o.acquire, "acquire", "var-ratios", "acquisition functions to compare, comma-separated: "+strings.Join(names, ", "))
	fs.IntVar(&o.seeds, "seeds", 1, "runs per function, with seeds --seed, --seed+1, …")
	fs.Uint64Var(&o.seed, "seed", 1, "first seed: initial set, initialisation, pool subsets, dropout")
	fs.IntVar(&o.initial, "initial", 20, "class-balanced initial labelled set (a multiple of the 10 classes)")
	fs.IntVar(&o.perRound, "per-round", 10, "labels acquired per round")
	fs.IntVar(&o.maxLabels, "max-labels", 300, "stop once this many samples are labelled")
	fs.IntVar(&o.poolSubset, "pool-subset", 2000, "unlabelled samples scored per round, drawn afresh (0: the whole pool)")
	fs.IntVar(&o.mc, "mc", 20, "Monte Carlo dropout passes for bald and var-ratios")
	fs.IntVar(&o.testMC, "test-mc", 0, "Monte Carlo dropout passes the test prediction averages (0: dropout off)")
	fs.Float64Var(&o.dupCosine, "dup-cosine", 0.95, "pixel cosine similarity from which two candidates of a batch are near-duplicates (0: off)")
	fs.IntVar(&o.train.Epochs, "epochs", o.train.Epochs, "training passes over the labelled set per round")
	fs.IntVar(&o.train.MinSteps, "min-steps", o.train.MinSteps, "at least this many training steps per round")
	fs.IntVar(&o.train.MaxSteps, "max-steps", o.train.MaxSteps, "at most this many training steps per round (0: no limit)")
	fs.IntVar(&o.train.Batch, "batch", o.train.Batch, "training batch size")
	fs.Float64Var(&o.train.LR, "lr", o.train.LR, "Adam learning rate")
	fs.Float64Var(&o.train.WeightDecay, "weight-decay", o.train.WeightDecay, "L2 weight decay of every weight")
	fs.Float64Var(&o.train.DenseDecay, "dense-decay", o.train.DenseDecay, "L2 decay of the linear layers' weights, divided by the number of labels")
	fs.StringVar(&o.train.Augment, "augment", o.train.Augment, `training augmentation, such as "crop(pad=2)" ("": none)`)
	fs.IntVar(&o.jobs, "jobs", 1, "runs (function and seed) at once")
	fs.IntVar(&o.threads, "threads", 0, "CPU threads for training, per run (0: the cores divided among --jobs)")
	fs.IntVar(&o.workers, "workers", 0, "goroutines scoring the pool and the test set, per run (0: as --threads)")
	fs.StringVar(&o.data, "data", "", "directory holding the MNIST IDX files (default: $TROUPE_DATA, then the GoMNIST module copy)")
	fs.StringVar(&o.plot, "plot", "", "write test error against labels, per function, to this PNG")
	fs.BoolVar(&o.json, "json", false, "print one JSON object per line on stdout")
	return fs
}

func (o *activeOptions) strategies() ([]active.Strategy, error) {
	var out []active.Strategy
	for _, name := range strings.Split(o.acquire, ",") {
		s, err := active.ParseStrategy(name)
		if err != nil {
			return nil, fmt.Errorf("active-learn: --acquire: %v: %w", err, errUsage)
		}
		for _, seen := range out {
			if seen == s {
				return nil, fmt.Errorf("active-learn: --acquire: %s given twice: %w", s, errUsage)
			}
		}
		out = append(out, s)
	}
	return out, nil
}

func (o *activeOptions) check() error {
	bad := func(flag string, v any, want string) error {
		return fmt.Errorf("active-learn: --%s: got %v, want %s: %w", flag, v, want, errUsage)
	}
	switch {
	case o.seeds < 1:
		return bad("seeds", o.seeds, "≥ 1")
	case o.initial < 10 || o.initial%10 != 0:
		return bad("initial", o.initial, "a positive multiple of the 10 classes")
	case o.perRound < 1:
		return bad("per-round", o.perRound, "≥ 1")
	case o.maxLabels < o.initial:
		return bad("max-labels", o.maxLabels, fmt.Sprintf("≥ --initial (%d)", o.initial))
	case o.poolSubset < 0:
		return bad("pool-subset", o.poolSubset, "≥ 0")
	case o.mc < 2:
		return bad("mc", o.mc, "≥ 2")
	case o.testMC < 0:
		return bad("test-mc", o.testMC, "≥ 0")
	case !(o.train.DenseDecay >= 0):
		return bad("dense-decay", o.train.DenseDecay, "≥ 0")
	case !(o.dupCosine >= 0):
		return bad("dup-cosine", o.dupCosine, "≥ 0")
	case o.train.Epochs < 1:
		return bad("epochs", o.train.Epochs, "≥ 1")
	case o.train.MinSteps < 0:
		return bad("min-steps", o.train.MinSteps, "≥ 0")
	case o.train.MaxSteps < 0:
		return bad("max-steps", o.train.MaxSteps, "≥ 0")
	case o.train.Batch < 1:
		return bad("batch", o.train.Batch, "≥ 1")
	case !(o.train.LR > 0):
		return bad("lr", o.train.LR, "> 0")
	case !(o.train.WeightDecay >= 0):
		return bad("weight-decay", o.train.WeightDecay, "≥ 0")
	case o.threads < 0:
		return bad("threads", o.threads, "≥ 0")
	case o.workers < 0:
		return bad("workers", o.workers, "≥ 0")
	case o.jobs < 1:
		return bad("jobs", o.jobs, "≥ 1")
	}
	if _, err := augment.Parse(o.train.Augment); err != nil {
		return fmt.Errorf("active-learn: --augment: %v: %w", err, errUsage)
	}
	return nil
}

type roundEvent struct {
	Event string `json:"event"`
	active.Round
}

type functionSummary struct {
	Acquire    active.Strategy `json:"acquire"`
	LabelsTo10 *int            `json:"labels_to_10"` // null: not reached
	LabelsTo5  *int            `json:"labels_to_5"`
	// From here on the mean error stays at or under the target.
	LabelsBelow10 *int    `json:"labels_below_10"`
	LabelsBelow5  *int    `json:"labels_below_5"`
	FinalLabels   int     `json:"final_labels"`
	FinalError    float64 `json:"final_error"` // mean over seeds
	Seconds       float64 `json:"seconds"`     // all seeds
}

type summaryEvent struct {
	Event     string            `json:"event"`
	Seeds     []uint64          `json:"seeds"`
	Functions []functionSummary `json:"functions"`
	Seconds   float64           `json:"seconds"`
}

func runActive(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o activeOptions
	fs := newActiveFlags(&o)
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	strategies, err := o.strategies()
	if err != nil {
		return err
	}
	if err := o.check(); err != nil {
		return err
	}
	threads := o.threads
	if threads == 0 {
		threads = max(1, runtime.NumCPU()/o.jobs)
	}
	workers := o.workers
	if workers == 0 {
		workers = threads
	}
	dir, err := data.LocateMNIST(o.data)
	if err != nil {
		return err
	}
	pool, test, err := data.LoadMNIST(dir)
	if err != nil {
		return err
	}
	start := time.Now()
	var seeds []uint64
	var todo []activeRun
	for k := range o.seeds {
		seed := o.seed + uint64(k)
		seeds = append(seeds, seed)
		// Every function starts a seed from the same labels.
		initial, err := active.BalancedInitial(pool.Labels, pool.Classes, o.initial/pool.Classes, rand.New(rand.NewPCG(seed, 0)))
		if err != nil {
			return err
		}
		for _, s := range strategies {
			todo = append(todo, activeRun{initial: initial, cfg: active.Config{
				Strategy: s, PerRound: o.perRound, MaxLabels: o.maxLabels, PoolSubset: o.poolSubset,
				MCSamples: o.mc, TestMC: o.testMC, DupCosine: o.dupCosine, Train: o.train, Seed: seed,
				Threads: threads, Workers: workers,
			}})
		}
	}
	var mu sync.Mutex // stdout
	err = runAll(ctx, todo, o.jobs, func(ctx context.Context, r *activeRun) error {
		t0 := time.Now()
		rounds, err := active.Run(ctx, r.cfg, pool, test, r.initial, active.HeldLabels(pool.Labels), func(round active.Round) error {
			mu.Lock()
			defer mu.Unlock()
			return printRound(stdout, o.json, round)
		})
		if err != nil {
			return fmt.Errorf("active-learn: %s, seed %d: %w", r.cfg.Strategy, r.cfg.Seed, err)
		}
		r.rounds, r.took = rounds, time.Since(t0)
		return nil
	})
	if err != nil {
		return err
	}
	runs := make(map[active.Strategy][][]active.Round)
	took := make(map[active.Strategy]time.Duration)
	for _, r := range todo {
		runs[r.cfg.Strategy] = append(runs[r.cfg.Strategy], r.rounds)
		took[r.cfg.Strategy] += r.took
	}
	sum := summaryEvent{Event: "summary", Seeds: seeds, Seconds: time.Since(start).Seconds()}
	for _, s := range strategies {
		curve := active.MeanCurve(runs[s])
		fsum := functionSummary{Acquire: s, Seconds: took[s].Seconds()}
		if n, ok := active.LabelsTo(curve, 0.10); ok {
			fsum.LabelsTo10 = &n
		}
		if n, ok := active.LabelsTo(curve, 0.05); ok {
			fsum.LabelsTo5 = &n
		}
		if n, ok := active.LabelsBelow(curve, 0.10); ok {
			fsum.LabelsBelow10 = &n
		}
		if n, ok := active.LabelsBelow(curve, 0.05); ok {
			fsum.LabelsBelow5 = &n
		}
		last := curve[len(curve)-1]
		fsum.FinalLabels, fsum.FinalError = last.Labels, last.TestError
		sum.Functions = append(sum.Functions, fsum)
	}
	if o.plot != "" {
		if err := writeActiveCurves(o.plot, strategies, runs); err != nil {
			return err
		}
	}
	return printSummary(stdout, o.json, sum)
}

// activeRun is one function and seed of a comparison.
type activeRun struct {
	cfg     active.Config
	initial []int
	rounds  []active.Round
	took    time.Duration
}

// runAll runs do on every run, jobs at a time; the first error cancels
// the others and is returned.
func runAll(ctx context.Context, todo []activeRun, jobs int, do func(context.Context, *activeRun) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan *activeRun)
	var wg sync.WaitGroup
	for range min(jobs, len(todo)) {
		wg.Go(func() {
			for r := range next {
				if err := do(ctx, r); err != nil {
					cancel(err)
				}
			}
		})
	}
	for i := range todo {
		if ctx.Err() != nil {
			break
		}
		next <- &todo[i]
	}
	close(next)
	wg.Wait()
	return context.Cause(ctx)
}

func printRound(w io.Writer, asJSON bool, r active.Round) error {
	if asJSON {
		b, err := json.Marshal(roundEvent{Event: "round", Round: r})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	_, err := fmt.Fprintf(w, "%-16s seed %d  %4d labels  test error %6.2f%%  %5.1fs\n", r.Acquire, r.Seed, r.Labels, 100*r.TestError, r.Seconds)
	return err
}

func printSummary(w io.Writer, asJSON bool, s summaryEvent) error {
	if asJSON {
		b, err := json.Marshal(s)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	show := func(n *int) string {
		if n == nil {
			return "not reached"
		}
		return fmt.Sprint(*n)
	}
	for _, f := range s.Functions {
		if _, err := fmt.Fprintf(w, "%-16s labels to 10%% error: %s (staying under from %s), to 5%%: %s (from %s); %.2f%% at %d labels (mean of %d seeds, %.0fs)\n",
			f.Acquire, show(f.LabelsTo10), show(f.LabelsBelow10), show(f.LabelsTo5), show(f.LabelsBelow5),
			100*f.FinalError, f.FinalLabels, len(s.Seeds), f.Seconds); err != nil {
			return err
		}
	}
	return nil
}

// writeActiveCurves draws each function's mean test error against the
// number of labels into a PNG, replacing path atomically.
func writeActiveCurves(path string, strategies []active.Strategy, runs map[active.Strategy][][]active.Round) error {
	p := plot.New()
	p.Title.Text = "Active learning on MNIST"
	p.X.Label.Text = "labelled samples"
	p.Y.Label.Text = "test error (%)"
	var ss []series
	for i, s := range strategies {
		var pts plotter.XYs
		for _, pt := range active.MeanCurve(runs[s]) {
			pts = append(pts, plotter.XY{X: float64(pt.Labels), Y: 100 * pt.TestError})
		}
		ss = append(ss, series{string(s), pts, i})
	}
	if err := addLines(p, ss...); err != nil {
		return fmt.Errorf("--plot %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".active-*.png")
	if err != nil {
		return fmt.Errorf("--plot: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	wt, err := p.WriterTo(8*vg.Inch, 5*vg.Inch, "png")
	if err == nil {
		_, err = wt.WriteTo(tmp)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("--plot %s: %w", path, err)
	}
	return nil
}
