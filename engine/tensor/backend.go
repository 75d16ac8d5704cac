package tensor

import "github.com/troupe-ml/troupe/kernels"

// Backend is the seam through which the graph's heavy operations run. Slices are
// row-major; the contracts are those of the kernels package. A GPU backend
// implements the same methods over device memory.
type Backend interface {
	Device() Device
	// Gemm computes C = alpha·op(A)·op(B) + beta·C.
	Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
	// Im2col unfolds one image [c,h,w] into columns [c·kh·kw, oh·ow].
	Im2col(src []float32, c, h, w, kh, kw, padH, padW, strideH, strideW int, dst []float32)
	// Col2im adds columns back into an image; the adjoint of Im2col.
	Col2im(src []float32, c, h, w, kh, kw, padH, padW, strideH, strideW int, dst []float32)
}

// CPUBackend runs on the host through the kernels package.
type CPUBackend struct{}

// Device implements Backend.
func (CPUBackend) Device() Device { return CPU }

// Gemm implements Backend.
func (CPUBackend) Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	kernels.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Im2col implements Backend.
func (CPUBackend) Im2col(src []float32, c, h, w, kh, kw, padH, padW, strideH, strideW int, dst []float32) {
	kernels.Im2col(src, c, h, w, kh, kw, padH, padW, strideH, strideW, dst)
}

// Col2im implements Backend.
func (CPUBackend) Col2im(src []float32, c, h, w, kh, kw, padH, padW, strideH, strideW int, dst []float32) {
	kernels.Col2im(src, c, h, w, kh, kw, padH, padW, strideH, strideW, dst)
}
