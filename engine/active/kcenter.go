package active

import (
	"fmt"
	"math"
)

// KCenterGreedy picks k of the candidate points (rows of dim values in
// cands) by the greedy 2-approximation of k-center: each pick is the
// candidate farthest, in Euclidean distance, from its nearest centre,
// where the centres are the rows of centres (the labelled set, may be
// empty) and the picks so far. With no centres the first pick is
// candidate 0. It returns candidate indices in the order picked, fewer
// than k only when the candidates run out.
func KCenterGreedy(cands, centres []float32, dim, k int) []int {
	n := rows(cands, dim)
	if len(centres)%dim != 0 {
		panic(fmt.Sprintf("active: %d centre values do not form rows of %d", len(centres), dim))
	}
	dist := make([]float64, n)
	for i := range dist {
		dist[i] = math.Inf(1)
	}
	update := func(c []float32) {
		for i := range dist {
			dist[i] = min(dist[i], sqDist(cands[i*dim:(i+1)*dim], c))
		}
	}
	for c := 0; c < len(centres); c += dim {
		update(centres[c : c+dim])
	}
	var picked []int
	taken := make([]bool, n)
	for len(picked) < min(k, n) {
		best := -1
		for i, d := range dist {
			if !taken[i] && (best < 0 || d > dist[best]) {
				best = i
			}
		}
		taken[best] = true
		picked = append(picked, best)
		update(cands[best*dim : (best+1)*dim])
	}
	return picked
}

func sqDist(a, b []float32) float64 {
	var s float64
	for i, v := range a {
		d := float64(v - b[i])
		s += d * d
	}
	return s
}
