package augment

import (
	"math"
	"testing"
)

func mustElastic(t *testing.T, alpha, sigma float64, fill float32) *Elastic {
	t.Helper()
	e, err := NewElastic(alpha, sigma, fill)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestGaussianKernel(t *testing.T) {
	for _, sigma := range []float64{0.5, 1, 4, 7.3} {
		k := GaussianKernel(sigma)
		r := int(math.Ceil(3 * sigma))
		if len(k) != 2*r+1 {
			t.Fatalf("sigma %g: %d taps, want %d", sigma, len(k), 2*r+1)
		}
		var sum float64
		for i, v := range k {
			sum += float64(v)
			if v != k[len(k)-1-i] {
				t.Fatalf("sigma %g: tap %d = %v differs from its mirror %v", sigma, i, v, k[len(k)-1-i])
			}
		}
		if math.Abs(sum-1) > 1e-6 {
			t.Errorf("sigma %g: taps sum to %g, want 1", sigma, sum)
		}
		if got, want := float64(k[r+1]/k[r]), math.Exp(-1/(2*sigma*sigma)); math.Abs(got-want) > 1e-6 {
			t.Errorf("sigma %g: k[1]/k[0] = %g, want %g", sigma, got, want)
		}
	}
}

func TestElasticFieldIsTheScaledGaussianBlurOfUniformNoise(t *testing.T) {
	const h, w, alpha, sigma = 9, 13, 3.5, 1.5
	e := mustElastic(t, alpha, sigma, 0)
	dx, dy := make([]float32, h*w), make([]float32, h*w)
	e.Field(dx, dy, h, w, rngFor(1), nil)
	// The noise is drawn a row at a time, one 64-bit word per pixel.
	nx, ny := make([]float32, h*w), make([]float32, h*w)
	rng := rngFor(1)
	for y := range h {
		drawNoise(nx[y*w:(y+1)*w], ny[y*w:(y+1)*w], rng)
	}
	for i := range nx {
		if nx[i] < -1 || nx[i] >= 1 || ny[i] < -1 || ny[i] >= 1 {
			t.Fatalf("noise %d = (%v, %v), want in [-1, 1)", i, nx[i], ny[i])
		}
	}
	k := GaussianKernel(sigma)
	r := len(k) / 2
	for _, f := range []struct {
		name       string
		got, noise []float32
	}{{"dx", dx, nx}, {"dy", dy, ny}} {
		for y := range h {
			for x := range w {
				var want float64
				for j := -r; j <= r; j++ {
					for i := -r; i <= r; i++ {
						if yy, xx := y+j, x+i; yy >= 0 && yy < h && xx >= 0 && xx < w {
							want += float64(k[j+r]) * float64(k[i+r]) * float64(f.noise[yy*w+xx])
						}
					}
				}
				want *= alpha
				if got := float64(f.got[y*w+x]); math.Abs(got-want) > 1e-5 {
					t.Fatalf("%s(y=%d, x=%d) = %v, want %v", f.name, y, x, got, want)
				}
			}
		}
	}
}

func TestElasticWithZeroAlphaIsIdentity(t *testing.T) {
	s := Shape{C: 3, H: 28, W: 28}
	src := randomImage(s, 8)
	dst := make([]float32, len(src))
	mustElastic(t, 0, 4, -1).Apply(dst, src, s, rngFor(9), new(Scratch))
	equalBits(t, "elastic alpha=0", dst, src)
}

func TestElasticKeepsMassRoughly(t *testing.T) {
	s := Shape{C: 1, H: 28, W: 28}
	src := blob(s, 5) // about the extent of a digit
	mass0, _, _ := moments(src, s)
	e := mustElastic(t, 34, 4, 0)
	dst := make([]float32, len(src))
	sc := new(Scratch)
	var total float64
	const n = 200
	changed := 0
	for i := range n {
		e.Apply(dst, src, s, rngFor(uint64(i)), sc)
		var mass, diff float64
		for j, v := range dst {
			mass += float64(v)
			diff += math.Abs(float64(v - src[j]))
		}
		// The displacement field is not area-preserving: with alpha=34,
		// sigma=4 a sample's mass varies by a factor 1/det(I+∇d), seen in
		// [0.62, 1.44] over 2000 draws; only the mean is close to 1.
		if r := mass / mass0; r < 0.5 || r > 2 {
			t.Fatalf("sample %d: mass ratio %g, want within [0.5, 2]", i, r)
		}
		if diff > 0.05*mass0 {
			changed++
		}
		total += mass
	}
	if r := total / n / mass0; math.Abs(r-1) > 0.05 {
		t.Errorf("mean mass ratio %g, want 1 ± 0.05", r)
	}
	if changed < n*9/10 {
		t.Errorf("only %d of %d samples differ visibly from the input", changed, n)
	}
}

func TestElasticFieldScalesWithAlphaAndMatchesTheory(t *testing.T) {
	const h, w, sigma = 64, 64, 3
	sc := new(Scratch)
	dx1, dy1 := make([]float32, h*w), make([]float32, h*w)
	dx2, dy2 := make([]float32, h*w), make([]float32, h*w)
	e1 := mustElastic(t, 5, sigma, 0)
	e2 := mustElastic(t, 10, sigma, 0)
	// Same draws: the second field must be exactly twice the first, up to
	// float32 rounding.
	e1.Field(dx1, dy1, h, w, rngFor(1), sc)
	e2.Field(dx2, dy2, h, w, rngFor(1), sc)
	for i := range dx1 {
		if math.Abs(float64(dx2[i]-2*dx1[i])) > 1e-5 || math.Abs(float64(dy2[i]-2*dy1[i])) > 1e-5 {
			t.Fatalf("pixel %d: alpha 10 gives (%v, %v), want twice (%v, %v)", i, dx2[i], dy2[i], dx1[i], dy1[i])
		}
	}
	// Uniform [-1, 1] has variance 1/3; a 2-D separable blur with taps k
	// multiplies it by (Σk²)². Measured away from the zero-padded border.
	k := GaussianKernel(sigma)
	var k2 float64
	for _, v := range k {
		k2 += float64(v) * float64(v)
	}
	r := len(k) / 2
	for _, alpha := range []float64{5, 20} {
		e := mustElastic(t, alpha, sigma, 0)
		var ss, sum float64
		var n int
		for seed := range uint64(40) {
			e.Field(dx1, dy1, h, w, rngFor(seed+100), sc)
			for y := r; y < h-r; y++ {
				for x := r; x < w-r; x++ {
					for _, v := range []float32{dx1[y*w+x], dy1[y*w+x]} {
						ss += float64(v) * float64(v)
						sum += float64(v)
						n++
					}
				}
			}
		}
		want := alpha * math.Sqrt(k2*k2/3)
		if rms := math.Sqrt(ss / float64(n)); math.Abs(rms/want-1) > 0.05 {
			t.Errorf("alpha %g: RMS displacement %g, want %g ± 5 %%", alpha, rms, want)
		}
		if mean := sum / float64(n); math.Abs(mean) > 0.05*want {
			t.Errorf("alpha %g: mean displacement %g, want 0 ± %g", alpha, mean, 0.05*want)
		}
	}
}

func TestNewElasticRejectsBadParameters(t *testing.T) {
	for _, c := range []struct {
		alpha, sigma float64
		fill         float32
	}{{-1, 4, 0}, {math.NaN(), 4, 0}, {34, 0, 0}, {34, 1e9, 0}, {34, 4, float32(math.Inf(1))}} {
		if _, err := NewElastic(c.alpha, c.sigma, c.fill); err == nil {
			t.Errorf("NewElastic(%g, %g, %g): want an error", c.alpha, c.sigma, c.fill)
		}
	}
}
