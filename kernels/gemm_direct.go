package kernels

// The direct path computes small products without the blocked loop nest:
// one kernel call per block of columns, reading A and B where they are.
//
// A product whose k or m is small does little arithmetic per element of C
// or of B, so the blocked path's fixed costs weigh as much as its
// multiply-adds: packing B, the bookkeeping of each micro-tile, and the
// narrow edge tiles of an n that is not a multiple of the micro-tile,
// whose broadcasts of A outnumber their FMAs. The backward pass of a
// classifier's last layer is the typical case: dX = dY·W has k = the
// number of classes, dW = dYᵀ·X has m = the number of classes. A direct
// kernel keeps a short, wide tile of C in registers (six rows of 64
// columns with AVX-512) and walks down C a group of rows at a time,
// reading the rows of A in place and those of B from L1.

// directKernel computes c[i*ldc+j] = alpha * Σ_{p<kc} A(i,p)*b[p*ldb+j] +
// beta*c[i*ldc+j] for i < m and j < n, not reading C when beta == 0, with
// A(i,p) = a[i*lda+p] (layout R) or a[p*lda+i] (layout P), for n up to the
// arch's directCols. Each sum is the micro-kernel's, in the same order, so
// for kc up to the arch's kc the result is the blocked path's bit for bit.
type directKernel func(kc int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, alpha, beta float32, m, n int)

// A product takes the direct path when k <= directMaxK, or when m <=
// directMaxM and k <= directMaxMK. Past these the blocked path measured as
// fast or faster: with k from 24 up its micro-tiles amortise their fixed
// costs, and with few rows but k from 256 up a direct kernel, which reads
// B once per group of rows and from L2 rather than L1, falls behind it on
// wide products.
const (
	directMaxK  = 16
	directMaxM  = 16
	directMaxMK = 128
)

// useDirect reports whether g takes the direct path. B must not be
// transposed, since rows of op(B) are read in place, and k must fit in one
// block of the blocked path (directMaxMK is below every arch's kc), so
// that both paths compute each sum with the same chain of FMAs and C does
// not depend on which one a product takes.
func useDirect(ar *arch, g *gemmCall) bool {
	if ar.directR == nil || g.transB || g.k > ar.kc {
		return false
	}
	return g.k <= directMaxK || (g.m <= directMaxM && g.k <= directMaxMK)
}

// runDirect computes rows [i0, i1) and columns [j0, j1) of C on the direct
// path, in column blocks of near-equal width, whole vectors but the last,
// of at most ar.directCols columns. (directLanes is a power of two, and
// divFloor's 32-bit divisions are a measurable part of a 1 µs product.)
func runDirect(ar *arch, g *gemmCall, i0, i1, j0, j1 int) {
	kernel, a := ar.directP, g.a[i0:]
	if !g.transA {
		kernel, a = ar.directR, g.a[i0*g.lda:]
	}
	width := j1 - j0
	if width > ar.directCols {
		lanes := ar.directLanes
		cols := roundUp(width, lanes)
		blocks := divFloor(cols+ar.directCols-1, ar.directCols)
		width = roundUp(divFloor(cols+blocks-1, blocks), lanes)
	}
	c := g.c[i0*g.ldc:]
	for j := j0; j < j1; j += width {
		kernel(g.k, a, g.lda, g.b[j:], g.ldb, c[j:], g.ldc, g.alpha, g.beta, i1-i0, min(width, j1-j))
	}
}

// directGoR and directGoP are the generic direct kernels: the generic
// micro-kernel swept over the whole product in place, which reads no row or
// column past the product's.
func directGoR(kc int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, alpha, beta float32, m, n int) {
	kernelGoR(kc, a, lda, 2*lda, b, ldb, 4, c, ldc, alpha, beta, m, n)
}

func directGoP(kc int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, alpha, beta float32, m, n int) {
	kernelGoP(kc, a, lda, 2, b, ldb, 4, c, ldc, alpha, beta, m, n)
}
