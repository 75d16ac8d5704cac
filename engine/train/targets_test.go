package train_test

import (
	"math"
	"strings"
	"testing"

	"github.com/troupe-ml/troupe/engine/tensor"
	"github.com/troupe-ml/troupe/engine/train"
)

// batch returns n MNIST-like samples with their labels.
func batch(t *testing.T, n int, seed uint64) ([]float32, []int32) {
	t.Helper()
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	x, y := make([]float32, n*784), make([]int32, n)
	synth(n, seed).Fill(idx, x, y)
	return x, y
}

func params(tr *train.Trainer) []float32 {
	var out []float32
	for _, p := range tr.Model().Params() {
		out = append(out, p.T.Data...)
	}
	return out
}

// TestStepTargetsMatchesStep checks that λ = 1 with all weights 1 trains
// exactly as plain labels do: same losses and same parameters, bit for bit.
func TestStepTargetsMatchesStep(t *testing.T) {
	x, y := batch(t, 16, 5)
	mix := make([]int32, len(y))
	lambda, weights := make([]float32, len(y)), make([]float32, len(y))
	for i := range y {
		mix[i], lambda[i], weights[i] = (y[i]+3)%10, 1, 1
	}
	a, err := train.Setup(smallJob("mlp"), 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := train.Setup(smallJob("mlp"), 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	for s := range 3 {
		ra, err := a.Step(x, y, nil)
		if err != nil {
			t.Fatal(err)
		}
		rb, err := b.StepTargets(x, tensor.Targets{Labels: y, Mix: mix, Lambda: lambda, Weights: weights}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if ra != rb {
			t.Fatalf("step %d: StepTargets %+v, Step %+v", s, rb, ra)
		}
	}
	pa, pb := params(a), params(b)
	for i := range pa {
		if math.Float32bits(pa[i]) != math.Float32bits(pb[i]) {
			t.Fatalf("parameter value %d: %v after StepTargets, %v after Step", i, pb[i], pa[i])
		}
	}
}

// TestGradientsTargetsIsLinear checks the mixed gradient against its
// definition: the loss is linear in the target distribution, so with one λ
// for the batch the gradient is λ·∇L(labels) + (1−λ)·∇L(mix).
func TestGradientsTargetsIsLinear(t *testing.T) {
	x, y := batch(t, 12, 6)
	mix := make([]int32, len(y))
	lambda := make([]float32, len(y))
	const lam = 0.3
	for i := range y {
		mix[i], lambda[i] = (y[i]+1)%10, lam
	}
	tr, err := train.Setup(smallJob("mlp"), 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	grads := func(tg tensor.Targets) ([]float32, float32) {
		res, err := tr.GradientsTargets(x, tg, nil)
		if err != nil {
			t.Fatal(err)
		}
		var g []float32
		for _, p := range tr.Model().Params() {
			g = append(g, p.T.Grad...)
		}
		return g, res.Loss
	}
	gy, ly := grads(tensor.Targets{Labels: y})
	gm, lm := grads(tensor.Targets{Labels: mix})
	got, loss := grads(tensor.Targets{Labels: y, Mix: mix, Lambda: lambda})
	if want := lam*ly + (1-lam)*lm; math.Abs(float64(loss-want)) > 1e-5*float64(want) {
		t.Errorf("mixed loss %v, want %v", loss, want)
	}
	var scale float64
	for _, v := range gy {
		scale = max(scale, math.Abs(float64(v)))
	}
	for i := range got {
		want := lam*float64(gy[i]) + (1-lam)*float64(gm[i])
		if d := math.Abs(float64(got[i]) - want); d > 1e-5*scale {
			t.Fatalf("gradient %d: %v, want %v (tolerance %g)", i, got[i], want, 1e-5*scale)
		}
	}
}

func TestTargetsErrors(t *testing.T) {
	x, y := batch(t, 4, 7)
	tr, err := train.Setup(smallJob("mlp"), 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	bad := tensor.Targets{Labels: y, Mix: []int32{0, 1, 2, 3}, Lambda: []float32{0.5, 2, 0.5, 0.5}}
	if _, err := tr.StepTargets(x, bad, nil); err == nil || !strings.Contains(err.Error(), "Lambda[1]") {
		t.Errorf("λ = 2: error %v, want one naming Lambda[1]", err)
	}
	short := tensor.Targets{Labels: y, Weights: []float32{1, 1}}
	if _, err := tr.GradientsTargets(x, short, nil); err == nil || !strings.Contains(err.Error(), "Weights") {
		t.Errorf("2 weights for 4 samples: error %v, want one naming Weights", err)
	}
	if _, err := tr.GradientsTargets(x, tensor.Targets{Labels: y}, make([]float32, 3)); err == nil {
		t.Error("a perSample buffer of the wrong length was accepted")
	}
	if _, err := tr.StepTargets(nil, tensor.Targets{}, nil); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty batch: error %v", err)
	}
	replica, err := train.NewReplica(smallJob("mlp"), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := replica.StepTargets(x, tensor.Targets{Labels: y}, nil); err == nil {
		t.Error("StepTargets on a replica without optimizer succeeded")
	}
}
