package tensor

import "github.com/troupe-ml/troupe/kernels"

// Backend is the seam through which the graph's heavy operations run. Slices are
// row-major; the contracts are those of the kernels package. A GPU backend
// implements the same methods over device memory.
type Backend interface {
	Device() Device
	// Gemm computes C = alpha·op(A)·op(B) + beta·C. With beta 0 it must
	// not read C, as in BLAS: the backward pass overwrites stale
	// gradients that way, and NaN in them must not leak.
	Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
	// Im2col unfolds one image [c,h,w] into columns [c·kh·kw, oh·ow].
	Im2col(src []float32, c, h, w, kh, kw, padH, padW, strideH, strideW int, dst []float32)
	// Col2im adds columns back into an image; the adjoint of Im2col.
	Col2im(src []float32, c, h, w, kh, kw, padH, padW, strideH, strideW int, dst []float32)
}

// CPUBackend runs on the host through the kernels package. With K set,
// matrix products run on K's thread pool; the zero value runs them on the
// calling goroutine, which suits several replicas sharing the cores.
type CPUBackend struct {
	K *kernels.CPU
}

// Device implements Backend.
func (CPUBackend) Device() Device { return CPU }

// Gemm implements Backend.
func (b CPUBackend) Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, bm []float32, ldb int, beta float32, c []float32, ldc int) {
	if b.K != nil {
		b.K.Sgemm(transA, transB, m, n, k, alpha, a, lda, bm, ldb, beta, c, ldc)
		return
	}
	kernels.Sgemm(transA, transB, m, n, k, alpha, a, lda, bm, ldb, beta, c, ldc)
}

// Im2col implements Backend.
func (CPUBackend) Im2col(src []float32, c, h, w, kh, kw, padH, padW, strideH, strideW int, dst []float32) {
	kernels.Im2col(src, c, h, w, kh, kw, padH, padW, strideH, strideW, dst)
}

// Col2im implements Backend.
func (CPUBackend) Col2im(src []float32, c, h, w, kh, kw, padH, padW, strideH, strideW int, dst []float32) {
	kernels.Col2im(src, c, h, w, kh, kw, padH, padW, strideH, strideW, dst)
}
