package kernels

const errTranspose = "kernels: Transpose: negative size, small leading dimension or short slice"

// Transpose writes the transpose of the m×n matrix a (row stride lda) to
// the n×m matrix b (row stride ldb): b[j*ldb+i] = a[i*lda+j]. The matrices
// must not overlap. Whole blocks of eight rows go through an in-register
// 8×8 transpose where the CPU has AVX2; the rest is plain Go.
func Transpose(m, n int, a []float32, lda int, b []float32, ldb int) {
	transpose(archOf(ImplAuto.Resolve()).transpose8, m, n, a, lda, b, ldb)
}

func transpose(t8 func(n int, src []float32, lds int, dst []float32, ldd int), m, n int, a []float32, lda int, b []float32, ldb int) {
	if m < 0 || n < 0 || lda < n || ldb < m {
		panic(errTranspose)
	}
	if m == 0 || n == 0 {
		return
	}
	if len(a) < (m-1)*lda+n || len(b) < (n-1)*ldb+m {
		panic(errTranspose)
	}
	i := 0
	if t8 != nil {
		n8 := n &^ 7
		for ; i+8 <= m && n8 > 0; i += 8 {
			t8(n8, a[i*lda:], lda, b[i:], ldb)
			for j := n8; j < n; j++ {
				for r := range 8 {
					b[j*ldb+i+r] = a[(i+r)*lda+j]
				}
			}
		}
	}
	for ; i < m; i++ {
		row := a[i*lda : i*lda+n]
		for j, v := range row {
			b[j*ldb+i] = v
		}
	}
}
