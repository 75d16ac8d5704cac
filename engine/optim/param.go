package optim

import (
	"errors"
	"fmt"
	"math"
)

// ErrConfig is wrapped by every error a constructor returns for bad
// parameters or hyper-parameters.
var ErrConfig = errors.New("invalid optimizer configuration")

// Param is one parameter tensor seen as flat slices aliasing the model's
// buffers. Data and Grad must have the same length.
type Param struct {
	Name string
	Data []float32
	Grad []float32
	// NoDecay excludes the parameter from weight decay; biases and
	// normalisation gains usually set it.
	NoDecay bool
}

// Optimizer updates a fixed set of parameters from their gradients.
type Optimizer interface {
	// Step applies one update to every parameter using its Grad.
	Step(lr float32)
	// Params returns the parameters the optimizer was built with.
	Params() []Param
	// State returns copies of the named optimizer state for checkpoints.
	State() []StateTensor
	// LoadState replaces the optimizer state; it validates every tensor
	// before changing anything.
	LoadState([]StateTensor) error
}

// StateTensor is one named piece of optimizer state.
type StateTensor struct {
	Name string
	Data []float32
}

// ZeroGrad sets every gradient to zero.
func ZeroGrad(params []Param) {
	for i := range params {
		clear(params[i].Grad)
	}
}

// validateParams rejects what would make state names ambiguous or the hot
// loops index out of range.
func validateParams(params []Param) error {
	seen := make(map[string]int, len(params))
	for i, p := range params {
		if p.Name == "" {
			return fmt.Errorf("optim: param %d: empty name: %w", i, ErrConfig)
		}
		if j, dup := seen[p.Name]; dup {
			return fmt.Errorf("optim: param %q: name used by params %d and %d: %w", p.Name, j, i, ErrConfig)
		}
		seen[p.Name] = i
		if len(p.Data) != len(p.Grad) {
			return fmt.Errorf("optim: param %q: len(Data) = %d but len(Grad) = %d: %w",
				p.Name, len(p.Data), len(p.Grad), ErrConfig)
		}
	}
	return nil
}

// checkNonNeg is written as !(v >= 0) so that NaN fails too.
func checkNonNeg(field string, v float32) error {
	if !(v >= 0) || math.IsInf(float64(v), 1) {
		return fmt.Errorf("optim: %s = %v: must be finite and >= 0: %w", field, v, ErrConfig)
	}
	return nil
}

func checkBeta(field string, v float32) error {
	if !(v >= 0 && v < 1) {
		return fmt.Errorf("optim: %s = %v: must be in [0, 1): %w", field, v, ErrConfig)
	}
	return nil
}

// newSlab allocates one zeroed buffer per parameter, all cut from a single
// allocation so the state of many small tensors stays contiguous.
func newSlab(params []Param) [][]float32 {
	n := 0
	for _, p := range params {
		n += len(p.Data)
	}
	slab := make([]float32, n)
	bufs := make([][]float32, len(params))
	off := 0
	for i, p := range params {
		bufs[i] = slab[off : off+len(p.Data) : off+len(p.Data)]
		off += len(p.Data)
	}
	return bufs
}
