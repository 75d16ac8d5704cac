package nn_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/troupe-ml/troupe/engine/nn"
	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/tensor"
	"github.com/troupe-ml/troupe/engine/tensor/tensortest"
)

// kinkMargin is how far every ReLU input must be from 0, and every pooling
// window's maximum from its runner-up, for central differences to be valid:
// moving one input or parameter by tensortest.Step moves any of those values
// by well under this.
const kinkMargin = 0.05

// buildNoisy builds ms and adds noise to every parameter, since zero biases
// and unit gains would leave part of a gradient check trivial.
func buildNoisy(t *testing.T, ms spec.Model) *nn.Model {
	t.Helper()
	m, err := nn.Build(ms, seeded(21))
	if err != nil {
		t.Fatal(err)
	}
	r := seeded(22)
	for _, p := range m.Params() {
		for i := range p.T.Data {
			p.T.Data[i] += float32(0.3 * r.NormFloat64())
		}
	}
	return m
}

// inputOf returns what layer k of m receives for x, by running a model of
// the first k layers that shares m's parameter values.
func inputOf(t *testing.T, m *nn.Model, k int, x *tensor.Tensor) *tensor.Tensor {
	t.Helper()
	if k == 0 {
		return x
	}
	ms := m.Spec()
	ms.Layers = ms.Layers[:k]
	pm, err := nn.Build(ms, seeded(0))
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range pm.Params() {
		copy(p.T.Data, m.Params()[i].T.Data)
	}
	// The same random source as tensortest's, so dropout masks agree.
	return pm.Forward(tensor.NewGraph(nil, tensortestRNG()), x)
}

// clearOfKinks reports whether x keeps every ReLU input and max-pooling
// window of m at least kinkMargin from a point where the model is not
// differentiable.
func clearOfKinks(t *testing.T, m *nn.Model, x *tensor.Tensor) bool {
	t.Helper()
	for k, l := range m.Spec().Layers {
		switch l.Type {
		case spec.ReLU:
			for _, v := range inputOf(t, m, k, x).Data {
				if math.Abs(float64(v)) < kinkMargin {
					return false
				}
			}
		case spec.MaxPool2D:
			if !poolWindowsClear(inputOf(t, m, k, x), l.Kernel, l.EffectiveStride()) {
				return false
			}
		}
	}
	return true
}

func poolWindowsClear(a *tensor.Tensor, size, stride int) bool {
	planes, h, w := a.Dim(0)*a.Dim(1), a.Dim(2), a.Dim(3)
	for p := 0; p < planes; p++ {
		for i := 0; i+size <= h; i += stride {
			for j := 0; j+size <= w; j += stride {
				var win []float64
				for di := 0; di < size; di++ {
					for dj := 0; dj < size; dj++ {
						win = append(win, float64(a.Data[p*h*w+(i+di)*w+j+dj]))
					}
				}
				slices.Sort(win)
				top, second := win[len(win)-1], win[len(win)-2]
				// Zeros left by a ReLU tie harmlessly: their gradient is 0
				// either way, and the margin keeps them at 0.
				if top-second < kinkMargin && !(top == 0 && second == 0) {
					return false
				}
			}
		}
	}
	return true
}

// tensortestRNG mirrors the random source tensortest gives each graph, so
// that a dropout before a kink draws the same mask here as in the check.
func tensortestRNG() *rand.Rand { return rand.New(rand.NewPCG(1, 7)) }

// checkModel compares m's backward pass with central differences with
// respect to every parameter and, when the input requires a gradient, x.
func checkModel(t *testing.T, m *nn.Model, x *tensor.Tensor) {
	t.Helper()
	in := []*tensor.Tensor{x}
	for _, p := range m.Params() {
		in = append(in, p.T)
	}
	tensortest.Check(t, in, func(g *tensor.Graph, in []*tensor.Tensor) *tensor.Tensor {
		y := m.Forward(g, in[0])
		if err := g.Err(); err != nil {
			t.Fatal(err)
		}
		return y
	})
}

// checkModelRandomInput draws standard normal batches of the given shape
// until one lies clear of the model's kinks, then checks gradients with
// respect to it and every parameter.
func checkModelRandomInput(t *testing.T, ms spec.Model, batch ...int) {
	t.Helper()
	m := buildNoisy(t, ms)
	for seed := uint64(0); seed < 1000; seed++ {
		x := tensortest.Rand(seeded(100+seed), true, batch...)
		if clearOfKinks(t, m, x) {
			t.Logf("input seed %d", 100+seed)
			checkModel(t, m, x)
			return
		}
	}
	t.Fatal("no input among 1000 draws lies clear of the model's kinks")
}

func TestModelGradients(t *testing.T) {
	t.Run("conv-gelu-pool-linear-layernorm-tanh-dropout-linear-sigmoid", func(t *testing.T) {
		checkModelRandomInput(t, spec.Model{Input: []int{2, 9, 7}, Layers: []spec.Layer{
			{Type: spec.Conv2D, Out: 3, Kernel: 3, Stride: 2, Pad: 1}, // [3,5,4]
			{Type: spec.GELU},
			{Type: spec.MaxPool2D, Kernel: 2}, // [3,2,2]
			{Type: spec.Flatten},              // [12]
			{Type: spec.Linear, Out: 6},
			{Type: spec.LayerNorm},
			{Type: spec.Tanh},
			{Type: spec.Dropout, P: 0.25},
			{Type: spec.Linear, Out: 4},
			{Type: spec.Sigmoid},
		}}, 2, 2, 9, 7)
	})
	t.Run("conv-relu-pool-linear-layernorm/no-bias", func(t *testing.T) {
		checkModelRandomInput(t, spec.Model{Input: []int{1, 6, 6}, Layers: []spec.Layer{
			{Type: spec.Conv2D, Out: 2, Kernel: 3, NoBias: true}, // [2,4,4]
			{Type: spec.ReLU},
			{Type: spec.MaxPool2D, Kernel: 2, Stride: 1}, // [2,3,3]
			{Type: spec.Flatten},
			{Type: spec.Linear, Out: 5, NoBias: true},
			{Type: spec.LayerNorm, NoBias: true},
		}}, 3, 1, 6, 6)
	})
	t.Run("embedding-linear", func(t *testing.T) {
		m := buildNoisy(t, spec.Model{Input: []int{4}, Layers: []spec.Layer{
			{Type: spec.Embedding, Vocab: 7, Out: 3}, // [4,3]
			{Type: spec.Linear, Out: 5},              // [4,5]
		}})
		// Integer ids as float32: a perturbed id reads the same row, so the
		// input takes no gradient and is left alone.
		checkModel(t, m, tensor.FromData([]float32{0, 6, 3, 3, 5, 1, 2, 6, 4, 4, 0, 1}, 3, 4))
	})
}
