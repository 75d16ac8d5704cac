package tensor_test

import (
	"math/rand/v2"
	"testing"

	"github.com/troupe-ml/troupe/engine/tensor"
)

// mlpStep is one training step of a two-layer perceptron on a reused graph.
type mlpStep struct {
	g              *tensor.Graph
	x              []float32
	batch, in      int
	w1, b1, w2, b2 *tensor.Tensor
	targets        []int32
	perSample      []float32
}

func newMLPStep(batch, in, hidden, classes int) *mlpStep {
	r := rand.New(rand.NewPCG(21, 22))
	s := &mlpStep{
		g:     newGraph(1),
		x:     randT(r, false, batch, in).Data,
		batch: batch, in: in,
		w1: randT(r, true, hidden, in), b1: randT(r, true, hidden),
		w2: randT(r, true, classes, hidden), b2: randT(r, true, classes),
		targets:   make([]int32, batch),
		perSample: make([]float32, batch),
	}
	for i := range s.targets {
		s.targets[i] = int32(r.IntN(classes))
	}
	return s
}

func (s *mlpStep) run() error {
	g := s.g
	g.Reset()
	x := g.Input(s.x, s.batch, s.in)
	h := g.ReLU(g.Linear(x, s.w1, s.b1))
	logits := g.Linear(h, s.w2, s.b2)
	return g.Backward(g.SoftmaxCrossEntropy(logits, s.targets, 0.1, s.perSample))
}

// TestStepAllocatesNothing checks the package's promise that a warmed-up
// graph rebuilds the same computation without allocating. The sizes keep
// every matrix product within one GEMM block, so the CPU GEMM runs serially.
func TestStepAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's sync.Pool drops items at random; allocations are counted without -race")
	}
	s := newMLPStep(4, 6, 5, 3)
	if allocs := warmAllocs(t, 20, s.run); allocs != 0 {
		t.Errorf("a warmed-up MLP step allocates %v times, want 0", allocs)
	}
}

// TestEveryOpAllocatesNothing extends the promise to every operation, in
// training mode with gradients, so that a node slot or arena tensor that is
// reallocated each step is caught.
func TestEveryOpAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's sync.Pool drops items at random; allocations are counted without -race")
	}
	r := rand.New(rand.NewPCG(23, 24))
	xs := randT(r, false, 2, 2, 7, 6).Data
	conv, convB := randT(r, true, 3, 2, 3, 3), randT(r, true, 3)
	scale := randT(r, true, 3, 1, 1)
	gamma, beta := randT(r, true, 12), randT(r, true, 12)
	table := randT(r, true, 5, 12)
	w, proj := randT(r, true, 3, 12), randT(r, true, 18, 12)
	ids, targets := []int32{4, 0}, []int32{1, 2}
	g := newGraph(1)
	step := func() error {
		g.Reset()
		x := g.Input(xs, 2, 2, 7, 6)
		h := g.Conv2D(x, conv, nil, 2, 1) // [2,3,4,3]
		h = g.Mul(g.BiasAdd(h, convB), scale)
		h = g.MaxPool2D(g.GELU(h), 2, 1) // [2,3,3,2]
		h = g.Dropout(g.Tanh(g.Sigmoid(h)), 0.2)
		h = g.Flatten(h) // [2,18]
		side := g.Sum(g.Conv2D(x, conv, convB, 1, 0))
		e := g.Embedding(ids, table) // [2,12]
		n := g.LayerNorm(g.Sub(e, g.ReLU(e)), gamma, beta, 1e-5)
		ce := g.SoftmaxCrossEntropy(g.Linear(n, w, nil), targets, 0, nil)
		mse := g.MSE(g.MatMul(h, proj), n)
		return g.Backward(g.Add(g.Add(ce, mse), side))
	}
	allocs := warmAllocs(t, 20, step)
	if allocs != 0 {
		t.Errorf("a warmed-up step through every op allocates %v times, want 0", allocs)
	}
}

// BenchmarkMLPStep times one training step of LeNet-300-100 on a batch of 64
// MNIST images: forward, loss and backward, without the optimizer.
func BenchmarkMLPStep(b *testing.B) {
	r := rand.New(rand.NewPCG(25, 26))
	g := newGraph(1)
	x := randT(r, false, 64, 784).Data
	w1, b1 := randT(r, true, 300, 784), randT(r, true, 300)
	w2, b2 := randT(r, true, 100, 300), randT(r, true, 100)
	w3, b3 := randT(r, true, 10, 100), randT(r, true, 10)
	targets := make([]int32, 64)
	for i := range targets {
		targets[i] = int32(r.IntN(10))
	}
	b.ReportAllocs()
	for b.Loop() {
		g.Reset()
		h := g.ReLU(g.Linear(g.Input(x, 64, 784), w1, b1))
		h = g.ReLU(g.Linear(h, w2, b2))
		loss := g.SoftmaxCrossEntropy(g.Linear(h, w3, b3), targets, 0, nil)
		if err := g.Backward(loss); err != nil {
			b.Fatal(err)
		}
	}
}

// warmAllocs runs step once to warm the graph's buffers, then returns its
// average allocations over runs more calls, failing t if any call fails.
func warmAllocs(t *testing.T, runs int, step func() error) float64 {
	t.Helper()
	if err := step(); err != nil {
		t.Fatal(err)
	}
	var err error
	allocs := testing.AllocsPerRun(runs, func() {
		if e := step(); e != nil && err == nil {
			err = e
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return allocs
}
