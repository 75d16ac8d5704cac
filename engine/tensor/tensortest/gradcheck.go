// Package tensortest checks gradients: it compares the backward pass of any
// computation built on a tensor.Graph with float64 central differences of its
// forward pass. Layers and models in other packages use it in their tests.
package tensortest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/troupe-ml/troupe/engine/tensor"
)

// Tolerances of the check: |analytic − numeric| ≤ Atol + Rtol·max(|a|, |n|).
// The forward pass runs in float32, so the difference step must be large
// enough for the loss change to stand out of rounding noise.
const (
	Step = 1e-2
	Atol = 2e-3
	Rtol = 2e-2
)

// Build computes an output from the inputs in g.
type Build func(g *tensor.Graph, in []*tensor.Tensor) *tensor.Tensor

// Report holds analytic and numeric gradients of the checked elements.
type Report struct {
	Analytic, Numeric [][]float64 // per input, per checked element
	Index             [][]int     // element index within the input
}

// loss evaluates build in a fresh graph whose random source is reset, so that
// dropout masks repeat between evaluations, and reduces the output with w.
func loss(in []*tensor.Tensor, build Build, w *tensor.Tensor) (*tensor.Graph, *tensor.Tensor, *tensor.Tensor) {
	g := tensor.NewGraph(tensor.CPUBackend{}, rand.New(rand.NewPCG(1, 7)))
	out := build(g, in)
	if out.Len() == 1 || w == nil {
		return g, out, out
	}
	return g, out, g.Sum(g.Mul(out, w))
}

// Gradients computes the backward pass of Σ build(in) ⊙ w for fixed random
// weights w, and central differences for at most maxPer elements of each
// input that requires a gradient.
func Gradients(in []*tensor.Tensor, build Build, maxPer int) (Report, error) {
	var r Report
	_, out, _ := loss(in, build, nil)
	w := tensor.New(out.Shape()...)
	rng := rand.New(rand.NewPCG(99, 1))
	for i := range w.Data {
		w.Data[i] = float32(rng.NormFloat64())
	}
	for _, t := range in {
		t.ZeroGrad()
	}
	g, _, l := loss(in, build, w)
	if err := g.Backward(l); err != nil {
		return r, err
	}
	for _, t := range in {
		var a, n []float64
		var idx []int
		if t.RequiresGrad() {
			step := max(1, t.Len()/maxPer)
			for i := 0; i < t.Len(); i += step {
				a = append(a, float64(t.Grad[i]))
				orig := t.Data[i]
				t.Data[i] = orig + Step
				_, _, lp := loss(in, build, w)
				t.Data[i] = orig - Step
				_, _, lm := loss(in, build, w)
				t.Data[i] = orig
				h := float64(orig+Step) - float64(orig-Step) // the step as float32 holds it
				n = append(n, (float64(lp.Item())-float64(lm.Item()))/h)
				idx = append(idx, i)
			}
		}
		r.Analytic, r.Numeric, r.Index = append(r.Analytic, a), append(r.Numeric, n), append(r.Index, idx)
	}
	return r, nil
}

// Checked returns how many elements were compared.
func (r Report) Checked() int {
	n := 0
	for _, a := range r.Analytic {
		n += len(a)
	}
	return n
}

// Mismatches describes every element whose gradients disagree.
func (r Report) Mismatches() []string {
	var bad []string
	for k := range r.Analytic {
		for j := range r.Analytic[k] {
			a, n := r.Analytic[k][j], r.Numeric[k][j]
			if math.IsNaN(a) || math.Abs(a-n) > Atol+Rtol*math.Max(math.Abs(a), math.Abs(n)) {
				bad = append(bad, fmt.Sprintf("input %d element %d: backward %.6g, central difference %.6g", k, r.Index[k][j], a, n))
			}
		}
	}
	return bad
}

// Check fails t when the backward pass of build disagrees with central
// differences, or when nothing could be checked.
func Check(t testing.TB, in []*tensor.Tensor, build Build) {
	t.Helper()
	r, err := Gradients(in, build, 60)
	if err != nil {
		t.Fatal(err)
	}
	if r.Checked() == 0 {
		t.Fatal("no gradient was checked")
	}
	for i, msg := range r.Mismatches() {
		if i == 10 {
			t.Error("… more mismatches")
			break
		}
		t.Error(msg)
	}
}

// Rand returns a tensor of standard normal values.
func Rand(r *rand.Rand, grad bool, shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	for i := range t.Data {
		t.Data[i] = float32(r.NormFloat64())
	}
	t.SetRequiresGrad(grad)
	return t
}
