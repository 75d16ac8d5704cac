package kernels

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// backend is the seam where the arithmetic is plugged in. The exported
// functions validate their arguments and strip degenerate cases before
// calling it, so a backend may assume:
//
//   - sgemm: m, n, k >= 1, alpha != 0, every slice long enough for its
//     shape and leading dimension, and ld >= the stored column count;
//   - axpy, dot: len(x) == len(y).
//
// A backend must match the contract checked by package kerneltest, in
// particular beta == 0 overwrites C without reading it (so NaN garbage in C
// does not propagate) and nothing outside the m×n window of C is written.
type backend interface {
	sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
	axpy(alpha float32, x, y []float32)
	scale(alpha float32, x []float32)
	dot(x, y []float32) float32
	sum(x []float32) float32
}

// impl is the single dispatch point. It returns a value rather than reading
// a package variable so that selection stays free of mutable state: an
// assembly backend is chosen here from CPU features (which are fixed once
// the process starts), e.g. returning an AVX-512 backend when
// golang.org/x/sys/cpu reports it, and falling back to goBackend otherwise.
func impl() backend {
	return goBackend{}
}

// goBackend delegates to gonum's BLAS, which is row-major like this package,
// parallelises large products across GOMAXPROCS and uses SSE assembly for
// its inner axpy/dot loops on amd64.
type goBackend struct{}

func (goBackend) sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gonum.Implementation{}.Sgemm(transpose(transA), transpose(transB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func transpose(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

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

// sum has no gonum counterpart (Sasum sums magnitudes), so it is plain Go.
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
