package kernels

import (
	"fmt"
	"math"
	"testing"
)

// TestTranspose checks every implementation's transpose against the
// definition on all sizes up to 19×19 and a few larger ones, with leading
// dimensions both minimal and larger, NaN guards around and between the
// rows of b that must survive.
func TestTranspose(t *testing.T) {
	guard := float32(math.NaN())
	sizes := [][2]int{{64, 300}, {300, 64}, {17, 33}, {8, 8}, {9, 100}}
	for m := range 20 {
		for n := range 20 {
			sizes = append(sizes, [2]int{m, n})
		}
	}
	for _, impl := range availableImpls(t) {
		t8 := archOf(impl).transpose8
		for _, sz := range sizes {
			m, n := sz[0], sz[1]
			for _, pad := range []int{0, 3} {
				lda, ldb := n+pad, m+pad
				a := make([]float32, max(0, m*lda))
				for i := range a {
					a[i] = float32(i) + 0.5
				}
				b := make([]float32, n*ldb+5)
				for i := range b {
					b[i] = guard
				}
				what := fmt.Sprintf("%v m=%d n=%d lda=%d ldb=%d", impl, m, n, lda, ldb)
				transpose(t8, m, n, a, lda, b[:max(0, (n-1)*ldb+m)], ldb)
				for j := range n {
					for i := range ldb {
						got := b[j*ldb+i]
						if i >= m {
							if got == got {
								t.Fatalf("%s: wrote b[%d] outside the matrix", what, j*ldb+i)
							}
							continue
						}
						if want := a[i*lda+j]; got != want {
							t.Fatalf("%s: b[%d,%d] = %v, want %v", what, j, i, got, want)
						}
					}
				}
				for i := n * ldb; i < len(b); i++ {
					if b[i] == b[i] {
						t.Fatalf("%s: wrote b[%d] past the matrix", what, i)
					}
				}
			}
		}
	}
	defer func() {
		if got := recover(); got != errTranspose {
			t.Fatalf("short b: panic = %v, want %q", got, errTranspose)
		}
	}()
	Transpose(2, 3, make([]float32, 6), 3, make([]float32, 5), 2)
}
