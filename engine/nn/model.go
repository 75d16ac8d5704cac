package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/tensor"
	"github.com/troupe-ml/troupe/kernels"
)

// Param is a named parameter tensor of a model.
type Param struct {
	// Name follows PyTorch's state_dict keys, e.g. "layers.0.weight".
	Name string
	T    *tensor.Tensor
	// NoDecay marks biases and normalisation gains, which are usually exempt
	// from weight decay.
	NoDecay bool
}

// Model is a sequential network built from a spec.Model.
type Model struct {
	spec   spec.Model
	layers []layer
	params []Param
	shapes [][]int // per-sample output shape after each layer
}

// maxSampleRank leaves room for the batch dimension within what tensor
// operations support.
const maxSampleRank = tensor.MaxRank - 1

// Build checks the spec, infers every layer's shapes from the input and
// initialises parameters from rng. Errors name the offending layer.
func Build(m spec.Model, rng *rand.Rand) (*Model, error) {
	if len(m.Input) == 0 {
		return nil, fmt.Errorf("model_spec.input: empty input shape")
	}
	if len(m.Input) > maxSampleRank {
		return nil, fmt.Errorf("model_spec.input: %d dimensions, at most %d are supported", len(m.Input), maxSampleRank)
	}
	for i, d := range m.Input {
		if d < 1 {
			return nil, fmt.Errorf("model_spec.input[%d]: must be ≥ 1, got %d", i, d)
		}
	}
	if len(m.Layers) == 0 {
		return nil, fmt.Errorf("model_spec.layers: no layers")
	}
	model := &Model{spec: cloneSpec(m)}
	shape := slices.Clone(m.Input)
	for i, ls := range m.Layers {
		l, out, err := buildLayer(ls, shape, nextIsRectifier(m.Layers, i), rng)
		if err == nil && len(out) > maxSampleRank {
			err = fmt.Errorf("output shape %v has more than %d dimensions", out, maxSampleRank)
		}
		if err != nil {
			return nil, fmt.Errorf("model_spec.layers[%d] (%s): %w", i, ls.Type, err)
		}
		model.layers = append(model.layers, l)
		model.shapes = append(model.shapes, out)
		for _, p := range l.params() {
			model.params = append(model.params, Param{Name: fmt.Sprintf("layers.%d.%s", i, p.name), T: p.t, NoDecay: p.noDecay})
		}
		shape = out
	}
	return model, nil
}

func cloneSpec(m spec.Model) spec.Model {
	return spec.Model{Input: slices.Clone(m.Input), Layers: slices.Clone(m.Layers)}
}

func nextIsRectifier(ls []spec.Layer, i int) bool {
	for _, l := range ls[i+1:] {
		switch l.Type {
		case spec.ReLU, spec.GELU:
			return true
		case spec.Dropout, spec.MaxPool2D, spec.Flatten:
			continue
		}
		return false
	}
	return false
}

func buildLayer(ls spec.Layer, in []int, rectified bool, rng *rand.Rand) (layer, []int, error) {
	switch ls.Type {
	case spec.Linear:
		if ls.Out < 1 {
			return nil, nil, fmt.Errorf("out: must be ≥ 1, got %d", ls.Out)
		}
		fanIn := in[len(in)-1]
		w := tensor.New(ls.Out, fanIn)
		initWeight(w, fanIn, ls.Out, rectified, rng)
		var b *tensor.Tensor
		if !ls.NoBias {
			b = tensor.New(ls.Out)
		}
		out := slices.Clone(in)
		out[len(out)-1] = ls.Out
		return &linear{w: grad(w), b: grad(b)}, out, nil
	case spec.Conv2D:
		if len(in) != 3 {
			return nil, nil, fmt.Errorf("input shape %v is not [C, H, W]", in)
		}
		stride := ls.EffectiveStride()
		if stride < 1 {
			return nil, nil, fmt.Errorf("stride: must be ≥ 1 (0 = default), got %d", ls.Stride)
		}
		if ls.Out < 1 || ls.Kernel < 1 || ls.Pad < 0 {
			return nil, nil, fmt.Errorf("out %d, kernel %d, pad %d: out and kernel must be ≥ 1, pad ≥ 0", ls.Out, ls.Kernel, ls.Pad)
		}
		oh, ow := kernels.ConvOut(in[1], ls.Kernel, ls.Pad, stride), kernels.ConvOut(in[2], ls.Kernel, ls.Pad, stride)
		if oh < 1 || ow < 1 {
			return nil, nil, fmt.Errorf("kernel %d with pad %d does not fit input %v", ls.Kernel, ls.Pad, in)
		}
		fanIn := in[0] * ls.Kernel * ls.Kernel
		w := tensor.New(ls.Out, in[0], ls.Kernel, ls.Kernel)
		initWeight(w, fanIn, ls.Out*ls.Kernel*ls.Kernel, rectified, rng)
		var b *tensor.Tensor
		if !ls.NoBias {
			b = tensor.New(ls.Out)
		}
		return &conv2d{w: grad(w), b: grad(b), stride: stride, pad: ls.Pad}, []int{ls.Out, oh, ow}, nil
	case spec.MaxPool2D:
		if len(in) != 3 {
			return nil, nil, fmt.Errorf("input shape %v is not [C, H, W]", in)
		}
		if ls.Pad != 0 {
			// The pooling op has no padding; ignoring the field would build a
			// different network from the one described.
			return nil, nil, fmt.Errorf("pad: padding is not supported for maxpool2d, got %d", ls.Pad)
		}
		stride := ls.EffectiveStride()
		oh, ow := kernels.ConvOut(in[1], ls.Kernel, 0, stride), kernels.ConvOut(in[2], ls.Kernel, 0, stride)
		if ls.Kernel < 1 || stride < 1 || oh < 1 || ow < 1 {
			return nil, nil, fmt.Errorf("kernel %d, stride %d do not fit input %v", ls.Kernel, stride, in)
		}
		return maxPool2d{size: ls.Kernel, stride: stride}, []int{in[0], oh, ow}, nil
	case spec.ReLU, spec.GELU, spec.Tanh, spec.Sigmoid:
		return activation(ls.Type), slices.Clone(in), nil
	case spec.Dropout:
		if !(ls.P >= 0 && ls.P < 1) { // also rejects NaN
			return nil, nil, fmt.Errorf("p: must be in [0, 1), got %v", ls.P)
		}
		return dropout{p: float32(ls.P)}, slices.Clone(in), nil
	case spec.Flatten:
		n := 1
		for _, d := range in {
			n *= d
		}
		return flatten{}, []int{n}, nil
	case spec.LayerNorm:
		d := in[len(in)-1]
		gamma, beta := tensor.New(d), tensor.New(d)
		for i := range gamma.Data {
			gamma.Data[i] = 1
		}
		if ls.NoBias {
			// PyTorch's LayerNorm(bias=False): the shift stays zero and is
			// not a parameter.
			return &layerNorm{gamma: grad(gamma), beta: beta, noBias: true}, slices.Clone(in), nil
		}
		return &layerNorm{gamma: grad(gamma), beta: grad(beta)}, slices.Clone(in), nil
	case spec.Embedding:
		if ls.Vocab < 1 || ls.Out < 1 {
			return nil, nil, fmt.Errorf("vocab %d, out %d: both must be ≥ 1", ls.Vocab, ls.Out)
		}
		t := tensor.New(ls.Vocab, ls.Out)
		for i := range t.Data {
			t.Data[i] = float32(rng.NormFloat64())
		}
		return &embedding{table: grad(t)}, append(slices.Clone(in), ls.Out), nil
	}
	return nil, nil, fmt.Errorf("unknown layer type %q", ls.Type)
}

func grad(t *tensor.Tensor) *tensor.Tensor {
	if t != nil {
		t.SetRequiresGrad(true)
	}
	return t
}

// initWeight draws Kaiming-uniform weights (gain √2, for rectifiers) or
// Xavier-uniform ones.
func initWeight(w *tensor.Tensor, fanIn, fanOut int, rectified bool, rng *rand.Rand) {
	bound := math.Sqrt(6 / float64(fanIn+fanOut))
	if rectified {
		bound = math.Sqrt(6 / float64(fanIn))
	}
	for i := range w.Data {
		w.Data[i] = float32((2*rng.Float64() - 1) * bound)
	}
}

// Forward runs the model on a batch x [N, input...] and returns its output.
//
// A ReLU followed by max pooling runs in the other order: the rectifier
// is monotonic, so pooling first gives the same values and, since each
// window keeps its first maximum, the same gradients, with a quarter of
// the rectifier's work for 2×2 windows.
func (m *Model) Forward(g *tensor.Graph, x *tensor.Tensor) *tensor.Tensor {
	for i := 0; i < len(m.layers); i++ {
		if i+1 < len(m.layers) && isReLU(m.layers[i]) {
			if pool, ok := m.layers[i+1].(maxPool2d); ok {
				x = g.ReLU(pool.forward(g, x))
				i++
				continue
			}
		}
		x = m.layers[i].forward(g, x)
	}
	return x
}

func isReLU(l layer) bool {
	a, ok := l.(activation)
	return ok && spec.LayerType(a) == spec.ReLU
}

// Params returns the model's parameters in layer order.
func (m *Model) Params() []Param { return m.params }

// Spec returns the description the model was built from.
func (m *Model) Spec() spec.Model { return cloneSpec(m.spec) }

// InputShape returns the per-sample input shape.
func (m *Model) InputShape() []int { return slices.Clone(m.spec.Input) }

// OutputShape returns the per-sample output shape.
func (m *Model) OutputShape() []int { return slices.Clone(m.shapes[len(m.shapes)-1]) }

// NumParams returns the number of scalar parameters.
func (m *Model) NumParams() int {
	n := 0
	for _, p := range m.params {
		n += p.T.Len()
	}
	return n
}
