package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// refOverlap is SgemmOverlap from its definition in float64, with the sum
// of the magnitudes of each element's terms.
func refOverlap(transA bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) (want, abs []float64) {
	want, abs = make([]float64, m*n), make([]float64, m*n)
	for i := range m {
		for j := range n {
			var s, t float64
			if beta != 0 {
				s = float64(beta) * float64(c[i*ldc+j])
				t = math.Abs(s)
			}
			for p := range k {
				var av float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				x := float64(av) * float64(b[p*ldb+j])
				s += x
				t += math.Abs(x)
			}
			want[i*n+j], abs[i*n+j] = s, t
		}
	}
	return want, abs
}

// TestSgemmOverlap checks every implementation against the definition on
// odd sizes: rows of A that overlap (lda < k), that do not, and that are
// padded; depths over one block; slices that end at their last element,
// which sends the last row group and vector through the copies; beta 0
// over NaN, 1 and another value. Computing C in two calls split at a row
// or a column must give the same bits as one call.
func TestSgemmOverlap(t *testing.T) {
	type shape struct{ m, n, k, lda int }
	shapes := []shape{
		{1, 1, 1, 0}, {7, 5, 3, 1}, {13, 33, 9, 3}, {25, 32, 96, 32}, {31, 64, 192, 64},
		{12, 17, 40, 41}, {5, 9, 700, 11}, {96, 32, 576, 64}, {3, 70, 2, 5}, {2, 3, 50, 0},
	}
	r := rand.New(rand.NewPCG(3, 5))
	for _, impl := range Impls() {
		if !Available(impl) {
			continue
		}
		ar := archOf(impl)
		for _, s := range shapes {
			for _, transA := range []bool{false, true} {
				for _, beta := range []float32{0, 1, -0.75} {
					name := fmt.Sprintf("impl=%v/%+v/transA=%v/beta=%v", impl, s, transA, beta)
					t.Run(name, func(t *testing.T) {
						m, n, k, lda := s.m, s.n, s.k, s.lda
						if transA {
							// The stored rows run along m now.
							lda = max(s.lda, 0)
						}
						aLen := (m-1)*lda + k
						if transA {
							aLen = (k-1)*lda + m
						}
						ldb, ldc := n+2, n+1
						a, b := randSlice(r, aLen), randSlice(r, (k-1)*ldb+n)
						c0 := randSlice(r, (m-1)*ldc+n)
						if beta == 0 {
							for i := range c0 {
								c0[i] = float32(math.NaN())
							}
						}
						want, abs := refOverlap(transA, m, n, k, a, lda, b, ldb, beta, c0, ldc)
						got := append([]float32(nil), c0...)
						overlapGemm(&ar, transA, m, n, k, a, lda, b, ldb, beta, got, ldc)
						for i := range m {
							for j := range n {
								tol := 4 * 0x1p-23 * math.Sqrt(float64(k)+1) * (abs[i*n+j] + 1e-30)
								if d := math.Abs(float64(got[i*ldc+j]) - want[i*n+j]); !(d <= tol) {
									t.Fatalf("c[%d,%d] = %v, want %v (difference %.3g > %.3g)", i, j, got[i*ldc+j], want[i*n+j], d, tol)
								}
							}
						}
						// Split at a row and at a column: same bits.
						split := append([]float32(nil), c0...)
						mh, nh := m/2, n/2
						if mh > 0 {
							overlapGemm(&ar, transA, mh, n, k, a, lda, b, ldb, beta, split, ldc)
						}
						a2 := a[mh*lda:]
						if transA {
							a2 = a[mh:]
						}
						if nh > 0 {
							overlapGemm(&ar, transA, m-mh, nh, k, a2, lda, b, ldb, beta, split[mh*ldc:], ldc)
						}
						overlapGemm(&ar, transA, m-mh, n-nh, k, a2, lda, b[nh:], ldb, beta, split[mh*ldc+nh:], ldc)
						for i := range got {
							if math.Float32bits(got[i]) != math.Float32bits(split[i]) {
								t.Fatalf("c[%d] = %v computed in parts, %v in one call", i, split[i], got[i])
							}
						}
					})
				}
			}
		}
	}
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

func TestSgemmOverlapPanics(t *testing.T) {
	a := make([]float32, 12)
	cases := []struct {
		name string
		call func()
		want string
	}{
		{"negative m", func() { SgemmOverlap(false, -1, 1, 1, a, 1, a, 1, 0, a, 1) }, errOverlapDim},
		{"negative lda", func() { SgemmOverlap(false, 1, 1, 1, a, -1, a, 1, 0, a, 1) }, errOverlapDim},
		{"ldb < n", func() { SgemmOverlap(false, 2, 3, 2, a, 1, a, 2, 0, a, 3) }, errOverlapLdB},
		{"ldc < n", func() { SgemmOverlap(false, 2, 3, 2, a, 1, a, 3, 0, a, 2) }, errOverlapLdC},
		{"short a", func() { SgemmOverlap(false, 4, 1, 4, a, 3, a, 1, 0, a, 1) }, errOverlapShortA},
		{"short a transposed", func() { SgemmOverlap(true, 4, 1, 4, a, 3, a, 1, 0, a, 1) }, errOverlapShortA},
		{"short b", func() { SgemmOverlap(false, 1, 2, 7, a, 1, a, 2, 0, a, 2) }, errOverlapShortB},
		{"short c", func() { SgemmOverlap(false, 5, 3, 1, a, 1, a, 3, 0, a, 3) }, errOverlapShortC},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if got := recover(); got != tc.want {
					t.Fatalf("panic = %v, want %q", got, tc.want)
				}
			}()
			tc.call()
		})
	}
}

func TestSgemmOverlapDegenerate(t *testing.T) {
	c := []float32{1, 2, 3, 4}
	SgemmOverlap(false, 2, 2, 0, nil, 0, nil, 2, 3, c, 2)
	if want := []float32{3, 6, 9, 12}; fmt.Sprint(c) != fmt.Sprint(want) {
		t.Fatalf("k=0: c = %v, want %v", c, want)
	}
	SgemmOverlap(true, 0, 3, 2, nil, 0, nil, 3, 0, nil, 3)
}
