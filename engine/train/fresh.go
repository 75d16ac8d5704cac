package train

import (
	"github.com/troupe-ml/troupe/engine/nn"
	"github.com/troupe-ml/troupe/engine/optim"
	"github.com/troupe-ml/troupe/engine/tensor"
)

// freshGrads lets a step overwrite the gradients of its optimizer
// parameters in the backward pass (tensor.Graph.BackwardFresh) instead
// of clearing them all and adding to them: the clear, a pass over every
// parameter, and the reads of the zeros cost a small batch's step much
// of its time.
type freshGrads struct {
	params  []optim.Param
	tensors []*tensor.Tensor // the model's tensor behind params[i], or nil
	list    []*tensor.Tensor // prepare's result, reused
}

// newFreshGrads pairs each of params with the model tensor whose gradient
// it aliases. A parameter with none keeps being cleared before each pass.
func newFreshGrads(m *nn.Model, params []optim.Param) freshGrads {
	f := freshGrads{params: params, tensors: make([]*tensor.Tensor, len(params))}
	for i, p := range params {
		for _, mp := range m.Params() {
			if sameBuffer(mp.T.Grad, p.Grad) {
				f.tensors[i] = mp.T
				break
			}
		}
	}
	return f
}

// prepare clears the gradients the pass will not overwrite: those of
// parameters without a tensor, or whose tensor stopped requiring a
// gradient or changed buffers since. It returns the tensors to pass to
// BackwardFresh.
func (f *freshGrads) prepare() []*tensor.Tensor {
	f.list = f.list[:0]
	for i, p := range f.params {
		if t := f.tensors[i]; t != nil && t.RequiresGrad() && sameBuffer(t.Grad, p.Grad) {
			f.list = append(f.list, t)
		} else {
			clear(p.Grad)
		}
	}
	return f.list
}

// sameBuffer reports whether a and b are the same non-empty slice.
func sameBuffer(a, b []float32) bool {
	return len(a) == len(b) && len(a) > 0 && &a[0] == &b[0]
}
