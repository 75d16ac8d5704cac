package kernels

// arch describes one implementation of the blocked SGEMM: its micro-tile,
// cache blocks and kernels. The driver (gemm_driver.go) is shared.
type arch struct {
	impl Impl
	// mr×nr is the micro-tile of C the kernel keeps in registers; nr is a
	// power of two, 1<<nrLog2.
	mr, nr, nrLog2 int
	// Kernels compute whole groups of rowStep rows of A and whole vectors
	// of colStep columns of B, so packed panels are padded to them.
	rowStep, colStep int
	// kc is the depth of a packed block, mc the rows of A packed at a
	// time and nc the columns of B packed at a time.
	kc, mc, nc int
	// kernelR takes A in layout R, A(i,p) = a[i*lda+p]; kernelP in layout
	// P, A(i,p) = a[p*lda+i]. Both take B(p,j) = b[p*ldb+j].
	kernelR, kernelP microKernel
	// transpose8, when not nil, copies an 8×n block (n a multiple of 8)
	// into its transpose, dst[j*ldd+i] = src[i*lds+j].
	transpose8 func(n int, src []float32, lds int, dst []float32, ldd int)
	// copyA and copyB, when not nil, copy n rows of mr (copyA) or nr
	// (copyB) elements into a panel of that row stride, dst[i*w+j] =
	// src[i*lds+j]: packing a transposed A and a non-transposed B.
	copyA, copyB func(n int, src []float32, lds int, dst []float32)
	// copyPad copies n rows of w elements into rows of row stride ldd,
	// zero-filling each up to wUp (w <= wUp <= 32); it packs partial
	// panels.
	copyPad func(n int, src []float32, lds int, dst []float32, ldd, w, wUp int)
	// directR and directP are the direct kernels, with A in layout R and
	// P (see gemm_direct.go); they compute at most directCols columns per
	// call, in vectors of directLanes.
	directR, directP        directKernel
	directCols, directLanes int
}

// microKernel computes an m×n block of C tile by tile, each tile at most
// mr×nr:
//
//	c[i*ldc+j] = alpha * Σ_{p<kc} A(i,p)*B(p,j) + beta*c[i*ldc+j]
//
// without reading C when beta == 0. Row panel q of A (rows q*mr on) starts
// at a[q*aNext:] and column panel t of B (columns t*nr on) at b[t*bNext:],
// so packed panels and matrices read in place are described alike. It may
// read A for rows rounded up to the arch's rowStep and B for columns
// rounded up to its colStep. Sweeping a whole block in one call keeps the
// per-tile bookkeeping in assembly, which matters when kc is small.
type microKernel func(kc int, a []float32, lda, aNext int, b []float32, ldb, bNext int, c []float32, ldc int, alpha, beta float32, m, n int)

// layout tells checkBlock how a kernel indexes A.
type layout bool

const (
	layoutR layout = false // A(i,p) = a[i*lda+p]
	layoutP layout = true  // A(i,p) = a[p*lda+i]
)

const (
	errBlockShape = "kernels: micro-kernel: empty block or negative stride"
	errBlockA     = "kernels: micro-kernel: a too short for the block"
	errBlockB     = "kernels: micro-kernel: b too short for the block"
	errBlockC     = "kernels: micro-kernel: c too short for the block"
)

// checkBlock panics unless a micro-kernel call with these arguments stays
// inside its slices, given that it reads whole row groups and vectors.
// Panels are checked at both ends of the block: the last one may be
// partial, and the one before it is the last full one.
func checkBlock(l layout, mr, nr, rowStep, colStep, kc int, a []float32, lda, aNext int, b []float32, ldb, bNext int, c []float32, ldc, m, n int) {
	if kc < 1 || m < 1 || n < 1 || lda < 0 || aNext < 0 || ldb < 0 || bNext < 0 || ldc < 0 {
		panic(errBlockShape)
	}
	aEnd := func(q, rows int) int {
		if l == layoutP {
			return q*aNext + (kc-1)*lda + rows
		}
		return q*aNext + (rows-1)*lda + kc
	}
	lastA := divFloor(m-1, mr)
	if aEnd(lastA, roundUp(m-lastA*mr, rowStep)) > len(a) || (lastA > 0 && aEnd(lastA-1, mr) > len(a)) {
		panic(errBlockA)
	}
	lastB := divFloor(n-1, nr)
	bEnd := func(t, cols int) int { return t*bNext + (kc-1)*ldb + cols }
	if bEnd(lastB, roundUp(n-lastB*nr, colStep)) > len(b) || (lastB > 0 && bEnd(lastB-1, nr) > len(b)) {
		panic(errBlockB)
	}
	if (m-1)*ldc+n > len(c) {
		panic(errBlockC)
	}
}

// divFloor returns x/d for x >= 0 and d > 0, with a 32-bit division when
// the operands allow; see roundUp.
func divFloor(x, d int) int {
	if x < 1<<31 && d < 1<<31 {
		return int(uint32(x) / uint32(d))
	}
	return x / d
}

// roundUp rounds x >= 0 up to a multiple of step > 0. It is on the path of
// every call and tile, where a 64-bit division costs more than the rest of
// a small product's bookkeeping, so powers of two use a mask and other
// steps a 32-bit division when x allows.
func roundUp(x, step int) int {
	if step&(step-1) == 0 {
		return (x + step - 1) &^ (step - 1)
	}
	if x < 1<<31 && step < 1<<31 {
		return int((uint32(x) + uint32(step) - 1) / uint32(step) * uint32(step))
	}
	return (x + step - 1) / step * step
}
