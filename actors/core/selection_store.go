package core

import (
	"fmt"
	"math"
	"slices"
)

// NeverScored is the step ScoreStore reports for a sample without a loss.
const NeverScored int64 = -1

// maxStoreSamples bounds a ScoreStore so that a sample id and a step fit in
// the two halves of one sort key.
const maxStoreSamples = 1 << 32

// ScoreStore keeps, for every sample of a data set, the latest loss known
// for it and the optimizer step whose parameters it was measured with. Data
// selection reads it instead of running a forward pass whenever a loss is
// recent enough, and refreshes the oldest ones. Ids are data-set indices in
// [0, Len()); the caller checks them (an id out of range panics).
type ScoreStore struct {
	loss []float32
	at   []int64
	keys []uint64 // scratch for Oldest
}

// NewScoreStore returns a store for samples samples, none of them scored.
func NewScoreStore(samples int) (*ScoreStore, error) {
	if samples < 1 || samples > maxStoreSamples {
		return nil, fmt.Errorf("core: NewScoreStore: %d samples, want 1 to %d: %w", samples, maxStoreSamples, ErrConfig)
	}
	s := &ScoreStore{loss: make([]float32, samples), at: make([]int64, samples)}
	for i := range s.at {
		s.at[i] = NeverScored
	}
	return s, nil
}

// Len is the number of samples.
func (s *ScoreStore) Len() int { return len(s.loss) }

// Record notes that sample id had loss at step. A measurement older than
// the one held is ignored (with several replicas, scores can arrive out of
// step order), and so is a loss that is not finite, which no ranking or
// distribution can use; Record reports whether it kept the value.
func (s *ScoreStore) Record(id int, loss float32, step int64) bool {
	if step < 0 || step < s.at[id] || math.IsNaN(float64(loss)) || math.IsInf(float64(loss), 0) {
		return false
	}
	s.loss[id], s.at[id] = loss, step
	return true
}

// Forget drops sample id's loss, so that it counts as never scored: a loss
// measured just before a step trained on the sample says little about it
// after that step.
func (s *ScoreStore) Forget(id int) { s.loss[id], s.at[id] = 0, NeverScored }

// Get returns sample id's loss and the step it was measured at, NeverScored
// if it has none.
func (s *ScoreStore) Get(id int) (loss float32, step int64) { return s.loss[id], s.at[id] }

// Fresh reports whether sample id has a loss measured at most staleness
// steps before step now (or after it: another replica may be ahead).
func (s *ScoreStore) Fresh(id int, now int64, staleness int) bool {
	at := s.at[id]
	return at != NeverScored && now-at <= int64(staleness)
}

// Oldest appends to dst the k samples whose losses were measured longest
// ago, never-scored ones first and ties broken by the lower id, oldest
// first, passing over the samples for which skip (if not nil) is true. It
// runs in time linear in Len() on average.
func (s *ScoreStore) Oldest(k int, dst []int, skip func(id int) bool) []int {
	keys := s.keys[:0]
	for id, at := range s.at {
		if skip != nil && skip(id) {
			continue
		}
		// NeverScored (−1) maps to 0, below every step; steps beyond 32
		// bits share the top key and fall back to id order.
		keys = append(keys, uint64(min(at+1, math.MaxUint32))<<32|uint64(id))
	}
	s.keys = keys
	k = min(max(k, 0), len(keys))
	if k == 0 {
		return dst
	}
	smallest(keys, k)
	slices.Sort(keys[:k])
	for _, key := range keys[:k] {
		dst = append(dst, int(key&math.MaxUint32))
	}
	return dst
}

// smallest reorders a so that its k smallest values come first, in no
// particular order: quickselect with a median-of-three pivot, which is
// deterministic, so equal inputs give equal outputs.
func smallest(a []uint64, k int) {
	lo, hi := 0, len(a)
	for hi-lo > 1 {
		m := lo + (hi-lo)/2
		p := median3(a[lo], a[m], a[hi-1])
		// Three-way partition: [lo, lt) < p, [lt, gt) == p, [gt, hi) > p.
		lt, i, gt := lo, lo, hi
		for i < gt {
			switch {
			case a[i] < p:
				a[lt], a[i] = a[i], a[lt]
				lt++
				i++
			case a[i] > p:
				gt--
				a[gt], a[i] = a[i], a[gt]
			default:
				i++
			}
		}
		switch {
		case k < lt:
			hi = lt
		case k > gt:
			lo = gt
		default:
			return
		}
	}
}

func median3(a, b, c uint64) uint64 {
	if a > b {
		a, b = b, a
	}
	if b > c {
		b = c
	}
	return max(a, b)
}
