package nn_test

import (
	"math"
	"strings"
	"testing"

	"github.com/troupe-ml/troupe/engine/nn"
	"github.com/troupe-ml/troupe/engine/spec"
)

func TestBuildErrors(t *testing.T) {
	img := []int{1, 8, 8}
	cases := []struct {
		name string
		m    spec.Model
		want []string // substrings of the error
	}{
		{"empty input", spec.Model{Layers: []spec.Layer{{Type: spec.ReLU}}},
			[]string{"input"}},
		{"zero input dim", spec.Model{Input: []int{1, 0, 8}, Layers: []spec.Layer{{Type: spec.ReLU}}},
			[]string{"input[1]", "0"}},
		{"negative input dim", spec.Model{Input: []int{-3}, Layers: []spec.Layer{{Type: spec.ReLU}}},
			[]string{"input[0]", "-3"}},
		{"input rank too high", spec.Model{Input: []int{1, 1, 1, 1, 1, 1, 1, 1}, Layers: []spec.Layer{{Type: spec.ReLU}}},
			[]string{"input", "8 dimensions"}},
		{"embedding raises rank too high", spec.Model{Input: []int{1, 1, 1, 1, 1, 1, 2}, Layers: []spec.Layer{
			{Type: spec.ReLU}, {Type: spec.Embedding, Vocab: 3, Out: 2}}},
			[]string{"layers[1]", "embedding", "dimensions"}},
		{"no layers", spec.Model{Input: img},
			[]string{"layers"}},
		{"unknown type", spec.Model{Input: img, Layers: []spec.Layer{{Type: spec.ReLU}, {Type: "bogus"}}},
			[]string{"layers[1]", "bogus"}},
		{"missing type", spec.Model{Input: img, Layers: []spec.Layer{{}}},
			[]string{"layers[0]"}},
		{"conv kernel too big", spec.Model{Input: img, Layers: []spec.Layer{{Type: spec.Conv2D, Out: 2, Kernel: 9}}},
			[]string{"layers[0]", "conv2d", "kernel 9"}},
		{"conv kernel too big after pool", spec.Model{Input: img, Layers: []spec.Layer{
			{Type: spec.MaxPool2D, Kernel: 2}, {Type: spec.ReLU}, {Type: spec.Conv2D, Out: 2, Kernel: 5}}},
			[]string{"layers[2]", "kernel 5", "[1 4 4]"}},
		{"conv on rank-1 input", spec.Model{Input: []int{784}, Layers: []spec.Layer{{Type: spec.Conv2D, Out: 2, Kernel: 3}}},
			[]string{"layers[0]", "conv2d", "[784]"}},
		{"conv after flatten", spec.Model{Input: img, Layers: []spec.Layer{{Type: spec.Flatten}, {Type: spec.Conv2D, Out: 2, Kernel: 3}}},
			[]string{"layers[1]", "conv2d", "[64]"}},
		{"conv zero out", spec.Model{Input: img, Layers: []spec.Layer{{Type: spec.Conv2D, Kernel: 3}}},
			[]string{"layers[0]", "out"}},
		{"conv zero kernel", spec.Model{Input: img, Layers: []spec.Layer{{Type: spec.Conv2D, Out: 2}}},
			[]string{"layers[0]", "kernel"}},
		{"conv negative pad", spec.Model{Input: img, Layers: []spec.Layer{{Type: spec.Conv2D, Out: 2, Kernel: 3, Pad: -1}}},
			[]string{"layers[0]", "pad"}},
		{"conv negative stride", spec.Model{Input: img, Layers: []spec.Layer{{Type: spec.Conv2D, Out: 2, Kernel: 3, Stride: -2}}},
			[]string{"layers[0]", "stride", "-2"}},
		{"maxpool on rank-1 input", spec.Model{Input: []int{10}, Layers: []spec.Layer{{Type: spec.MaxPool2D, Kernel: 2}}},
			[]string{"layers[0]", "maxpool2d", "[10]"}},
		{"maxpool window too big", spec.Model{Input: img, Layers: []spec.Layer{{Type: spec.MaxPool2D, Kernel: 9}}},
			[]string{"layers[0]", "kernel 9"}},
		{"maxpool zero kernel", spec.Model{Input: img, Layers: []spec.Layer{{Type: spec.MaxPool2D}}},
			[]string{"layers[0]", "kernel"}},
		{"maxpool negative stride", spec.Model{Input: img, Layers: []spec.Layer{{Type: spec.MaxPool2D, Kernel: 2, Stride: -1}}},
			[]string{"layers[0]", "stride"}},
		// Padding would be silently ignored: the pooling op has none.
		{"maxpool pad", spec.Model{Input: img, Layers: []spec.Layer{{Type: spec.MaxPool2D, Kernel: 3, Pad: 1}}},
			[]string{"layers[0]", "pad"}},
		{"dropout p=1", spec.Model{Input: img, Layers: []spec.Layer{{Type: spec.Flatten}, {Type: spec.Dropout, P: 1}}},
			[]string{"layers[1]", "dropout", "p"}},
		{"dropout p<0", spec.Model{Input: img, Layers: []spec.Layer{{Type: spec.Dropout, P: -0.1}}},
			[]string{"layers[0]", "p"}},
		{"dropout p=NaN", spec.Model{Input: img, Layers: []spec.Layer{{Type: spec.Dropout, P: math.NaN()}}},
			[]string{"layers[0]", "p", "NaN"}},
		{"linear zero out", spec.Model{Input: []int{4}, Layers: []spec.Layer{{Type: spec.Linear}}},
			[]string{"layers[0]", "linear", "out"}},
		{"embedding zero vocab", spec.Model{Input: []int{4}, Layers: []spec.Layer{{Type: spec.Embedding, Out: 3}}},
			[]string{"layers[0]", "embedding", "vocab"}},
		{"embedding zero out", spec.Model{Input: []int{4}, Layers: []spec.Layer{{Type: spec.Embedding, Vocab: 3}}},
			[]string{"layers[0]", "embedding", "out"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := nn.Build(c.m, seeded(1))
			if err == nil {
				t.Fatalf("Build succeeded (%d parameters), want an error", m.NumParams())
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if !strings.HasPrefix(err.Error(), "model_spec.") {
				t.Errorf("error %q does not start with the field path model_spec.…", err)
			}
		})
	}
}

// TestBuildAcceptsEdgeGeometry covers shapes that just fit.
func TestBuildAcceptsEdgeGeometry(t *testing.T) {
	cases := []struct {
		name string
		m    spec.Model
		out  []int
	}{
		{"kernel equals input", spec.Model{Input: []int{2, 5, 7}, Layers: []spec.Layer{{Type: spec.Conv2D, Out: 3, Kernel: 5}}}, []int{3, 1, 3}},
		{"padding makes it fit", spec.Model{Input: []int{1, 2, 2}, Layers: []spec.Layer{{Type: spec.Conv2D, Out: 1, Kernel: 4, Pad: 1}}}, []int{1, 1, 1}},
		{"stride 3", spec.Model{Input: []int{1, 10, 8}, Layers: []spec.Layer{{Type: spec.Conv2D, Out: 1, Kernel: 3, Stride: 3, Pad: 1}}}, []int{1, 4, 3}},
		{"pool default stride", spec.Model{Input: []int{1, 7, 6}, Layers: []spec.Layer{{Type: spec.MaxPool2D, Kernel: 3}}}, []int{1, 2, 2}},
		{"pool overlapping", spec.Model{Input: []int{1, 7, 6}, Layers: []spec.Layer{{Type: spec.MaxPool2D, Kernel: 3, Stride: 1}}}, []int{1, 5, 4}},
		{"linear on rank 2", spec.Model{Input: []int{3, 5}, Layers: []spec.Layer{{Type: spec.Linear, Out: 2}}}, []int{3, 2}},
		{"flatten rank 1", spec.Model{Input: []int{6}, Layers: []spec.Layer{{Type: spec.Flatten}}}, []int{6}},
		{"dropout p=0", spec.Model{Input: []int{6}, Layers: []spec.Layer{{Type: spec.Dropout}}}, []int{6}},
		{"rank 7 per sample", spec.Model{Input: []int{1, 1, 1, 1, 1, 2}, Layers: []spec.Layer{{Type: spec.Embedding, Vocab: 3, Out: 2}}}, []int{1, 1, 1, 1, 1, 2, 2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := nn.Build(c.m, seeded(1))
			if err != nil {
				t.Fatal(err)
			}
			got := m.OutputShape()
			if len(got) != len(c.out) {
				t.Fatalf("OutputShape() = %v, want %v", got, c.out)
			}
			for i := range got {
				if got[i] != c.out[i] {
					t.Fatalf("OutputShape() = %v, want %v", got, c.out)
				}
			}
		})
	}
}
