package kerneltest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// Im2colFunc is the signature shared by kernels.Im2col and kernels.Col2im:
// src and dst are one image [c,h,w] and its columns [c*kh*kw, oh*ow], in
// that order for Im2col and swapped for Col2im.
type Im2colFunc func(src []float32, c, h, w, kh, kw, padH, padW, strideH, strideW int, dst []float32)

// TestIm2col checks im2col and col2im against RefIm2col and RefCol2im for
// every stride 1..3 and pad 0..2 in each dimension, on random odd and even
// image sizes and non-square kernels, and checks the adjoint identity
// <im2col(x), y> == <x, col2im(y)> on random data.
//
// im2col must overwrite its whole output (it starts as NaN), col2im must add
// into its output, and neither may write outside its output or modify its
// input.
func TestIm2col(t *testing.T, im2col, col2im Im2colFunc) {
	t.Helper()
	checkIm2col(t, im2col, col2im)
}

// RefIm2col is a naive reference for Im2colFunc in the Im2col direction.
func RefIm2col(src []float32, c, h, w, kh, kw, padH, padW, strideH, strideW int, dst []float32) {
	g := convCase{c, h, w, kh, kw, padH, padW, strideH, strideW}
	g.each(func(e, p int) {
		dst[e] = 0
		if p >= 0 {
			dst[e] = src[p]
		}
	})
}

// RefCol2im is a naive reference for Im2colFunc in the Col2im direction: it
// sums each pixel's contributions in float64 and adds them to dst with a
// single rounding.
func RefCol2im(src []float32, c, h, w, kh, kw, padH, padW, strideH, strideW int, dst []float32) {
	g := convCase{c, h, w, kh, kw, padH, padW, strideH, strideW}
	sum, _, _ := g.col2im64(src)
	for p, s := range sum {
		dst[p] = float32(float64(dst[p]) + s)
	}
}

// convCase is the geometry of one im2col call.
type convCase struct {
	c, h, w, kh, kw, padH, padW, strideH, strideW int
}

func (g convCase) String() string {
	return fmt.Sprintf("c=%d h=%d w=%d kh=%d kw=%d padH=%d padW=%d strideH=%d strideW=%d",
		g.c, g.h, g.w, g.kh, g.kw, g.padH, g.padW, g.strideH, g.strideW)
}

// convOut mirrors kernels.ConvOut, which this package must not import.
func convOut(in, k, pad, stride int) int {
	span := in + 2*pad - k
	if span < 0 {
		return 0
	}
	return span/stride + 1
}

func (g convCase) out() (oh, ow int) {
	return convOut(g.h, g.kh, g.padH, g.strideH), convOut(g.w, g.kw, g.padW, g.strideW)
}

func (g convCase) imageLen() int { return g.c * g.h * g.w }

func (g convCase) colsShape() (rows, cols int) {
	oh, ow := g.out()
	return g.c * g.kh * g.kw, oh * ow
}

// each calls f for every element e of the column matrix with the index p of
// the image pixel it copies, or -1 where it lies in the padding.
func (g convCase) each(f func(e, p int)) {
	oh, ow := g.out()
	e := 0
	for ci := range g.c {
		for ki := range g.kh {
			for kj := range g.kw {
				for oy := range oh {
					for ox := range ow {
						iy := oy*g.strideH - g.padH + ki
						ix := ox*g.strideW - g.padW + kj
						p := -1
						if iy >= 0 && iy < g.h && ix >= 0 && ix < g.w {
							p = (ci*g.h+iy)*g.w + ix
						}
						f(e, p)
						e++
					}
				}
			}
		}
	}
}

// col2im64 returns, per pixel, the float64 sum of the column entries that
// map to it, the sum of their magnitudes and their count.
func (g convCase) col2im64(cols []float32) (sum, mag []float64, count []int) {
	n := g.imageLen()
	sum, mag, count = make([]float64, n), make([]float64, n), make([]int, n)
	g.each(func(e, p int) {
		if p >= 0 {
			v := float64(cols[e])
			sum[p] += v
			mag[p] += math.Abs(v)
			count[p]++
		}
	})
	return sum, mag, count
}

// convCases returns every stride 1..3 and pad 0..2 in each dimension twice,
// with random sizes, plus shapes of the kind a small CNN uses.
func convCases(rng *rand.Rand) []convCase {
	cases := []convCase{
		{1, 28, 28, 5, 5, 0, 0, 1, 1},
		{6, 14, 14, 5, 5, 2, 2, 1, 1},
		{3, 12, 12, 2, 2, 0, 0, 2, 2},
		{2, 9, 7, 3, 1, 1, 0, 2, 1},
		// Kernels wider than the image, so that whole kernel rows and columns
		// fall in the padding.
		{1, 3, 3, 7, 7, 2, 2, 1, 1},
		{2, 1, 1, 7, 7, 4, 4, 1, 1},
		{1, 3, 4, 7, 6, 2, 3, 2, 1},
		// Output rows around the 16- and 32-element boundaries of
		// vector loops, and wider.
		{2, 4, 16, 3, 1, 1, 0, 1, 1},
		{1, 5, 33, 3, 3, 1, 1, 1, 1},
		{2, 6, 32, 1, 3, 0, 1, 1, 1},
		{1, 4, 40, 2, 5, 0, 2, 1, 1},
		{3, 3, 19, 2, 4, 1, 3, 2, 1},
	}
	for sh := 1; sh <= 3; sh++ {
		for sw := 1; sw <= 3; sw++ {
			for ph := range 3 {
				for pw := range 3 {
					for rep := range 2 {
						for {
							g := convCase{
								c: 1 + rng.IntN(3), h: 1 + rng.IntN(11), w: 1 + rng.IntN(11),
								kh: 1 + rng.IntN(4), kw: 1 + rng.IntN(4),
								padH: ph, padW: pw, strideH: sh, strideW: sw,
							}
							if rep == 0 && g.kh == g.kw {
								g.kw = g.kh%4 + 1
							}
							if oh, ow := g.out(); oh > 0 && ow > 0 {
								cases = append(cases, g)
								break
							}
						}
					}
				}
			}
		}
	}
	return cases
}

func checkIm2col(r reporter, im2col, col2im Im2colFunc) {
	r.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	f := &failures{r: r}
	for _, g := range convCases(rng) {
		if !checkIm2colCase(f, rng, im2col, g) ||
			!checkCol2imCase(f, rng, col2im, g) ||
			!checkAdjoint(f, rng, im2col, col2im, g) {
			return
		}
	}
}

func checkIm2colCase(f *failures, rng *rand.Rand, im2col Im2colFunc, g convCase) bool {
	f.r.Helper()
	rows, cols := g.colsShape()
	src := newMatrix(rng, 1, g.imageLen(), g.imageLen(), false)
	dst := newMatrix(rng, rows, cols, cols, true)
	src0 := src.clone()
	if err := call(func() {
		im2col(src.data(), g.c, g.h, g.w, g.kh, g.kw, g.padH, g.padW, g.strideH, g.strideW, dst.data())
	}); err != nil {
		return f.fail("Im2col %v: %v", g, err)
	}
	if i, ok := src.unchanged(src0); !ok {
		return f.fail("Im2col %v: modified src at buffer index %d", g, i)
	}
	if i, ok := dst.guardsIntact(); !ok {
		return f.fail("Im2col %v: wrote outside dst at buffer index %d", g, i)
	}
	want := make([]float32, rows*cols)
	RefIm2col(src0.data(), g.c, g.h, g.w, g.kh, g.kw, g.padH, g.padW, g.strideH, g.strideW, want)
	// Im2col only moves values, so the tolerance is zero.
	for e, v := range dst.data() {
		if v != want[e] {
			return f.fail("Im2col %v: dst[%d, %d] = %v, want %v", g, e/cols, e%cols, v, want[e])
		}
	}
	return true
}

func checkCol2imCase(f *failures, rng *rand.Rand, col2im Im2colFunc, g convCase) bool {
	f.r.Helper()
	rows, cols := g.colsShape()
	src := newMatrix(rng, rows, cols, cols, false)
	dst := newMatrix(rng, 1, g.imageLen(), g.imageLen(), false)
	src0, dst0 := src.clone(), dst.clone()
	if err := call(func() {
		col2im(src.data(), g.c, g.h, g.w, g.kh, g.kw, g.padH, g.padW, g.strideH, g.strideW, dst.data())
	}); err != nil {
		return f.fail("Col2im %v: %v", g, err)
	}
	if i, ok := src.unchanged(src0); !ok {
		return f.fail("Col2im %v: modified src at buffer index %d", g, i)
	}
	if i, ok := dst.guardsIntact(); !ok {
		return f.fail("Col2im %v: wrote outside dst at buffer index %d", g, i)
	}
	sum, mag, count := g.col2im64(src0.data())
	for p, v := range dst.data() {
		prev := float64(dst0.data()[p])
		want := prev + sum[p]
		// One rounding per addition into the pixel, in any order.
		tol := float64(count[p]+1) * eps32 * (math.Abs(prev) + mag[p])
		if !(math.Abs(float64(v)-want) <= tol) {
			return f.fail("Col2im %v: dst[%d] = %v, want %v (it held %v before; tolerance %.3g)", g, p, v, want, prev, tol)
		}
	}
	return true
}

// checkAdjoint checks <im2col(x), y> == <x, col2im(y)>, which holds exactly
// in real arithmetic; only col2im's float32 sums perturb it.
func checkAdjoint(f *failures, rng *rand.Rand, im2col, col2im Im2colFunc, g convCase) bool {
	f.r.Helper()
	rows, cols := g.colsShape()
	x := randSlice(rng, g.imageLen())
	y := randSlice(rng, rows*cols)
	ix := make([]float32, rows*cols)
	cy := make([]float32, g.imageLen())
	if err := call(func() {
		im2col(x, g.c, g.h, g.w, g.kh, g.kw, g.padH, g.padW, g.strideH, g.strideW, ix)
		col2im(y, g.c, g.h, g.w, g.kh, g.kw, g.padH, g.padW, g.strideH, g.strideW, cy)
	}); err != nil {
		return f.fail("adjoint %v: %v", g, err)
	}
	var lhs, rhs, mag float64
	for e := range ix {
		lhs += float64(ix[e]) * float64(y[e])
		mag += math.Abs(float64(ix[e]) * float64(y[e]))
	}
	for p := range x {
		rhs += float64(x[p]) * float64(cy[p])
	}
	_, _, count := g.col2im64(y)
	tol := float64(slices.Max(count)+1) * eps32 * mag
	if !(math.Abs(lhs-rhs) <= tol) {
		return f.fail("adjoint %v: <im2col(x), y> = %v, <x, col2im(y)> = %v (tolerance %.3g)", g, lhs, rhs, tol)
	}
	return true
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = 2*rng.Float32() - 1
	}
	return s
}
