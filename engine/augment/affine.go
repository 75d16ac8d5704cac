package augment

import (
	"fmt"
	"math/rand/v2"
)

// Affine is the random affine transform: per sample it draws a rotation
// angle from U(-Degrees, Degrees), a scale from U(ScaleMin, ScaleMax), an
// x-shear angle from U(-Shear, Shear) and a translation from
// U(-Translate, Translate) times the width and the height, builds the map
// with AffineMatrix and resamples with WarpAffine. Pixels that come from
// outside the image take Fill.
type Affine struct {
	Degrees            float64 // maximum rotation, degrees, in [0, 180]
	ScaleMin, ScaleMax float64 // scale range, 0 < ScaleMin ≤ ScaleMax
	Translate          float64 // maximum shift as a fraction of W and H, in [0, 1]
	Shear              float64 // maximum x-shear, degrees, in [0, 80]
	Fill               float32
}

// Name is "affine".
func (*Affine) Name() string { return "affine" }

// Matrix draws the forward map for one sample; Apply uses its inverse.
func (t *Affine) Matrix(s Shape, rng *rand.Rand) Matrix {
	// One draw per parameter in a fixed order, whether or not the range is
	// zero, so each parameter sees the same stream whatever the others are.
	angle := uniform(rng, t.Degrees)
	scale := between(rng, t.ScaleMin, t.ScaleMax)
	shear := uniform(rng, t.Shear)
	tx := uniform(rng, t.Translate) * float64(s.W)
	ty := uniform(rng, t.Translate) * float64(s.H)
	return AffineMatrix(s, angle, scale, shear, tx, ty)
}

// Apply implements Transform. Parameters outside their documented ranges
// are programmer errors (Config validates them) and panic.
func (t *Affine) Apply(dst, src []float32, s Shape, rng *rand.Rand, sc *Scratch) {
	m := t.Matrix(s, rng)
	inv, err := m.Inverse()
	if err != nil {
		panic(fmt.Sprintf("augment: affine with %+v: %v", *t, err))
	}
	WarpAffine(dst, src, s, inv, t.Fill, sc)
}
