package tensor_test

import (
	"math/rand/v2"
	"testing"

	"github.com/troupe-ml/troupe/engine/tensor"
	"github.com/troupe-ml/troupe/engine/tensor/tensortest"
)

// Gradient checks compare each backward pass with float64 central differences
// of the forward pass (package tensortest).

type buildFn = tensortest.Build

var randTensor = tensortest.Rand

// awayFromZero moves values out of (−0.1, 0.1) so that kinks at 0 (ReLU) are
// farther than the difference step.
func awayFromZero(t *tensor.Tensor) *tensor.Tensor {
	for i, v := range t.Data {
		if v >= 0 && v < 0.1 {
			t.Data[i] = v + 0.1
		} else if v < 0 && v > -0.1 {
			t.Data[i] = v - 0.1
		}
	}
	return t
}

// distinct fills t with a shuffled ladder of values 0.05 apart, so the maximum
// of any window is unique by more than the difference step.
func distinct(r *rand.Rand, t *tensor.Tensor) *tensor.Tensor {
	p := r.Perm(t.Len())
	for i, v := range p {
		t.Data[i] = float32(v)*0.05 - float32(t.Len())*0.025
	}
	return t
}

func TestGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	targets := []int32{2, 0, 4, 1, 3}
	cases := []struct {
		name  string
		in    []*tensor.Tensor
		build buildFn
	}{
		{"MatMul", []*tensor.Tensor{randTensor(r, true, 3, 5), randTensor(r, true, 5, 4)},
			func(g *tensor.Graph, in []*tensor.Tensor) *tensor.Tensor { return g.MatMul(in[0], in[1]) }},
		{"Linear", []*tensor.Tensor{randTensor(r, true, 5, 7), randTensor(r, true, 3, 7), randTensor(r, true, 3)},
			func(g *tensor.Graph, in []*tensor.Tensor) *tensor.Tensor { return g.Linear(in[0], in[1], in[2]) }},
		{"Linear/rank3-nobias", []*tensor.Tensor{randTensor(r, true, 2, 3, 7), randTensor(r, true, 4, 7)},
			func(g *tensor.Graph, in []*tensor.Tensor) *tensor.Tensor { return g.Linear(in[0], in[1], nil) }},
		{"Add/broadcast", []*tensor.Tensor{randTensor(r, true, 4, 1, 3), randTensor(r, true, 5, 1)},
			func(g *tensor.Graph, in []*tensor.Tensor) *tensor.Tensor { return g.Add(in[0], in[1]) }},
		{"Sub/broadcast", []*tensor.Tensor{randTensor(r, true, 3), randTensor(r, true, 2, 3)},
			func(g *tensor.Graph, in []*tensor.Tensor) *tensor.Tensor { return g.Sub(in[0], in[1]) }},
		{"Mul/broadcast", []*tensor.Tensor{randTensor(r, true, 2, 3, 4), randTensor(r, true, 3, 1)},
			func(g *tensor.Graph, in []*tensor.Tensor) *tensor.Tensor { return g.Mul(in[0], in[1]) }},
		{"Mul/same", []*tensor.Tensor{randTensor(r, true, 3, 4), randTensor(r, true, 3, 4)},
			func(g *tensor.Graph, in []*tensor.Tensor) *tensor.Tensor { return g.Mul(in[0], in[1]) }},
		{"BiasAdd", []*tensor.Tensor{randTensor(r, true, 2, 3, 2, 2), randTensor(r, true, 3)},
			func(g *tensor.Graph, in []*tensor.Tensor) *tensor.Tensor { return g.BiasAdd(in[0], in[1]) }},
		{"Reshape", []*tensor.Tensor{randTensor(r, true, 2, 3, 4)},
			func(g *tensor.Graph, in []*tensor.Tensor) *tensor.Tensor { return g.Reshape(in[0], 4, -1) }},
		{"Flatten", []*tensor.Tensor{randTensor(r, true, 2, 3, 2, 2)},
			func(g *tensor.Graph, in []*tensor.Tensor) *tensor.Tensor { return g.Flatten(in[0]) }},
		{"ReLU", []*tensor.Tensor{awayFromZero(randTensor(r, true, 4, 6))},
			func(g *tensor.Graph, in []*tensor.Tensor) *tensor.Tensor { return g.ReLU(in[0]) }},
		{"GELU", []*tensor.Tensor{randTensor(r, true, 4, 6)},
			func(g *tensor.Graph, in []*tensor.Tensor) *tensor.Tensor { return g.GELU(in[0]) }},
		{"Tanh", []*tensor.Tensor{randTensor(r, true, 4, 6)},
			func(g *tensor.Graph, in []*tensor.Tensor) *tensor.Tensor { return g.Tanh(in[0]) }},
		{"Sigmoid", []*tensor.Tensor{randTensor(r, true, 4, 6)},
			func(g *tensor.Graph, in []*tensor.Tensor) *tensor.Tensor { return g.Sigmoid(in[0]) }},
		{"Dropout", []*tensor.Tensor{randTensor(r, true, 5, 8)},
			func(g *tensor.Graph, in []*tensor.Tensor) *tensor.Tensor { return g.Dropout(in[0], 0.3) }},
		{"Sum", []*tensor.Tensor{randTensor(r, true, 3, 4)},
			func(g *tensor.Graph, in []*tensor.Tensor) *tensor.Tensor { return g.Sum(in[0]) }},
		{"Conv2D", []*tensor.Tensor{randTensor(r, true, 2, 3, 7, 6), randTensor(r, true, 4, 3, 3, 2), randTensor(r, true, 4)},
			func(g *tensor.Graph, in []*tensor.Tensor) *tensor.Tensor { return g.Conv2D(in[0], in[1], in[2], 1, 0) }},
		{"Conv2D/stride2-pad1", []*tensor.Tensor{randTensor(r, true, 2, 2, 7, 5), randTensor(r, true, 3, 2, 3, 3), randTensor(r, true, 3)},
			func(g *tensor.Graph, in []*tensor.Tensor) *tensor.Tensor { return g.Conv2D(in[0], in[1], in[2], 2, 1) }},
		{"Conv2D/nobias-pad2", []*tensor.Tensor{randTensor(r, true, 1, 1, 5, 5), randTensor(r, true, 2, 1, 5, 5)},
			func(g *tensor.Graph, in []*tensor.Tensor) *tensor.Tensor { return g.Conv2D(in[0], in[1], nil, 1, 2) }},
		{"MaxPool2D", []*tensor.Tensor{distinct(r, randTensor(r, true, 2, 2, 6, 5))},
			func(g *tensor.Graph, in []*tensor.Tensor) *tensor.Tensor { return g.MaxPool2D(in[0], 2, 2) }},
		{"MaxPool2D/overlap", []*tensor.Tensor{distinct(r, randTensor(r, true, 1, 2, 7, 7))},
			func(g *tensor.Graph, in []*tensor.Tensor) *tensor.Tensor { return g.MaxPool2D(in[0], 3, 2) }},
		{"LayerNorm", []*tensor.Tensor{randTensor(r, true, 3, 7), randTensor(r, true, 7), randTensor(r, true, 7)},
			func(g *tensor.Graph, in []*tensor.Tensor) *tensor.Tensor {
				return g.LayerNorm(in[0], in[1], in[2], 1e-5)
			}},
		{"Embedding", []*tensor.Tensor{randTensor(r, true, 6, 4)},
			func(g *tensor.Graph, in []*tensor.Tensor) *tensor.Tensor {
				return g.Embedding([]int32{3, 0, 3, 5}, in[0])
			}},
		{"SoftmaxCrossEntropy", []*tensor.Tensor{randTensor(r, true, 5, 6)},
			func(g *tensor.Graph, in []*tensor.Tensor) *tensor.Tensor {
				return g.SoftmaxCrossEntropy(in[0], targets, 0, nil)
			}},
		{"SoftmaxCrossEntropy/smoothing", []*tensor.Tensor{randTensor(r, true, 5, 6)},
			func(g *tensor.Graph, in []*tensor.Tensor) *tensor.Tensor {
				return g.SoftmaxCrossEntropy(in[0], targets, 0.1, nil)
			}},
		{"MSE", []*tensor.Tensor{randTensor(r, true, 3, 4), randTensor(r, true, 3, 4)},
			func(g *tensor.Graph, in []*tensor.Tensor) *tensor.Tensor { return g.MSE(in[0], in[1]) }},
		{"chain/mlp", []*tensor.Tensor{randTensor(r, false, 4, 6), randTensor(r, true, 5, 6), randTensor(r, true, 5), randTensor(r, true, 3, 5), randTensor(r, true, 3)},
			func(g *tensor.Graph, in []*tensor.Tensor) *tensor.Tensor {
				h := g.Tanh(g.Linear(in[0], in[1], in[2]))
				return g.SoftmaxCrossEntropy(g.Linear(h, in[3], in[4]), []int32{0, 2, 1, 2}, 0, nil)
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { tensortest.Check(t, c.in, c.build) })
	}
}

// TestGradCheckDetectsErrors makes sure the checker itself can fail: a
// gradient that is off by a few percent must be reported.
func TestGradCheckDetectsErrors(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	in := []*tensor.Tensor{randTensor(r, true, 4, 5), randTensor(r, true, 5, 3)}
	rep, err := tensortest.Gradients(in, func(g *tensor.Graph, in []*tensor.Tensor) *tensor.Tensor { return g.MatMul(in[0], in[1]) }, 60)
	if err != nil {
		t.Fatal(err)
	}
	if bad := rep.Mismatches(); len(bad) != 0 {
		t.Fatalf("correct gradients reported as wrong: %v", bad)
	}
	for k := range rep.Analytic {
		for j := range rep.Analytic[k] {
			rep.Analytic[k][j] *= 1.1
		}
	}
	if bad := rep.Mismatches(); len(bad) == 0 {
		t.Fatal("gradients scaled by 1.1 were not detected")
	}
}
