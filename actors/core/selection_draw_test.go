package core

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

var (
	_ Sampler = (*LossRank)(nil)
	_ Sampler = (*Importance)(nil)
)

func mustLossRank(t testing.TB, s0, s1 float64) *LossRank {
	t.Helper()
	l, err := NewLossRank(LossRankConfig{Pressure: s0, PressureEnd: s1})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func mustImportance(t testing.TB, a float64) *Importance {
	t.Helper()
	m, err := NewImportance(ImportanceConfig{Smoothing: a})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// storeOf returns a store holding losses (NaN: never scored).
func storeOf(t testing.TB, losses ...float64) *ScoreStore {
	t.Helper()
	s := mustStore(t, len(losses))
	for id, l := range losses {
		if !math.IsNaN(l) {
			s.Record(id, float32(l), 1)
		}
	}
	return s
}

// within fails unless the observed frequency of an event of probability p
// in n trials is within 5 standard deviations (a false alarm about once in
// 3.5 million checks).
func within(t *testing.T, what string, count, n int, p float64) {
	t.Helper()
	sd := math.Sqrt(p * (1 - p) / float64(n))
	if got := float64(count) / float64(n); math.Abs(got-p) > 5*sd+1e-12 {
		t.Errorf("%s: frequency %.5f over %d draws, want %.5f ± %.5f", what, got, n, p, 5*sd)
	}
}

func TestRankProbabilityIsTheStatedDistribution(t *testing.T) {
	for _, c := range []struct {
		n int
		s float64
	}{{1, 100}, {2, 100}, {10, 100}, {1000, 100}, {60000, 1e4}, {17, 1}} {
		var sum float64
		for k := range c.n {
			sum += RankProbability(k, c.n, c.s)
		}
		if math.Abs(sum-1) > 1e-9 {
			t.Errorf("n=%d s=%g: probabilities sum to %v, want 1", c.n, c.s, sum)
		}
		if c.n > 1 {
			// s_e is the ratio between the most and the least likely.
			ratio := RankProbability(0, c.n, c.s) / RankProbability(c.n-1, c.n, c.s)
			if math.Abs(ratio-c.s) > 1e-9*c.s {
				t.Errorf("n=%d s=%g: first/last = %v, want %v", c.n, c.s, ratio, c.s)
			}
		}
	}
	if p := RankProbability(3, 10, 1); p != 0.1 {
		t.Errorf("pressure 1: rank 3 of 10 has probability %v, want uniform 0.1", p)
	}
	if RankProbability(-1, 10, 5) != 0 || RankProbability(10, 10, 5) != 0 {
		t.Error("a rank outside [0, n) has a probability")
	}
}

func TestRankOfInvertsTheCDF(t *testing.T) {
	for _, s := range []float64{1, 2, 100, 1e6} {
		const n = 50
		cdf := 0.0
		for k := range n {
			lo := cdf
			cdf += RankProbability(k, n, s)
			// Just inside the interval [CDF(k−1), CDF(k)) lies rank k.
			for _, u := range []float64{lo + 1e-9, (lo + cdf) / 2, cdf - 1e-9} {
				if u >= 1 {
					continue
				}
				if got := rankOf(u, n, s); got != k {
					t.Fatalf("s=%g: rankOf(%v) = %d, want %d (CDF %v to %v)", s, u, got, k, lo, cdf)
				}
			}
		}
	}
}

func TestLossRankDrawsByRank(t *testing.T) {
	// Distinct losses, so the ranks are fixed: sample 7 has the highest
	// loss, then 6, ...
	st := storeOf(t, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
	l := mustLossRank(t, 20, 20)
	rng := rand.New(rand.NewPCG(5, 6))
	const n = 50000
	ids, w := l.Draw(st, 0, rng, n, nil, nil)
	if len(ids) != n || w != nil {
		t.Fatalf("Draw: %d ids and weights %v, want %d ids and no weights", len(ids), w, n)
	}
	counts := make([]int, 8)
	for _, id := range ids {
		counts[id]++
	}
	for id, c := range counts {
		within(t, fmt.Sprintf("sample %d, of rank %d", id, 7-id), c, n, RankProbability(7-id, 8, 20))
	}
}

func TestLossRankEqualLossesDrawUniformly(t *testing.T) {
	// With every loss equal the ranks are a fresh random order each draw,
	// so across draws every sample is equally likely, at any pressure.
	st := storeOf(t, 1, 1, 1, 1, 1, 1, 1, 1)
	l := mustLossRank(t, 100, 100)
	counts := make([]int, 8)
	const rounds, per = 4000, 25
	for r := range rounds {
		ids, _ := l.Draw(st, 0, rand.New(rand.NewPCG(7, uint64(r))), per, nil, nil)
		for _, id := range ids {
			counts[id]++
		}
	}
	// Draws within a round share one order, so the rounds, not the draws,
	// are independent: a round's share of draws lies in [0, 1] with mean
	// p, so its variance is at most p(1−p).
	for id, c := range counts {
		p := 1.0 / 8
		sd := math.Sqrt(p * (1 - p) / rounds)
		if got := float64(c) / (rounds * per); math.Abs(got-p) > 5*sd {
			t.Errorf("sample %d drawn with frequency %.4f, want %.4f ± %.4f", id, got, p, 5*sd)
		}
	}
}

func TestLossRankPutsUnscoredFirst(t *testing.T) {
	st := storeOf(t, 9, 8, math.NaN(), 7)
	l := mustLossRank(t, 1e6, 1e6)
	ids, _ := l.Draw(st, 0, rand.New(rand.NewPCG(1, 1)), 1000, nil, nil)
	counts := make([]int, 4)
	for _, id := range ids {
		counts[id]++
	}
	// Rank 0 has probability 1/(1 + 1e-2 + 1e-4 + 1e-6) ≈ 0.99.
	within(t, "unscored sample 2", counts[2], len(ids), RankProbability(0, 4, 1e6))
	within(t, "highest loss, sample 0", counts[0], len(ids), RankProbability(1, 4, 1e6))
}

func TestLossRankPressureSchedule(t *testing.T) {
	l := mustLossRank(t, 100, 1)
	for _, c := range []struct{ p, want float64 }{{0, 100}, {0.5, 10}, {1, 1}, {-1, 100}, {2, 1}} {
		if got := l.PressureAt(c.p); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("PressureAt(%v) = %v, want %v", c.p, got, c.want)
		}
	}
}

func TestSamplerConfigsRejectBadValues(t *testing.T) {
	for _, cfg := range []LossRankConfig{{0.5, 1}, {1, 0}, {math.Inf(1), 1}, {math.NaN(), 1}} {
		if _, err := NewLossRank(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("NewLossRank(%+v) = %v, want ErrConfig", cfg, err)
		}
	}
	for _, a := range []float64{0, -0.1, 1.01, math.NaN()} {
		if _, err := NewImportance(ImportanceConfig{Smoothing: a}); !errors.Is(err, ErrConfig) {
			t.Errorf("NewImportance(smoothing %v) = %v, want ErrConfig", a, err)
		}
	}
}

func TestImportanceEqualLossesAreUniform(t *testing.T) {
	m := mustImportance(t, 0.3)
	st := storeOf(t, 2, 2, 2, 2, 2)
	for id, p := range m.Probabilities(st) {
		if math.Abs(p-0.2) > 1e-12 {
			t.Errorf("sample %d: probability %v, want 0.2", id, p)
		}
	}
	_, w := m.Draw(st, 0, rand.New(rand.NewPCG(1, 2)), 100, nil, nil)
	for i, x := range w {
		if math.Abs(float64(x)-1) > 1e-6 {
			t.Fatalf("draw %d: weight %v, want 1 under uniform probabilities", i, x)
		}
	}
}

func TestImportanceProbabilities(t *testing.T) {
	m := mustImportance(t, 0.5)
	// p_i = 0.5/4 + 0.5·l_i/Σl, the unscored sample taking the largest
	// known loss: losses 0, 1, 3 (filled in), 3, so Σl = 7.
	st := storeOf(t, 0, 1, math.NaN(), 3)
	want := []float64{0.125 + 0, 0.125 + 0.5/7, 0.125 + 1.5/7, 0.125 + 1.5/7}
	for id, p := range m.Probabilities(st) {
		if math.Abs(p-want[id]) > 1e-12 {
			t.Errorf("sample %d: probability %v, want %v", id, p, want[id])
		}
	}
	// Nothing known, or every loss zero: uniform.
	for _, st := range []*ScoreStore{mustStore(t, 4), storeOf(t, 0, 0, 0, 0)} {
		for id, p := range m.Probabilities(st) {
			if p != 0.25 {
				t.Errorf("sample %d: probability %v, want 0.25", id, p)
			}
		}
	}
}

func TestImportanceWeightsAreUnbiased(t *testing.T) {
	losses := []float64{0.01, 0.02, 0.05, 0.1, 0.5, 1, 2, 4}
	st := storeOf(t, losses...)
	const alpha = 0.2
	m := mustImportance(t, alpha)
	const n = 100000
	ids, w := m.Draw(st, 0, rand.New(rand.NewPCG(9, 9)), n, nil, nil)
	if len(ids) != n || len(w) != n {
		t.Fatalf("Draw: %d ids, %d weights, want %d each", len(ids), len(w), n)
	}
	var mean float64
	for _, l := range losses {
		mean += l / float64(len(losses))
	}
	var sumW, sumW2, sumWL, sumWL2 float64
	for i, id := range ids {
		x := float64(w[i])
		if x > 1/alpha+1e-6 {
			t.Fatalf("weight %v above the bound 1/α = %v", x, 1/alpha)
		}
		sumW += x
		sumW2 += x * x
		sumWL += x * losses[id]
		sumWL2 += x * losses[id] * x * losses[id]
	}
	// In expectation the weights average to 1 and the weighted loss to
	// the data set's mean loss; each mean is checked to 5 standard errors.
	check := func(what string, sum, sum2, want float64) {
		est := sum / n
		se := math.Sqrt((sum2/n - est*est) / n)
		if math.Abs(est-want) > 5*se {
			t.Errorf("mean %s %.5f, want %.5f ± %.5f", what, est, want, 5*se)
		}
	}
	check("weight", sumW, sumW2, 1)
	check("weighted loss", sumWL, sumWL2, mean)
}

func TestRadixSortIsAStableSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	for trial := range 50 {
		l := mustLossRank(t, 1, 1)
		n := rng.IntN(3000)
		for id := range n {
			// Few distinct keys spread over all eight digits.
			k := uint64(rng.IntN(5)) << (8 * uint(rng.IntN(8)))
			l.order = append(l.order, rankEntry{key: k, id: id})
		}
		want := slices.Clone(l.order)
		slices.SortStableFunc(want, func(a, b rankEntry) int { return cmp.Compare(a.key, b.key) })
		l.radixSort()
		if !slices.Equal(l.order, want) {
			t.Fatalf("trial %d: radix sort of %d entries differs from a stable sort", trial, n)
		}
	}
}
