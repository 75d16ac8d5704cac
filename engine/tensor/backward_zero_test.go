package tensor_test

import (
	"math/rand/v2"
	"testing"
)

// TestBackwardZeroesIntermediates checks that every Backward pass starts
// each intermediate gradient from zero, however the graph uses it: a
// second pass over the same graph must add exactly what the first added
// to a parameter that feeds the loss through a shared intermediate, and
// a branch that does not reach the loss must add nothing.
func TestBackwardZeroesIntermediates(t *testing.T) {
	r := rand.New(rand.NewPCG(81, 82))
	w := randT(r, true, 3, 4)
	dead := randT(r, true, 3, 4)
	g := newGraph(1)
	x := g.Input(randT(r, false, 3, 4).Data, 3, 4)
	h := g.Tanh(g.Mul(x, w))                       // shared by two consumers
	loss := g.Sum(g.Add(g.Mul(h, h), g.ReLU(h)))   // h's gradient gets two contributions
	_ = g.Sum(g.Mul(g.Sigmoid(g.Mul(x, dead)), h)) // recorded but not part of loss
	if err := g.Backward(loss); err != nil {
		t.Fatal(err)
	}
	once := append([]float32(nil), w.Grad...)
	if err := g.Backward(loss); err != nil {
		t.Fatal(err)
	}
	nonzero := false
	for i, v := range w.Grad {
		// Doubling is exact in floating point.
		if v != 2*once[i] {
			t.Fatalf("w.Grad[%d] after two passes = %v, want 2 × %v", i, v, once[i])
		}
		nonzero = nonzero || v != 0
	}
	if !nonzero {
		t.Fatal("w.Grad is zero; the test checks nothing")
	}
	for i, v := range dead.Grad {
		if v != 0 {
			t.Fatalf("dead.Grad[%d] = %v, want 0: the branch does not reach the loss", i, v)
		}
	}
}
