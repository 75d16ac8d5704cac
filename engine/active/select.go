package active

import (
	"cmp"
	"math"
	"slices"
)

// SelectTop returns the indices of up to k candidates in decreasing order
// of score, ties broken by tie (a permutation rank per candidate, lower
// first; nil: by index). A candidate is skipped when dup reports it a
// near-duplicate of one already picked (dup may be nil); skipped
// candidates fill the batch only if too few others remain.
//
// Greedy top-k alone spends a batch on copies: a pool holds many nearly
// identical digits that a model finds equally uncertain.
func SelectTop(scores []float64, k int, tie []int, dup func(a, b int) bool) []int {
	order := make([]int, len(scores))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if c := cmp.Compare(scores[b], scores[a]); c != 0 {
			return c
		}
		if tie != nil {
			return cmp.Compare(tie[a], tie[b])
		}
		return 0
	})
	var picked, skipped []int
	for _, i := range order {
		if len(picked) == k {
			break
		}
		if dup != nil && slices.ContainsFunc(picked, func(j int) bool { return dup(i, j) }) {
			skipped = append(skipped, i)
			continue
		}
		picked = append(picked, i)
	}
	for _, i := range skipped {
		if len(picked) == k {
			break
		}
		picked = append(picked, i)
	}
	return picked
}

// CosineDuplicates returns a dup function for SelectTop over samples of
// size values each in pixels: two candidates are near-duplicates when the
// cosine similarity of their raw pixel vectors is at least threshold.
// A threshold above 1 never matches.
func CosineDuplicates(pixels []uint8, size int, threshold float64) func(a, b int) bool {
	norm := func(i int) float64 {
		var s float64
		for _, p := range pixels[i*size : (i+1)*size] {
			s += float64(p) * float64(p)
		}
		return math.Sqrt(s)
	}
	return func(a, b int) bool {
		pa, pb := pixels[a*size:(a+1)*size], pixels[b*size:(b+1)*size]
		var dot float64
		for i, p := range pa {
			dot += float64(p) * float64(pb[i])
		}
		na, nb := norm(a), norm(b)
		if na == 0 || nb == 0 {
			return na == nb
		}
		return dot/(na*nb) >= threshold
	}
}
