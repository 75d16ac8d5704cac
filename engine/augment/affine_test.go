package augment

import (
	"math"
	"testing"
)

func warp(t *testing.T, src []float32, s Shape, m Matrix, fill float32) []float32 {
	t.Helper()
	inv, err := m.Inverse()
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]float32, len(src))
	WarpAffine(dst, src, s, inv, fill, nil)
	return dst
}

func TestQuarterTurnsAreExact(t *testing.T) {
	for _, n := range []int{7, 8} {
		s := Shape{C: 2, H: n, W: n}
		src := randomImage(s, 1)
		want := map[float64]func(c, y, x int) float32{
			// Counter-clockwise: the top-right corner moves to the top-left.
			90:  func(c, y, x int) float32 { return at(src, s, c, x, n-1-y) },
			-90: func(c, y, x int) float32 { return at(src, s, c, n-1-x, y) },
			180: func(c, y, x int) float32 { return at(src, s, c, n-1-y, n-1-x) },
		}
		for angle, f := range want {
			got := warp(t, src, s, AffineMatrix(s, angle, 1, 0, 0, 0), -9)
			for c := range s.C {
				for y := range n {
					for x := range n {
						if g, w := at(got, s, c, y, x), f(c, y, x); g != w {
							t.Fatalf("n=%d angle %g: (c=%d, y=%d, x=%d) = %v, want %v", n, angle, c, y, x, g, w)
						}
					}
				}
			}
		}
	}
}

func TestHalfTurnOfNonSquareImageIsExact(t *testing.T) {
	s := Shape{C: 3, H: 5, W: 8}
	src := randomImage(s, 2)
	got := warp(t, src, s, AffineMatrix(s, 180, 1, 0, 0, 0), 0)
	for c := range s.C {
		for y := range s.H {
			for x := range s.W {
				if g, w := at(got, s, c, y, x), at(src, s, c, s.H-1-y, s.W-1-x); g != w {
					t.Fatalf("(c=%d, y=%d, x=%d) = %v, want %v", c, y, x, g, w)
				}
			}
		}
	}
}

func TestAffineIdentityParametersGiveInputBack(t *testing.T) {
	s := Shape{C: 2, H: 28, W: 28}
	src := randomImage(s, 3)
	tr := &Affine{ScaleMin: 1, ScaleMax: 1, Fill: -0.5}
	dst := make([]float32, len(src))
	tr.Apply(dst, src, s, rngFor(4), new(Scratch))
	equalBits(t, "identity affine", dst, src)
}

func TestAffineTranslationByWholePixelsShiftsExactly(t *testing.T) {
	s := Shape{C: 2, H: 9, W: 11}
	src := randomImage(s, 5)
	const fill = -0.4242
	for _, d := range [][2]int{{3, -2}, {-4, 1}, {0, 5}, {11, 0}} {
		got := warp(t, src, s, AffineMatrix(s, 0, 1, 0, float64(d[0]), float64(d[1])), fill)
		for c := range s.C {
			for y := range s.H {
				for x := range s.W {
					want := float32(fill)
					if sx, sy := x-d[0], y-d[1]; sx >= 0 && sx < s.W && sy >= 0 && sy < s.H {
						want = at(src, s, c, sy, sx)
					}
					if g := at(got, s, c, y, x); g != want {
						t.Fatalf("shift %v: (c=%d, y=%d, x=%d) = %v, want %v", d, c, y, x, g, want)
					}
				}
			}
		}
		// Shift is the integer-only path of crop; it must agree.
		byShift := make([]float32, len(src))
		Shift(byShift, src, s, d[0], d[1], fill)
		equalBits(t, "Shift vs translation", byShift, got)
	}
}

func TestScaleTwoDoublesExtentOfCentredBlob(t *testing.T) {
	s := Shape{C: 1, H: 64, W: 64}
	const sd = 3
	src := blob(s, sd)
	_, xx0, yy0 := moments(src, s)
	got := warp(t, src, s, AffineMatrix(s, 0, 2, 0, 0, 0), 0)
	mass0, _, _ := moments(src, s)
	mass, xx, yy := moments(got, s)
	// Bilinear interpolation widens by about 1/6 px² of source variance,
	// so allow 5 % on the doubling of the standard deviation.
	for _, r := range []float64{math.Sqrt(xx / xx0), math.Sqrt(yy / yy0)} {
		if math.Abs(r-2) > 0.1 {
			t.Errorf("extent ratio %.4f, want 2 ± 0.1", r)
		}
	}
	if r := mass / mass0; math.Abs(r-4) > 0.1 {
		t.Errorf("mass ratio %.4f, want area ratio 4 ± 0.1", r)
	}
}

func TestShearMovesRowsInProportionToTheirHeight(t *testing.T) {
	// A 45° x-shear moves row y by (y - cy) pixels to the right, so whole
	// pixels again and the result is exact.
	s := Shape{C: 1, H: 7, W: 9}
	src := randomImage(s, 6)
	got := warp(t, src, s, AffineMatrix(s, 0, 1, 45, 0, 0), 7)
	cy := (s.H - 1) / 2
	for y := range s.H {
		for x := range s.W {
			want := float32(7)
			if sx := x - (y - cy); sx >= 0 && sx < s.W {
				want = at(src, s, 0, y, sx)
			}
			if g := at(got, s, 0, y, x); g != want {
				t.Fatalf("(y=%d, x=%d) = %v, want %v", y, x, g, want)
			}
		}
	}
}

func TestAffineDrawsStayInRange(t *testing.T) {
	tr := &Affine{Degrees: 20, ScaleMin: 0.8, ScaleMax: 1.25, Translate: 0.1}
	s := Shape{C: 1, H: 28, W: 28}
	const n = 4000
	var sumAngle float64
	minA, maxA, minS, maxS := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for i := range n {
		m := tr.Matrix(s, rngFor(uint64(i)))
		scale := math.Hypot(m.A, m.D)
		angle := math.Atan2(-m.D, m.A) * 180 / math.Pi
		sumAngle += angle
		minA, maxA = min(minA, angle), max(maxA, angle)
		minS, maxS = min(minS, scale), max(maxS, scale)
		// The centre moves by the translation only: at most 10 % of 28.
		cx, cy := m.Apply(13.5, 13.5)
		if math.Abs(cx-13.5) > 2.8+1e-9 || math.Abs(cy-13.5) > 2.8+1e-9 {
			t.Fatalf("draw %d moves the centre to (%g, %g), want within 2.8 px", i, cx, cy)
		}
	}
	if minA < -20-1e-9 || maxA > 20+1e-9 || minA > -19 || maxA < 19 {
		t.Errorf("angles span [%g, %g], want to fill [-20, 20]", minA, maxA)
	}
	if minS < 0.8-1e-9 || maxS > 1.25+1e-9 || minS > 0.81 || maxS < 1.24 {
		t.Errorf("scales span [%g, %g], want to fill [0.8, 1.25]", minS, maxS)
	}
	// Uniform on ±20 has sd 11.5; the mean of 4000 draws has sd 0.18.
	if mean := sumAngle / n; math.Abs(mean) > 0.8 {
		t.Errorf("mean angle %g, want 0 ± 0.8", mean)
	}
}

func TestInverseRejectsSingularMatrix(t *testing.T) {
	if _, err := (Matrix{A: 1, B: 2, D: 2, E: 4}).Inverse(); err == nil {
		t.Fatal("Inverse of a singular matrix: want an error")
	}
	m := AffineMatrix(Shape{C: 1, H: 10, W: 12}, 33, 1.3, 12, 1.5, -2)
	inv, err := m.Inverse()
	if err != nil {
		t.Fatal(err)
	}
	x, y := m.Apply(inv.Apply(3, 7))
	if math.Abs(x-3) > 1e-9 || math.Abs(y-7) > 1e-9 {
		t.Fatalf("m(inv(3, 7)) = (%g, %g), want (3, 7)", x, y)
	}
}

func TestRemapFadesToFillAndHandlesFarCoordinates(t *testing.T) {
	s := Shape{C: 1, H: 2, W: 2}
	src := []float32{1, 2, 3, 4}
	mx := []float32{-0.5, 1.5, float32(math.NaN()), 1e30}
	my := []float32{0, 0, 0, 1}
	dst := make([]float32, 4)
	Remap(dst, src, s, mx, my, 10)
	want := []float32{(10 + 1) / 2.0, (2 + 10) / 2.0, 10, 10}
	for i := range want {
		if math.Abs(float64(dst[i]-want[i])) > 1e-6 {
			t.Errorf("pixel %d = %v, want %v", i, dst[i], want[i])
		}
	}
}
