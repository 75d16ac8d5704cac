package active

import "slices"

// Point is a mean test error at a label count over Runs runs.
type Point struct {
	Labels    int
	TestError float64
	Runs      int
}

// MeanCurve averages the test error of several runs (for instance one per
// seed) at each label count, in increasing order of labels.
func MeanCurve(runs [][]Round) []Point {
	sum := map[int]*Point{}
	for _, rs := range runs {
		for _, r := range rs {
			p := sum[r.Labels]
			if p == nil {
				p = &Point{Labels: r.Labels}
				sum[r.Labels] = p
			}
			p.TestError += r.TestError
			p.Runs++
		}
	}
	out := make([]Point, 0, len(sum))
	for _, p := range sum {
		p.TestError /= float64(p.Runs)
		out = append(out, *p)
	}
	slices.SortFunc(out, func(a, b Point) int { return a.Labels - b.Labels })
	return out
}

// LabelsTo returns the fewest labels at which the curve's error is at
// most target, and false if it never gets there.
func LabelsTo(curve []Point, target float64) (int, bool) {
	for _, p := range curve {
		if p.TestError <= target {
			return p.Labels, true
		}
	}
	return 0, false
}
