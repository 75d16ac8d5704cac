package active

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"go.uber.org/goleak"

	"github.com/troupe-ml/troupe/engine/data/datatest"
	"github.com/troupe-ml/troupe/engine/nn"
	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/train"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// smallModel has GalModel's shape of stages at a fraction of its cost.
func smallModel() spec.Model {
	return spec.Model{Input: []int{1, 28, 28}, Layers: []spec.Layer{
		{Type: spec.Conv2D, Out: 4, Kernel: 4, Stride: 2}, {Type: spec.ReLU},
		{Type: spec.MaxPool2D, Kernel: 2},
		{Type: spec.Dropout, P: 0.25},
		{Type: spec.Flatten},
		{Type: spec.Linear, Out: 32}, {Type: spec.ReLU},
		{Type: spec.Dropout, P: 0.5},
		{Type: spec.Linear, Out: 10},
	}}
}

func buildSmall(t *testing.T) *nn.Model { return buildModel(t, smallModel()) }

func buildModel(t *testing.T, ms spec.Model) *nn.Model {
	t.Helper()
	m, err := nn.Build(ms, rand.New(rand.NewPCG(4, 5)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// The model cut into stages predicts what the whole model does, and the
// results do not depend on how many goroutines share the work.
func TestPredictMatchesWholeModelAnyWorkers(t *testing.T) {
	m := buildSmall(t)
	ds := datatest.MNISTLike(150, 7)
	idx := make([]int, 150)
	for i := range idx {
		idx[i] = 149 - i
	}
	x, y := make([]float32, 150*784), make([]int32, 150)
	ds.Fill(idx, x, y)
	want := make([]float32, 1500)
	if err := train.NewPredictor(nil, nil).Forward(m, x, 150, false, want); err != nil {
		t.Fatal(err)
	}
	train.Softmax(want, 10)
	one, err := Predict(t.Context(), m, ds, idx, PredictOptions{MCSamples: 3, Embed: true, Workers: 1, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if math.Abs(float64(one.Probs[i]-want[i])) > 1e-6 {
			t.Fatalf("probability %d: staged %v, whole model %v", i, one.Probs[i], want[i])
		}
	}
	if one.D != 32 || len(one.Embed) != 150*32 {
		t.Errorf("embedding %d wide (%d values), want 32 (the penultimate layer)", one.D, len(one.Embed))
	}
	three, err := Predict(t.Context(), m, ds, idx, PredictOptions{MCSamples: 3, Embed: true, Workers: 3, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	for s := range one.MC {
		if !slices.Equal(one.MC[s], three.MC[s]) {
			t.Fatalf("Monte Carlo sample %d differs between 1 and 3 workers", s)
		}
	}
	if !slices.Equal(one.Probs, three.Probs) || !slices.Equal(one.Embed, three.Embed) {
		t.Fatal("predictions differ between 1 and 3 workers")
	}
	if slices.Equal(one.MC[0], one.MC[1]) || slices.Equal(one.MC[0], one.Probs) {
		t.Error("Monte Carlo samples repeat: dropout is off")
	}
}

func TestPredictErrors(t *testing.T) {
	m := buildSmall(t)
	ds := datatest.MNISTLike(200, 7)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Predict(ctx, m, ds, []int{0, 1, 2}, PredictOptions{Workers: 2}); err == nil {
		t.Error("cancelled context: no error")
	}
	if _, err := Predict(t.Context(), m, ds, []int{0, 200}, PredictOptions{}); err == nil {
		t.Error("index 200 of 200 samples accepted")
	}
	noLinear, _ := nn.Build(spec.Model{Input: []int{4}, Layers: []spec.Layer{{Type: spec.ReLU}}}, rand.New(rand.NewPCG(1, 1)))
	if _, err := Predict(t.Context(), noLinear, ds, []int{0}, PredictOptions{}); err == nil {
		t.Error("model of the wrong input size accepted")
	}
}

func TestTestError(t *testing.T) {
	probs := []float32{0.9, 0.1, 0.2, 0.8, 0.6, 0.4}
	if got := TestError(probs, 2, []int32{0, 1, 1}); math.Abs(got-1.0/3) > tol {
		t.Errorf("test error %v, want 1/3", got)
	}
}
