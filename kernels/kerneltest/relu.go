package kerneltest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// ReLUFunc is the signature of kernels.ReLU: y = max(x, 0) elementwise.
type ReLUFunc func(x, y []float32)

// ReLUBackwardFunc is the signature of kernels.ReLUBackward: dx += dy
// where x > 0.
type ReLUBackwardFunc func(x, dy, dx []float32)

// TestReLU checks relu and its gradient against RefReLU and
// RefReLUBackward for every length 0..67 and a few long ones, on inputs
// that mix ordinary values with zeros of both signs, infinities and NaN,
// and relu in place as well. The results must be exact: NaN where the
// reference has NaN, equal values (either sign of zero) elsewhere. Inputs
// must not change and nothing may be written outside the outputs.
func TestReLU(t *testing.T, relu ReLUFunc, backward ReLUBackwardFunc) {
	t.Helper()
	checkReLU(t, relu, backward)
}

// RefReLU is a naive reference for ReLUFunc: Go's max, under which NaN
// stays NaN.
func RefReLU(x, y []float32) {
	for i, v := range x {
		y[i] = max(v, 0)
	}
}

// RefReLUBackward is a naive reference for ReLUBackwardFunc.
func RefReLUBackward(x, dy, dx []float32) {
	for i, v := range x {
		if v > 0 {
			dx[i] += dy[i]
		}
	}
}

// reluInputs fills the window of m with values of which about one in
// eight is special.
func reluInputs(rng *rand.Rand, m matrix) {
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 1e-40, -1e-40}
	d := m.data()
	for i := range d {
		if rng.IntN(8) == 0 {
			d[i] = special[rng.IntN(len(special))]
		}
	}
}

// sameValue reports whether got and want are both NaN or equal.
func sameValue(got, want float32) bool {
	if want != want {
		return got != got
	}
	return got == want
}

func checkReLU(r reporter, relu ReLUFunc, backward ReLUBackwardFunc) {
	r.Helper()
	lengths := []int{}
	for n := range 68 {
		lengths = append(lengths, n)
	}
	lengths = append(lengths, 255, 1000, 4099)
	rng := rand.New(rand.NewPCG(5, 6))
	f := &failures{r: r}
	for _, n := range lengths {
		for _, inPlace := range []bool{false, true} {
			if !reluCheckCase(f, rng, relu, n, inPlace) {
				return
			}
		}
		if !reluBackwardCheckCase(f, rng, backward, n) {
			return
		}
	}
}

func reluCheckCase(f *failures, rng *rand.Rand, relu ReLUFunc, n int, inPlace bool) bool {
	f.r.Helper()
	ld := max(1, n)
	x, y := newMatrix(rng, 1, n, ld, false), newMatrix(rng, 1, n, ld, true)
	reluInputs(rng, x)
	x0 := x.clone()
	out := y
	if inPlace {
		out = x
	}
	what := fmt.Sprintf("ReLU n=%d in place=%t", n, inPlace)
	if err := call(func() { relu(x.data(), out.data()) }); err != nil {
		return f.fail("%s: %v", what, err)
	}
	if !inPlace {
		if i, ok := x.unchanged(x0); !ok {
			return f.fail("%s: modified x at buffer index %d", what, i)
		}
	}
	if i, ok := out.guardsIntact(); !ok {
		return f.fail("%s: wrote outside y at buffer index %d", what, i)
	}
	want := make([]float32, n)
	RefReLU(x0.data(), want)
	for i := range n {
		if got := out.at(0, i); !sameValue(got, want[i]) {
			return f.fail("%s: y[%d] = %v for x = %v, want %v", what, i, got, x0.at(0, i), want[i])
		}
	}
	return true
}

func reluBackwardCheckCase(f *failures, rng *rand.Rand, backward ReLUBackwardFunc, n int) bool {
	f.r.Helper()
	ld := max(1, n)
	x, dy, dx := newMatrix(rng, 1, n, ld, false), newMatrix(rng, 1, n, ld, false), newMatrix(rng, 1, n, ld, false)
	reluInputs(rng, x)
	x0, dy0, dx0 := x.clone(), dy.clone(), dx.clone()
	what := fmt.Sprintf("ReLUBackward n=%d", n)
	if err := call(func() { backward(x.data(), dy.data(), dx.data()) }); err != nil {
		return f.fail("%s: %v", what, err)
	}
	if i, ok := x.unchanged(x0); !ok {
		return f.fail("%s: modified x at buffer index %d", what, i)
	}
	if i, ok := dy.unchanged(dy0); !ok {
		return f.fail("%s: modified dy at buffer index %d", what, i)
	}
	if i, ok := dx.guardsIntact(); !ok {
		return f.fail("%s: wrote outside dx at buffer index %d", what, i)
	}
	want := dx0.clone().data()
	RefReLUBackward(x0.data(), dy0.data(), want)
	for i := range n {
		if got := dx.at(0, i); !sameValue(got, want[i]) {
			return f.fail("%s: dx[%d] = %v for x = %v, dy = %v, dx = %v; want %v", what, i, got, x0.at(0, i), dy0.at(0, i), dx0.at(0, i), want[i])
		}
	}
	return true
}
