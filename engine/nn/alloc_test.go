package nn_test

import (
	"testing"

	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/tensor"
)

// TestStepAllocatesNothing checks that a model's layers keep the graph's
// promise: once warmed up, a training step through every layer type
// allocates nothing. Sizes are small so the CPU GEMM runs serially.
func TestStepAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's sync.Pool drops items at random; allocations are counted without -race")
	}
	cases := map[string]struct {
		ms spec.Model
		x  []float32
	}{
		"conv": {spec.Model{Input: []int{1, 6, 6}, Layers: []spec.Layer{
			{Type: spec.Conv2D, Out: 2, Kernel: 3, Pad: 1},
			{Type: spec.ReLU},
			{Type: spec.MaxPool2D, Kernel: 2},
			{Type: spec.GELU},
			{Type: spec.Flatten},
			{Type: spec.Dropout, P: 0.2},
			{Type: spec.Linear, Out: 5},
			{Type: spec.LayerNorm},
			{Type: spec.Tanh},
			{Type: spec.Sigmoid},
			{Type: spec.Linear, Out: 3},
		}}, make([]float32, 2*36)},
		"embedding": {spec.Model{Input: []int{3}, Layers: []spec.Layer{
			{Type: spec.Embedding, Vocab: 4, Out: 2},
			{Type: spec.Flatten},
			{Type: spec.Linear, Out: 3},
		}}, []float32{0, 1, 2, 3, 2, 1}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			m := buildNoisy(t, c.ms)
			g := tensor.NewGraph(nil, seeded(31))
			targets := []int32{2, 0}
			shape := append([]int{2}, c.ms.Input...)
			step := func() error {
				g.Reset()
				logits := m.Forward(g, g.Input(c.x, shape...))
				return g.Backward(g.SoftmaxCrossEntropy(logits, targets, 0, nil))
			}
			if err := step(); err != nil {
				t.Fatal(err)
			}
			var err error
			allocs := testing.AllocsPerRun(20, func() {
				if e := step(); e != nil {
					err = e
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			if allocs != 0 {
				t.Errorf("a warmed-up step allocates %v times, want 0", allocs)
			}
		})
	}
}
