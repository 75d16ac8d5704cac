package augment

import "math/rand/v2"

// Crop is the random crop with padding: the image is padded by Pad pixels of
// Fill on every side and a window of the original size is cut at a uniformly
// random whole-pixel offset, which amounts to shifting the image by dx, dy
// drawn from {-Pad..Pad}. No interpolation takes place.
type Crop struct {
	Pad  int
	Fill float32
}

// Name is "crop".
func (*Crop) Name() string { return "crop" }

// Apply implements Transform.
func (t *Crop) Apply(dst, src []float32, s Shape, rng *rand.Rand, _ *Scratch) {
	mustFit("crop", dst, src, s)
	dx := rng.IntN(2*t.Pad+1) - t.Pad
	dy := rng.IntN(2*t.Pad+1) - t.Pad
	Shift(dst, src, s, dx, dy, t.Fill)
}

// Shift moves the image by dx pixels right and dy pixels down; pixels that
// come from outside take fill.
func Shift(dst, src []float32, s Shape, dx, dy int, fill float32) {
	mustFit("Shift", dst, src, s)
	w, h := s.W, s.H
	// Output columns [x0, x1) read source columns [x0-dx, x1-dx).
	x0, x1 := min(max(dx, 0), w), max(min(w+dx, w), 0)
	for c := range s.C {
		base := c * s.Plane()
		for y := range h {
			out := dst[base+y*w : base+(y+1)*w]
			sy := y - dy
			if sy < 0 || sy >= h || x0 >= x1 {
				fillSlice(out, fill)
				continue
			}
			in := src[base+sy*w : base+(sy+1)*w]
			fillSlice(out[:x0], fill)
			copy(out[x0:x1], in[x0-dx:x1-dx])
			fillSlice(out[x1:], fill)
		}
	}
}

func fillSlice(s []float32, v float32) {
	for i := range s {
		s[i] = v
	}
}
