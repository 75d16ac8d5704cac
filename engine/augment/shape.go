package augment

import "fmt"

// Shape is the layout of one sample: C planes of H rows of W float32 values,
// stored plane after plane (CHW).
type Shape struct {
	C, H, W int
}

// Len is the number of values one sample holds: C*H*W.
func (s Shape) Len() int { return s.C * s.H * s.W }

// Plane is the number of values in one channel: H*W.
func (s Shape) Plane() int { return s.H * s.W }

// Validate reports a shape with a dimension below 1.
func (s Shape) Validate() error {
	if s.C < 1 || s.H < 1 || s.W < 1 {
		return fmt.Errorf("augment: shape C=%d H=%d W=%d, want all ≥ 1", s.C, s.H, s.W)
	}
	return nil
}

// mustFit panics when dst or src cannot hold one sample of s: wrong lengths
// are programmer errors, found on the first call.
func mustFit(op string, dst, src []float32, s Shape) {
	if s.C < 1 || s.H < 1 || s.W < 1 {
		panic(fmt.Sprintf("augment: %s: shape C=%d H=%d W=%d, want all ≥ 1", op, s.C, s.H, s.W))
	}
	if n := s.Len(); len(dst) != n || len(src) != n {
		panic(fmt.Sprintf("augment: %s: len(dst)=%d, len(src)=%d, want C*H*W=%d for shape %dx%dx%d",
			op, len(dst), len(src), n, s.C, s.H, s.W))
	}
}
