package augment

import "math/rand/v2"

// Transform is one augmentation. Apply writes the transformed src into dst;
// both hold one sample of shape s and must not overlap. All randomness comes
// from rng, so the same generator state gives the same output. Buffers the
// transform needs come from sc, which makes Apply allocation-free once sc has
// grown to the shape; a nil sc is allowed and allocates.
//
// A Transform is immutable after construction and may be shared by any
// number of goroutines, each with its own rng and Scratch.
type Transform interface {
	Name() string
	Apply(dst, src []float32, s Shape, rng *rand.Rand, sc *Scratch)
}

// Scratch holds the working buffers of the built-in transforms and of a
// Worker. It grows to the largest shape it has seen and is not safe for
// concurrent use. The zero value is ready to use.
type Scratch struct {
	img, alias []float32 // pipeline ping-pong buffer and copy of an aliased input
	mapX, mapY []float32 // source coordinates of every output pixel
	blur       []float32 // displacement fields between the two passes of the blur
	line       []float32 // zero-padded noise rows and one output row of the blur
}

// grow returns (*buf)[:n], reallocating only when the buffer is too small.
func grow(buf *[]float32, n int) []float32 {
	if cap(*buf) < n {
		*buf = make([]float32, n)
	}
	*buf = (*buf)[:n]
	return *buf
}
