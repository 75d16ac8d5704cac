package kernels

// gemmCall is one validated product C = alpha*op(A)*op(B) + beta*C with
// m, n, k >= 1 and alpha != 0 (see Sgemm for the rest of the contract).
type gemmCall struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a              []float32
	lda            int
	b              []float32
	ldb            int
	c              []float32
	ldc            int
}

// workspace is one thread's packing buffers. They grow to the largest
// blocks seen and are reused afterwards, so a steady state allocates
// nothing.
type workspace struct {
	a, b []float32
}

// run computes rows [i0, i1) and columns [j0, j1) of C with the GotoBLAS
// loop nest: an mc×kc block of A is split into mr-row micro-panels and a
// kc×nc block of B into nr-column micro-panels, each packed or read in
// place, and the micro-kernel sweeps every B panel with one A panel before
// moving to the next, so the A panel stays in L1 while B streams from L2.
//
// Every element of C is a sequence of micro-kernel tiles, one per kc block
// in increasing order, the first with beta and the others with 1. That
// sequence depends on k and ar.kc only, never on i0..j1 or the tiling, so
// C does not depend on how it is split between threads.
func (w *workspace) run(ar *arch, g *gemmCall, i0, i1, j0, j1 int) {
	if useDirect(ar, g) {
		runDirect(ar, g, i0, i1, j0, j1)
		return
	}
	mr, nr := ar.mr, ar.nr
	kernel := ar.kernelR
	if g.transA {
		kernel = ar.kernelP
	}
	inA, inB := inPlaceA(ar, g), inPlaceB(ar, g)
	// Blocks are balanced rather than full ones and a remnant. The depth
	// kcb depends on k alone, as bit-identical results across thread
	// counts require; mcb and ncb only group tiles.
	kcb := blockSize(g.k, ar.kc, 8)
	mcb := blockSize(i1-i0, ar.mc, mr)
	ncb := blockSize(j1-j0, ar.nc, nr)
	for ic := i0; ic < i1; ic += mcb {
		mc := min(mcb, i1-ic)
		for pc := 0; pc < g.k; pc += kcb {
			kc := min(kcb, g.k-pc)
			beta := g.beta
			if pc > 0 {
				beta = 1
			}
			// The panels read in place come first, the packed ones
			// after: at most two ranges of rows and two of columns,
			// each one kernel call.
			am := 0
			if inA {
				am = min(mc, aInPlaceRows(ar, g, ic, mc, pc, kc))
			}
			w.packA(ar, g, ic+am, mc-am, pc, kc)
			for jc := j0; jc < j1; jc += ncb {
				nc := min(ncb, j1-jc)
				bn := 0
				if inB {
					bn = min(nc, bInPlaceCols(ar, g, jc, nc, pc, kc))
				}
				w.packB(ar, g, jc+bn, nc-bn, pc, kc)
				// Range 0 is read in place, range 1 packed.
				for ra, rs := range [2][2]int{{0, am}, {am, mc}} {
					if rs[0] == rs[1] {
						continue
					}
					a, lda, aNext := w.a, kc, mr*kc
					switch {
					case ra == 0 && g.transA:
						a, lda, aNext = g.a[pc*g.lda+ic:], g.lda, mr
					case ra == 0:
						a, lda, aNext = g.a[ic*g.lda+pc:], g.lda, mr*g.lda
					case g.transA:
						lda = mr
					}
					for rb, cs := range [2][2]int{{0, bn}, {bn, nc}} {
						if cs[0] == cs[1] {
							continue
						}
						b, ldb, bNext := w.b, nr, nr*kc
						if rb == 0 {
							b, ldb, bNext = g.b[pc*g.ldb+jc:], g.ldb, nr
						}
						c := g.c[(ic+rs[0])*g.ldc+jc+cs[0]:]
						kernel(kc, a, lda, aNext, b, ldb, bNext, c, g.ldc, g.alpha, beta, rs[1]-rs[0], cs[1]-cs[0])
					}
				}
			}
		}
	}
}

// blockSize splits n into the fewest blocks of at most max and returns
// their common size, rounded up to a multiple of step (which may make the
// last block smaller than the others).
func blockSize(n, max, step int) int {
	if n <= max {
		return n
	}
	blocks := (n + max - 1) / max
	return min(max, roundUp((n+blocks-1)/blocks, step))
}

// grow returns s with length n, reallocating only when it is too short.
func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}
