package kernels

import "sync"

// Panic messages for programmer errors in Sgemm. They are constants so
// callers and tests can match them exactly.
const (
	errGemmNegDim = "kernels: Sgemm: negative dimension"
	errGemmLdA    = "kernels: Sgemm: lda smaller than the stored row length of a"
	errGemmLdB    = "kernels: Sgemm: ldb smaller than the stored row length of b"
	errGemmLdC    = "kernels: Sgemm: ldc smaller than n"
	errGemmShortA = "kernels: Sgemm: len(a) too small"
	errGemmShortB = "kernels: Sgemm: len(b) too small"
	errGemmShortC = "kernels: Sgemm: len(c) too small"
)

// Sgemm computes C = alpha*op(A)*op(B) + beta*C where op(X) is X or Xᵀ; A is
// m×k after op, B k×n after op, C m×n; lda/ldb/ldc are row strides (leading
// dimensions) of the stored matrices.
//
// A transposed operand is stored with its op-shape swapped: with transA set,
// a holds a k×m matrix. Each slice must reach the last element of its
// matrix, (rows-1)*ld + cols, but need not extend to a full final row.
//
// As in reference BLAS, beta == 0 overwrites C without reading it, and when
// alpha == 0 or k == 0 A and B are not read, so uninitialised or NaN values
// there do not leak into C. Only the m×n window of C is written.
//
// Sgemm runs on the calling goroutine with the fastest implementation the
// CPU supports; use a CPU for several threads or a chosen implementation.
// Its packing buffers come from a sync.Pool, so a steady stream of calls
// allocates nothing, and it is safe for concurrent use. The result is the
// same bit for bit as a CPU's with the same implementation, whatever its
// thread count.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	g, ok := newGemmCall(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	if !ok {
		return
	}
	ar := archOf(ImplAuto.Resolve())
	if useDirect(&ar, &g) {
		// Nothing to pack, so no buffers to take from the pool.
		runDirect(&ar, &g, 0, m, 0, n)
		return
	}
	w := workspaces.Get().(*workspace)
	w.run(&ar, &g, 0, m, 0, n)
	workspaces.Put(w)
}

// workspaces holds the packing buffers of the package-level Sgemm. It is
// the package's only variable: a cache with no observable state, which
// spares each call from allocating blocks of up to a few MiB.
var workspaces = sync.Pool{New: func() any { return new(workspace) }}

// newGemmCall validates Sgemm's arguments, panicking on programmer errors,
// and handles the products that need no multiplication. It reports whether
// the returned call remains to be computed.
func newGemmCall(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) (gemmCall, bool) {
	if m < 0 || n < 0 || k < 0 {
		panic(errGemmNegDim)
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	checkMatrix(ar, ac, a, lda, errGemmLdA, errGemmShortA)
	checkMatrix(br, bc, b, ldb, errGemmLdB, errGemmShortB)
	checkMatrix(m, n, c, ldc, errGemmLdC, errGemmShortC)

	if m == 0 || n == 0 {
		return gemmCall{}, false
	}
	if k == 0 || alpha == 0 {
		scaleMatrix(beta, m, n, c, ldc)
		return gemmCall{}, false
	}
	return gemmCall{
		transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta,
		a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc,
	}, true
}

// checkMatrix panics unless s can hold a rows×cols row-major matrix with row
// stride ld. An empty matrix needs no storage, but its stride must still be
// sane, since a too-small stride is a bug whatever the shape.
func checkMatrix(rows, cols int, s []float32, ld int, errLd, errShort string) {
	if ld < cols {
		panic(errLd)
	}
	if rows == 0 || cols == 0 {
		return
	}
	if len(s) < (rows-1)*ld+cols {
		panic(errShort)
	}
}

// scaleMatrix sets C = beta*C over the m×n window, assigning rather than
// multiplying when beta == 0 so that NaN garbage in C is discarded.
func scaleMatrix(beta float32, m, n int, c []float32, ldc int) {
	if beta == 1 {
		return
	}
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}
