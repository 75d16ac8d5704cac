package kernels

// Packing copies a block of an operand into micro-panels laid out as the
// micro-kernel reads them, contiguous and free of cache-set conflicts and
// TLB misses, at a cost of one pass over the block. When the block is
// reused few times the caller's matrix can be read in place instead (see
// inPlaceA and inPlaceB); panels that would make the kernel read past the
// end of the matrix, because it reads whole row groups and vectors, are
// packed even then.
//
// Neither operand layout needs a transposition except a transposed B:
//
//   - A not transposed: layout R, each panel's rows copied whole, row
//     stride kc, at w.a[ir*kc:];
//   - A transposed: layout P, each panel row p being mr consecutive
//     elements of stored row pc+p, row stride mr, at w.a[ir*kc:];
//   - B, either way: kc rows of nr elements, row stride nr, at w.b[jr*kc:].
//
// Rows and columns past the end of a partial panel, up to a whole rowStep
// group or colStep vector, are zeroed: the kernel computes them but never
// stores them, and zeros keep stale or denormal values out of its
// arithmetic.

// packA packs rows [i, i+m) and columns [pc, pc+kc) of op(A) into w.a,
// panel q at w.a[q*mr*kc:].
func (w *workspace) packA(ar *arch, g *gemmCall, i, m, pc, kc int) {
	mr := ar.mr
	// (m+mr)*kc bounds the whole panels without a division.
	w.a = grow(w.a, (m+mr)*kc)
	for ir := 0; ir < m; ir += mr {
		rows := min(mr, m-ir)
		rowsUp := roundUp(rows, ar.rowStep)
		panel := w.a[ir*kc : ir*kc+mr*kc]
		switch {
		case !g.transA:
			for r := range rows {
				src := g.a[(i+ir+r)*g.lda+pc:]
				copy(panel[r*kc:(r+1)*kc], src[:kc])
			}
			clear(panel[rows*kc : rowsUp*kc])
		case rows == mr && ar.copyA != nil:
			ar.copyA(kc, g.a[pc*g.lda+i+ir:], g.lda, panel)
		default:
			ar.copyPad(kc, g.a[pc*g.lda+i+ir:], g.lda, panel, mr, rows, rowsUp)
		}
	}
}

// aInPlaceRows returns how many of rows [i, i+m) of op(A) the kernel may
// read in place, in whole panels: a panel may be read in place when whole
// row groups lie inside the slice. Rows past m, when they do, hold other
// elements of the slice, which the kernel multiplies into sums it never
// stores. Only the last panel can fail.
func aInPlaceRows(ar *arch, g *gemmCall, i, m, pc, kc int) int {
	last := divFloor(m-1, ar.mr) * ar.mr
	rowsUp := roundUp(m-last, ar.rowStep)
	end := (i+last)*g.lda + pc + (rowsUp-1)*g.lda + kc
	if g.transA {
		end = pc*g.lda + i + last + (kc-1)*g.lda + rowsUp
	}
	if end <= len(g.a) {
		return m
	}
	return last
}

// packB packs columns [j, j+n) and rows [pc, pc+kc) of op(B) into w.b,
// panel t at w.b[t*nr*kc:].
func (w *workspace) packB(ar *arch, g *gemmCall, j, n, pc, kc int) {
	nr := ar.nr
	w.b = grow(w.b, roundUp(n, nr)*kc)
	for jr := 0; jr < n; jr += nr {
		cols := min(nr, n-jr)
		panel := w.b[jr*kc : (jr+nr)*kc]
		switch {
		case g.transB:
			packBT(ar, g, panel, j+jr, cols, pc, kc)
		case cols == nr && ar.copyB != nil:
			ar.copyB(kc, g.b[pc*g.ldb+j+jr:], g.ldb, panel)
		default:
			ar.copyPad(kc, g.b[pc*g.ldb+j+jr:], g.ldb, panel, nr, cols, roundUp(cols, ar.colStep))
		}
	}
}

// bInPlaceCols returns how many of columns [j, j+n) of a non-transposed B
// the kernel may read in place, in whole panels: whole vectors must lie
// inside the slice. Only the last panel can fail.
func bInPlaceCols(ar *arch, g *gemmCall, j, n, pc, kc int) int {
	last := (n - 1) >> ar.nrLog2 << ar.nrLog2
	if pc*g.ldb+j+last+(kc-1)*g.ldb+roundUp(n-last, ar.colStep) <= len(g.b) {
		return n
	}
	return last
}

// packBT packs one panel of a transposed B: panel[p*nr+j] = b[(j0+j)*ldb +
// pc+p]. Whole groups of eight rows of the stored B go through the
// architecture's 8×8 transposing copy when it has one.
func packBT(ar *arch, g *gemmCall, panel []float32, j0, cols, pc, kc int) {
	nr := ar.nr
	j := 0
	if ar.transpose8 != nil {
		kc8 := kc &^ 7
		for ; j+8 <= cols; j += 8 {
			src := g.b[(j0+j)*g.ldb+pc:]
			ar.transpose8(kc8, src, g.ldb, panel[j:], nr)
			for p := kc8; p < kc; p++ {
				for jj := range 8 {
					panel[p*nr+j+jj] = src[jj*g.ldb+p]
				}
			}
		}
	}
	for ; j < cols; j++ {
		src := g.b[(j0+j)*g.ldb+pc:]
		src = src[:kc]
		for p, v := range src {
			panel[p*nr+j] = v
		}
	}
	if colsUp := roundUp(cols, ar.colStep); cols < colsUp {
		for p := range kc {
			pad := panel[p*nr+cols : p*nr+colsUp]
			for j := range pad {
				pad[j] = 0
			}
		}
	}
}

// inPlaceA reports whether op(A) is read in place rather than packed.
//
// A micro-panel of A is reused for every panel of B, so what matters is
// that it stays in L1. A non-transposed A in place is mr rows read side by
// side; it measured as fast as packed, and saves the copy, unless its rows
// are a multiple of 4 KiB apart, when they all map to the same L1 sets. A
// transposed A in place is kc rows of mr elements, one or two cache lines
// each: only a short one (k <= 128, at most 16 KiB) stays in L1.
func inPlaceA(ar *arch, g *gemmCall) bool {
	if g.lda%1024 == 0 {
		return false
	}
	return !g.transA || g.k <= 128
}

// inPlaceB reports whether op(B) is read in place rather than packed: when
// a non-transposed B is read once, by a single panel of A, packing it
// would only add a copy. Otherwise packed panels measured up to 15% faster
// (and twice as fast for a small B: rows of B in place are rarely aligned
// to cache lines, so most vector loads from them are split loads). A
// transposed B cannot be read in place: the kernel reads rows of op(B).
func inPlaceB(ar *arch, g *gemmCall) bool {
	return !g.transB && g.m <= ar.mr && g.ldb%1024 != 0
}
