package tensor_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/troupe-ml/troupe/engine/tensor"
	"github.com/troupe-ml/troupe/engine/tensor/tensortest"
	"github.com/troupe-ml/troupe/kernels"
)

// liveCase computes logits [n, 5] from a batch x [n, in...] and the
// parameters p, in a way whose rows depend on the same rows of x alone.
type liveCase struct {
	name  string
	in    []int // per-sample shape of x
	p     []*tensor.Tensor
	build func(g *tensor.Graph, x *tensor.Tensor, n int, p []*tensor.Tensor) *tensor.Tensor
	// fallback marks the cases with an op that reads all rows of its
	// output's gradient, so that not every gradient keeps to the live rows.
	fallback bool
}

var liveLabels = []int32{3, 0, 4, 4, 1, 2, 0, 3, 1}

func liveCases(r *rand.Rand) []liveCase {
	type ps = []*tensor.Tensor
	type gr = *tensor.Graph
	type tt = *tensor.Tensor
	rt := func(shape ...int) tt { return randT(r, true, shape...) }
	ids := []int32{2, 8, 0, 5, 5, 1, 7, 3, 6}
	return []liveCase{
		{name: "mlp", in: []int{13}, p: ps{rt(11, 13), rt(11), rt(5, 11), rt(5)},
			build: func(g gr, x tt, n int, p ps) tt {
				return g.Linear(g.ReLU(g.Linear(x, p[0], p[1])), p[2], p[3])
			}},
		{name: "matmul-elementwise", in: []int{6}, p: ps{rt(6, 8), rt(8, 5)},
			build: func(g gr, x tt, n int, p ps) tt {
				h := g.MatMul(x, p[0])
				h = g.Mul(g.Tanh(h), g.Sigmoid(h))
				h = g.Sub(h, g.GELU(h))
				return g.MatMul(g.Add(h, g.Mul(h, h)), p[1])
			}},
		{name: "rank3-layernorm-reshape", in: []int{2, 6}, p: ps{rt(4, 6), rt(4), rt(4), rt(5, 8), rt(5)},
			build: func(g gr, x tt, n int, p ps) tt {
				h := g.LayerNorm(g.Linear(x, p[0], nil), p[1], p[2], 1e-5)
				return g.Linear(g.Reshape(h, n, 8), p[3], p[4])
			}},
		{name: "conv-nchw-biasadd-pool", in: []int{2, 7, 6}, p: ps{rt(4, 2, 3, 3), rt(4), rt(4), rt(5, 16), rt(5)},
			build: func(g gr, x tt, n int, p ps) tt {
				h := g.BiasAdd(g.Conv2D(x, p[0], p[1], 1, 0), p[2])
				h = g.ReLU(g.MaxPool2D(h, 2, 2))
				return g.Linear(g.Flatten(h), p[3], p[4])
			}},
		{name: "conv-channels-last-overlapping-pool", in: []int{4, 9, 7}, p: ps{rt(25, 4, 5, 5), rt(25), rt(5, 25*4*3)},
			build: func(g gr, x tt, n int, p ps) tt {
				h := g.MaxPool2D(g.ReLU(g.Conv2D(x, p[0], p[1], 1, 2)), 3, 2)
				return g.Linear(g.Flatten(h), p[2], nil)
			}},
		{name: "conv-stride2-input-grad", in: []int{3, 8, 7}, p: ps{rt(17, 3, 3, 3), rt(4, 17, 3, 3), rt(5, 4*4*4)},
			build: func(g gr, x tt, n int, p ps) tt {
				h := g.Tanh(g.Conv2D(x, p[0], nil, 2, 1))
				h = g.Conv2D(h, p[1], nil, 1, 1)
				return g.Linear(g.Flatten(h), p[2], nil)
			}},
		{name: "dropout", in: []int{9}, p: ps{rt(12, 9), rt(12), rt(5, 12), rt(5)},
			build: func(g gr, x tt, n int, p ps) tt {
				return g.Linear(g.Dropout(g.Linear(x, p[0], p[1]), 0.4), p[2], p[3])
			}},
		{name: "embedding", in: []int{1}, p: ps{rt(9, 6), rt(5, 6), rt(5)},
			build: func(g gr, x tt, n int, p ps) tt {
				return g.Linear(g.Tanh(g.Embedding(ids[:n], p[0])), p[1], p[2])
			}},
		{name: "fallback-broadcast-reshape", in: []int{7}, p: ps{rt(8, 7), rt(1, 8), rt(5, 8), rt(5)}, fallback: true,
			build: func(g gr, x tt, n int, p ps) tt {
				h := g.Add(g.Linear(x, p[0], nil), p[1])
				h = g.Reshape(g.Tanh(g.Reshape(h, 2*n, 4)), n, 8)
				return g.Linear(g.ReLU(h), p[2], p[3])
			}},
		// h feeds a rowwise op and one that writes all its rows, in both
		// orders, so that the extents of its gradient's writers differ.
		{name: "mixed-extents/rowwise-first", in: []int{7}, p: ps{rt(8, 7), rt(1, 8), rt(5, 8)}, fallback: true,
			build: func(g gr, x tt, n int, p ps) tt {
				h := g.Linear(x, p[0], nil)
				a := g.Tanh(h)
				b := g.Add(h, p[1])
				return g.Linear(g.Mul(a, b), p[2], nil)
			}},
		{name: "mixed-extents/fallback-first", in: []int{7}, p: ps{rt(8, 7), rt(1, 8), rt(5, 8)}, fallback: true,
			build: func(g gr, x tt, n int, p ps) tt {
				h := g.Linear(x, p[0], nil)
				b := g.Add(h, p[1])
				a := g.Tanh(h)
				return g.Linear(g.Mul(a, b), p[2], nil)
			}},
	}
}

func numelOf(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// liveRun is one pass of c on the first n rows of xs with the loss on
// the first train of them (all when train is 0), every gradient buffer
// it can reach filled with garbage first. The input is a parameter of
// BackwardFresh too. It returns the graph, the input, the loss and the
// per-sample losses.
func liveRun(t *testing.T, be tensor.Backend, c liveCase, xs []float32, n, train int, w []float32) (*tensor.Graph, *tensor.Tensor, float32, []float32) {
	t.Helper()
	g := tensor.NewGraph(be, rand.New(rand.NewPCG(8, 9)))
	per := numelOf(c.in)
	x := tensor.FromData(append([]float32(nil), xs[:n*per]...), append([]int{n}, c.in...)...)
	x.SetRequiresGrad(true)
	logits := c.build(g, x, n, c.p)
	perSample := make([]float32, n)
	loss := g.SoftmaxCrossEntropyTargets(logits, tensor.Targets{Labels: liveLabels[:n], Weights: w, Train: train}, 0.1, perSample)
	if err := g.Err(); err != nil {
		t.Fatal(err)
	}
	for _, a := range g.ArenaTensors() {
		if a.RequiresGrad() {
			fillNaN(a.Grad)
		}
	}
	params := append([]*tensor.Tensor{x}, c.p...)
	for _, p := range params {
		garbage(p.Grad)
	}
	if err := g.BackwardFresh(loss, params); err != nil {
		t.Fatal(err)
	}
	return g, x, loss.Item(), perSample
}

func fillNaN(s []float32) {
	for i := range s {
		s[i] = float32(math.NaN())
	}
}

func bitsEqual(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }

// TestLiveRowsMatchSmallerBatch checks a loss on the first rows of a batch
// (Targets.Train) against the same computation on a batch of those rows
// alone: the loss, the trained rows' losses and every gradient must be the
// same bits, the input's gradient zero past the trained rows, and no
// garbage left in a gradient buffer may leak. The gradients of the
// intermediate tensors must keep to the trained rows, their other rows
// untouched, except where an op reads all rows (the fallback cases).
func TestLiveRowsMatchSmallerBatch(t *testing.T) {
	cpu, err := kernels.NewCPU(3, kernels.ImplAuto)
	if err != nil {
		t.Fatal(err)
	}
	defer cpu.Close()
	if !tensor.ConvChannelsLast(4, 25, 5, 5, 1, 2) || tensor.ConvChannelsLast(2, 4, 3, 3, 1, 0) {
		t.Fatal("the conv cases no longer cover both formulations")
	}
	const n = 9
	for _, be := range []struct {
		name string
		be   tensor.Backend
	}{{"serial", tensor.CPUBackend{}}, {"threads=3", tensor.CPUBackend{K: cpu}}} {
		for _, c := range liveCases(rand.New(rand.NewPCG(61, 62))) {
			for _, train := range []int{4, 1, n} {
				r := rand.New(rand.NewPCG(uint64(train), 5))
				xs := make([]float32, n*numelOf(c.in))
				for i := range xs {
					xs[i] = float32(r.NormFloat64())
				}
				if c.name == "embedding" {
					clear(xs)
				}
				var w []float32
				if train == 4 {
					w = []float32{0.5, 2, 0, 1.25}
				}
				t.Run(fmt.Sprintf("%s/%s/train=%d", be.name, c.name, train), func(t *testing.T) {
					checkLive(t, be.be, c, xs, n, train, w)
				})
			}
		}
	}
}

func checkLive(t *testing.T, be tensor.Backend, c liveCase, xs []float32, n, train int, w []float32) {
	_, xr, lossR, perR := liveRun(t, be, c, xs, train, 0, w)
	want := make([][]float32, len(c.p))
	for i, p := range c.p {
		want[i] = append([]float32(nil), p.Grad...)
	}
	g, x, loss, perS := liveRun(t, be, c, xs, n, train, w)
	if !bitsEqual(loss, lossR) || math.IsNaN(float64(loss)) {
		t.Fatalf("loss %v, want %v as on the trained rows alone", loss, lossR)
	}
	for i := range perR {
		if !bitsEqual(perS[i], perR[i]) {
			t.Fatalf("per-sample loss %d: %v, want %v", i, perS[i], perR[i])
		}
	}
	for i, v := range perS {
		if math.IsNaN(float64(v)) {
			t.Fatalf("per-sample loss %d is NaN", i)
		}
	}
	nonzero := false
	for i, p := range c.p {
		for j, v := range p.Grad {
			if !bitsEqual(v, want[i][j]) || math.IsNaN(float64(v)) {
				t.Fatalf("parameter %d gradient %d: %v, want %v", i, j, v, want[i][j])
			}
			nonzero = nonzero || v != 0
		}
	}
	if !nonzero {
		t.Fatal("every parameter gradient is zero; the case checks nothing")
	}
	rowLen := numelOf(c.in)
	for j, v := range x.Grad {
		wantX := float32(0)
		if j < len(xr.Grad) {
			wantX = xr.Grad[j]
		}
		if !bitsEqual(v, wantX) {
			t.Fatalf("input gradient %d (row %d): %v, want %v", j, j/rowLen, v, wantX)
		}
	}
	// Rows past the live ones were never written: they still hold NaN.
	restricted, dead := 0, 0
	for _, a := range g.ArenaTensors() {
		if !a.RequiresGrad() || a.Rank() == 0 || a.Dim(0) != n {
			continue
		}
		live := tensor.GradRows(a)
		if live == train {
			restricted++
		}
		per := a.Len() / n
		for j, v := range a.Grad {
			if (j < live*per) == math.IsNaN(float64(v)) {
				t.Fatalf("intermediate %v with %d live rows: gradient %d is %v", a, live, j, v)
			}
			if j >= live*per {
				dead++
			}
		}
		if !c.fallback && live != train {
			t.Errorf("intermediate %v: %d live rows, want %d", a, live, train)
		}
	}
	if train < n && (restricted == 0 || dead == 0) {
		t.Errorf("%d intermediates keep to the trained rows, %d dead gradient values: the pass did not skip any", restricted, dead)
	}
}

// TestLiveRowsGradCheck checks the gradients of a loss on the first rows
// of a batch against central differences, the other rows' inputs
// included (their gradient is zero).
func TestLiveRowsGradCheck(t *testing.T) {
	r := rand.New(rand.NewPCG(71, 72))
	for _, c := range liveCases(r) {
		switch c.name {
		case "dropout", "embedding":
			continue // a mask per evaluation; no input to perturb
		case "conv-channels-last-overlapping-pool":
			// Too many kinks (ReLU, maxima) within a difference step of
			// its large activations, with or without Train; the
			// comparison with the smaller batch covers it.
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			const n, train = 5, 2
			x := randT(r, true, append([]int{n}, c.in...)...)
			if c.name == "mlp" || c.name == "fallback-broadcast-reshape" {
				awayFromZero(x)
			}
			in := append([]*tensor.Tensor{x}, c.p...)
			tensortest.Check(t, in, func(g *tensor.Graph, in []*tensor.Tensor) *tensor.Tensor {
				logits := c.build(g, in[0], n, in[1:])
				tg := tensor.Targets{Labels: liveLabels[:n], Weights: []float32{1.5, 0.5}, Train: train}
				return g.SoftmaxCrossEntropyTargets(logits, tg, 0.1, nil)
			})
		})
	}
}

// TestTargetsTrainRejects checks that a Train outside the batch, or
// weights not one per trained row, are the graph's error, not a panic.
func TestTargetsTrainRejects(t *testing.T) {
	logits := randT(rand.New(rand.NewPCG(1, 1)), true, 4, 5)
	labels := []int32{0, 1, 2, 3}
	for _, c := range []struct {
		name string
		tg   tensor.Targets
		want string
	}{
		{"negative", tensor.Targets{Labels: labels, Train: -1}, "Train = -1 outside [0, 4]"},
		{"past the batch", tensor.Targets{Labels: labels, Train: 5}, "Train = 5 outside [0, 4]"},
		{"weights for every row", tensor.Targets{Labels: labels, Train: 2, Weights: make([]float32, 4)}, "Weights has 4 entries, want 2"},
	} {
		g := tensor.NewGraph(nil, nil)
		g.SoftmaxCrossEntropyTargets(logits, c.tg, 0, nil)
		if err := g.Err(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}
