package kernels

import (
	"math/rand/v2"
	"testing"
)

// TestCPUPartsAnyThreadAnyOrder computes every part of a split product on
// a thread chosen at random, in a random order, as the pool's dynamic
// scheduling may, and checks that C is the same bit for bit as the
// package-level Sgemm's: which thread's buffers computed a part, and when,
// must not matter.
func TestCPUPartsAnyThreadAnyOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(81, 82))
	shapes := [][3]int{{64, 300, 784}, {64, 784, 300}, {300, 784, 64}, {131, 97, 90}, {37, 515, 29}}
	for _, impl := range availableImpls(t) {
		c := newTestCPU(t, 3, impl)
		for _, s := range shapes {
			for tr := range 4 {
				transA, transB := tr&1 != 0, tr&2 != 0
				m, n, k := s[0], s[1], s[2]
				lda, ldb := k, n
				if transA {
					lda = m
				}
				if transB {
					ldb = k
				}
				a, b, c0 := randVec(rng, m*k), randVec(rng, k*n), randVec(rng, m*n)
				want := append([]float32(nil), c0...)
				sgemmImpl(impl, transA, transB, m, n, k, 0.75, a, lda, b, ldb, 0.5, want, n)

				g, _ := newGemmCall(transA, transB, m, n, k, 0.75, a, lda, b, ldb, 0.5, append([]float32(nil), c0...), n)
				// The finest split there is: one micro-tile per part.
				sp := planSplit(c.threads, 0, &c.arch, &g)
				sp.parts = sp.tiles
				c.call, c.split = g, sp
				for _, part := range rng.Perm(sp.parts) {
					c.part(rng.IntN(c.threads), part)
				}
				c.call = gemmCall{}
				if i, ok := sameBits(g.c, want); !ok {
					t.Fatalf("%v %dx%dx%d transA=%t transB=%t: c[%d] = %v, want %v", impl, m, n, k, transA, transB, i, g.c[i], want[i])
				}
			}
		}
	}
}

// sgemmImpl is Sgemm with a chosen implementation, on one thread.
func sgemmImpl(impl Impl, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	g, ok := newGemmCall(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	if ok {
		ar := archOf(impl)
		var w workspace
		w.run(&ar, &g, 0, m, 0, n)
	}
}

// TestPlanSplit checks the part counts: a whole number of parts per thread
// up to partsPerThread for products of moderate size whose shared operand
// is read in place, one per thread for large ones, never more than the
// micro-tiles along the split side, and none below minParallelFlops.
func TestPlanSplit(t *testing.T) {
	ar := archOf(ImplGeneric) // 2×4 tiles: plenty of them
	cases := []struct {
		threads        int
		transA, transB bool
		m, n, k        int
		want           int
	}{
		{2, false, true, 64, 300, 784, 2 * partsPerThread}, // LeNet fc1 forward
		{2, true, false, 300, 784, 64, 2 * partsPerThread}, // fc1 weight gradient
		{2, false, true, 64, 100, 300, 2},                  // fc2 forward: 3.8 MFLOP
		{2, false, false, 64, 10, 100, 1},                  // too small to split
		{2, false, false, 1024, 1024, 1024, 2},             // large
		{2, true, false, 64, 784, 1000, 2},                 // A transposed and long: packed
		{3, false, false, 1, 6, 1 << 22, 2},                // two tiles of 4 columns
	}
	for _, tc := range cases {
		g, _ := newGemmCall(tc.transA, tc.transB, tc.m, tc.n, tc.k, 1, make([]float32, tc.m*tc.k), lda(tc.transA, tc.m, tc.k), make([]float32, tc.k*tc.n), lda(!tc.transB, tc.n, tc.k), 0, make([]float32, tc.m*tc.n), tc.n)
		if got := planSplit(tc.threads, minParallelFlops, &ar, &g).parts; got != tc.want {
			t.Errorf("planSplit(%d threads, %dx%dx%d transA=%t transB=%t) = %d parts, want %d", tc.threads, tc.m, tc.n, tc.k, tc.transA, tc.transB, got, tc.want)
		}
	}
}

// lda is the row stride of a stored m×k matrix, or of its transpose.
func lda(trans bool, m, k int) int {
	if trans {
		return m
	}
	return k
}

func TestSGDParts(t *testing.T) {
	for _, tc := range []struct{ threads, fits, want int }{
		{1, 100, 1}, {2, 0, 1}, {2, 1, 1}, {2, 2, 2}, {2, 3, 2}, {2, 7, 6}, {2, 100, 2 * partsPerThread}, {4, 3, 3},
	} {
		if got := sgdParts(tc.threads, tc.fits); got != tc.want {
			t.Errorf("sgdParts(%d, %d) = %d, want %d", tc.threads, tc.fits, got, tc.want)
		}
	}
}
