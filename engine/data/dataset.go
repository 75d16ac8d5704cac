package data

import "fmt"

// Dataset is a labelled image set held in memory as raw bytes. It is
// read-only once built and may be shared between goroutines.
type Dataset struct {
	Name       string
	N, C, H, W int     // samples, channels, height, width
	Classes    int     // labels lie in 0..Classes-1
	Pixels     []uint8 // N*C*H*W bytes, sample-major then CHW
	Labels     []int32 // N labels
	Mean, Std  float32 // normalisation: x = (p/255 - Mean) / Std
}

// SampleSize is the number of float32 values one sample fills: C*H*W.
func (d *Dataset) SampleSize() int { return d.C * d.H * d.W }

// Validate checks that the fields agree with each other.
func (d *Dataset) Validate() error {
	switch {
	case d.N < 0 || d.C < 1 || d.H < 1 || d.W < 1:
		return fmt.Errorf("dataset %q: shape N=%d C=%d H=%d W=%d, want N≥0 and C, H, W ≥ 1", d.Name, d.N, d.C, d.H, d.W)
	case d.Classes < 1:
		return fmt.Errorf("dataset %q: Classes=%d, want ≥ 1", d.Name, d.Classes)
	case len(d.Pixels) != d.N*d.SampleSize():
		return fmt.Errorf("dataset %q: len(Pixels)=%d, want N*C*H*W=%d", d.Name, len(d.Pixels), d.N*d.SampleSize())
	case len(d.Labels) != d.N:
		return fmt.Errorf("dataset %q: len(Labels)=%d, want N=%d", d.Name, len(d.Labels), d.N)
	case !(d.Std > 0):
		return fmt.Errorf("dataset %q: Std=%g, want > 0", d.Name, d.Std)
	}
	for i, y := range d.Labels {
		if y < 0 || int(y) >= d.Classes {
			return fmt.Errorf("dataset %q: label %d at index %d out of range 0..%d", d.Name, y, i, d.Classes-1)
		}
	}
	return nil
}

// Fill writes the normalised samples idx into x (at least len(idx)*C*H*W
// values) and their labels into y (at least len(idx) values). It does not
// allocate. Wrong buffer sizes or indices are programmer errors and panic.
func (d *Dataset) Fill(idx []int, x []float32, y []int32) {
	size := d.SampleSize()
	if len(x) < len(idx)*size || len(y) < len(idx) {
		panic(fmt.Sprintf("data: Fill of %d samples of %s needs len(x) ≥ %d and len(y) ≥ %d, got %d and %d",
			len(idx), d.Name, len(idx)*size, len(idx), len(x), len(y)))
	}
	// A table per call is cheap next to one sample and honours edits to
	// Mean and Std without shared mutable state.
	var lut [256]float32
	for p := range lut {
		lut[p] = (float32(p)/255 - d.Mean) / d.Std
	}
	for k, i := range idx {
		if i < 0 || i >= d.N {
			panic(fmt.Sprintf("data: Fill: index %d out of range 0..%d of %s", i, d.N-1, d.Name))
		}
		dst := x[k*size : (k+1)*size]
		for j, p := range d.Pixels[i*size : (i+1)*size] {
			dst[j] = lut[p]
		}
		y[k] = d.Labels[i]
	}
}

// Subset returns a new Dataset holding copies of the samples idx, in that
// order. Out-of-range indices are programmer errors and panic.
func (d *Dataset) Subset(idx []int) *Dataset {
	size := d.SampleSize()
	s := *d
	s.Name = fmt.Sprintf("%s[%d of %d]", d.Name, len(idx), d.N)
	s.N = len(idx)
	s.Pixels = make([]uint8, len(idx)*size)
	s.Labels = make([]int32, len(idx))
	for k, i := range idx {
		if i < 0 || i >= d.N {
			panic(fmt.Sprintf("data: Subset: index %d out of range 0..%d of %s", i, d.N-1, d.Name))
		}
		copy(s.Pixels[k*size:], d.Pixels[i*size:(i+1)*size])
		s.Labels[k] = d.Labels[i]
	}
	return &s
}
