package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/tensor"
)

// TestReLUPoolOrder checks that Forward, which pools before a ReLU that
// precedes max pooling, gives bit for bit the outputs and parameter
// gradients of running the layers in their written order, on inputs full
// of ties and negative windows, where the choice of maximum matters.
func TestReLUPoolOrder(t *testing.T) {
	ms := spec.Model{Input: []int{2, 9, 8}, Layers: []spec.Layer{
		{Type: spec.Conv2D, Out: 3, Kernel: 3, Pad: 1},
		{Type: spec.ReLU},
		{Type: spec.MaxPool2D, Kernel: 2},
		{Type: spec.Conv2D, Out: 2, Kernel: 2},
		{Type: spec.ReLU},
		{Type: spec.MaxPool2D, Kernel: 3, Stride: 1},
		{Type: spec.Flatten},
		{Type: spec.Linear, Out: 4},
	}}
	rng := rand.New(rand.NewPCG(51, 52))
	m, err := Build(ms, rng)
	if err != nil {
		t.Fatal(err)
	}
	// Small integers make ties and exact zeros common.
	for _, p := range m.Params() {
		for i := range p.T.Data {
			p.T.Data[i] = float32(rng.IntN(5)-2) / 2
		}
	}
	const batch = 3
	x := make([]float32, batch*2*9*8)
	for i := range x {
		x[i] = float32(rng.IntN(5) - 2)
	}
	targets := []int32{0, 3, 1}
	run := func(forward func(g *tensor.Graph, in *tensor.Tensor) *tensor.Tensor) (out []float32, grads [][]float32) {
		for _, p := range m.Params() {
			p.T.ZeroGrad()
		}
		g := tensor.NewGraph(nil, rand.New(rand.NewPCG(1, 2)))
		logits := forward(g, g.Input(x, batch, 2, 9, 8))
		if err := g.Backward(g.SoftmaxCrossEntropy(logits, targets, 0, nil)); err != nil {
			t.Fatal(err)
		}
		for _, p := range m.Params() {
			grads = append(grads, append([]float32(nil), p.T.Grad...))
		}
		return append([]float32(nil), logits.Data...), grads
	}
	gotOut, gotGrads := run(m.Forward)
	wantOut, wantGrads := run(func(g *tensor.Graph, in *tensor.Tensor) *tensor.Tensor {
		for _, l := range m.layers {
			in = l.forward(g, in)
		}
		return in
	})
	for i := range wantOut {
		if math.Float32bits(gotOut[i]) != math.Float32bits(wantOut[i]) {
			t.Fatalf("output %d = %v, want %v", i, gotOut[i], wantOut[i])
		}
	}
	nonzero := false
	for k, p := range m.Params() {
		for i := range wantGrads[k] {
			if math.Float32bits(gotGrads[k][i]) != math.Float32bits(wantGrads[k][i]) {
				t.Fatalf("%s: gradient %d = %v, want %v", p.Name, i, gotGrads[k][i], wantGrads[k][i])
			}
			nonzero = nonzero || wantGrads[k][i] != 0
		}
	}
	if !nonzero {
		t.Fatal("every gradient is zero; the test checks nothing")
	}
}
