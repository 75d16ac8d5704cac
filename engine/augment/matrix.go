package augment

import (
	"fmt"
	"math"
)

// Matrix is a 2×3 affine map of pixel coordinates (x to the right, y down,
// pixel centres at integers): x' = A·x + B·y + C, y' = D·x + E·y + F.
type Matrix struct {
	A, B, C float64
	D, E, F float64
}

// Identity is the map that leaves every point in place.
func Identity() Matrix { return Matrix{A: 1, E: 1} }

// AffineMatrix is the forward map that scales by scale, shears along x by
// shear degrees and rotates by angle degrees (positive turns the image
// counter-clockwise as displayed), all about the image centre ((W-1)/2,
// (H-1)/2), and then translates by (tx, ty) pixels.
//
// Entries are rounded to multiples of 2^-40 so that quarter turns and unit
// scales come out as exact 0 and ±1; sampling at integer coordinates is then
// exact, which an error of 1e-16 in cos 90° would spoil.
func AffineMatrix(s Shape, angle, scale, shear, tx, ty float64) Matrix {
	sin, cos := math.Sincos(angle * math.Pi / 180)
	k := math.Tan(shear * math.Pi / 180)
	// Rotation [[cos, sin], [-sin, cos]] (counter-clockwise with y down)
	// times shear [[1, k], [0, 1]], times scale.
	a := snap(scale * cos)
	b := snap(scale * (cos*k + sin))
	d := snap(-scale * sin)
	e := snap(scale * (cos - sin*k))
	cx, cy := float64(s.W-1)/2, float64(s.H-1)/2
	return Matrix{
		A: a, B: b, C: snap(cx + tx - a*cx - b*cy),
		D: d, E: e, F: snap(cy + ty - d*cx - e*cy),
	}
}

// Inverse returns the map that undoes m, or an error when m is singular
// (or so close to it that the inverse is not finite).
func (m Matrix) Inverse() (Matrix, error) {
	det := m.A*m.E - m.B*m.D
	inv := Matrix{A: m.E / det, B: -m.B / det, D: -m.D / det, E: m.A / det}
	inv.C = -(inv.A*m.C + inv.B*m.F)
	inv.F = -(inv.D*m.C + inv.E*m.F)
	for _, v := range [...]float64{inv.A, inv.B, inv.C, inv.D, inv.E, inv.F} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Matrix{}, fmt.Errorf("augment: matrix %+v is singular (determinant %g)", m, det)
		}
	}
	inv.A, inv.B, inv.C = snap(inv.A), snap(inv.B), snap(inv.C)
	inv.D, inv.E, inv.F = snap(inv.D), snap(inv.E), snap(inv.F)
	return inv, nil
}

// Apply maps the point (x, y).
func (m Matrix) Apply(x, y float64) (float64, float64) {
	return m.A*x + m.B*y + m.C, m.D*x + m.E*y + m.F
}

// snap rounds v to a multiple of 2^-40, far below float32 resolution of any
// coordinate yet enough to turn rounding noise around 0 and ±1 into exact
// values. Values too large to snap are returned unchanged.
func snap(v float64) float64 {
	if math.Abs(v) >= 0x1p52 {
		return v
	}
	return math.Round(v*0x1p40) / 0x1p40
}

// WarpAffine resamples src through the inverse map inv, which takes output
// pixel coordinates to source coordinates, with bilinear interpolation (see
// Remap). sc provides the coordinate maps; nil allocates.
func WarpAffine(dst, src []float32, s Shape, inv Matrix, fill float32, sc *Scratch) {
	mustFit("WarpAffine", dst, src, s)
	if sc == nil {
		sc = new(Scratch)
	}
	mx, my := grow(&sc.mapX, s.Plane()), grow(&sc.mapY, s.Plane())
	fillGrid(mx, my, s, inv)
	Remap(dst, src, s, mx, my, fill)
}
