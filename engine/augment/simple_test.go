package augment

import (
	"math"
	"testing"
)

func TestCropShiftsByWholePixelsWithinPad(t *testing.T) {
	s := Shape{C: 2, H: 6, W: 7}
	src := randomImage(s, 13)
	const pad, fill = 2, -3
	tr := &Crop{Pad: pad, Fill: fill}
	dst := make([]float32, len(src))
	seen := map[[2]int]bool{}
	for seed := range uint64(300) {
		tr.Apply(dst, src, s, rngFor(seed), nil)
		// Find the one shift that reproduces the output.
		found := false
		for dy := -pad; dy <= pad && !found; dy++ {
			for dx := -pad; dx <= pad && !found; dx++ {
				want := make([]float32, len(src))
				Shift(want, src, s, dx, dy, fill)
				if equalSlices(want, dst) {
					found = true
					seen[[2]int{dx, dy}] = true
				}
			}
		}
		if !found {
			t.Fatalf("seed %d: output is no whole-pixel shift within ±%d", seed, pad)
		}
	}
	if len(seen) != (2*pad+1)*(2*pad+1) {
		t.Errorf("saw %d distinct shifts in 300 draws, want all %d", len(seen), (2*pad+1)*(2*pad+1))
	}
}

func equalSlices(a, b []float32) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

func TestShiftBeyondTheImageGivesFill(t *testing.T) {
	s := Shape{C: 1, H: 3, W: 4}
	src := randomImage(s, 14)
	dst := make([]float32, len(src))
	for _, d := range [][2]int{{4, 0}, {-4, 0}, {0, 3}, {0, -9}} {
		Shift(dst, src, s, d[0], d[1], 5)
		for i, v := range dst {
			if v != 5 {
				t.Fatalf("shift %v: pixel %d = %v, want fill 5", d, i, v)
			}
		}
	}
}

func TestFlips(t *testing.T) {
	s := Shape{C: 2, H: 4, W: 5}
	src := randomImage(s, 15)
	h, v := make([]float32, len(src)), make([]float32, len(src))
	(&Flip{}).Apply(h, src, s, nil, nil)
	(&Flip{Vertical: true}).Apply(v, src, s, nil, nil)
	for c := range s.C {
		for y := range s.H {
			for x := range s.W {
				if g, w := at(h, s, c, y, x), at(src, s, c, y, s.W-1-x); g != w {
					t.Fatalf("hflip (c=%d, y=%d, x=%d) = %v, want %v", c, y, x, g, w)
				}
				if g, w := at(v, s, c, y, x), at(src, s, c, s.H-1-y, x); g != w {
					t.Fatalf("vflip (c=%d, y=%d, x=%d) = %v, want %v", c, y, x, g, w)
				}
			}
		}
	}
}

func TestCutoutErasesOneClippedBox(t *testing.T) {
	s := Shape{C: 2, H: 20, W: 16}
	src := randomImage(s, 16)
	const fill = 7 // outside the range of src, so erased pixels are known
	tr := &Cutout{Size: 0.25, Fill: fill}
	dst := make([]float32, len(src))
	full := 0
	for seed := range uint64(200) {
		tr.Apply(dst, src, s, rngFor(seed), nil)
		y0, y1, x0, x1 := s.H, -1, s.W, -1
		for y := range s.H {
			for x := range s.W {
				if at(dst, s, 0, y, x) == fill {
					y0, y1, x0, x1 = min(y0, y), max(y1, y), min(x0, x), max(x1, x)
				}
			}
		}
		bh, bw := y1-y0+1, x1-x0+1
		if bh < 1 || bh > 5 || bw < 1 || bw > 4 {
			t.Fatalf("seed %d: erased box %d×%d, want at most 5×4", seed, bh, bw)
		}
		if bh == 5 && bw == 4 {
			full++
		}
		for c := range s.C {
			for y := range s.H {
				for x := range s.W {
					in := y >= y0 && y <= y1 && x >= x0 && x <= x1
					got := at(dst, s, c, y, x)
					if in && got != fill || !in && got != at(src, s, c, y, x) {
						t.Fatalf("seed %d: (c=%d, y=%d, x=%d) = %v, in box %v", seed, c, y, x, got, in)
					}
				}
			}
		}
	}
	if full < 50 {
		t.Errorf("only %d of 200 boxes were whole, want most of them", full)
	}
}

func TestBrightnessAddsOneOffsetWithinDelta(t *testing.T) {
	s := Shape{C: 2, H: 5, W: 5}
	src := randomImage(s, 17)
	dst := make([]float32, len(src))
	tr := &Brightness{Delta: 0.3}
	lo, hi := math.Inf(1), math.Inf(-1)
	for seed := range uint64(500) {
		tr.Apply(dst, src, s, rngFor(seed), nil)
		d := float64(dst[0] - src[0])
		for i := range dst {
			if math.Abs(float64(dst[i]-src[i])-d) > 1e-6 {
				t.Fatalf("seed %d: offsets differ between pixels 0 and %d", seed, i)
			}
		}
		lo, hi = min(lo, d), max(hi, d)
	}
	if lo < -0.3-1e-6 || hi > 0.3+1e-6 || lo > -0.28 || hi < 0.28 {
		t.Errorf("offsets span [%g, %g], want to fill [-0.3, 0.3]", lo, hi)
	}
}

func TestContrastScalesDeviationsFromEachChannelMean(t *testing.T) {
	s := Shape{C: 2, H: 6, W: 6}
	src := randomImage(s, 18)
	for i := s.Plane(); i < len(src); i++ {
		src[i] += 5 // a second channel with another mean
	}
	dst := make([]float32, len(src))
	tr := &Contrast{Factor: 0.5}
	for seed := range uint64(100) {
		tr.Apply(dst, src, s, rngFor(seed), nil)
		for c := range s.C {
			p := s.Plane()
			in, out := src[c*p:(c+1)*p], dst[c*p:(c+1)*p]
			var m float64
			for _, v := range in {
				m += float64(v)
			}
			m /= float64(p)
			f := (float64(out[0]) - m) / (float64(in[0]) - m)
			if f < 0.5-1e-4 || f > 1.5+1e-4 {
				t.Fatalf("seed %d channel %d: factor %g, want within [0.5, 1.5]", seed, c, f)
			}
			for i := range in {
				if want := m + f*(float64(in[i])-m); math.Abs(float64(out[i])-want) > 1e-4 {
					t.Fatalf("seed %d channel %d pixel %d = %v, want %v", seed, c, i, out[i], want)
				}
			}
		}
	}
}

// Geometric transforms must move every channel alike: the channels of a
// multi-channel result equal single-channel results under the same draws.
func TestChannelsShareGeometry(t *testing.T) {
	el, err := NewElastic(34, 4, -0.4)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range []Transform{
		&Affine{Degrees: 30, ScaleMin: 0.8, ScaleMax: 1.2, Translate: 0.1, Shear: 10, Fill: -0.4},
		el, &Crop{Pad: 3, Fill: -0.4}, &Cutout{Size: 0.3, Fill: -0.4}, &Flip{}, &Flip{Vertical: true},
	} {
		s := Shape{C: 3, H: 28, W: 24}
		one := Shape{C: 1, H: s.H, W: s.W}
		src := randomImage(s, 19)
		dst := make([]float32, len(src))
		part := make([]float32, one.Len())
		for seed := range uint64(5) {
			tr.Apply(dst, src, s, rngFor(seed), new(Scratch))
			for c := range s.C {
				p := s.Plane()
				tr.Apply(part, src[c*p:(c+1)*p], one, rngFor(seed), new(Scratch))
				equalBits(t, tr.Name()+" channel", dst[c*p:(c+1)*p], part)
			}
		}
	}
}
