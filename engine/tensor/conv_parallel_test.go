package tensor_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/troupe-ml/troupe/engine/tensor"
	"github.com/troupe-ml/troupe/kernels"
)

// convRun is one forward and backward pass of a convolution: its output
// and the gradients of x, w and bias for fixed upstream weights.
type convRun struct{ y, dx, dw, db []float32 }

func runConv(t *testing.T, be tensor.Backend, x, w, b *tensor.Tensor, stride, pad int) convRun {
	t.Helper()
	for _, p := range []*tensor.Tensor{x, w, b} {
		p.ZeroGrad()
	}
	g := tensor.NewGraph(be, rand.New(rand.NewPCG(1, 2)))
	y := g.Conv2D(x, w, b, stride, pad)
	up := tensor.New(y.Shape()...)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range up.Data {
		up.Data[i] = float32(r.NormFloat64())
	}
	if err := g.Backward(g.Sum(g.Mul(y, up))); err != nil {
		t.Fatal(err)
	}
	c := func(s []float32) []float32 { return append([]float32(nil), s...) }
	return convRun{c(y.Data), c(x.Grad), c(w.Grad), c(b.Grad)}
}

// TestConv2DThreads checks the convolution split by image between a CPU's
// threads against the serial one: the output and the input gradient bit
// for bit, since each image is computed alike; the weight and bias
// gradients, summed per thread and then across threads, to rounding; and
// every run with a given thread count bit for bit like the last.
func TestConv2DThreads(t *testing.T) {
	type geom struct{ n, c, h, w, o, k, stride, pad int }
	for _, gm := range []geom{{5, 2, 9, 8, 3, 3, 1, 1}, {4, 1, 12, 12, 6, 5, 1, 2}, {3, 3, 7, 6, 4, 3, 2, 0}, {2, 6, 14, 14, 16, 5, 1, 0}} {
		r := rand.New(rand.NewPCG(uint64(gm.n), uint64(gm.h)))
		x := randT(r, true, gm.n, gm.c, gm.h, gm.w)
		w := randT(r, true, gm.o, gm.c, gm.k, gm.k)
		b := randT(r, true, gm.o)
		want := runConv(t, tensor.CPUBackend{}, x, w, b, gm.stride, gm.pad)
		for _, threads := range []int{2, 3} {
			t.Run(fmt.Sprintf("%+v/threads=%d", gm, threads), func(t *testing.T) {
				cpu, err := kernels.NewCPU(threads, kernels.ImplAuto)
				if err != nil {
					t.Fatal(err)
				}
				defer cpu.Close()
				be := tensor.CPUBackend{K: cpu}
				got := runConv(t, be, x, w, b, gm.stride, gm.pad)
				same := func(name string, got, want []float32) {
					t.Helper()
					for i := range want {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%s[%d] = %v, want %v", name, i, got[i], want[i])
						}
					}
				}
				same("y", got.y, want.y)
				same("dx", got.dx, want.dx)
				// Each gradient element sums n·oh·ow products.
				tol := float64(gm.n*gm.h*gm.w) * 0x1p-23 * 8
				assertNear(t, "dw", got.dw, want.dw, tol)
				assertNear(t, "db", got.db, want.db, tol)
				again := runConv(t, be, x, w, b, gm.stride, gm.pad)
				same("dw on a second run", again.dw, got.dw)
				same("db on a second run", again.db, got.db)
			})
		}
	}
}

func assertNear(t *testing.T, name string, got, want []float32, rtol float64) {
	t.Helper()
	var scale float64
	for _, v := range want {
		scale = max(scale, math.Abs(float64(v)))
	}
	for i := range want {
		if d := math.Abs(float64(got[i]) - float64(want[i])); d > rtol*scale {
			t.Fatalf("%s[%d] = %v, want %v (difference %.3g > %.3g)", name, i, got[i], want[i], d, rtol*scale)
		}
	}
}

// TestConv2DThreadsAllocateNothing extends the graph's promise to the
// convolution split between threads.
func TestConv2DThreadsAllocateNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocations are counted without -race")
	}
	cpu, err := kernels.NewCPU(2, kernels.ImplAuto)
	if err != nil {
		t.Fatal(err)
	}
	defer cpu.Close()
	r := rand.New(rand.NewPCG(5, 6))
	xs := randT(r, false, 4, 2, 9, 9).Data
	w, b := randT(r, true, 3, 2, 3, 3), randT(r, true, 3)
	g := tensor.NewGraph(tensor.CPUBackend{K: cpu}, rand.New(rand.NewPCG(1, 2)))
	x := tensor.New(4, 2, 9, 9)
	x.SetRequiresGrad(true)
	copy(x.Data, xs)
	step := func() error {
		g.Reset()
		return g.Backward(g.Sum(g.MaxPool2D(g.ReLU(g.Conv2D(x, w, b, 1, 1)), 2, 2)))
	}
	if err := step(); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(20, func() { _ = step() }); n != 0 {
		t.Errorf("a warmed-up convolution on two threads allocates %v times, want 0", n)
	}
}
