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

// LabelsBelow returns the fewest labels from which the curve's error
// stays at most target to its end, and false if its last point is above
// target. Unlike LabelsTo it ignores a lucky dip that later rounds undo:
// a single retrained model's error is noisy from round to round.
func LabelsBelow(curve []Point, target float64) (int, bool) {
	n, ok := 0, false
	for i := len(curve) - 1; i >= 0 && curve[i].TestError <= target; i-- {
		n, ok = curve[i].Labels, true
	}
	return n, ok
}
