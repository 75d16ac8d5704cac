package kernels

import "gonum.org/v1/gonum/blas/gonum"

// backend is the seam where the arithmetic of the vector helpers is
// plugged in; Sgemm has its own, per Impl (see arch). The exported
// functions validate their arguments and strip degenerate cases before
// calling it, so a backend may assume len(x) == len(y) in axpy and dot.
type backend interface {
	axpy(alpha float32, x, y []float32)
	scale(alpha float32, x []float32)
	dot(x, y []float32) float32
}

// impl is the vector helpers' dispatch point. It returns a value rather
// than reading a package variable so that selection stays free of mutable
// state.
func impl() backend {
	return goBackend{}
}

// goBackend uses gonum's SSE assembly where it is faster than plain Go.
type goBackend struct{}

// axpy and dot use gonum's SSE assembly, which measured two to four times
// faster than plain or unrolled Go loops from 100 elements up.
func (goBackend) axpy(alpha float32, x, y []float32) {
	gonum.Implementation{}.Saxpy(len(x), alpha, x, 1, y, 1)
}

// scale is plain Go: unrolled by eight it measured faster than gonum's
// Sscal at every length from 16 to 4096, whose call and argument checks
// also dominate short vectors.
func (goBackend) scale(alpha float32, x []float32) {
	i := 0
	for ; i+8 <= len(x); i += 8 {
		v := x[i : i+8 : i+8]
		v[0] *= alpha
		v[1] *= alpha
		v[2] *= alpha
		v[3] *= alpha
		v[4] *= alpha
		v[5] *= alpha
		v[6] *= alpha
		v[7] *= alpha
	}
	for ; i < len(x); i++ {
		x[i] *= alpha
	}
}

func (goBackend) dot(x, y []float32) float32 {
	return gonum.Implementation{}.Sdot(len(x), x, 1, y, 1)
}

// sum is the generic implementation's Sum (see streams). It has no gonum
// counterpart (Sasum sums magnitudes), so it is plain Go.
// Eight independent accumulators hide the latency of the dependent adds,
// which is what bounds a single-accumulator loop.
func (goBackend) sum(x []float32) float32 {
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	i := 0
	for ; i+8 <= len(x); i += 8 {
		v := x[i : i+8 : i+8]
		s0 += v[0]
		s1 += v[1]
		s2 += v[2]
		s3 += v[3]
		s4 += v[4]
		s5 += v[5]
		s6 += v[6]
		s7 += v[7]
	}
	for ; i < len(x); i++ {
		s0 += x[i]
	}
	return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
}
