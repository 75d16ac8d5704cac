package nn_test

import (
	"testing"

	"github.com/troupe-ml/troupe/engine/nn"
	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/tensor"
)

// fuzzLayerTypes includes one unknown type, so that decoding can produce it.
func fuzzLayerTypes() []spec.LayerType { return append(spec.LayerTypes(), "bogus") }

// decodeModel turns bytes into a small model description: a length-prefixed
// input shape, then seven bytes per layer. Sizes stay small (|v| < 12) so
// that any spec decodes to something cheap to build and run.
func decodeModel(b []byte) spec.Model {
	small := func(v byte) int { return int(int8(v)) % 12 }
	var m spec.Model
	if len(b) == 0 {
		return m
	}
	rank := int(b[0] % 10)
	b = b[1:]
	for i := 0; i < rank && len(b) > 0; i++ {
		m.Input = append(m.Input, small(b[0]))
		b = b[1:]
	}
	types := fuzzLayerTypes()
	for len(b) >= 7 && len(m.Layers) < 12 {
		m.Layers = append(m.Layers, spec.Layer{
			Type:   types[int(b[0])%len(types)],
			Out:    small(b[1]),
			Kernel: small(b[2]),
			Stride: small(b[3]),
			Pad:    small(b[4]),
			P:      float64(int8(b[5])) / 100,
			Vocab:  small(b[6]),
			NoBias: b[6]&0x80 != 0,
		})
		b = b[7:]
	}
	return m
}

// FuzzBuild checks that Build rejects any spec with an error instead of a
// panic, and that a model it accepts runs forward and backward on a batch of
// the declared shape.
func FuzzBuild(f *testing.F) {
	f.Add([]byte{3, 1, 8, 8, 1, 2, 3, 0, 1, 0, 0, 3, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0})
	f.Add([]byte{1, 5, 10, 3, 0, 0, 0, 0, 6, 0, 4, 0, 0, 0, 0, 0})
	f.Add([]byte{2, 3, 4, 8, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{3, 2, 7, 5, 2, 4, 3, 2, 1, 0, 0, 7, 0, 0, 0, 0, 25, 0})
	f.Add([]byte{9, 1, 1, 1, 1, 1, 1, 1, 1, 1, 8, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		ms := decodeModel(b)
		m, err := nn.Build(ms, seeded(1))
		if err != nil {
			return
		}
		shape := append([]int{2}, m.InputShape()...)
		n := 1
		for _, d := range shape {
			n *= d
		}
		g := tensor.NewGraph(nil, seeded(2))
		// Zeros are valid ids for any embedding.
		y := m.Forward(g, g.Input(make([]float32, n), shape...))
		if want := append([]int{2}, m.OutputShape()...); !tensor.SameShape(y.Shape(), want) {
			t.Fatalf("output shape %v, want %v", y.Shape(), want)
		}
		if g.Err() != nil {
			return // an embedding fed by another layer's values
		}
		if err := g.Backward(g.Sum(y)); err != nil && len(m.Params()) > 0 {
			t.Fatalf("Backward: %v", err)
		}
	})
}
