package kerneltest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// GemmFunc is the signature of kernels.Sgemm: C = alpha*op(A)*op(B) + beta*C,
// row-major, with op(A) m×k, op(B) k×n and C m×n.
type GemmFunc func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)

// TestSgemm checks gemm against RefSgemm over
//
//   - every size 1..67 of each of m, n and k, with the other two sizes
//     drawn at random, in all four transpose combinations;
//   - thin products, where implementations commonly switch to kernels
//     that pack nothing: every size 1..67 of m and of n with k drawn from
//     1..16, every size 1..67 of n and of k with m drawn from 1..16, and
//     the backward products of a 10-class output layer, dY·W and dYᵀ·X,
//     with alpha never 0;
//   - a few products large enough to reach a blocked or parallel path;
//   - every combination of m, n, k in {0, 1, 3}, which must not panic;
//   - alpha and beta in {0, 1, and other values}, leading dimensions both
//     minimal and odd and larger than the minimum.
//
// With beta == 0 the C window starts as NaN, which must not propagate; with
// alpha == 0 all of A and B are NaN, which must not be read. NaN guards
// before C, after it and in the row padding between its rows must survive,
// and A and B must not be modified.
func TestSgemm(t *testing.T, gemm GemmFunc) {
	t.Helper()
	checkSgemm(t, gemm)
}

// RefSgemm is a naive reference for GemmFunc, accumulating each dot product
// in float64 and rounding once. It follows the BLAS conventions the suite
// checks: beta == 0 does not read C, and alpha == 0 does not read A or B.
func RefSgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := range m {
		for j := range n {
			var s float64
			if alpha != 0 {
				s, _ = refDot(transA, transB, i, j, k, a, lda, b, ldb)
			}
			v := float64(alpha) * s
			if beta != 0 {
				v += float64(beta) * float64(c[i*ldc+j])
			}
			c[i*ldc+j] = float32(v)
		}
	}
}

// refDot returns row i of op(A) dotted with column j of op(B), and the same
// sum over magnitudes, which bounds its rounding error.
func refDot(transA, transB bool, i, j, k int, a []float32, lda int, b []float32, ldb int) (dot, mag float64) {
	for l := range k {
		ai, bi := i*lda+l, l*ldb+j
		if transA {
			ai = l*lda + i
		}
		if transB {
			bi = j*ldb + l
		}
		av, bv := a[ai], b[bi]
		p := float64(av) * float64(bv)
		dot += p
		mag += math.Abs(p)
	}
	return dot, mag
}

// gemmCase is one call of the kernel under test.
type gemmCase struct {
	transA, transB bool
	m, n, k        int
	lda, ldb, ldc  int
	alpha, beta    float32
}

func (c gemmCase) String() string {
	return fmt.Sprintf("transA=%t transB=%t m=%d n=%d k=%d lda=%d ldb=%d ldc=%d alpha=%g beta=%g",
		c.transA, c.transB, c.m, c.n, c.k, c.lda, c.ldb, c.ldc, c.alpha, c.beta)
}

// stored returns the stored shapes of A and B, which are swapped by a
// transpose.
func (c gemmCase) stored() (ar, ac, br, bc int) {
	ar, ac = c.m, c.k
	if c.transA {
		ar, ac = ac, ar
	}
	br, bc = c.k, c.n
	if c.transB {
		br, bc = bc, br
	}
	return ar, ac, br, bc
}

func checkSgemm(r reporter, gemm GemmFunc) {
	r.Helper()
	// gemmAlphas and gemmBetas are cycled through independently of each
	// other, so every pair occurs.
	gemmAlphas := []float32{1, 0, -1, 0.5, 1.75}
	gemmBetas := [...]float32{0, 1, -0.5, 2}
	// thinAlphas leave out 0, which computes no product, so that the
	// thin sweeps multiply at every size in all four transpose cases.
	thinAlphas := []float32{1, -1, 1.75}
	// gemmLarge are shapes past the 64-wide blocks common in BLAS
	// implementations, with ragged edges, so blocked and parallel paths run.
	gemmLarge := [...][3]int{{130, 129, 70}, {257, 67, 33}, {65, 200, 131}, {192, 192, 64}}
	// gemmThin are thin products wider or deeper than the 1..67 sweeps:
	// a 10-class output layer's dX (64×100×10) and dW (10×100×64) on a
	// batch of 64, and shapes past them in n, k and m.
	gemmThin := [...][3]int{{64, 100, 10}, {10, 100, 64}, {131, 300, 7}, {16, 203, 128}, {5, 130, 100}, {300, 33, 16}}
	rng := rand.New(rand.NewPCG(1, 2))
	f := &failures{r: r}
	idx := 0
	alphas := gemmAlphas
	run := func(m, n, k int) bool {
		for tr := range 4 {
			cs := gemmCase{transA: tr&1 != 0, transB: tr&2 != 0, m: m, n: n, k: k}
			cs.alpha = alphas[idx%len(alphas)]
			cs.beta = gemmBetas[(idx/len(alphas))%len(gemmBetas)]
			idx++
			_, ac, _, bc := cs.stored()
			// Different strides of idx decorrelate which matrices get
			// the minimal leading dimension.
			cs.lda = leadingDim(rng, ac, idx)
			cs.ldb = leadingDim(rng, bc, idx/3)
			cs.ldc = leadingDim(rng, n, idx/7)
			if !gemmCheckCase(f, rng, gemm, cs) {
				return false
			}
		}
		return true
	}
	// Tiny and empty shapes come first: they are cheap and a kernel that
	// gets them wrong is usually wrong everywhere.
	for _, m := range []int{0, 1, 3} {
		for _, n := range []int{0, 1, 3} {
			for _, k := range []int{0, 1, 3} {
				for range len(gemmAlphas) * len(gemmBetas) {
					if !run(m, n, k) {
						return
					}
				}
			}
		}
	}
	const maxDim = 67
	for v := 1; v <= maxDim; v++ {
		if !run(v, 1+rng.IntN(maxDim), 1+rng.IntN(maxDim)) ||
			!run(1+rng.IntN(maxDim), v, 1+rng.IntN(maxDim)) ||
			!run(1+rng.IntN(maxDim), 1+rng.IntN(maxDim), v) {
			return
		}
	}
	// The thin sweeps pair each size with its mirror, w = 68-v, so that
	// one sweep covers every size of two dimensions.
	const thin = 16
	alphas = thinAlphas
	for v := 1; v <= maxDim; v++ {
		w := maxDim + 1 - v
		if !run(v, w, 1+rng.IntN(thin)) || !run(1+rng.IntN(thin), v, w) {
			return
		}
	}
	for _, s := range gemmThin {
		if !run(s[0], s[1], s[2]) {
			return
		}
	}
	alphas = gemmAlphas
	for _, s := range gemmLarge {
		if !run(s[0], s[1], s[2]) {
			return
		}
	}
}

// leadingDim returns the minimum leading dimension for a row of cols
// elements on every fourth call and otherwise an odd one above it. It never
// returns 0, which BLAS-style kernels reject even for empty matrices.
func leadingDim(rng *rand.Rand, cols, i int) int {
	if i%4 == 0 {
		return max(1, cols)
	}
	ld := cols + 1 + rng.IntN(4)
	if ld%2 == 0 {
		ld++
	}
	return ld
}

// gemmCheckCase runs one case and reports whether checking should go on.
func gemmCheckCase(f *failures, rng *rand.Rand, gemm GemmFunc, cs gemmCase) bool {
	f.r.Helper()
	ar, ac, br, bc := cs.stored()
	a := newMatrix(rng, ar, ac, cs.lda, cs.alpha == 0)
	b := newMatrix(rng, br, bc, cs.ldb, cs.alpha == 0)
	c := newMatrix(rng, cs.m, cs.n, cs.ldc, cs.beta == 0)
	a0, b0, c0 := a.clone(), b.clone(), c.clone()

	if err := call(func() {
		gemm(cs.transA, cs.transB, cs.m, cs.n, cs.k, cs.alpha, a.data(), cs.lda, b.data(), cs.ldb, cs.beta, c.data(), cs.ldc)
	}); err != nil {
		return f.fail("Sgemm %v: %v", cs, err)
	}
	if i, ok := a.unchanged(a0); !ok {
		return f.fail("Sgemm %v: modified a at buffer index %d", cs, i)
	}
	if i, ok := b.unchanged(b0); !ok {
		return f.fail("Sgemm %v: modified b at buffer index %d", cs, i)
	}
	if i, ok := c.guardsIntact(); !ok {
		return f.fail("Sgemm %v: wrote outside the m×n window of c at buffer index %d (now %v)", cs, i, c.buf[i])
	}
	ad, bd, cd := a0.data(), b0.data(), c0.data()
	for i := range cs.m {
		for j := range cs.n {
			var dot, mag float64
			if cs.alpha != 0 {
				dot, mag = refDot(cs.transA, cs.transB, i, j, cs.k, ad, cs.lda, bd, cs.ldb)
			}
			want := float64(cs.alpha) * dot
			mag *= math.Abs(float64(cs.alpha))
			if cs.beta != 0 {
				cij := float64(cd[i*cs.ldc+j])
				want += float64(cs.beta) * cij
				mag += math.Abs(float64(cs.beta) * cij)
			}
			// Each product and partial sum is rounded once per term in
			// the worst case, plus scaling by alpha and beta, plus the
			// final rounding: (k+3) roundings of relative size eps32.
			tol := float64(cs.k+3) * eps32 * mag
			got := float64(c.at(i, j))
			if !(math.Abs(got-want) <= tol) {
				return f.fail("Sgemm %v: c[%d,%d] = %v, want %v (tolerance %.3g)", cs, i, j, got, want, tol)
			}
		}
	}
	return true
}
