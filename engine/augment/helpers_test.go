package augment

import (
	"math"
	"math/rand/v2"
	"testing"
)

// randomImage fills a sample of shape s with values in [-1, 1) from a fixed
// generator: asymmetric, so any wrong index shows.
func randomImage(s Shape, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 99))
	img := make([]float32, s.Len())
	for i := range img {
		img[i] = float32(2*rng.Float64() - 1)
	}
	return img
}

// blob is a Gaussian bump of standard deviation sd centred on the image,
// over a background of 0.
func blob(s Shape, sd float64) []float32 {
	img := make([]float32, s.Len())
	cx, cy := float64(s.W-1)/2, float64(s.H-1)/2
	for c := range s.C {
		for y := range s.H {
			for x := range s.W {
				dx, dy := float64(x)-cx, float64(y)-cy
				img[c*s.Plane()+y*s.W+x] = float32(math.Exp(-(dx*dx + dy*dy) / (2 * sd * sd)))
			}
		}
	}
	return img
}

// at reads channel c, row y, column x.
func at(img []float32, s Shape, c, y, x int) float32 { return img[c*s.Plane()+y*s.W+x] }

// moments returns the mass and the second moments about the image centre
// along x and y of channel 0.
func moments(img []float32, s Shape) (mass, mxx, myy float64) {
	cx, cy := float64(s.W-1)/2, float64(s.H-1)/2
	for y := range s.H {
		for x := range s.W {
			v := float64(img[y*s.W+x])
			dx, dy := float64(x)-cx, float64(y)-cy
			mass += v
			mxx += v * dx * dx
			myy += v * dy * dy
		}
	}
	return mass, mxx / mass, myy / mass
}

func equalBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len %d, want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: value %d = %v, want %v (bit-identical)", what, i, got[i], want[i])
		}
	}
}

func rngFor(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0xabcdef)) }
