package augment

import "math/rand/v2"

// Noise adds independent Gaussian noise of mean 0 and standard deviation Std
// to every value, in the units of the data.
type Noise struct {
	Std float64
}

// Name is "noise".
func (*Noise) Name() string { return "noise" }

// Apply implements Transform.
func (t *Noise) Apply(dst, src []float32, s Shape, rng *rand.Rand, _ *Scratch) {
	mustFit("noise", dst, src, s)
	for i, v := range src {
		dst[i] = v + float32(t.Std*rng.NormFloat64())
	}
}
