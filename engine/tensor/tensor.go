package tensor

import (
	"fmt"
	"strings"
)

// Device says where a tensor's data lives.
type Device uint8

// Devices known to the engine.
const (
	CPU Device = iota
	CUDA
)

func (d Device) String() string {
	switch d {
	case CPU:
		return "cpu"
	case CUDA:
		return "cuda"
	}
	return fmt.Sprintf("device(%d)", uint8(d))
}

// Tensor is a dense row-major float32 array with an optional gradient of the same
// shape.
type Tensor struct {
	shape []int
	// Data holds the values in row-major order; len(Data) is the product of the shape.
	Data []float32
	// Grad accumulates the gradient of the loss with respect to Data; nil unless
	// the tensor requires a gradient.
	Grad []float32

	dev          Device
	requiresGrad bool
	// arena marks a graph's intermediate tensor, whose gradient every
	// Backward pass starts afresh.
	arena bool
	// gradGraph and gradPass name the Backward pass that last stamped
	// the gradient, gradWritten whether an op of that pass has written
	// it since (see Graph.first).
	gradGraph   *Graph
	gradPass    uint64
	gradWritten bool
	// gradRows is how many leading rows (along dimension 0) of the
	// gradient that pass has written; the gradient of the rest is zero
	// by definition and their memory stale (see live_rows.go).
	gradRows int
}

// New returns a zeroed CPU tensor of the given shape.
func New(shape ...int) *Tensor {
	n := checkShape("New", shape)
	return &Tensor{shape: append([]int(nil), shape...), Data: make([]float32, n)}
}

// FromData wraps data (not copied) as a tensor of the given shape.
func FromData(data []float32, shape ...int) *Tensor {
	n := checkShape("FromData", shape)
	if n != len(data) {
		panic(fmt.Sprintf("tensor: FromData: shape %v needs %d values, got %d", shape, n, len(data)))
	}
	return &Tensor{shape: append([]int(nil), shape...), Data: data}
}

func checkShape(op string, shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			panic(fmt.Sprintf("tensor: %s: negative dimension in shape %v", op, shape))
		}
		n *= d
	}
	return n
}

// Shape returns the tensor's dimensions. The slice must not be modified.
func (t *Tensor) Shape() []int { return t.shape }

// Dim returns dimension i; negative i counts from the end.
func (t *Tensor) Dim(i int) int {
	if i < 0 {
		i += len(t.shape)
	}
	return t.shape[i]
}

// Rank returns the number of dimensions.
func (t *Tensor) Rank() int { return len(t.shape) }

// Len returns the number of elements.
func (t *Tensor) Len() int { return len(t.Data) }

// Device returns where the tensor's data lives.
func (t *Tensor) Device() Device { return t.dev }

// RequiresGrad reports whether gradients flow into this tensor.
func (t *Tensor) RequiresGrad() bool { return t.requiresGrad }

// SetRequiresGrad marks the tensor as a leaf whose gradient is wanted and
// allocates its Grad buffer.
func (t *Tensor) SetRequiresGrad(on bool) {
	t.requiresGrad = on
	if on && len(t.Grad) != len(t.Data) {
		t.Grad = make([]float32, len(t.Data))
	}
	if !on {
		t.Grad = nil
	}
}

// ZeroGrad clears the accumulated gradient.
func (t *Tensor) ZeroGrad() { clear(t.Grad) }

// Item returns the single value of a one-element tensor.
func (t *Tensor) Item() float32 {
	if len(t.Data) != 1 {
		panic(fmt.Sprintf("tensor: Item on tensor of shape %v", t.shape))
	}
	return t.Data[0]
}

// String describes the tensor's shape and device, not its values.
func (t *Tensor) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Tensor%v(%s)", t.shape, t.dev)
	return b.String()
}

// SameShape reports whether two shapes are equal.
func SameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Numel returns the number of elements of a tensor of the given shape.
func Numel(shape []int) int { return numel(shape) }

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}
