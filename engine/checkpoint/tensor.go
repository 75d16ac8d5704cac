package checkpoint

import (
	"fmt"
	"math"
)

// Tensor is one named array of weights in row-major order.
type Tensor struct {
	Name  string
	Shape []int // empty for a scalar
	Data  []float32
}

// Len is the number of elements the shape calls for: the product of Shape,
// 1 for a scalar. It returns -1 if a dimension is negative or the product
// overflows int.
func (t Tensor) Len() int {
	n, ok := numElements(t.Shape)
	if !ok {
		return -1
	}
	return n
}

// numElements multiplies dims, reporting false on a negative dimension or
// overflow; shapes come from files, so overflow is an input error. A zero
// dimension makes the product 0 however large the others are.
func numElements[T int | int64](dims []T) (int, bool) {
	for _, d := range dims {
		if d < 0 || int64(d) > math.MaxInt {
			return 0, false
		}
	}
	for _, d := range dims {
		if d == 0 {
			return 0, true
		}
	}
	n := 1
	for _, d := range dims {
		if n > math.MaxInt/int(d) {
			return 0, false
		}
		n *= int(d)
	}
	return n, true
}

// check reports why t cannot be written.
func (t Tensor) check() error {
	n := t.Len()
	if n < 0 {
		return fmt.Errorf("tensor %q: shape %v has a negative dimension or too many elements", t.Name, t.Shape)
	}
	if n != len(t.Data) {
		return fmt.Errorf("tensor %q: shape %v needs %d values, data has %d", t.Name, t.Shape, n, len(t.Data))
	}
	return nil
}
