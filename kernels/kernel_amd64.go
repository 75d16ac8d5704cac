//go:build !noasm

package kernels

// The assembly trusts its arguments; these wrappers are where the bounds
// it will touch are checked, once per call, so a driver bug panics here
// instead of reading or writing outside a slice.

func kernelAVX512R(kc int, a []float32, lda, aNext int, b []float32, ldb, bNext int, c []float32, ldc int, alpha, beta float32, m, n int) {
	checkBlock(layoutR, 12, 32, 2, 1, kc, a, lda, aNext, b, ldb, bNext, c, ldc, m, n)
	sgemmAVX512R(kc, &a[0], lda, aNext, &b[0], ldb, bNext, &c[0], ldc, alpha, beta, m, n)
}

func kernelAVX512P(kc int, a []float32, lda, aNext int, b []float32, ldb, bNext int, c []float32, ldc int, alpha, beta float32, m, n int) {
	checkBlock(layoutP, 12, 32, 2, 1, kc, a, lda, aNext, b, ldb, bNext, c, ldc, m, n)
	sgemmAVX512P(kc, &a[0], lda, aNext, &b[0], ldb, bNext, &c[0], ldc, alpha, beta, m, n)
}

func kernelAVX2R(kc int, a []float32, lda, aNext int, b []float32, ldb, bNext int, c []float32, ldc int, alpha, beta float32, m, n int) {
	checkBlock(layoutR, 6, 16, 2, 8, kc, a, lda, aNext, b, ldb, bNext, c, ldc, m, n)
	sgemmAVX2R(kc, &a[0], lda, aNext, &b[0], ldb, bNext, &c[0], ldc, alpha, beta, m, n)
}

func kernelAVX2P(kc int, a []float32, lda, aNext int, b []float32, ldb, bNext int, c []float32, ldc int, alpha, beta float32, m, n int) {
	checkBlock(layoutP, 6, 16, 2, 8, kc, a, lda, aNext, b, ldb, bNext, c, ldc, m, n)
	sgemmAVX2P(kc, &a[0], lda, aNext, &b[0], ldb, bNext, &c[0], ldc, alpha, beta, m, n)
}

const errTranspose8 = "kernels: transpose8: slice too short for the block"

// transpose8 is transpose8AVX2 with its bounds checked.
func transpose8(n int, src []float32, lds int, dst []float32, ldd int) {
	if n <= 0 {
		return
	}
	if n%8 != 0 || len(src) < 7*lds+n || len(dst) < (n-1)*ldd+8 {
		panic(errTranspose8)
	}
	transpose8AVX2(n, &src[0], lds, &dst[0], ldd)
}

const errCopyRows = "kernels: copyRows: slice too short for the panel"

// copyRows32, copyRows16, copyRows12 and copyRows6 are copyRows<w>AVX
// with their bounds checked.
func copyRows32(n int, src []float32, lds int, dst []float32) {
	if checkCopyRows(n, src, lds, dst, 32) {
		copyRows32AVX(n, &src[0], lds, &dst[0])
	}
}

func copyRows16(n int, src []float32, lds int, dst []float32) {
	if checkCopyRows(n, src, lds, dst, 16) {
		copyRows16AVX(n, &src[0], lds, &dst[0])
	}
}

func copyRows12(n int, src []float32, lds int, dst []float32) {
	if checkCopyRows(n, src, lds, dst, 12) {
		copyRows12AVX(n, &src[0], lds, &dst[0])
	}
}

func copyRows6(n int, src []float32, lds int, dst []float32) {
	if checkCopyRows(n, src, lds, dst, 6) {
		copyRows6AVX(n, &src[0], lds, &dst[0])
	}
}

// checkCopyRows reports whether there is anything to copy, and panics if
// the slices cannot hold n rows of w elements.
func checkCopyRows(n int, src []float32, lds int, dst []float32, w int) bool {
	if n <= 0 {
		return false
	}
	if len(src) < (n-1)*lds+w || len(dst) < n*w {
		panic(errCopyRows)
	}
	return true
}

const errCopyPad = "kernels: copyPad: slice too short for the panel"

// copyPad is copyPadAVX with its bounds checked.
func copyPad(n int, src []float32, lds int, dst []float32, ldd, w, wUp int) {
	if n <= 0 || wUp == 0 {
		return
	}
	if w < 0 || w > wUp || wUp > 32 || (w > 0 && len(src) < (n-1)*lds+w) || len(dst) < (n-1)*ldd+wUp {
		panic(errCopyPad)
	}
	var s *float32
	if w > 0 {
		s = &src[0]
	}
	copyPadAVX(n, s, lds, &dst[0], ldd, w, wUp)
}
