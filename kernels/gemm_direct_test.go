package kernels

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/troupe-ml/troupe/kernels/kerneltest"
)

// TestDirectDispatch pins which benchmark products take the direct path on
// every implementation: the backward products of LeNet-300-100's output
// layer, dX (k = 10) and dW (m = 10), and no other, so that the
// conformance suite's thin products cannot silently test the blocked path
// instead. It also checks that the direct path's depths fit in one block
// of the blocked path, on which its bit-for-bit agreement rests.
func TestDirectDispatch(t *testing.T) {
	want := map[string]bool{"lenet/fc3/dX": true, "lenet/fc3/dW": true}
	for _, impl := range Impls() {
		ar := archOf(impl)
		if directMaxK > ar.kc || directMaxMK > ar.kc {
			t.Errorf("%v: direct depths %d and %d exceed the blocked path's kc = %d", impl, directMaxK, directMaxMK, ar.kc)
		}
		for _, s := range BenchShapes() {
			lda, ldb, ldc := s.Lds()
			g := gemmCall{transA: s.TransA, transB: s.TransB, m: s.M, n: s.N, k: s.K, lda: lda, ldb: ldb, ldc: ldc}
			if got := useDirect(&ar, &g); got != want[s.Name] {
				t.Errorf("%v: useDirect(%v) = %t, want %t", impl, s, got, want[s.Name])
			}
		}
	}
}

// directCoverage records the calls of a GemmFunc that take the direct path
// on one arch.
type directCoverage struct {
	ar    *arch
	calls int
	// seen[transA] records the m, n and k of direct calls, and the
	// alpha and beta cases (alpha 1 or not; beta 0, 1 or other).
	seen   [2]struct{ m, n, k [68]bool }
	alphas [2]bool
	betas  [3]bool
	deepM  [2]bool // a direct call with m <= directMaxM and k > directMaxK
}

// wrap returns gemm with the calls that take the direct path recorded.
func (d *directCoverage) wrap(gemm kerneltest.GemmFunc) kerneltest.GemmFunc {
	return func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
		g := gemmCall{transA: transA, transB: transB, m: m, n: n, k: k}
		if m > 0 && n > 0 && k > 0 && alpha != 0 && useDirect(d.ar, &g) {
			d.calls++
			tr := 0
			if transA {
				tr = 1
			}
			s := &d.seen[tr]
			s.m[min(m, 67)], s.n[min(n, 67)], s.k[min(k, 67)] = true, true, true
			if k > directMaxK {
				d.deepM[tr] = true
			}
			if alpha == 1 {
				d.alphas[0] = true
			} else {
				d.alphas[1] = true
			}
			switch beta {
			case 0:
				d.betas[0] = true
			case 1:
				d.betas[1] = true
			default:
				d.betas[2] = true
			}
		}
		gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	}
}

// check fails t unless the recorded direct calls cover every m and n in
// 1..67 and every k up to directMaxK with A transposed or not, a deeper k
// with few rows, and every case of alpha and beta.
func (d *directCoverage) check(t *testing.T) {
	t.Helper()
	var missing []string
	for tr, s := range d.seen {
		for v := 1; v <= 67; v++ {
			if !s.m[v] {
				missing = append(missing, fmt.Sprintf("transA=%t m=%d", tr == 1, v))
			}
			if !s.n[v] {
				missing = append(missing, fmt.Sprintf("transA=%t n=%d", tr == 1, v))
			}
			if v <= directMaxK && !s.k[v] {
				missing = append(missing, fmt.Sprintf("transA=%t k=%d", tr == 1, v))
			}
		}
		if !d.deepM[tr] {
			missing = append(missing, fmt.Sprintf("transA=%t k>%d", tr == 1, directMaxK))
		}
	}
	if !d.alphas[0] || !d.alphas[1] {
		missing = append(missing, "alpha 1 and other")
	}
	if !d.betas[0] || !d.betas[1] || !d.betas[2] {
		missing = append(missing, "beta 0, 1 and other")
	}
	if len(missing) > 0 {
		t.Errorf("%v: the conformance suite's %d direct-path calls miss %s", d.ar.impl, d.calls, strings.Join(missing, ", "))
	}
}

// TestDirectMatchesBlocked checks that the direct path gives C bit for bit
// as the blocked path does, on products it takes: thin ones of every
// shape up to a few column blocks, both layouts of A, strided operands, and
// every case of alpha and beta.
func TestDirectMatchesBlocked(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	for _, impl := range availableImpls(t) {
		direct := archOf(impl)
		blocked := direct
		blocked.directR, blocked.directP = nil, nil
		var w workspace
		cases := 400
		if raceEnabled {
			cases = 100
		}
		for i := range cases {
			m, n, k := 1+rng.IntN(100), 1+rng.IntN(200), 1+rng.IntN(directMaxK)
			if i%2 == 1 {
				m, k = 1+rng.IntN(directMaxM), 1+rng.IntN(directMaxMK)
			}
			transA := i%4 >= 2
			lda, ldb, ldc := k+i%3, n+i%5, n+i%2
			if transA {
				lda = m + i%3
			}
			alpha := [...]float32{1, -0.75, 2.5}[i%3]
			beta := [...]float32{0, 1, -0.5, 3}[i/3%4]
			a, b, c0 := randVec(rng, max(m, k)*lda), randVec(rng, k*ldb), randVec(rng, m*ldc)
			want := append([]float32(nil), c0...)
			g, _ := newGemmCall(transA, false, m, n, k, alpha, a, lda, b, ldb, beta, want, ldc)
			if !useDirect(&direct, &g) {
				t.Fatalf("%v: %dx%dx%d transA=%t does not take the direct path", impl, m, n, k, transA)
			}
			w.run(&blocked, &g, 0, m, 0, n)
			got := append([]float32(nil), c0...)
			g.c = got
			w.run(&direct, &g, 0, m, 0, n)
			if j, ok := sameBits(got, want); !ok {
				t.Fatalf("%v %dx%dx%d transA=%t lda=%d ldb=%d ldc=%d alpha=%g beta=%g: direct c[%d] = %v, blocked %v",
					impl, m, n, k, transA, lda, ldb, ldc, alpha, beta, j, got[j], want[j])
			}
		}
	}
}

// TestDirectKernelBounds checks that every direct kernel panics, rather
// than reading or writing outside a slice, when a slice is one element
// short of the product.
func TestDirectKernelBounds(t *testing.T) {
	const m, n, k = 7, 19, 5
	for _, impl := range availableImpls(t) {
		ar := archOf(impl)
		for _, l := range []layout{layoutR, layoutP} {
			kernel, lda := ar.directR, k
			if l == layoutP {
				kernel, lda = ar.directP, m
			}
			aLen := (m-1)*lda + k
			if l == layoutP {
				aLen = (k-1)*lda + m
			}
			a, b, c := make([]float32, aLen), make([]float32, (k-1)*n+n), make([]float32, (m-1)*n+n)
			kernel(k, a, lda, b, n, c, n, 1, 0, m, n)
			for _, short := range []string{"a", "b", "c"} {
				t.Run(fmt.Sprintf("%v/%v/short %s", impl, map[layout]string{layoutR: "R", layoutP: "P"}[l], short), func(t *testing.T) {
					sa, sb, sc := a, b, c
					switch short {
					case "a":
						sa = a[:len(a)-1]
					case "b":
						sb = b[:len(b)-1]
					case "c":
						sc = c[:len(c)-1]
					}
					defer func() {
						msg, _ := recover().(string)
						if !strings.Contains(msg, short+" too short") {
							t.Errorf("panic %q, want one saying %s is too short", msg, short)
						}
					}()
					kernel(k, sa, lda, sb, n, sc, n, 1, 0, m, n)
				})
			}
		}
	}
}

// TestDirectNoAllocs checks that the direct path allocates nothing, through
// the package-level Sgemm and a CPU.
func TestDirectNoAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	const m, n, k = 64, 100, 10
	a, b, c := randVec(rng, m*k), randVec(rng, k*n), randVec(rng, m*n)
	cpu := newTestCPU(t, 1, ImplAuto)
	for name, gemm := range map[string]kerneltest.GemmFunc{"Sgemm": Sgemm, "CPU.Sgemm": cpu.Sgemm} {
		for _, transA := range []bool{false, true} {
			lda := k
			if transA {
				lda = m
			}
			allocs := testing.AllocsPerRun(10, func() {
				gemm(transA, false, m, n, k, 1, a, lda, b, n, 0, c, n)
			})
			if allocs != 0 {
				t.Errorf("%s transA=%t: %v allocations per call on the direct path, want 0", name, transA, allocs)
			}
		}
	}
}
