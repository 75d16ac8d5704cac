package train_test

import (
	"math"
	"testing"

	"github.com/troupe-ml/troupe/engine/nn"
	"github.com/troupe-ml/troupe/engine/optim"
	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/tensor"
	"github.com/troupe-ml/troupe/engine/train"
)

// convJob is a small convolutional model without dropout, whose gradients
// a test can recompute from the model alone.
func convJob() spec.Job {
	j := smallJob("")
	j.Model = ""
	j.ModelSpec = &spec.Model{Input: []int{1, 28, 28}, Layers: []spec.Layer{
		{Type: spec.Conv2D, Out: 5, Kernel: 3, Stride: 2, Pad: 1}, {Type: spec.ReLU},
		{Type: spec.MaxPool2D, Kernel: 2}, {Type: spec.Flatten},
		{Type: spec.Linear, Out: 9}, {Type: spec.Tanh}, {Type: spec.Linear, Out: 10},
	}}
	j.LabelSmoothing = 0.1
	return j
}

// refGrads computes the gradients of m on a batch the way a step did
// before fresh passes: zero every gradient, then Backward.
func refGrads(t *testing.T, job spec.Job, m *nn.Model, x []float32, y []int32) [][]float32 {
	t.Helper()
	g := tensor.NewGraph(nil, nil)
	in := g.Input(x, append([]int{len(y)}, m.InputShape()...)...)
	loss := g.SoftmaxCrossEntropy(m.Forward(g, in), y, float32(job.LabelSmoothing), nil)
	var out [][]float32
	for _, p := range m.Params() {
		p.T.ZeroGrad()
	}
	if err := g.Backward(loss); err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Params() {
		out = append(out, append([]float32(nil), p.T.Grad...))
	}
	return out
}

func poison(m *nn.Model) {
	for i, p := range m.Params() {
		for j := range p.T.Grad {
			p.T.Grad[j] = []float32{float32(math.NaN()), float32(math.Inf(1)), -1e30}[(i+j)%3]
		}
	}
}

func sameGrads(t *testing.T, m *nn.Model, want [][]float32) {
	t.Helper()
	for i, p := range m.Params() {
		for j, v := range p.T.Grad {
			// == lets only the sign of a zero differ, and fails on NaN.
			if v != want[i][j] {
				t.Fatalf("%s.Grad[%d] = %v, want %v", p.Name, j, v, want[i][j])
			}
		}
	}
}

// TestGradientsOverwriteStaleGrads checks that a step's gradients are
// this batch's alone, computed as zeroing and Backward do, whatever the
// gradient buffers held before: for a trainer whose optimizer covers the
// model's tensors, and for one whose optimizer covers halves of them,
// which the step must still clear.
func TestGradientsOverwriteStaleGrads(t *testing.T) {
	job := convJob()
	x, y := batch(t, 7, 3)
	for _, split := range []bool{false, true} {
		m, err := train.NewModel(job)
		if err != nil {
			t.Fatal(err)
		}
		params := train.OptimParams(m)
		if split {
			var halves []optim.Param
			for _, p := range params {
				h := len(p.Data) / 2
				halves = append(halves,
					optim.Param{Name: p.Name + "/0", Data: p.Data[:h], Grad: p.Grad[:h], NoDecay: p.NoDecay},
					optim.Param{Name: p.Name + "/1", Data: p.Data[h:], Grad: p.Grad[h:], NoDecay: p.NoDecay})
			}
			params = halves
		}
		opt, err := train.NewOptimizerFor(job, params)
		if err != nil {
			t.Fatal(err)
		}
		tr := train.NewTrainer(m, opt, optim.Constant(0.01), train.Options{LabelSmoothing: 0.1}, nil)
		want := refGrads(t, job, m, x, y)
		// A second step over the same batch must not add to the first.
		for range 2 {
			poison(m)
			if _, err := tr.Gradients(x, y, nil); err != nil {
				t.Fatal(err)
			}
			sameGrads(t, m, want)
		}
	}
}

// TestGradientsZeroesParamOutsideModel checks that an optimizer parameter
// whose gradient no model tensor holds is still cleared each step, as
// optim.ZeroGrad did.
func TestGradientsZeroesParamOutsideModel(t *testing.T) {
	job := convJob()
	m, err := train.NewModel(job)
	if err != nil {
		t.Fatal(err)
	}
	extra := optim.Param{Name: "extra", Data: make([]float32, 6), Grad: []float32{1, 2, 3, float32(math.NaN()), 5, 6}}
	opt, err := train.NewOptimizerFor(job, append(train.OptimParams(m), extra))
	if err != nil {
		t.Fatal(err)
	}
	tr := train.NewTrainer(m, opt, optim.Constant(0.01), train.Options{}, nil)
	x, y := batch(t, 5, 4)
	if _, err := tr.Gradients(x, y, nil); err != nil {
		t.Fatal(err)
	}
	for i, v := range extra.Grad {
		if v != 0 {
			t.Fatalf("extra.Grad[%d] = %v after a step, want 0", i, v)
		}
	}
}
