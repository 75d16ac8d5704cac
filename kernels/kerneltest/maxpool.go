package kerneltest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// MaxPoolFunc is the signature of kernels.MaxPool.
type MaxPoolFunc func(x []float32, planes, h, w, size, stride int, y []float32, arg []int32)

// TestMaxPool checks maxPool against RefMaxPool on random geometries with
// windows and strides 1..3, on 2×2 windows with stride 2 (the common
// case, which kernels special-case) over rows up to 70 wide, and on inputs
// full of ties, zeros of both signs, infinities and NaN, with and without
// arg. Results must be exact, down to which of equal elements is chosen;
// x must not change and nothing may be written outside y and arg.
func TestMaxPool(t *testing.T, maxPool MaxPoolFunc) {
	t.Helper()
	checkMaxPool(t, maxPool)
}

// RefMaxPool is a naive reference for MaxPoolFunc: each window's first
// maximum in row-major order, a later element winning only if greater.
func RefMaxPool(x []float32, planes, h, w, size, stride int, y []float32, arg []int32) {
	oh, ow := convOut(h, size, 0, stride), convOut(w, size, 0, stride)
	for p := range planes {
		for i := range oh {
			for j := range ow {
				o := (p*oh+i)*ow + j
				best := p*h*w + i*stride*w + j*stride
				for di := range size {
					for dj := range size {
						e := p*h*w + (i*stride+di)*w + j*stride + dj
						if x[e] > x[best] {
							best = e
						}
					}
				}
				y[o] = x[best]
				if arg != nil {
					arg[o] = int32(best)
				}
			}
		}
	}
}

type poolCase struct{ planes, h, w, size, stride int }

func (c poolCase) String() string {
	return fmt.Sprintf("planes=%d h=%d w=%d size=%d stride=%d", c.planes, c.h, c.w, c.size, c.stride)
}

func checkMaxPool(r reporter, maxPool MaxPoolFunc) {
	r.Helper()
	rng := rand.New(rand.NewPCG(7, 8))
	var cases []poolCase
	for w := 2; w <= 70; w++ {
		cases = append(cases, poolCase{1 + rng.IntN(3), 2 + rng.IntN(6), w, 2, 2})
	}
	for size := 1; size <= 3; size++ {
		for stride := 1; stride <= 3; stride++ {
			for range 4 {
				c := poolCase{1 + rng.IntN(3), size + rng.IntN(9), size + rng.IntN(9), size, stride}
				cases = append(cases, c)
			}
		}
	}
	f := &failures{r: r}
	for i, c := range cases {
		if !poolCheckCase(f, rng, maxPool, c, i%2 == 0) {
			return
		}
	}
}

func poolCheckCase(f *failures, rng *rand.Rand, maxPool MaxPoolFunc, c poolCase, withArg bool) bool {
	f.r.Helper()
	oh, ow := convOut(c.h, c.size, 0, c.stride), convOut(c.w, c.size, 0, c.stride)
	n := c.planes * oh * ow
	x := newMatrix(rng, 1, c.planes*c.h*c.w, max(1, c.planes*c.h*c.w), false)
	// Few distinct values make ties common; specials test the rule.
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}
	d := x.data()
	for i := range d {
		d[i] = float32(rng.IntN(5) - 2)
		if rng.IntN(10) == 0 {
			d[i] = special[rng.IntN(len(special))]
		}
	}
	x0 := x.clone()
	y := newMatrix(rng, 1, n, max(1, n), true)
	const argGuard = -7
	argBuf := make([]int32, guardLen+n+guardLen)
	for i := range argBuf {
		argBuf[i] = argGuard
	}
	var arg []int32
	if withArg {
		arg = argBuf[guardLen : guardLen+n]
	}
	what := fmt.Sprintf("MaxPool %v arg=%t", c, withArg)
	if err := call(func() { maxPool(x.data(), c.planes, c.h, c.w, c.size, c.stride, y.data(), arg) }); err != nil {
		return f.fail("%s: %v", what, err)
	}
	if i, ok := x.unchanged(x0); !ok {
		return f.fail("%s: modified x at buffer index %d", what, i)
	}
	if i, ok := y.guardsIntact(); !ok {
		return f.fail("%s: wrote outside y at buffer index %d", what, i)
	}
	for i, v := range argBuf {
		if (i < guardLen || i >= guardLen+n || !withArg) && v != argGuard {
			return f.fail("%s: wrote outside arg at buffer index %d", what, i)
		}
	}
	wantY, wantArg := make([]float32, n), make([]int32, n)
	RefMaxPool(x0.data(), c.planes, c.h, c.w, c.size, c.stride, wantY, wantArg)
	for i := range n {
		if got := y.at(0, i); math.Float32bits(got) != math.Float32bits(wantY[i]) && !(got != got && wantY[i] != wantY[i]) {
			return f.fail("%s: y[%d] = %v, want %v", what, i, got, wantY[i])
		}
		if withArg && arg[i] != wantArg[i] {
			return f.fail("%s: arg[%d] = %d, want %d (window of %v)", what, i, arg[i], wantArg[i], slices.Clone(x0.data()[wantArg[i]:wantArg[i]+1]))
		}
	}
	return true
}
