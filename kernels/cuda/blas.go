package cuda

import "fmt"

// Precision selects how a float32 GEMM computes.
type Precision int

const (
	// FP32 multiplies in full single precision (cuBLAS's default math).
	FP32 Precision = iota
	// TF32 rounds the inputs to TensorFloat-32 (10-bit mantissa) on the
	// tensor cores and accumulates in float32: opt-in, ~1e-3 relative error.
	TF32
)

func (p Precision) String() string {
	switch p {
	case FP32:
		return "fp32"
	case TF32:
		return "tf32"
	}
	return fmt.Sprintf("Precision(%d)", int(p))
}

// DType is a cuBLAS element type (cudaDataType).
type DType int

// Element types, numbered as in library_types.h.
const (
	F32  DType = 0
	F16  DType = 2
	BF16 DType = 14
)

// cuBLAS constants from cublas_api.h.
const (
	computeF32         = 68 // CUBLAS_COMPUTE_32F
	computeF32FastTF32 = 77 // CUBLAS_COMPUTE_32F_FAST_TF32
)

// Gemm computes C = alpha·op(A)·op(B) + beta·C on row-major float32
// matrices with leading dimensions, like kernels.Sgemm: op(A) is m×k, op(B)
// k×n, C m×n. As in BLAS, beta = 0 does not read C and alpha = 0 (or k = 0)
// does not read A or B.
func (s *Stream) Gemm(transA, transB bool, m, n, k int, alpha float32, a Ptr, lda int, b Ptr, ldb int, beta float32, c Ptr, ldc int, prec Precision) error {
	if err := checkGemm(transA, transB, m, n, k, lda, ldb, ldc); err != nil {
		return err
	}
	if m == 0 || n == 0 {
		return nil
	}
	if alpha == 0 || k == 0 {
		if beta == 1 {
			return nil
		}
		return s.ScaleMatrix(c, beta, m, n, ldc)
	}
	// cuBLAS is column-major: the row-major C is the column-major Cᵀ =
	// op(B)ᵀ·op(A)ᵀ, so swap the operands and keep each one's transpose.
	switch prec {
	case FP32:
		return s.d.drv.sgemm(s.blas, transB, transA, n, m, k, alpha, b, ldb, a, lda, beta, c, ldc)
	case TF32:
		return s.d.drv.gemmEx(s.blas, transB, transA, n, m, k, alpha, b, int(F32), ldb, a, int(F32), lda, beta, c, int(F32), ldc, computeF32FastTF32)
	}
	return fmt.Errorf("cuda: Gemm: unknown precision %d", int(prec))
}

// GemmEx is Gemm with element types of its own choosing (e.g. BF16 inputs,
// BF16 or F32 output) and float32 accumulation.
func (s *Stream) GemmEx(transA, transB bool, m, n, k int, alpha float32, a Ptr, at DType, lda int, b Ptr, bt DType, ldb int, beta float32, c Ptr, ct DType, ldc int) error {
	if err := checkGemm(transA, transB, m, n, k, lda, ldb, ldc); err != nil {
		return err
	}
	if m == 0 || n == 0 {
		return nil
	}
	if (alpha == 0 || k == 0) && ct == F32 {
		if beta == 1 {
			return nil
		}
		return s.ScaleMatrix(c, beta, m, n, ldc)
	}
	return s.d.drv.gemmEx(s.blas, transB, transA, n, m, k, alpha, b, int(bt), ldb, a, int(at), lda, beta, c, int(ct), ldc, computeF32)
}

func checkGemm(transA, transB bool, m, n, k, lda, ldb, ldc int) error {
	if m < 0 || n < 0 || k < 0 {
		return fmt.Errorf("cuda: Gemm: negative size m=%d n=%d k=%d", m, n, k)
	}
	ac, bc := k, n
	if transA {
		ac = m
	}
	if transB {
		bc = k
	}
	if lda < max(1, ac) || ldb < max(1, bc) || ldc < max(1, n) {
		return fmt.Errorf("cuda: Gemm: leading dimensions lda=%d ldb=%d ldc=%d below the row lengths %d, %d, %d", lda, ldb, ldc, ac, bc, n)
	}
	return nil
}
