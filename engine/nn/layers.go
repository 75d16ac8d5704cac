package nn

import (
	"fmt"

	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/tensor"
)

// layer is one stage of a sequential model.
type layer interface {
	forward(g *tensor.Graph, x *tensor.Tensor) *tensor.Tensor
	// params lists the layer's tensors under PyTorch's attribute names.
	params() []namedTensor
}

type namedTensor struct {
	name    string
	t       *tensor.Tensor
	noDecay bool
}

type linear struct{ w, b *tensor.Tensor }

func (l *linear) forward(g *tensor.Graph, x *tensor.Tensor) *tensor.Tensor {
	return g.Linear(x, l.w, l.b)
}
func (l *linear) params() []namedTensor { return weightBias(l.w, l.b) }

type conv2d struct {
	w, b        *tensor.Tensor
	stride, pad int
}

func (l *conv2d) forward(g *tensor.Graph, x *tensor.Tensor) *tensor.Tensor {
	return g.Conv2D(x, l.w, l.b, l.stride, l.pad)
}
func (l *conv2d) params() []namedTensor { return weightBias(l.w, l.b) }

func weightBias(w, b *tensor.Tensor) []namedTensor {
	p := []namedTensor{{name: "weight", t: w}}
	if b != nil {
		p = append(p, namedTensor{name: "bias", t: b, noDecay: true})
	}
	return p
}

type maxPool2d struct{ size, stride int }

func (l maxPool2d) forward(g *tensor.Graph, x *tensor.Tensor) *tensor.Tensor {
	return g.MaxPool2D(x, l.size, l.stride)
}
func (maxPool2d) params() []namedTensor { return nil }

type activation spec.LayerType

func (a activation) forward(g *tensor.Graph, x *tensor.Tensor) *tensor.Tensor {
	switch spec.LayerType(a) {
	case spec.ReLU:
		return g.ReLU(x)
	case spec.GELU:
		return g.GELU(x)
	case spec.Tanh:
		return g.Tanh(x)
	case spec.Sigmoid:
		return g.Sigmoid(x)
	}
	panic(fmt.Sprintf("nn: unknown activation %q", string(a)))
}
func (activation) params() []namedTensor { return nil }

type dropout struct{ p float32 }

func (l dropout) forward(g *tensor.Graph, x *tensor.Tensor) *tensor.Tensor { return g.Dropout(x, l.p) }
func (dropout) params() []namedTensor                                      { return nil }

type flatten struct{}

func (flatten) forward(g *tensor.Graph, x *tensor.Tensor) *tensor.Tensor { return g.Flatten(x) }
func (flatten) params() []namedTensor                                    { return nil }

type layerNorm struct {
	gamma, beta *tensor.Tensor
	noBias      bool // beta is a fixed zero, not a parameter
}

func (l *layerNorm) forward(g *tensor.Graph, x *tensor.Tensor) *tensor.Tensor {
	return g.LayerNorm(x, l.gamma, l.beta, 1e-5)
}
func (l *layerNorm) params() []namedTensor {
	p := []namedTensor{{name: "weight", t: l.gamma, noDecay: true}}
	if !l.noBias {
		p = append(p, namedTensor{name: "bias", t: l.beta, noDecay: true})
	}
	return p
}

// embedding reads token ids stored as float32 values in its input.
type embedding struct {
	table *tensor.Tensor
	ids   []int32 // reused between steps
}

func (l *embedding) forward(g *tensor.Graph, x *tensor.Tensor) *tensor.Tensor {
	l.ids = l.ids[:0]
	for _, v := range x.Data {
		l.ids = append(l.ids, int32(v))
	}
	y := g.Embedding(l.ids, l.table)
	var shape [tensor.MaxRank]int
	r := copy(shape[:], x.Shape())
	shape[r] = l.table.Dim(1)
	return g.Reshape(y, shape[:r+1]...)
}
func (l *embedding) params() []namedTensor { return []namedTensor{{name: "weight", t: l.table}} }
