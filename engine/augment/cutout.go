package augment

import (
	"math"
	"math/rand/v2"
)

// Cutout erases a rectangle (DeVries and Taylor 2017): a box of
// round(Size·H) × round(Size·W) pixels, at least 1×1, centred on a uniformly
// random pixel and clipped to the image, is set to Fill in every channel.
// Because the centre may lie near the border, less than the full box may be
// erased, as in the paper.
type Cutout struct {
	Size float64 // side as a fraction of the image side, in (0, 1]
	Fill float32
}

// Name is "cutout".
func (*Cutout) Name() string { return "cutout" }

// Apply implements Transform.
func (t *Cutout) Apply(dst, src []float32, s Shape, rng *rand.Rand, _ *Scratch) {
	mustFit("cutout", dst, src, s)
	copy(dst, src)
	bh := max(int(math.Round(t.Size*float64(s.H))), 1)
	bw := max(int(math.Round(t.Size*float64(s.W))), 1)
	cy, cx := rng.IntN(s.H), rng.IntN(s.W)
	y0, x0 := max(cy-bh/2, 0), max(cx-bw/2, 0)
	y1, x1 := min(cy-bh/2+bh, s.H), min(cx-bw/2+bw, s.W)
	for c := range s.C {
		base := c * s.Plane()
		for y := y0; y < y1; y++ {
			fillSlice(dst[base+y*s.W+x0:base+y*s.W+x1], t.Fill)
		}
	}
}
