package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/troupe-ml/troupe/kernels/kerneltest"
)

func TestSgemmConformance(t *testing.T) {
	ar := archOf(ImplAuto.Resolve())
	cov := directCoverage{ar: &ar}
	kerneltest.TestSgemm(t, cov.wrap(Sgemm))
	cov.check(t)
}

func TestIm2colConformance(t *testing.T) {
	kerneltest.TestIm2col(t, Im2col, Col2im)
}

func TestSgemmDegenerate(t *testing.T) {
	// Empty operands may come with a zero leading dimension and no storage,
	// and C must then be scaled by beta only.
	c := []float32{1, 2, 3, 4}
	Sgemm(false, false, 2, 2, 0, 1, nil, 0, nil, 2, 3, c, 2)
	want := []float32{3, 6, 9, 12}
	for i := range want {
		if c[i] != want[i] {
			t.Fatalf("k=0: c = %v, want %v", c, want)
		}
	}
	Sgemm(false, false, 0, 0, 0, 1, nil, 0, nil, 0, 0, nil, 0)
	Sgemm(true, true, 0, 5, 3, 1, nil, 0, make([]float32, 15), 3, 0, nil, 5)
	nan := float32(math.NaN())
	c = []float32{nan, nan}
	Sgemm(false, false, 1, 2, 1, 0, []float32{nan}, 1, []float32{nan, nan}, 2, 0, c, 2)
	if c[0] != 0 || c[1] != 0 {
		t.Fatalf("alpha=0, beta=0 over NaN: c = %v, want [0 0]", c)
	}
}

func TestSgemmPanics(t *testing.T) {
	a := make([]float32, 6)
	cases := []struct {
		name string
		call func()
		want string
	}{
		{"negative m", func() { Sgemm(false, false, -1, 1, 1, 1, a, 1, a, 1, 0, a, 1) }, errGemmNegDim},
		{"lda < k", func() { Sgemm(false, false, 2, 3, 3, 1, a, 2, a, 3, 0, a, 3) }, errGemmLdA},
		{"lda < m transposed", func() { Sgemm(true, false, 3, 2, 2, 1, a, 2, a, 2, 0, a, 2) }, errGemmLdA},
		{"ldb < k transposed", func() { Sgemm(false, true, 2, 2, 3, 1, a, 3, a, 2, 0, a, 2) }, errGemmLdB},
		{"ldc < n", func() { Sgemm(false, false, 2, 3, 2, 1, a, 2, a, 3, 0, a, 2) }, errGemmLdC},
		{"short a", func() { Sgemm(false, false, 4, 1, 2, 1, a, 2, a, 1, 0, a, 1) }, errGemmShortA},
		{"short b", func() { Sgemm(false, false, 1, 2, 4, 1, a, 4, a, 2, 0, a, 2) }, errGemmShortB},
		{"short c", func() { Sgemm(false, false, 3, 3, 1, 1, a, 1, a, 3, 0, a, 3) }, errGemmShortC},
		{"axpy lengths", func() { Axpy(1, a, a[:5]) }, errAxpyLen},
		{"dot lengths", func() { Dot(a[:1], a) }, errDotLen},
		{"im2col stride 0", func() { Im2col(a, 1, 2, 3, 1, 1, 0, 0, 0, 1, a) }, errIm2colGeom},
		{"im2col short src", func() { Im2col(a, 1, 2, 4, 1, 1, 0, 0, 1, 1, make([]float32, 8)) }, errIm2colSrc},
		{"im2col short dst", func() { Im2col(a, 1, 2, 3, 1, 1, 0, 0, 1, 1, a[:5]) }, errIm2colDst},
		{"col2im negative pad", func() { Col2im(a, 1, 2, 3, 1, 1, -1, 0, 1, 1, a) }, errCol2imGeom},
		{"col2im short src", func() { Col2im(a[:5], 1, 2, 3, 1, 1, 0, 0, 1, 1, a) }, errCol2imSrc},
		{"col2im short dst", func() { Col2im(a, 1, 2, 3, 1, 1, 0, 0, 1, 1, a[:5]) }, errCol2imDst},
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

func TestConvOut(t *testing.T) {
	cases := []struct{ in, k, pad, stride, want int }{
		{28, 5, 0, 1, 24},
		{28, 5, 2, 1, 28},
		{24, 2, 0, 2, 12},
		{7, 3, 1, 2, 4},
		{5, 5, 0, 3, 1},
		{1, 2, 0, 2, 0}, // truncating (1-2)/2+1 would claim one output
		{0, 1, 1, 1, 2},
		{4, 0, 0, 1, 0},
		{4, 1, 0, 0, 0},
		{4, 1, -1, 1, 0},
		{-1, 1, 0, 1, 0},
	}
	for _, tc := range cases {
		if got := ConvOut(tc.in, tc.k, tc.pad, tc.stride); got != tc.want {
			t.Errorf("ConvOut(in=%d, k=%d, pad=%d, stride=%d) = %d, want %d", tc.in, tc.k, tc.pad, tc.stride, got, tc.want)
		}
	}
}

func TestIm2colNoOutput(t *testing.T) {
	// A kernel larger than the padded image has no output position; the
	// call must accept an empty dst and leave the image alone.
	src := []float32{1, 2, 3, 4}
	Im2col(src, 1, 2, 2, 3, 3, 0, 0, 1, 1, nil)
	Col2im(nil, 1, 2, 2, 3, 3, 0, 0, 1, 1, src)
	if src[0] != 1 || src[3] != 4 {
		t.Fatalf("src = %v, want unchanged", src)
	}
}

// vecOffsets are start offsets into a larger buffer, so assembly backends
// see every alignment.
func vecOffsets() []int { return []int{0, 1, 2, 3} }

func randVec(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = 2*rng.Float32() - 1
	}
	return s
}

func TestAxpy(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for n := range 68 {
		for _, off := range vecOffsets() {
			for _, alpha := range []float32{0, 1, -0.75, 3} {
				x := randVec(rng, off+n+1)[off : off+n]
				buf := randVec(rng, off+n+1)
				sentinel := buf[off+n]
				y := buf[off : off+n]
				orig := append([]float32(nil), y...)
				Axpy(alpha, x, y)
				if buf[off+n] != sentinel {
					t.Fatalf("Axpy n=%d off=%d: wrote past len(y)", n, off)
				}
				for i := range y {
					want := float64(orig[i]) + float64(alpha)*float64(x[i])
					tol := eps32 * (math.Abs(float64(orig[i])) + math.Abs(float64(alpha*x[i])))
					if math.Abs(float64(y[i])-want) > tol {
						t.Fatalf("Axpy n=%d off=%d alpha=%g: y[%d] = %v, want %v", n, off, alpha, i, y[i], want)
					}
				}
			}
		}
	}
}

func TestScale(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for n := range 68 {
		for _, off := range vecOffsets() {
			for _, alpha := range []float32{1, -0.75, 3} {
				buf := randVec(rng, off+n+1)
				sentinel := buf[off+n]
				x := buf[off : off+n]
				orig := append([]float32(nil), x...)
				Scale(alpha, x)
				for i := range x {
					if want := alpha * orig[i]; x[i] != want {
						t.Fatalf("Scale n=%d off=%d alpha=%g: x[%d] = %v, want %v", n, off, alpha, i, x[i], want)
					}
				}
				if buf[off+n] != sentinel {
					t.Fatalf("Scale n=%d off=%d: wrote past len(x)", n, off)
				}
			}
		}
	}
	x := []float32{float32(math.NaN()), float32(math.Inf(1)), 2}
	Scale(0, x)
	for i, v := range x {
		if v != 0 {
			t.Fatalf("Scale(0) over NaN/Inf: x[%d] = %v, want 0", i, v)
		}
	}
}

func TestDotAndSum(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for n := range 68 {
		for _, off := range vecOffsets() {
			x := randVec(rng, off+n)[off:]
			y := randVec(rng, off+n)[off:]
			var dot, dotMag, sum, sumMag float64
			for i := range x {
				p := float64(x[i]) * float64(y[i])
				dot += p
				dotMag += math.Abs(p)
				sum += float64(x[i])
				sumMag += math.Abs(float64(x[i]))
			}
			// One rounding per term in any summation order, plus one.
			if got, tol := float64(Dot(x, y)), float64(n+1)*eps32*dotMag; math.Abs(got-dot) > tol {
				t.Fatalf("Dot n=%d off=%d = %v, want %v (tolerance %.3g)", n, off, got, dot, tol)
			}
			if got, tol := float64(Sum(x)), float64(n+1)*eps32*sumMag; math.Abs(got-sum) > tol {
				t.Fatalf("Sum n=%d off=%d = %v, want %v (tolerance %.3g)", n, off, got, sum, tol)
			}
		}
	}
}

const eps32 = 0x1p-23
