package gpu

import (
	"fmt"

	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/kernels/cuda"
)

// opKind is one device stage of a model.
type opKind int

const (
	opLinear opKind = iota
	opConv
	opPool
	opAct // an activation that could not be fused into the stage before it
	opDropout
	opFlatten
	opLayerNorm
	opToCNHW // batch-major → channel-major, before the first convolution
)

// stage is one step of the device forward pass, with the geometry its
// kernels need. Shapes are per sample; cnhw says whether the stage's output
// is channel-major ([C, N, H, W]) rather than batch-major.
type stage struct {
	kind  opKind
	layer int // index in the spec's layers, for parameter names and errors
	act   cuda.Act
	in    []int
	out   []int
	cnhw  bool

	inF, outF int  // linear: features in and out (the last dimension)
	bias      bool // linear, conv: has a bias; layernorm: has a shift
	conv      cuda.Conv
	p         float32 // dropout
}

func numel(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// actOf maps a spec activation to the kernels' code.
func actOf(t spec.LayerType) (cuda.Act, bool) {
	switch t {
	case spec.ReLU:
		return cuda.ActReLU, true
	case spec.GELU:
		return cuda.ActGELU, true
	case spec.Tanh:
		return cuda.ActTanh, true
	case spec.Sigmoid:
		return cuda.ActSigmoid, true
	}
	return cuda.ActNone, false
}

// plan lowers a model spec to device stages: activations right after a
// linear or convolution are fused into its epilogue; convolution and
// pooling run on channel-major activations, so a transpose is inserted
// before the first one when the input has several channels, and flatten
// transposes back. The shapes match nn.Build's; plan assumes the spec has
// been validated by nn.Build and reports what the device cannot run.
func plan(m spec.Model) ([]stage, error) {
	var st []stage
	shape := append([]int(nil), m.Input...)
	cnhw := false
	for i, l := range m.Layers {
		fail := func(format string, args ...any) error {
			return fmt.Errorf("model_spec.layers[%d] (%s): %s", i, l.Type, fmt.Sprintf(format, args...))
		}
		in := shape
		if a, ok := actOf(l.Type); ok {
			if n := len(st); n > 0 && (st[n-1].kind == opLinear || st[n-1].kind == opConv) && st[n-1].act == cuda.ActNone && st[n-1].layer == i-1 {
				st[n-1].act = a
				continue
			}
			st = append(st, stage{kind: opAct, layer: i, act: a, in: in, out: in, cnhw: cnhw})
			continue
		}
		switch l.Type {
		case spec.Linear:
			if len(in) != 1 && cnhw {
				return nil, fail("a linear layer on channel-major activations %v: flatten first", in)
			}
			out := append(append([]int(nil), in[:len(in)-1]...), l.Out)
			st = append(st, stage{kind: opLinear, layer: i, in: in, out: out, cnhw: cnhw, inF: in[len(in)-1], outF: l.Out, bias: !l.NoBias})
			shape = out
		case spec.Conv2D, spec.MaxPool2D:
			if len(in) != 3 {
				return nil, fail("input %v is not [C, H, W]", in)
			}
			if !cnhw && in[0] > 1 {
				st = append(st, stage{kind: opToCNHW, layer: i, in: in, out: in, cnhw: true})
			}
			cnhw = true
			stride := l.EffectiveStride()
			c := cuda.Conv{C: in[0], H: in[1], W: in[2], KH: l.Kernel, KW: l.Kernel, StrideH: stride, StrideW: stride}
			if l.Type == spec.Conv2D {
				c.PadH, c.PadW = l.Pad, l.Pad
			}
			oh, ow := c.Out()
			s := stage{kind: opPool, layer: i, in: in, cnhw: true, conv: c}
			s.out = []int{in[0], oh, ow}
			if l.Type == spec.Conv2D {
				s.kind, s.out[0], s.bias, s.outF = opConv, l.Out, !l.NoBias, l.Out
			}
			st = append(st, s)
			shape = s.out
		case spec.Dropout:
			st = append(st, stage{kind: opDropout, layer: i, in: in, out: in, cnhw: cnhw, p: float32(l.P)})
		case spec.Flatten:
			out := []int{numel(in)}
			st = append(st, stage{kind: opFlatten, layer: i, in: in, out: out, cnhw: cnhw})
			cnhw = false
			shape = out
		case spec.LayerNorm:
			st = append(st, stage{kind: opLayerNorm, layer: i, in: in, out: in, cnhw: cnhw, inF: in[len(in)-1], bias: !l.NoBias})
		default:
			return nil, fail("not supported on the cuda device")
		}
	}
	if len(shape) != 1 {
		return nil, fmt.Errorf("model_spec: output shape %v: the cuda device trains classifiers with [classes] outputs", shape)
	}
	return st, nil
}
