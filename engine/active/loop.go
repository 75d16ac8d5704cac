package active

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/troupe-ml/troupe/engine/data"
	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/tensor"
	"github.com/troupe-ml/troupe/kernels"
)

// Config describes one active-learning run.
type Config struct {
	Model     spec.Model // zero value: GalModel
	Strategy  Strategy
	PerRound  int // labels acquired per round
	MaxLabels int // stop once this many are labelled
	// PoolSubset is how many unlabelled samples, drawn afresh each round,
	// are scored (0: the whole pool).
	PoolSubset int
	MCSamples  int // T, for bald and var-ratios
	// TestMC is how many Monte Carlo dropout passes the test prediction
	// averages (0: one pass with dropout off).
	TestMC int
	// DupCosine is the raw-pixel cosine similarity from which two
	// candidates count as near-duplicates within a batch (see SelectTop);
	// 0 turns the rule off.
	DupCosine float64
	Train     TrainConfig
	Seed      uint64
	// Threads run training's matrix products; Workers score the pool
	// (0: GOMAXPROCS for both).
	Threads, Workers int
}

// Round reports one round: a model trained on Labels labels and its test
// error.
type Round struct {
	Seed      uint64   `json:"seed"`
	Labels    int      `json:"labels"`
	TestError float64  `json:"test_error"`
	Acquire   Strategy `json:"acquire"`
	// Seconds is the round's wall time: acquiring its new labels, training
	// and testing.
	Seconds float64 `json:"seconds"`
	// Acquired are the pool indices this round added (the initial set in
	// the first round).
	Acquired []int `json:"-"`
}

func (c *Config) validate() error {
	if _, err := ParseStrategy(string(c.Strategy)); err != nil {
		return fmt.Errorf("active: %w", err)
	}
	switch {
	case c.PerRound < 1:
		return fmt.Errorf("active: %d labels per round, want ≥ 1", c.PerRound)
	case c.PoolSubset < 0:
		return fmt.Errorf("active: pool subset %d, want ≥ 0", c.PoolSubset)
	case c.Strategy.needsMC() && c.MCSamples < 2:
		return fmt.Errorf("active: %s needs ≥ 2 Monte Carlo samples, got %d", c.Strategy, c.MCSamples)
	case c.TestMC < 0:
		return fmt.Errorf("active: %d Monte Carlo test passes, want ≥ 0", c.TestMC)
	case c.DupCosine < 0:
		return fmt.Errorf("active: near-duplicate cosine %v, want ≥ 0", c.DupCosine)
	}
	return c.Train.validate()
}

// Run starts from the labels of initial, asking oracle for them, and
// alternates training and acquisition until MaxLabels samples of pool
// are labelled or the pool runs out. pool's own labels are never read:
// only the oracle's. report, if non-nil, receives every round as it ends;
// an error from it stops the run.
func Run(ctx context.Context, cfg Config, pool, test *data.Dataset, initial []int, oracle Oracle, report func(Round) error) ([]Round, error) {
	if cfg.Model.Layers == nil {
		cfg.Model = GalModel()
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if len(initial) == 0 || len(initial) > pool.N {
		return nil, fmt.Errorf("active: initial set of %d samples from a pool of %d", len(initial), pool.N)
	}
	cpu, err := kernels.NewCPU(cfg.Threads, kernels.ImplAuto)
	if err != nil {
		return nil, fmt.Errorf("active: %w", err)
	}
	defer cpu.Close()
	l := &learner{cfg: cfg, pool: pool, test: test, oracle: oracle, be: tensor.CPUBackend{K: cpu}, labelled: make(map[int]int32)}
	var rounds []Round
	batch := slices.Clone(initial)
	var acquiring time.Duration // the acquisition that produced batch
	for r := 0; ; r++ {
		start := time.Now().Add(-acquiring)
		if err := l.add(ctx, batch); err != nil {
			return rounds, err
		}
		model, err := fit(ctx, cfg.Model, cfg.Train, l.labelledSet(), cfg.Seed<<20+uint64(r), l.be)
		if err != nil {
			return rounds, err
		}
		testErr, err := l.testError(ctx, model, r)
		if err != nil {
			return rounds, err
		}
		round := Round{Seed: cfg.Seed, Labels: len(l.order), TestError: testErr, Acquire: cfg.Strategy, Acquired: batch}
		round.Seconds = time.Since(start).Seconds()
		rounds = append(rounds, round)
		if len(l.order) >= cfg.MaxLabels || len(l.order) == pool.N {
			return rounds, emit(report, round)
		}
		acqStart := time.Now()
		if batch, err = l.acquire(ctx, model, r, min(cfg.PerRound, cfg.MaxLabels-len(l.order))); err != nil {
			return rounds, err
		}
		acquiring = time.Since(acqStart)
		if err := emit(report, round); err != nil {
			return rounds, err
		}
	}
}

func emit(report func(Round) error, r Round) error {
	if report == nil {
		return nil
	}
	return report(r)
}
