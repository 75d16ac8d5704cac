package augment

import (
	"math/rand/v2"
	"slices"
)

// Flip mirrors the image: left to right when Vertical is false, top to
// bottom when it is true. It draws nothing; the pipeline's probability makes
// it random.
type Flip struct {
	Vertical bool
}

// Name is "hflip" or "vflip".
func (t *Flip) Name() string {
	if t.Vertical {
		return "vflip"
	}
	return "hflip"
}

// Apply implements Transform.
func (t *Flip) Apply(dst, src []float32, s Shape, _ *rand.Rand, _ *Scratch) {
	mustFit(t.Name(), dst, src, s)
	w, h := s.W, s.H
	for c := range s.C {
		base := c * s.Plane()
		for y := range h {
			out := dst[base+y*w : base+(y+1)*w]
			if t.Vertical {
				copy(out, src[base+(h-1-y)*w:base+(h-y)*w])
				continue
			}
			copy(out, src[base+y*w:base+(y+1)*w])
			slices.Reverse(out)
		}
	}
}
