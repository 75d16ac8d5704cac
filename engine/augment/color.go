package augment

import "math/rand/v2"

// Brightness adds one offset drawn from U(-Delta, Delta) to every value of
// the sample, in the units of the data (for normalised data, in standard
// deviations).
type Brightness struct {
	Delta float64
}

// Name is "brightness".
func (*Brightness) Name() string { return "brightness" }

// Apply implements Transform.
func (t *Brightness) Apply(dst, src []float32, s Shape, rng *rand.Rand, _ *Scratch) {
	mustFit("brightness", dst, src, s)
	d := float32(uniform(rng, t.Delta))
	for i, v := range src {
		dst[i] = v + d
	}
}

// Contrast scales each channel's deviations from its own mean by one factor
// drawn from U(1-Factor, 1+Factor): x' = m + f·(x - m). It assumes no value
// range, so it works on raw and normalised data alike.
type Contrast struct {
	Factor float64 // in [0, 1]
}

// Name is "contrast".
func (*Contrast) Name() string { return "contrast" }

// Apply implements Transform.
func (t *Contrast) Apply(dst, src []float32, s Shape, rng *rand.Rand, _ *Scratch) {
	mustFit("contrast", dst, src, s)
	f := between(rng, 1-t.Factor, 1+t.Factor)
	plane := s.Plane()
	for c := 0; c < len(src); c += plane {
		in, out := src[c:c+plane], dst[c:c+plane]
		var sum float64
		for _, v := range in {
			sum += float64(v)
		}
		m := sum / float64(plane)
		for i, v := range in {
			out[i] = float32(m + f*(float64(v)-m))
		}
	}
}
