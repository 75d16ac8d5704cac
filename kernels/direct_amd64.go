//go:build !noasm

package kernels

const (
	errDirectShape = "kernels: direct kernel: empty product, too many columns or negative stride"
	errDirectA     = "kernels: direct kernel: a too short for the product"
	errDirectB     = "kernels: direct kernel: b too short for the product"
	errDirectC     = "kernels: direct kernel: c too short for the product"
)

// The direct kernels in assembly read and write exactly the elements of
// the product; these wrappers check that they lie inside the slices.

func directAVX512R(kc int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, alpha, beta float32, m, n int) {
	checkDirect(layoutR, directColsAVX512, kc, a, lda, b, ldb, c, ldc, m, n)
	sgemmDirectAVX512R(kc, &a[0], lda, &b[0], ldb, &c[0], ldc, alpha, beta, m, n)
}

func directAVX512P(kc int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, alpha, beta float32, m, n int) {
	checkDirect(layoutP, directColsAVX512, kc, a, lda, b, ldb, c, ldc, m, n)
	sgemmDirectAVX512P(kc, &a[0], lda, &b[0], ldb, &c[0], ldc, alpha, beta, m, n)
}

func directAVX2R(kc int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, alpha, beta float32, m, n int) {
	checkDirect(layoutR, directColsAVX2, kc, a, lda, b, ldb, c, ldc, m, n)
	sgemmDirectAVX2R(kc, &a[0], lda, &b[0], ldb, &c[0], ldc, alpha, beta, m, n)
}

func directAVX2P(kc int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, alpha, beta float32, m, n int) {
	checkDirect(layoutP, directColsAVX2, kc, a, lda, b, ldb, c, ldc, m, n)
	sgemmDirectAVX2P(kc, &a[0], lda, &b[0], ldb, &c[0], ldc, alpha, beta, m, n)
}

// checkDirect panics unless a direct kernel call with these arguments
// stays inside its slices.
func checkDirect(l layout, maxN, kc int, a []float32, lda int, b []float32, ldb int, c []float32, ldc, m, n int) {
	if kc < 1 || m < 1 || n < 1 || n > maxN || lda < 0 || ldb < 0 || ldc < 0 {
		panic(errDirectShape)
	}
	aEnd := (m-1)*lda + kc
	if l == layoutP {
		aEnd = (kc-1)*lda + m
	}
	if aEnd > len(a) {
		panic(errDirectA)
	}
	if (kc-1)*ldb+n > len(b) {
		panic(errDirectB)
	}
	if (m-1)*ldc+n > len(c) {
		panic(errDirectC)
	}
}
