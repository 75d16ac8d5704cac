package core

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// Sampler draws the samples of upcoming batches from a whole data set's
// stored losses: the strategies that choose at the loader what to train
// on, instead of filtering each batch. A Sampler is not safe for
// concurrent use; it keeps scratch space between draws.
type Sampler interface {
	// Draw appends n sample ids, drawn with replacement, to ids. A
	// strategy that re-weights the loss appends each draw's weight to
	// weights; one that does not returns weights unchanged. progress in
	// [0, 1] is how far the run is, for strategies that change over it;
	// rng is the only source of randomness.
	Draw(st *ScoreStore, progress float64, rng *rand.Rand, n int, ids []int, weights []float32) ([]int, []float32)
}

// LossRankConfig configures LossRank.
type LossRankConfig struct {
	// Pressure is the selection pressure s_e at the start of the run: the
	// ratio of the probabilities of the highest- and the lowest-ranked
	// sample. 1 draws uniformly.
	Pressure float64
	// PressureEnd is s_e at the end of the run; in between it moves
	// geometrically.
	PressureEnd float64
}

// Validate reports the first problem with the configuration.
func (c LossRankConfig) Validate() error {
	for _, v := range []struct {
		name string
		s    float64
	}{{"pressure", c.Pressure}, {"pressure end", c.PressureEnd}} {
		if !(v.s >= 1) || math.IsInf(v.s, 1) {
			return fmt.Errorf("core: LossRankConfig: %s %g, want finite and ≥ 1: %w", v.name, v.s, ErrConfig)
		}
	}
	return nil
}

// LossRank is the online batch selection of Loshchilov and Hutter (2015):
// samples are ranked by their latest known loss, highest first, and the
// sample of rank k (from 0) is drawn with probability proportional to
// exp(−ln(s_e)·k/(N−1)), so the first is exactly s_e times as likely as the
// last (the paper divides by N, a difference of one part in N).
// Samples never scored rank first, in an order drawn afresh each time, so
// that an unscored data set is drawn like a shuffled one; ties among scored
// samples are broken the same way.
type LossRank struct {
	cfg   LossRankConfig
	order []rankEntry
	tmp   []rankEntry
}

type rankEntry struct {
	key uint64 // ascending order is the rank order
	id  int
}

// NewLossRank returns the sampler.
func NewLossRank(cfg LossRankConfig) (*LossRank, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &LossRank{cfg: cfg}, nil
}

// PressureAt is s_e at progress p in [0, 1] of the run.
func (l *LossRank) PressureAt(p float64) float64 {
	p = min(max(p, 0), 1)
	return l.cfg.Pressure * math.Pow(l.cfg.PressureEnd/l.cfg.Pressure, p)
}

// RankProbability is the probability of drawing rank k of n under
// selection pressure s: r^k·(1−r)/(1−r^n) with r = s^(−1/(n−1)), or 1/n
// at s = 1.
func RankProbability(k, n int, s float64) float64 {
	if k < 0 || k >= n {
		return 0
	}
	if s == 1 || n == 1 {
		return 1 / float64(n)
	}
	lr := rankLogRatio(n, s)
	return math.Exp(lr*float64(k)) * -math.Expm1(lr) / -math.Expm1(lr*float64(n))
}

// rankLogRatio is ln r, the log of the ratio between the probabilities of
// successive ranks.
func rankLogRatio(n int, s float64) float64 { return -math.Log(s) / float64(n-1) }

// rankOf inverts the rank distribution's CDF for u in [0, 1).
func rankOf(u float64, n int, s float64) int {
	if s == 1 || n == 1 {
		return min(int(u*float64(n)), n-1)
	}
	// CDF(k) = (1 − r^(k+1)) / (1 − r^n); the rank is the first k with
	// CDF(k) > u.
	lr := rankLogRatio(n, s)
	k := int(math.Floor(math.Log1p(u*math.Expm1(lr*float64(n))) / lr))
	return min(max(k, 0), n-1)
}

// Draw implements Sampler. It appends no weights: the paper's selection is
// biased towards hard samples on purpose.
func (l *LossRank) Draw(st *ScoreStore, progress float64, rng *rand.Rand, n int, ids []int, weights []float32) ([]int, []float32) {
	salt := rng.Uint64()
	l.order = l.order[:0]
	for id := range st.Len() {
		loss, at := st.Get(id)
		// Higher losses sort first: flip the order-preserving bit pattern
		// of a non-negative float. Unscored samples get the top key.
		hi := uint64(0)
		if at != NeverScored {
			hi = uint64(^sortableBits(loss)) + 1
		}
		l.order = append(l.order, rankEntry{key: hi<<32 | mix64(salt^uint64(id))>>32, id: id})
	}
	// The entries start in id order and the sort is stable, so equal keys
	// (two ids whose 32-bit tie-breaks collide) stay in id order.
	l.radixSort()
	s := l.PressureAt(progress)
	for range n {
		ids = append(ids, l.order[rankOf(rng.Float64(), len(l.order), s)].id)
	}
	return ids, weights
}

// radixSort sorts l.order by key, stably: a least-significant-digit radix
// sort on bytes, eight linear passes, several times faster than a
// comparison sort on a data set's worth of samples.
func (l *LossRank) radixSort() {
	n := len(l.order)
	if cap(l.tmp) < n {
		l.tmp = make([]rankEntry, n)
	}
	src, dst := l.order, l.tmp[:n]
	for shift := 0; shift < 64; shift += 8 {
		var count [256]int
		for _, e := range src {
			count[e.key>>shift&0xff]++
		}
		pos := 0
		for d, c := range count {
			count[d] = pos
			pos += c
		}
		for _, e := range src {
			d := e.key >> shift & 0xff
			dst[count[d]] = e
			count[d]++
		}
		src, dst = dst, src
	}
	// After an even number of passes the result is back in l.order.
}

// sortableBits maps a float32 to a uint32 of the same order.
func sortableBits(f float32) uint32 {
	b := math.Float32bits(f)
	if b&(1<<31) != 0 {
		return ^b
	}
	return b | 1<<31
}

// ImportanceConfig configures Importance.
type ImportanceConfig struct {
	// Smoothing α in (0, 1] is the share of the uniform distribution in
	// the mix: every sample keeps a probability of at least α/N, which
	// bounds its weight by 1/α. 1 draws uniformly.
	Smoothing float64
}

// Validate reports the first problem with the configuration.
func (c ImportanceConfig) Validate() error {
	if !(c.Smoothing > 0 && c.Smoothing <= 1) {
		return fmt.Errorf("core: ImportanceConfig: smoothing %g, want in (0, 1]: %w", c.Smoothing, ErrConfig)
	}
	return nil
}

// Importance is importance sampling by loss, after Katharopoulos and
// Fleuret (2018), who sample by a per-sample score and re-weight to keep
// the gradient unbiased: sample i is drawn with probability
// p_i = α/N + (1−α)·s_i/Σs, where s_i is its latest known loss (the
// largest known loss while it has none, 1 if none is known), and its loss
// is weighted by 1/(N·p_i). Then the expected weighted loss of a draw is
// the data set's mean loss, whatever the scores.
type Importance struct {
	cfg ImportanceConfig
	p   []float64 // probability per sample
	cdf []float64
}

// NewImportance returns the sampler.
func NewImportance(cfg ImportanceConfig) (*Importance, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Importance{cfg: cfg}, nil
}

// Probabilities returns each sample's probability of being drawn from st,
// in a slice the sampler reuses.
func (m *Importance) Probabilities(st *ScoreStore) []float64 {
	n := st.Len()
	m.p = resizeF64(m.p, n)
	fill := float32(0)
	known := false
	for id := range n {
		if loss, at := st.Get(id); at != NeverScored {
			fill, known = max(fill, loss), true
		}
	}
	if !known {
		fill = 1
	}
	var total float64
	for id := range n {
		loss, at := st.Get(id)
		if at == NeverScored {
			loss = fill
		}
		m.p[id] = float64(max(loss, 0))
		total += m.p[id]
	}
	a := m.cfg.Smoothing
	for id := range m.p {
		if total > 0 {
			m.p[id] = a/float64(n) + (1-a)*m.p[id]/total
		} else {
			m.p[id] = 1 / float64(n)
		}
	}
	return m.p
}

// Draw implements Sampler.
func (m *Importance) Draw(st *ScoreStore, _ float64, rng *rand.Rand, n int, ids []int, weights []float32) ([]int, []float32) {
	p := m.Probabilities(st)
	m.cdf = resizeF64(m.cdf, len(p))
	var acc float64
	for i, v := range p {
		acc += v
		m.cdf[i] = acc
	}
	size := float64(len(p))
	for range n {
		u := rng.Float64() * acc
		// Every p_i ≥ α/N > 0, so the CDF rises at every entry.
		i := min(sort.SearchFloat64s(m.cdf, u), len(p)-1)
		ids = append(ids, i)
		weights = append(weights, float32(1/(size*p[i])))
	}
	return ids, weights
}

func resizeF64(s []float64, n int) []float64 {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]float64, n)
}
