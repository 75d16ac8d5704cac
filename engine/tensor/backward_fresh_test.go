package tensor_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/troupe-ml/troupe/engine/tensor"
	"github.com/troupe-ml/troupe/kernels"
)

// freshCase is a computation whose gradients BackwardFresh must give as
// zeroing the inputs' gradients and calling Backward does.
type freshCase struct {
	name  string
	in    []*tensor.Tensor
	build func(g *tensor.Graph, in []*tensor.Tensor) *tensor.Tensor
}

// garbage fills s with values that would show in any gradient that read
// them: NaN, infinities and huge numbers.
func garbage(s []float32) {
	bad := []float32{float32(math.NaN()), float32(math.Inf(1)), 1e30, float32(math.Inf(-1)), -3e29}
	for i := range s {
		s[i] = bad[i%len(bad)]
	}
}

// freshRun runs c forward and backward on be, reducing a non-scalar
// output with fixed random weights, and returns the gradients of c.in.
// With fresh the inputs' gradients hold garbage and BackwardFresh runs,
// else they are zeroed and Backward runs. With mid every input that
// requires a gradient enters through a Reshape, so that the ops under
// test write intermediate gradients; those, like every intermediate the
// harness can reach, hold garbage before the pass in both modes.
func freshRun(t *testing.T, be tensor.Backend, c freshCase, fresh, mid bool) [][]float32 {
	t.Helper()
	g := tensor.NewGraph(be, rand.New(rand.NewPCG(5, 6)))
	in := append([]*tensor.Tensor(nil), c.in...)
	var mids []*tensor.Tensor
	if mid {
		for i, x := range in {
			if x.RequiresGrad() {
				in[i] = g.Reshape(x, x.Shape()...)
				mids = append(mids, in[i])
			}
		}
	}
	out := c.build(g, in)
	loss := out
	if out.Len() != 1 {
		r := rand.New(rand.NewPCG(7, 8))
		w := make([]float32, out.Len())
		for i := range w {
			w[i] = float32(r.NormFloat64())
		}
		loss = g.Sum(g.Mul(out, g.Input(w, out.Shape()...)))
	}
	for _, m := range append(mids, out) {
		garbage(m.Grad)
	}
	var err error
	if fresh {
		for _, x := range c.in {
			garbage(x.Grad)
		}
		err = g.BackwardFresh(loss, c.in)
	} else {
		for _, x := range c.in {
			x.ZeroGrad()
		}
		err = g.Backward(loss)
	}
	if err != nil {
		t.Fatal(err)
	}
	grads := make([][]float32, len(c.in))
	for i, x := range c.in {
		grads[i] = append([]float32(nil), x.Grad...)
	}
	return grads
}

// checkFresh compares BackwardFresh with ZeroGrad and Backward for c,
// element by element with ==, which fails on NaN and lets only the sign
// of a zero differ.
func checkFresh(t *testing.T, be tensor.Backend, c freshCase) {
	t.Helper()
	for _, mid := range []bool{false, true} {
		want := freshRun(t, be, c, false, mid)
		got := freshRun(t, be, c, true, mid)
		nonzero := false
		for k := range want {
			if !c.in[k].RequiresGrad() {
				continue
			}
			for i := range want[k] {
				if got[k][i] != want[k][i] {
					t.Fatalf("mid=%v: input %d element %d: BackwardFresh gives %v, ZeroGrad+Backward %v", mid, k, i, got[k][i], want[k][i])
				}
				nonzero = nonzero || want[k][i] != 0
			}
		}
		if !nonzero && !c.zeroOK() {
			t.Fatalf("mid=%v: every gradient is zero; the case checks nothing", mid)
		}
	}
}

// zeroOK marks the cases whose gradients are all zero by construction.
func (c freshCase) zeroOK() bool {
	return c.name == "MSE/same" || c.name == "Sub/same" || c.name == "Linear/empty" || c.name == "Conv2D/no-image"
}

func freshCases(r *rand.Rand) []freshCase {
	type in = []*tensor.Tensor
	type gr = *tensor.Graph
	rt := func(shape ...int) *tensor.Tensor { return randT(r, true, shape...) }
	fixed := func(shape ...int) *tensor.Tensor { return randT(r, false, shape...) }
	square := rt(5, 5)
	tied := rt(7, 7)
	tiedB := rt(7)
	labels := []int32{2, 0, 4, 1, 3, 4, 0}
	conv := func(name string, n, c, h, w, o, k, stride, pad int, bias bool) freshCase {
		ins := in{rt(n, c, h, w), rt(o, c, k, k)}
		if bias {
			ins = append(ins, rt(o))
		}
		return freshCase{name, ins, func(g gr, x in) *tensor.Tensor {
			var b *tensor.Tensor
			if bias {
				b = x[2]
			}
			return g.Conv2D(x[0], x[1], b, stride, pad)
		}}
	}
	return []freshCase{
		{"MatMul", in{rt(3, 5), rt(5, 7)}, func(g gr, x in) *tensor.Tensor { return g.MatMul(x[0], x[1]) }},
		{"MatMul/fixed-left", in{fixed(3, 5), rt(5, 7)}, func(g gr, x in) *tensor.Tensor { return g.MatMul(x[0], x[1]) }},
		{"MatMul/same", in{square}, func(g gr, x in) *tensor.Tensor { return g.MatMul(x[0], x[0]) }},
		{"Linear", in{rt(19, 13), rt(11, 13), rt(11)}, func(g gr, x in) *tensor.Tensor { return g.Linear(x[0], x[1], x[2]) }},
		{"Linear/wide", in{rt(3, 37), rt(29, 37), rt(29)}, func(g gr, x in) *tensor.Tensor { return g.Linear(x[0], x[1], x[2]) }},
		{"Linear/rank3-nobias", in{rt(2, 3, 7), rt(5, 7)}, func(g gr, x in) *tensor.Tensor { return g.Linear(x[0], x[1], nil) }},
		{"Linear/fixed-input", in{fixed(9, 7), rt(5, 7), rt(5)}, func(g gr, x in) *tensor.Tensor { return g.Linear(x[0], x[1], x[2]) }},
		{"Linear/empty", in{rt(0, 7), rt(3, 7), rt(3)}, func(g gr, x in) *tensor.Tensor { return g.Linear(x[0], x[1], x[2]) }},
		{"Linear/tied", in{rt(3, 7), tied, tiedB}, func(g gr, x in) *tensor.Tensor {
			return g.Linear(g.Tanh(g.Linear(x[0], x[1], x[2])), x[1], x[2])
		}},
		{"Add/broadcast", in{rt(4, 1, 3), rt(5, 1)}, func(g gr, x in) *tensor.Tensor { return g.Add(x[0], x[1]) }},
		{"Add/same", in{rt(3, 5)}, func(g gr, x in) *tensor.Tensor { return g.Add(x[0], x[0]) }},
		{"Add/size1-dims", in{rt(1, 3, 1), rt(3, 1)}, func(g gr, x in) *tensor.Tensor { return g.Add(x[0], x[1]) }},
		{"Sub/broadcast", in{rt(3), rt(2, 3)}, func(g gr, x in) *tensor.Tensor { return g.Sub(x[0], x[1]) }},
		{"Sub/shapes", in{rt(2, 3), rt(2, 3)}, func(g gr, x in) *tensor.Tensor { return g.Sub(x[0], x[1]) }},
		{"Sub/same", in{rt(3, 5)}, func(g gr, x in) *tensor.Tensor { return g.Sub(x[0], x[0]) }},
		{"Mul/broadcast", in{rt(2, 3, 4), rt(3, 1)}, func(g gr, x in) *tensor.Tensor { return g.Mul(x[0], x[1]) }},
		{"Mul/shapes", in{rt(3, 5), rt(3, 5)}, func(g gr, x in) *tensor.Tensor { return g.Mul(x[0], x[1]) }},
		{"Mul/same", in{rt(3, 5)}, func(g gr, x in) *tensor.Tensor { return g.Mul(x[0], x[0]) }},
		{"BiasAdd", in{rt(2, 3, 5, 3), rt(3)}, func(g gr, x in) *tensor.Tensor { return g.BiasAdd(x[0], x[1]) }},
		{"Reshape", in{rt(2, 3, 5)}, func(g gr, x in) *tensor.Tensor { return g.Reshape(x[0], 5, -1) }},
		{"Flatten/twice", in{rt(3, 3, 2, 5)}, func(g gr, x in) *tensor.Tensor {
			return g.Add(g.Flatten(x[0]), g.Reshape(x[0], 3, 30))
		}},
		{"ReLU", in{awayFromZero(rt(7, 9))}, func(g gr, x in) *tensor.Tensor { return g.ReLU(x[0]) }},
		{"GELU", in{rt(7, 9)}, func(g gr, x in) *tensor.Tensor { return g.GELU(x[0]) }},
		{"Tanh", in{rt(7, 9)}, func(g gr, x in) *tensor.Tensor { return g.Tanh(x[0]) }},
		{"Sigmoid", in{rt(7, 9)}, func(g gr, x in) *tensor.Tensor { return g.Sigmoid(x[0]) }},
		{"unary/twice", in{rt(5, 3)}, func(g gr, x in) *tensor.Tensor { return g.Add(g.Tanh(x[0]), g.Sigmoid(x[0])) }},
		{"Dropout", in{rt(5, 9)}, func(g gr, x in) *tensor.Tensor { return g.Dropout(x[0], 0.3) }},
		{"Sum", in{rt(3, 7)}, func(g gr, x in) *tensor.Tensor { return g.Sum(x[0]) }},
		{"Sum/twice", in{rt(3, 7)}, func(g gr, x in) *tensor.Tensor { return g.Add(g.Sum(x[0]), g.Sum(g.Tanh(x[0]))) }},
		conv("Conv2D/nchw", 3, 3, 7, 6, 4, 3, 1, 0, true),
		conv("Conv2D/nchw-stride2-pad1", 2, 2, 7, 5, 3, 3, 2, 1, true),
		conv("Conv2D/nchw-dwT-nobias", 3, 2, 9, 7, 17, 3, 2, 1, false),
		conv("Conv2D/channels-last", 3, 4, 9, 7, 25, 5, 1, 2, true),
		conv("Conv2D/channels-last-nobias", 2, 6, 8, 9, 24, 3, 1, 1, false),
		conv("Conv2D/one-image", 1, 3, 6, 5, 5, 3, 1, 1, true),
		conv("Conv2D/no-image", 0, 3, 6, 5, 5, 3, 1, 1, true),
		{"MaxPool2D", in{distinct(r, rt(2, 3, 7, 5))}, func(g gr, x in) *tensor.Tensor { return g.MaxPool2D(x[0], 2, 2) }},
		{"MaxPool2D/overlap", in{distinct(r, rt(1, 2, 7, 7))}, func(g gr, x in) *tensor.Tensor { return g.MaxPool2D(x[0], 3, 2) }},
		{"LayerNorm", in{rt(5, 7), rt(7), rt(7)}, func(g gr, x in) *tensor.Tensor { return g.LayerNorm(x[0], x[1], x[2], 1e-5) }},
		{"Embedding", in{rt(7, 5)}, func(g gr, x in) *tensor.Tensor { return g.Embedding([]int32{3, 0, 3, 5, 3}, x[0]) }},
		{"SoftmaxCrossEntropy", in{rt(7, 5)}, func(g gr, x in) *tensor.Tensor {
			return g.SoftmaxCrossEntropy(x[0], labels, 0.1, nil)
		}},
		{"SoftmaxCrossEntropyTargets", in{rt(7, 5)}, func(g gr, x in) *tensor.Tensor {
			tg := tensor.Targets{Labels: labels, Mix: []int32{1, 1, 0, 4, 2, 3, 3},
				Lambda: []float32{0.3, 1, 0.5, 0, 0.9, 0.2, 0.7}, Weights: []float32{1, 0.5, 2, 1, 0, 3, 1}}
			return g.SoftmaxCrossEntropyTargets(x[0], tg, 0.05, nil)
		}},
		{"MSE", in{rt(3, 7), rt(3, 7)}, func(g gr, x in) *tensor.Tensor { return g.MSE(x[0], x[1]) }},
		{"MSE/same", in{rt(3, 7)}, func(g gr, x in) *tensor.Tensor { return g.MSE(x[0], x[0]) }},
		{"tied/across-ops", in{rt(4, 6), rt(6, 6), rt(6)}, func(g gr, x in) *tensor.Tensor {
			h := g.ReLU(g.Linear(x[0], x[1], x[2]))
			h = g.MatMul(h, x[1])
			h = g.Mul(g.BiasAdd(h, x[2]), g.Reshape(x[2], 1, 6))
			return g.Add(g.LayerNorm(h, x[2], x[2], 1e-5), g.Embedding([]int32{5, 1, 1, 0}, x[1]))
		}},
	}
}

// TestBackwardFreshMatchesZeroGrad checks every op's backward pass in
// fresh mode against zeroing and accumulating, with garbage left in every
// gradient buffer the pass must not read, on the serial CPU backend and
// on one with threads, which splits convolutions.
func TestBackwardFreshMatchesZeroGrad(t *testing.T) {
	cpu, err := kernels.NewCPU(3, kernels.ImplAuto)
	if err != nil {
		t.Fatal(err)
	}
	defer cpu.Close()
	for _, be := range []struct {
		name string
		be   tensor.Backend
	}{{"serial", tensor.CPUBackend{}}, {"threads=3", tensor.CPUBackend{K: cpu}}} {
		for _, c := range freshCases(rand.New(rand.NewPCG(31, 32))) {
			t.Run(be.name+"/"+c.name, func(t *testing.T) { checkFresh(t, be.be, c) })
		}
	}
}

// TestBackwardFreshCoversChannelsLast makes sure the conv cases above
// exercise both formulations.
func TestBackwardFreshCoversChannelsLast(t *testing.T) {
	if !tensor.ConvChannelsLast(4, 25, 5, 5, 1, 2) || !tensor.ConvChannelsLast(6, 24, 3, 3, 1, 1) {
		t.Error("the channels-last cases no longer run channels-last")
	}
	if tensor.ConvChannelsLast(3, 4, 3, 3, 1, 0) || tensor.ConvChannelsLast(2, 17, 3, 3, 2, 1) {
		t.Error("the NCHW cases no longer run NCHW")
	}
}

// TestBackwardFreshUnreachedParams checks that a parameter the pass never
// writes ends it at zero, whatever its buffer held: one the graph never
// saw (an unused head), one on a branch that does not reach the loss,
// and one that only reaches the loss through a Mul by zero. A tensor
// that needs no gradient may be listed and is left alone.
func TestBackwardFreshUnreachedParams(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	w, unused, dead := randT(r, true, 3, 4), randT(r, true, 5, 2), randT(r, true, 3, 4)
	frozen := randT(r, false, 4)
	g := newGraph(1)
	x := g.Input(randT(r, false, 2, 4).Data, 2, 4)
	loss := g.Sum(g.Tanh(g.Linear(x, w, nil)))
	_ = g.Sum(g.Linear(x, dead, nil)) // recorded, but not part of loss
	for _, p := range []*tensor.Tensor{w, unused, dead} {
		garbage(p.Grad)
	}
	if err := g.BackwardFresh(loss, []*tensor.Tensor{w, unused, dead, frozen}); err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]*tensor.Tensor{"unused": unused, "dead": dead} {
		for i, v := range p.Grad {
			if v != 0 {
				t.Fatalf("%s.Grad[%d] = %v, want 0: the pass does not reach it", name, i, v)
			}
		}
	}
	if frozen.Grad != nil {
		t.Errorf("frozen tensor got a gradient buffer of %d values", len(frozen.Grad))
	}
	nonzero := false
	for i, v := range w.Grad {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || math.Abs(float64(v)) > 10 {
			t.Fatalf("w.Grad[%d] = %v: the stale buffer leaked", i, v)
		}
		nonzero = nonzero || v != 0
	}
	if !nonzero {
		t.Fatal("w.Grad is zero; the test checks nothing")
	}
}

// TestBackwardFreshThenAccumulate checks how fresh and accumulating
// passes combine: a second BackwardFresh replaces the first's gradient, a
// Backward after it adds to it, and a leaf left out of params
// accumulates even in a fresh pass.
func TestBackwardFreshThenAccumulate(t *testing.T) {
	r := rand.New(rand.NewPCG(43, 44))
	w, b, other := randT(r, true, 5, 4), randT(r, true, 5), randT(r, true, 5)
	g := newGraph(1)
	x := g.Input(randT(r, false, 3, 4).Data, 3, 4)
	h := g.Tanh(g.Linear(x, w, b))
	loss := g.Sum(g.Mul(h, g.Add(h, other)))
	params := []*tensor.Tensor{w, b}
	const preset = 0.25
	for i := range other.Grad {
		other.Grad[i] = preset
	}
	if err := g.BackwardFresh(loss, params); err != nil {
		t.Fatal(err)
	}
	once := append(append([]float32(nil), w.Grad...), b.Grad...)
	otherOnce := append([]float32(nil), other.Grad...)
	if err := g.BackwardFresh(loss, params); err != nil {
		t.Fatal(err)
	}
	for i, v := range append(append([]float32(nil), w.Grad...), b.Grad...) {
		if v != once[i] {
			t.Fatalf("gradient %d after a second fresh pass = %v, want %v", i, v, once[i])
		}
	}
	if err := g.Backward(loss); err != nil {
		t.Fatal(err)
	}
	nonzero := false
	for i, v := range append(append([]float32(nil), w.Grad...), b.Grad...) {
		// The bias adds row by row onto the old value, so the sum is
		// rounded in another order than twice the fresh one.
		if math.Abs(float64(v-2*once[i])) > 1e-6*(1+math.Abs(float64(v))) {
			t.Fatalf("gradient %d after a fresh and an accumulating pass = %v, want 2 × %v", i, v, once[i])
		}
		nonzero = nonzero || v != 0
	}
	if !nonzero {
		t.Fatal("gradients are zero; the test checks nothing")
	}
	for i, v := range otherOnce {
		d := float64(v) - preset
		if d == 0 {
			t.Fatalf("other.Grad[%d] kept its preset value: no gradient reached it", i)
		}
		// Three passes added d each: two fresh ones and the last.
		if want := preset + 3*d; math.Abs(float64(other.Grad[i])-want) > 1e-5*(1+math.Abs(want)) {
			t.Fatalf("other.Grad[%d] = %v after three passes, want %v", i, other.Grad[i], want)
		}
	}
}

// betaBackend checks the Gemm contract a GPU backend relies on: it
// poisons C before every product with beta 0, so a graph that counted on
// C's old contents would compute NaN, and it counts the products by beta.
type betaBackend struct {
	tensor.CPUBackend
	byBeta map[float32]int
}

func (b *betaBackend) Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, bm []float32, ldb int, beta float32, c []float32, ldc int) {
	b.byBeta[beta]++
	if beta == 0 {
		for i := 0; i < m; i++ {
			garbage(c[i*ldc : i*ldc+n])
		}
	}
	b.CPUBackend.Gemm(transA, transB, m, n, k, alpha, a, lda, bm, ldb, beta, c, ldc)
}

// TestBackwardFreshGemmBeta checks that the backward pass of a
// perceptron in fresh mode writes every gradient by a product with beta
// 0, reading none, and gives the gradients of ZeroGrad and Backward,
// which accumulate into the parameters with beta 1.
func TestBackwardFreshGemmBeta(t *testing.T) {
	r := rand.New(rand.NewPCG(45, 46))
	params := []*tensor.Tensor{randT(r, true, 11, 13), randT(r, true, 11), randT(r, true, 3, 11), randT(r, true, 3)}
	xs := randT(r, false, 19, 13).Data
	labels := make([]int32, 19)
	for i := range labels {
		labels[i] = int32(r.IntN(3))
	}
	run := func(fresh bool) ([][]float32, map[float32]int) {
		be := &betaBackend{byBeta: map[float32]int{}}
		g := tensor.NewGraph(be, nil)
		h := g.ReLU(g.Linear(g.Input(xs, 19, 13), params[0], params[1]))
		loss := g.SoftmaxCrossEntropy(g.Linear(h, params[2], params[3]), labels, 0, nil)
		clear(be.byBeta) // count the backward pass only
		var err error
		if fresh {
			for _, p := range params {
				garbage(p.Grad)
			}
			err = g.BackwardFresh(loss, params)
		} else {
			for _, p := range params {
				p.ZeroGrad()
			}
			err = g.Backward(loss)
		}
		if err != nil {
			t.Fatal(err)
		}
		var grads [][]float32
		for _, p := range params {
			grads = append(grads, append([]float32(nil), p.Grad...))
		}
		return grads, be.byBeta
	}
	want, accBeta := run(false)
	got, freshBeta := run(true)
	if accBeta[1] != 2 {
		t.Errorf("Backward ran %d products with beta 1, want 2 (the weight gradients); counts %v", accBeta[1], accBeta)
	}
	if freshBeta[1] != 0 || freshBeta[0] != 3 {
		t.Errorf("BackwardFresh ran products by beta %v, want 3 with beta 0 and none with 1", freshBeta)
	}
	for k := range want {
		for i := range want[k] {
			if got[k][i] != want[k][i] {
				t.Fatalf("param %d element %d: BackwardFresh gives %v, ZeroGrad+Backward %v", k, i, got[k][i], want[k][i])
			}
		}
	}
}

// TestBackwardFreshAllocatesNothing extends the allocation promise to
// fresh passes over every op.
func TestBackwardFreshAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's sync.Pool drops items at random; allocations are counted without -race")
	}
	cases := freshCases(rand.New(rand.NewPCG(47, 48)))
	g := newGraph(1)
	step := func() error {
		for _, c := range cases {
			g.Reset()
			out := c.build(g, c.in)
			if out.Len() != 1 {
				out = g.Sum(out)
			}
			if err := g.BackwardFresh(out, c.in); err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
		}
		return nil
	}
	allocs := warmAllocs(t, 5, step)
	if allocs != 0 {
		t.Errorf("warmed-up fresh passes over every op allocate %v times, want 0", allocs)
	}
}
