package kernels

const (
	errOverlapDim    = "kernels: SgemmOverlap: negative dimension or leading dimension"
	errOverlapLdB    = "kernels: SgemmOverlap: ldb smaller than n"
	errOverlapLdC    = "kernels: SgemmOverlap: ldc smaller than n"
	errOverlapShortA = "kernels: SgemmOverlap: len(a) too small"
	errOverlapShortB = "kernels: SgemmOverlap: len(b) too small"
	errOverlapShortC = "kernels: SgemmOverlap: len(c) too small"
)

// SgemmOverlap computes C = op(A)·B + beta·C, as Sgemm does with alpha 1
// and B not transposed, but reads A and B where they lie instead of
// packing them, and puts no lower bound on lda: the stored rows of A may
// overlap.
//
// That is the shape of a stride-1 convolution over a channels-last image
// [h, w, c] padded to a width wp: for kernel row ki, the kw·c inputs under
// output position q = y·wp+x are the consecutive elements from
// (q+ki·wp)·c on, so the patches of all positions form a matrix with row
// stride c and rows kw·c long, which the micro-kernel can read without
// unfolding it (im2col). Its transpose, with transA, is the operand of the
// weight gradient.
//
// A is m×k stored row-major with row stride lda (A(i,p) = a[i*lda+p]), or
// with transA k×m (A(i,p) = a[p*lda+i]); B is k×n with row stride ldb; C is
// m×n with row stride ldc and must not overlap A or B. As in Sgemm, beta ==
// 0 overwrites C without reading it, and each element of C is computed by
// the same sequence of operations wherever it lies, so splitting C between
// calls does not change it. The micro-kernel reads rows of A and columns
// of B in groups; a group that would run past the end of its slice is
// copied first, so slices need reach only their last element.
//
// It runs on the calling goroutine with the fastest implementation the CPU
// supports; tail groups use the package's pool of packing buffers, so it
// allocates nothing once warm and is safe for concurrent use. It splits
// the depth k in blocks as Sgemm does, but not m or n: the caller keeps A
// and B small enough (a few hundred rows) for the panels a micro-kernel
// call sweeps to stay in L1 and L2.
func SgemmOverlap(transA bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 || lda < 0 {
		panic(errOverlapDim)
	}
	if ldb < n {
		panic(errOverlapLdB)
	}
	if ldc < n {
		panic(errOverlapLdC)
	}
	if m == 0 || n == 0 {
		return
	}
	if len(c) < (m-1)*ldc+n {
		panic(errOverlapShortC)
	}
	if k == 0 {
		scaleMatrix(beta, m, n, c, ldc)
		return
	}
	aEnd := (m-1)*lda + k
	if transA {
		aEnd = (k-1)*lda + m
	}
	if len(a) < aEnd {
		panic(errOverlapShortA)
	}
	if len(b) < (k-1)*ldb+n {
		panic(errOverlapShortB)
	}
	ar := archOf(ImplAuto.Resolve())
	overlapGemm(&ar, transA, m, n, k, a, lda, b, ldb, beta, c, ldc)
}

// overlapGemm is SgemmOverlap on a given implementation, its arguments
// checked. A's rows are split at mIn, B's columns at nIn: the micro-kernel
// reads those before the split in place, and those after it, fewer than a
// row group or a vector and only where the group would run past the end
// of the slice, from copies padded with zeros.
func overlapGemm(ar *arch, transA bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	mUp := roundUp(m, ar.rowStep)
	mIn := m
	if transA && (k-1)*lda+mUp > len(a) || !transA && (mUp-1)*lda+k > len(a) {
		mIn = m - m%ar.rowStep
	}
	nIn := n
	if (k-1)*ldb+roundUp(n, ar.colStep) > len(b) {
		nIn = n - n%ar.colStep
	}
	var w *workspace
	if mIn < m || nIn < n {
		w = workspaces.Get().(*workspace)
		defer workspaces.Put(w)
	}
	kcb := blockSize(k, ar.kc, 8)
	for pc := 0; pc < k; pc += kcb {
		kc := min(kcb, k-pc)
		bt := beta
		if pc > 0 {
			bt = 1
		}
		bs := b[pc*ldb:]
		if nIn < n {
			// The last columns, copied into rows of a vector.
			cols := n - nIn
			ldt := roundUp(cols, ar.colStep)
			w.b = grow(w.b, kc*ldt)
			copyPadGo(kc, bs[nIn:], ldb, w.b, ldt, cols, ldt)
			overlapRows(ar, w, transA, m, mIn, kc, a, lda, pc, w.b, ldt, ldt, bt, c[nIn:], ldc, cols)
		}
		if nIn > 0 {
			overlapRows(ar, w, transA, m, mIn, kc, a, lda, pc, bs, ldb, ar.nr, bt, c, ldc, nIn)
		}
	}
}

// overlapRows computes the n columns of C whose kc-deep block of B starts
// at b, for A's rows [0, mIn) in place and [mIn, m) from a copy.
func overlapRows(ar *arch, w *workspace, transA bool, m, mIn, kc int, a []float32, lda, pc int, b []float32, ldb, bNext int, beta float32, c []float32, ldc, n int) {
	if mIn > 0 {
		if transA {
			ar.kernelP(kc, a[pc*lda:], lda, ar.mr, b, ldb, bNext, c, ldc, 1, beta, mIn, n)
		} else {
			ar.kernelR(kc, a[pc:], lda, ar.mr*lda, b, ldb, bNext, c, ldc, 1, beta, mIn, n)
		}
	}
	if mIn == m {
		return
	}
	rows := m - mIn
	up := roundUp(rows, ar.rowStep)
	w.a = grow(w.a, up*kc)
	t := w.a[:up*kc]
	clear(t)
	if transA {
		// Layout P: row p of the copy holds A(mIn.., pc+p), up long.
		for p := range kc {
			copy(t[p*up:p*up+rows], a[(pc+p)*lda+mIn:])
		}
		ar.kernelP(kc, t, up, ar.mr, b, ldb, bNext, c[mIn*ldc:], ldc, 1, beta, rows, n)
		return
	}
	for r := range rows {
		copy(t[r*kc:(r+1)*kc], a[(mIn+r)*lda+pc:])
	}
	ar.kernelR(kc, t, kc, ar.mr*kc, b, ldb, bNext, c[mIn*ldc:], ldc, 1, beta, rows, n)
}
