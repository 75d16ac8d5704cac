package active

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/troupe-ml/troupe/engine/data"
	"github.com/troupe-ml/troupe/engine/nn"
	"github.com/troupe-ml/troupe/engine/tensor"
)

// learner is the state of one run: which pool samples are labelled, and
// with what.
type learner struct {
	cfg        Config
	pool, test *data.Dataset
	oracle     Oracle
	be         tensor.Backend
	labelled   map[int]int32 // pool index → the oracle's label
	order      []int         // labelled pool indices in the order acquired
}

// add asks the oracle for the labels of batch.
func (l *learner) add(ctx context.Context, batch []int) error {
	ys, err := l.oracle.Label(ctx, batch)
	if err != nil {
		return fmt.Errorf("active: oracle: %w", err)
	}
	if len(ys) != len(batch) {
		return fmt.Errorf("active: oracle answered %d labels for %d samples", len(ys), len(batch))
	}
	for k, i := range batch {
		if i < 0 || i >= l.pool.N {
			return fmt.Errorf("active: sample %d out of range 0..%d of %s", i, l.pool.N-1, l.pool.Name)
		}
		if y := ys[k]; y < 0 || int(y) >= l.pool.Classes {
			return fmt.Errorf("active: oracle labelled sample %d as %d, want 0..%d", i, y, l.pool.Classes-1)
		}
		if _, dup := l.labelled[i]; dup {
			return fmt.Errorf("active: sample %d is labelled twice", i)
		}
		l.labelled[i] = ys[k]
		l.order = append(l.order, i)
	}
	return nil
}

// labelledSet copies the labelled samples out of the pool with the
// oracle's labels.
func (l *learner) labelledSet() *data.Dataset {
	ds := l.pool.Subset(l.order)
	for k, i := range l.order {
		ds.Labels[k] = l.labelled[i]
	}
	return ds
}

func (l *learner) testError(ctx context.Context, m *nn.Model, r int) (float64, error) {
	idx := make([]int, l.test.N)
	for i := range idx {
		idx[i] = i
	}
	// The test's dropout masks come from a stream no acquisition uses.
	opt := PredictOptions{Workers: l.cfg.Workers, MCSamples: l.cfg.TestMC, Seed: l.cfg.Seed<<20 + 1<<19 + uint64(r)}
	out, err := Predict(ctx, m, l.test, idx, opt)
	if err != nil {
		return 0, err
	}
	if out.K != l.test.Classes {
		return 0, fmt.Errorf("active: the model predicts %d classes, %s has %d", out.K, l.test.Name, l.test.Classes)
	}
	probs := out.Probs
	if out.MC != nil {
		probs = MeanProbs(out.MC, out.K)
	}
	return TestError(probs, out.K, l.test.Labels), nil
}

// acquire chooses up to k unlabelled samples for round r.
func (l *learner) acquire(ctx context.Context, m *nn.Model, r, k int) ([]int, error) {
	rng := rand.New(rand.NewPCG(l.cfg.Seed, 1<<32+uint64(r)))
	var unlabelled []int
	for i := range l.pool.N {
		if _, ok := l.labelled[i]; !ok {
			unlabelled = append(unlabelled, i)
		}
	}
	rng.Shuffle(len(unlabelled), func(a, b int) { unlabelled[a], unlabelled[b] = unlabelled[b], unlabelled[a] })
	if l.cfg.Strategy == Random {
		return unlabelled[:min(k, len(unlabelled))], nil
	}
	cands := unlabelled
	if n := l.cfg.PoolSubset; n > 0 && n < len(cands) {
		cands = cands[:n]
	}
	opt := PredictOptions{Workers: l.cfg.Workers, Seed: l.cfg.Seed<<20 + uint64(r)}
	switch l.cfg.Strategy {
	case BALD, VarRatios:
		opt.MCSamples = l.cfg.MCSamples
	case Coreset:
		opt.Embed = true
	}
	out, err := Predict(ctx, m, l.pool, cands, opt)
	if err != nil {
		return nil, err
	}
	var pick []int
	if l.cfg.Strategy == Coreset {
		centres, err := Predict(ctx, m, l.pool, l.order, PredictOptions{Workers: l.cfg.Workers, Embed: true})
		if err != nil {
			return nil, err
		}
		pick = KCenterGreedy(out.Embed, centres.Embed, out.D, k)
	} else {
		var scores []float64
		switch l.cfg.Strategy {
		case Entropy:
			scores = EntropyScores(out.Probs, out.K)
		case Margin:
			scores = MarginScores(out.Probs, out.K)
		case LeastConfidence:
			scores = LeastConfidenceScores(out.Probs, out.K)
		case BALD:
			scores = BALDScores(out.MC, out.K)
		case VarRatios:
			scores = VarRatioScores(out.MC, out.K)
		}
		var dup func(a, b int) bool
		if l.cfg.DupCosine > 0 {
			near := CosineDuplicates(l.pool.Pixels, l.pool.SampleSize(), l.cfg.DupCosine)
			dup = func(a, b int) bool { return near(cands[a], cands[b]) }
		}
		// cands is already in random order, so index order breaks ties at
		// random.
		pick = SelectTop(scores, k, nil, dup)
	}
	batch := make([]int, len(pick))
	for j, c := range pick {
		batch[j] = cands[c]
	}
	return batch, nil
}
