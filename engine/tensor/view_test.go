package tensor_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/troupe-ml/troupe/engine/tensor"
	"github.com/troupe-ml/troupe/engine/tensor/tensortest"
)

// sameBacking reports whether a and b are the same memory.
func sameBacking(a, b []float32) bool {
	return len(a) == len(b) && len(a) > 0 && &a[0] == &b[0]
}

func TestReshapeSharesData(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	g := newGraph(1)
	x := randT(r, true, 2, 3, 4)
	before := g.ArenaLen()
	v := g.Reshape(x, 4, -1)
	if got := g.ArenaLen(); got != before {
		t.Errorf("Reshape took %d arena tensors, want 0", got-before)
	}
	if !slices.Equal(v.Shape(), []int{4, 6}) || !sameBacking(v.Data, x.Data) {
		t.Fatalf("Reshape(%v, 4, -1) = %v, want a [4 6] view of x's Data", x.Shape(), v)
	}
	// Documents the aliasing: a write through x shows through the view.
	x.Data[7] = 42
	if v.Data[7] != 42 {
		t.Errorf("view reads %v after x.Data[7] = 42, want 42", v.Data[7])
	}
	h := g.Tanh(x)
	f := g.Flatten(h)
	if !sameBacking(f.Data, h.Data) {
		t.Error("Flatten of an intermediate copied its Data")
	}
	if len(f.Grad) != f.Len() || sameBacking(f.Grad, h.Grad) {
		t.Error("a view that needs a gradient must have a gradient buffer of its own")
	}
	g.SetNoGrad(true)
	if n := g.Reshape(x, 24); n.RequiresGrad() || len(n.Grad) != 0 {
		t.Errorf("a view under SetNoGrad has a gradient (%d values)", len(n.Grad))
	}
}

// TestArenaNeverWritesViewedMemory runs passes whose arena tensors land
// where a view was the pass before: none of them may write into the
// memory the view shared.
func TestArenaNeverWritesViewedMemory(t *testing.T) {
	r := rand.New(rand.NewPCG(43, 44))
	g := newGraph(1)
	x, w := randT(r, true, 4, 6), randT(r, true, 3, 6)
	want := slices.Clone(x.Data)
	g.Sum(g.Linear(g.Reshape(g.Reshape(x, 2, 12), 4, 6), w, nil))
	for range 3 {
		g.Reset()
		h := g.Tanh(g.Linear(x, w, nil))
		if err := g.Backward(g.Sum(g.Mul(h, g.Sigmoid(h)))); err != nil {
			t.Fatal(err)
		}
	}
	for i, v := range x.Data {
		if !bitsEqual(v, want[i]) {
			t.Fatalf("x.Data[%d] = %v after later passes, want %v", i, v, want[i])
		}
	}
}

func TestResetDropsViews(t *testing.T) {
	g := newGraph(1)
	xs := make([]float32, 12)
	g.Reshape(g.InputView(xs, 3, 4), 12)
	g.Reset()
	for i, d := range g.ViewSlots() {
		if d != nil {
			t.Errorf("view slot %d still holds %d values after Reset", i, len(d))
		}
	}
}

// reshapeFn is Graph.Reshape or the copying reference.
type reshapeFn func(g *tensor.Graph, x *tensor.Tensor, shape ...int) *tensor.Tensor

// viewNet reshapes a leaf, an intermediate and a view, keeping dimension
// 0 or not, and uses one view twice, so that every path of the backward
// pass through a reshape writes and adds to gradients.
func viewNet(g *tensor.Graph, rs reshapeFn, x *tensor.Tensor, n int, p []*tensor.Tensor) *tensor.Tensor {
	h := g.Conv2D(x, p[0], p[1], 1, 0)            // [n,3,5,4]
	f := rs(g, h, n, 60)                          // keeps dimension 0
	f2 := rs(g, g.Tanh(rs(g, f, n*3, 20)), n, 60) // through another dimension 0
	a := g.Mul(g.Sigmoid(f), f)
	c := g.Linear(rs(g, x, n, 84), p[2], nil)
	return g.Linear(g.Add(g.Add(a, f2), c), p[3], p[4])
}

// viewRun is one pass of viewNet with every reachable gradient buffer
// filled with garbage first, returning the loss, the per-sample losses
// and the gradients of x and p.
func viewRun(t *testing.T, rs reshapeFn, fresh bool, train int) (float32, []float32, [][]float32) {
	t.Helper()
	const n = 4
	r := rand.New(rand.NewPCG(45, 46))
	x := randT(r, true, n, 2, 7, 6)
	p := []*tensor.Tensor{randT(r, true, 3, 2, 3, 3), randT(r, true, 3), randT(r, true, 60, 84), randT(r, true, 5, 60), randT(r, true, 5)}
	g := newGraph(1)
	per := make([]float32, n)
	loss := g.SoftmaxCrossEntropyTargets(viewNet(g, rs, x, n, p), tensor.Targets{Labels: []int32{1, 4, 0, 2}, Train: train}, 0.1, per)
	if err := g.Err(); err != nil {
		t.Fatal(err)
	}
	for _, a := range g.ArenaTensors() {
		if a.RequiresGrad() {
			fillNaN(a.Grad)
		}
	}
	params := append([]*tensor.Tensor{x}, p...)
	var err error
	if fresh {
		for _, q := range params {
			garbage(q.Grad)
		}
		err = g.BackwardFresh(loss, params)
	} else {
		err = g.Backward(loss)
	}
	if err != nil {
		t.Fatal(err)
	}
	grads := make([][]float32, len(params))
	for i, q := range params {
		grads[i] = q.Grad
	}
	return loss.Item(), per, grads
}

// TestReshapeViewMatchesCopy checks that forward and backward passes
// through views give, bit for bit, what they gave through copies.
func TestReshapeViewMatchesCopy(t *testing.T) {
	view := func(g *tensor.Graph, x *tensor.Tensor, shape ...int) *tensor.Tensor { return g.Reshape(x, shape...) }
	cp := func(g *tensor.Graph, x *tensor.Tensor, shape ...int) *tensor.Tensor {
		return g.ReshapeCopy(x, shape...)
	}
	for _, c := range []struct {
		fresh bool
		train int
	}{{false, 0}, {true, 0}, {true, 2}} {
		t.Run(fmt.Sprintf("fresh=%v/train=%d", c.fresh, c.train), func(t *testing.T) {
			wl, wp, wg := viewRun(t, cp, c.fresh, c.train)
			gl, gp, gg := viewRun(t, view, c.fresh, c.train)
			if !bitsEqual(gl, wl) {
				t.Errorf("loss %v, want %v", gl, wl)
			}
			for i := range wp {
				if !bitsEqual(gp[i], wp[i]) {
					t.Errorf("sample %d: loss %v, want %v", i, gp[i], wp[i])
				}
			}
			for i := range wg {
				for j := range wg[i] {
					if !bitsEqual(gg[i][j], wg[i][j]) {
						t.Fatalf("gradient %d [%d]: %v, want %v", i, j, gg[i][j], wg[i][j])
					}
				}
			}
		})
	}
}

func TestReshapeViewGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(47, 48))
	tensortest.Check(t, []*tensor.Tensor{randTensor(r, true, 2, 3, 4), randTensor(r, true, 6, 4)},
		func(g *tensor.Graph, in []*tensor.Tensor) *tensor.Tensor {
			v := g.Reshape(in[0], 4, 6)
			w := g.Reshape(g.Tanh(v), 6, 4)
			u := g.Mul(w, g.Reshape(v, 6, -1))
			return g.Add(g.Add(u, g.Reshape(in[0], 6, 4)), g.Reshape(g.Mul(g.Reshape(in[1], 24), g.Reshape(u, -1)), 6, 4))
		})
}

// flatMLP is a step of a perceptron whose first layer flattens its input,
// as the models of package nn do; input makes the batch's tensor.
func flatMLP(t *testing.T, xs []float32, input func(g *tensor.Graph, xs []float32, shape ...int) *tensor.Tensor) (float32, [][]float32) {
	t.Helper()
	r := rand.New(rand.NewPCG(49, 50))
	w1, b1 := randT(r, true, 7, 16), randT(r, true, 7)
	w2, b2 := randT(r, true, 3, 7), randT(r, true, 3)
	g := newGraph(1)
	x := input(g, xs, 5, 1, 4, 4)
	h := g.ReLU(g.Linear(g.Flatten(x), w1, b1))
	loss := g.SoftmaxCrossEntropy(g.Linear(h, w2, b2), []int32{0, 2, 1, 1, 0}, 0.1, nil)
	if err := g.BackwardFresh(loss, []*tensor.Tensor{w1, b1, w2, b2}); err != nil {
		t.Fatal(err)
	}
	return loss.Item(), [][]float32{w1.Grad, b1.Grad, w2.Grad, b2.Grad}
}

func TestInputViewMatchesInput(t *testing.T) {
	r := rand.New(rand.NewPCG(51, 52))
	xs := randT(r, false, 5, 16).Data
	orig := slices.Clone(xs)
	var seen *tensor.Tensor
	wl, wg := flatMLP(t, xs, (*tensor.Graph).Input)
	gl, gg := flatMLP(t, xs, func(g *tensor.Graph, xs []float32, shape ...int) *tensor.Tensor {
		seen = g.InputView(xs, shape...)
		return seen
	})
	if !sameBacking(seen.Data, xs) || seen.RequiresGrad() {
		t.Errorf("InputView = %v, want the caller's slice, no gradient", seen)
	}
	if !bitsEqual(gl, wl) {
		t.Errorf("loss %v, want %v", gl, wl)
	}
	for i := range wg {
		for j := range wg[i] {
			if !bitsEqual(gg[i][j], wg[i][j]) {
				t.Fatalf("gradient %d [%d]: %v, want %v", i, j, gg[i][j], wg[i][j])
			}
		}
	}
	for i, v := range xs {
		if !bitsEqual(v, orig[i]) {
			t.Fatalf("the step changed the caller's batch at %d: %v, was %v", i, v, orig[i])
		}
	}
}

func TestInputViewRejectsLength(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "InputView") {
			t.Errorf("InputView of 5 values as [2 3]: panic %v, want one naming InputView", r)
		}
	}()
	newGraph(1).InputView(make([]float32, 5), 2, 3)
}

// TestViewStepAllocatesNothing extends the allocation promise to views:
// a batch taken without a copy and reshaped leaves, intermediates and
// views.
func TestViewStepAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's sync.Pool drops items at random; allocations are counted without -race")
	}
	r := rand.New(rand.NewPCG(53, 54))
	xs := randT(r, false, 4, 2, 3).Data
	w, b := randT(r, true, 5, 6), randT(r, true, 5)
	targets := []int32{1, 0, 4, 2}
	g := newGraph(1)
	params := []*tensor.Tensor{w, b}
	step := func() error {
		g.Reset()
		x := g.Flatten(g.InputView(xs, 4, 2, 3))
		h := g.Tanh(g.Linear(x, g.Reshape(g.Reshape(w, 30), 5, 6), b))
		h = g.Reshape(g.Sigmoid(g.Reshape(h, 2, 10)), 4, 5)
		return g.BackwardFresh(g.SoftmaxCrossEntropy(h, targets, 0, nil), params)
	}
	allocs := warmAllocs(t, 20, step)
	if allocs != 0 {
		t.Errorf("a warmed-up step through views allocates %v times, want 0", allocs)
	}
}
