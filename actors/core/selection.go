package core

import (
	"fmt"
	"math"
)

// Policy decides which samples of a batch get a backward pass.
//
// Decide sets keep[i] for each sample from its loss and a uniform number in
// [0, 1) that the caller derives deterministically (see SampleUniform), so
// that a run is reproducible however the pipeline is scheduled. The three
// slices have the same length; a mismatch is a programming error and panics.
// A Policy is not safe for concurrent use and may keep history: feed batches
// in one fixed order to get one fixed result.
type Policy interface {
	Decide(losses []float32, uniforms []float32, keep []bool)
}

// SelectionStats counts a policy's decisions.
type SelectionStats struct {
	Forwarded uint64 // samples kept for the backward pass
	Dropped   uint64
}

func (s *SelectionStats) count(keep bool) {
	if keep {
		s.Forwarded++
	} else {
		s.Dropped++
	}
}

func checkLens(who string, losses, uniforms []float32, keep []bool) {
	if len(losses) != len(uniforms) || len(losses) != len(keep) {
		panic(fmt.Sprintf("core: %s.Decide: %d losses, %d uniforms and %d keep flags, want equal lengths",
			who, len(losses), len(uniforms), len(keep)))
	}
}

// SelectiveConfig configures SelectiveBackprop.
type SelectiveConfig struct {
	// History is R, the number of recent losses a loss is ranked against
	// (the paper uses 1024).
	History int
	// Beta ≥ 0 sharpens selection: keep probability is percentile^Beta, so
	// 0 keeps everything and larger values favour the biggest losses.
	Beta float64
	// Floor in [0, 1] is the least keep probability of any sample.
	Floor float64
}

// Validate reports the first problem with the configuration.
func (c SelectiveConfig) Validate() error {
	switch {
	case c.History < 1:
		return fmt.Errorf("core: SelectiveConfig: history %d, want ≥ 1: %w", c.History, ErrConfig)
	case !(c.Beta >= 0) || math.IsInf(c.Beta, 1):
		return fmt.Errorf("core: SelectiveConfig: beta %g, want finite and ≥ 0: %w", c.Beta, ErrConfig)
	case !(c.Floor >= 0 && c.Floor <= 1):
		return fmt.Errorf("core: SelectiveConfig: floor %g, want in [0, 1]: %w", c.Floor, ErrConfig)
	}
	return nil
}

// SelectiveBackprop is the policy of Jiang et al. 2019, "Accelerating Deep
// Learning by Focusing on the Biggest Losers": each loss joins a history of
// the last R losses, and the sample is kept with probability
// max(Floor, percentile^Beta), where percentile is the loss's rank in the
// history (scipy's percentileofscore, kind "rank", divided by 100, as in the
// authors' code). A NaN loss is kept, so that the training step sees and
// reports it, and stays out of the history. Decide allocates nothing.
type SelectiveBackprop struct {
	beta, floor float64
	ring        []float32 // history in arrival order, for eviction
	head        int       // next slot of ring to overwrite once full
	sorted      []float32 // the same values in ascending order, for ranking
	stats       SelectionStats
}

// NewSelectiveBackprop returns the policy with an empty history.
func NewSelectiveBackprop(cfg SelectiveConfig) (*SelectiveBackprop, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &SelectiveBackprop{
		beta: cfg.Beta, floor: cfg.Floor,
		ring:   make([]float32, 0, cfg.History),
		sorted: make([]float32, 0, cfg.History),
	}, nil
}

// Stats returns the decisions counted so far.
func (s *SelectiveBackprop) Stats() SelectionStats { return s.stats }

// Decide implements Policy.
func (s *SelectiveBackprop) Decide(losses, uniforms []float32, keep []bool) {
	checkLens("SelectiveBackprop", losses, uniforms, keep)
	for i, l := range losses {
		p := s.Observe(l)
		keep[i] = p >= 1 || float64(uniforms[i]) < p
		s.stats.count(keep[i])
	}
}

// Observe adds loss to the history and returns its keep probability. Decide
// calls it per sample; it is exported for shells that score one at a time.
func (s *SelectiveBackprop) Observe(loss float32) float64 {
	if loss != loss { // NaN
		return 1
	}
	s.remember(loss)
	left, right := lowerBound(s.sorted, loss), upperBound(s.sorted, loss)
	// right > left: the loss itself is in the history.
	pct := float64(left+right+1) / float64(2*len(s.sorted))
	return max(s.floor, math.Pow(pct, s.beta))
}

func (s *SelectiveBackprop) remember(loss float32) {
	if len(s.ring) < cap(s.ring) {
		s.ring = append(s.ring, loss)
	} else {
		old := s.ring[s.head]
		s.ring[s.head] = loss
		s.head = (s.head + 1) % len(s.ring)
		i := lowerBound(s.sorted, old)
		s.sorted = append(s.sorted[:i], s.sorted[i+1:]...)
	}
	i := lowerBound(s.sorted, loss)
	s.sorted = append(s.sorted, 0)
	copy(s.sorted[i+1:], s.sorted[i:])
	s.sorted[i] = loss
}

// lowerBound is the index of the first element of sorted a that is ≥ x.
func lowerBound(a []float32, x float32) int {
	lo, hi := 0, len(a)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if a[m] < x {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// upperBound is the index of the first element of sorted a that is > x.
func upperBound(a []float32, x float32) int {
	lo, hi := 0, len(a)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if a[m] <= x {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// Uniform keeps each sample with one fixed probability whatever its loss:
// with 1 it passes everything through (plain training), below 1 it is the
// random-subset baseline that loss-based selection must beat.
type Uniform struct {
	p     float64
	stats SelectionStats
}

// NewUniform returns a Uniform policy keeping a fraction p in (0, 1].
func NewUniform(p float64) (*Uniform, error) {
	if !(p > 0 && p <= 1) {
		return nil, fmt.Errorf("core: NewUniform: keep probability %g, want in (0, 1]: %w", p, ErrConfig)
	}
	return &Uniform{p: p}, nil
}

// Stats returns the decisions counted so far.
func (u *Uniform) Stats() SelectionStats { return u.stats }

// Decide implements Policy.
func (u *Uniform) Decide(losses, uniforms []float32, keep []bool) {
	checkLens("Uniform", losses, uniforms, keep)
	for i := range keep {
		keep[i] = u.p >= 1 || float64(uniforms[i]) < u.p
		u.stats.count(keep[i])
	}
}

// SampleUniform returns a number in [0, 1) that depends only on (seed, epoch,
// sample), the input a Policy needs to decide the same way on every run and
// on every node.
func SampleUniform(seed uint64, epoch, sample int) float32 {
	h := mix64(seed ^ mix64(uint64(epoch)+0x9e3779b97f4a7c15))
	h = mix64(h ^ uint64(sample))
	return float32(h>>40) / (1 << 24)
}

// mix64 is SplitMix64's finaliser: a bijection whose output bits each depend
// on every input bit.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
