package tensor_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/troupe-ml/troupe/engine/tensor"
)

// Forward tests compare each operation's values with a naive float64
// reference. Every operation is run twice, once on inputs that require a
// gradient and once on inputs that do not, because the two paths keep
// different buffers (recorded columns and masks against per-op scratch).

func newGraph(seed uint64) *tensor.Graph {
	return tensor.NewGraph(tensor.CPUBackend{}, rand.New(rand.NewPCG(seed, 11)))
}

// randT returns a tensor of standard normal values.
func randT(r *rand.Rand, grad bool, shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	for i := range t.Data {
		t.Data[i] = float32(r.NormFloat64())
	}
	t.SetRequiresGrad(grad)
	return t
}

// cloneT copies t's values into a fresh tensor with the given gradient flag.
func f64(s []float32) []float64 {
	out := make([]float64, len(s))
	for i, v := range s {
		out[i] = float64(v)
	}
	return out
}

// assertClose fails unless |got − want| ≤ atol + rtol·|want| element by
// element and the shapes agree.
func assertClose(t *testing.T, name string, got *tensor.Tensor, wantShape []int, want []float64, atol, rtol float64) {
	t.Helper()
	if !tensor.SameShape(got.Shape(), wantShape) {
		t.Fatalf("%s: shape %v, want %v", name, got.Shape(), wantShape)
	}
	if len(got.Data) != len(want) {
		t.Fatalf("%s: %d values, want %d", name, len(got.Data), len(want))
	}
	bad := 0
	for i, w := range want {
		g := float64(got.Data[i])
		if math.IsNaN(g) || math.Abs(g-w) > atol+rtol*math.Abs(w) {
			if bad < 5 {
				t.Errorf("%s: element %d = %.7g, want %.7g", name, i, g, w)
			}
			bad++
		}
	}
	if bad > 5 {
		t.Errorf("%s: … %d mismatches in all", name, bad)
	}
}

// bothPaths runs f with inputs that do and do not require a gradient.
func bothPaths(t *testing.T, f func(t *testing.T, grad bool)) {
	t.Helper()
	for _, grad := range []bool{false, true} {
		t.Run(fmt.Sprintf("grad=%v", grad), func(t *testing.T) { f(t, grad) })
	}
}

// naiveMatMul returns a·b for a [m,k], b [k,n] in float64.
func naiveMatMul(a, b []float32, m, k, n int) []float64 {
	out := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				s += float64(a[i*k+p]) * float64(b[p*n+j])
			}
			out[i*n+j] = s
		}
	}
	return out
}

// tolerance for a float32 dot product of length k with unit-scale terms.
func dotTol(k int) float64 { return 1e-5 * math.Sqrt(float64(k)+1) * 4 }

func TestMatMulForward(t *testing.T) {
	// The last shape spans four 64×64 blocks of C, which makes the CPU GEMM
	// run in parallel; the others run serially.
	for _, s := range [][3]int{{1, 1, 1}, {3, 5, 7}, {17, 13, 11}, {1, 9, 1}, {65, 3, 70}} {
		m, k, n := s[0], s[1], s[2]
		t.Run(fmt.Sprint(s), func(t *testing.T) {
			bothPaths(t, func(t *testing.T, grad bool) {
				r := rand.New(rand.NewPCG(uint64(m*100+n), 1))
				a, b := randT(r, grad, m, k), randT(r, grad, k, n)
				got := newGraph(1).MatMul(a, b)
				assertClose(t, "MatMul", got, []int{m, n}, naiveMatMul(a.Data, b.Data, m, k, n), dotTol(k), 1e-5)
			})
		})
	}
}

func TestLinearForward(t *testing.T) {
	cases := []struct {
		x    []int
		out  int
		bias bool
	}{
		{[]int{5, 7}, 3, true},
		{[]int{5, 7}, 3, false},
		{[]int{1, 1}, 1, true},
		{[]int{2, 3, 7}, 4, true},
		{[]int{2, 3, 7}, 4, false},
		{[]int{7}, 2, true},
		{[]int{33, 19}, 70, true},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%v->%d/bias=%v", c.x, c.out, c.bias), func(t *testing.T) {
			bothPaths(t, func(t *testing.T, grad bool) {
				r := rand.New(rand.NewPCG(uint64(len(c.x)*10+c.out), 2))
				x := randT(r, grad, c.x...)
				in := c.x[len(c.x)-1]
				w := randT(r, grad, c.out, in)
				var b *tensor.Tensor
				if c.bias {
					b = randT(r, grad, c.out)
				}
				rows := x.Len() / in
				want := make([]float64, rows*c.out)
				for i := 0; i < rows; i++ {
					for o := 0; o < c.out; o++ {
						var s float64
						if b != nil {
							s = float64(b.Data[o])
						}
						for p := 0; p < in; p++ {
							s += float64(x.Data[i*in+p]) * float64(w.Data[o*in+p])
						}
						want[i*c.out+o] = s
					}
				}
				wantShape := append(append([]int(nil), c.x[:len(c.x)-1]...), c.out)
				got := newGraph(1).Linear(x, w, b)
				assertClose(t, "Linear", got, wantShape, want, dotTol(in), 1e-5)
			})
		})
	}
}

// naiveBroadcast applies f index by index under NumPy broadcasting rules.
func naiveBroadcast(a, b *tensor.Tensor, f func(x, y float64) float64) ([]int, []float64) {
	as, bs := a.Shape(), b.Shape()
	rank := max(len(as), len(bs))
	pad := func(s []int) []int {
		p := make([]int, rank)
		for i := range p {
			p[i] = 1
		}
		copy(p[rank-len(s):], s)
		return p
	}
	pa, pb := pad(as), pad(bs)
	shape := make([]int, rank)
	for i := range shape {
		shape[i] = max(pa[i], pb[i])
	}
	n := 1
	for _, d := range shape {
		n *= d
	}
	offset := func(idx, s []int) int {
		off := 0
		for i, d := range s {
			j := idx[i]
			if d == 1 {
				j = 0
			}
			off = off*d + j
		}
		return off
	}
	out := make([]float64, n)
	idx := make([]int, rank)
	for i := 0; i < n; i++ {
		rem := i
		for d := rank - 1; d >= 0; d-- {
			idx[d] = rem % shape[d]
			rem /= shape[d]
		}
		out[i] = f(float64(a.Data[offset(idx, pa)]), float64(b.Data[offset(idx, pb)]))
	}
	return shape, out
}

func TestBinaryBroadcastForward(t *testing.T) {
	pairs := [][2][]int{
		{{4, 1, 3}, {5, 1}},
		{{3}, {2, 3}},
		{{2, 3}, {3}},
		{{2, 3, 4}, {1}},
		{{1}, {2, 3, 4}},
		{{2, 3, 4}, {3, 1}},
		{{1, 5}, {7, 1}},
		{{3, 4}, {3, 4}},
		{{2, 1, 4, 1}, {3, 1, 5}},
		{{1}, {1}},
	}
	ops := []struct {
		name string
		op   func(g *tensor.Graph, a, b *tensor.Tensor) *tensor.Tensor
		f    func(x, y float64) float64
	}{
		{"Add", (*tensor.Graph).Add, func(x, y float64) float64 { return x + y }},
		{"Sub", (*tensor.Graph).Sub, func(x, y float64) float64 { return x - y }},
		{"Mul", (*tensor.Graph).Mul, func(x, y float64) float64 { return x * y }},
	}
	for _, op := range ops {
		for _, p := range pairs {
			t.Run(fmt.Sprintf("%s%v%v", op.name, p[0], p[1]), func(t *testing.T) {
				bothPaths(t, func(t *testing.T, grad bool) {
					r := rand.New(rand.NewPCG(uint64(len(p[0])), uint64(len(p[1]))))
					a, b := randT(r, grad, p[0]...), randT(r, grad, p[1]...)
					shape, want := naiveBroadcast(a, b, op.f)
					assertClose(t, op.name, op.op(newGraph(1), a, b), shape, want, 1e-6, 1e-6)
				})
			})
		}
	}
}

func TestBiasAddForward(t *testing.T) {
	for _, shape := range [][]int{{3, 5}, {2, 3, 4, 5}, {1, 4, 7}, {2, 1, 3, 3}} {
		t.Run(fmt.Sprint(shape), func(t *testing.T) {
			bothPaths(t, func(t *testing.T, grad bool) {
				r := rand.New(rand.NewPCG(uint64(len(shape)), 3))
				x, b := randT(r, grad, shape...), randT(r, grad, shape[1])
				c := shape[1]
				inner := x.Len() / (shape[0] * c)
				want := make([]float64, x.Len())
				for n := 0; n < shape[0]; n++ {
					for ch := 0; ch < c; ch++ {
						for k := 0; k < inner; k++ {
							i := (n*c+ch)*inner + k
							want[i] = float64(x.Data[i]) + float64(b.Data[ch])
						}
					}
				}
				assertClose(t, "BiasAdd", newGraph(1).BiasAdd(x, b), shape, want, 1e-6, 1e-6)
			})
		})
	}
}

// naiveConv2D is a direct convolution: seven nested loops, zero padding.
func naiveConv2D(x, w, b *tensor.Tensor, stride, pad int) ([]int, []float64) {
	n, c, h, wd := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
	o, kh, kw := w.Dim(0), w.Dim(2), w.Dim(3)
	oh, ow := (h+2*pad-kh)/stride+1, (wd+2*pad-kw)/stride+1
	out := make([]float64, n*o*oh*ow)
	for in := 0; in < n; in++ {
		for oc := 0; oc < o; oc++ {
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					var s float64
					if b != nil {
						s = float64(b.Data[oc])
					}
					for ic := 0; ic < c; ic++ {
						for ki := 0; ki < kh; ki++ {
							for kj := 0; kj < kw; kj++ {
								iy, ix := oy*stride-pad+ki, ox*stride-pad+kj
								if iy < 0 || iy >= h || ix < 0 || ix >= wd {
									continue
								}
								s += float64(x.Data[((in*c+ic)*h+iy)*wd+ix]) * float64(w.Data[((oc*c+ic)*kh+ki)*kw+kj])
							}
						}
					}
					out[((in*o+oc)*oh+oy)*ow+ox] = s
				}
			}
		}
	}
	return []int{n, o, oh, ow}, out
}

func TestConv2DForward(t *testing.T) {
	type geom struct{ n, c, h, w, o, kh, kw, stride, pad int }
	var cases []geom
	for stride := 1; stride <= 3; stride++ {
		for pad := 0; pad <= 2; pad++ {
			cases = append(cases,
				geom{2, 3, 9, 7, 4, 3, 3, stride, pad},
				geom{1, 1, 6, 11, 2, 2, 3, stride, pad},
				geom{3, 2, 5, 8, 5, 1, 1, stride, pad},
			)
		}
	}
	cases = append(cases,
		geom{1, 4, 5, 5, 3, 5, 5, 1, 0},   // kernel covers the whole image
		geom{2, 2, 4, 3, 1, 3, 2, 2, 2},   // windows lying mostly in the padding
		geom{1, 6, 13, 10, 7, 5, 3, 3, 1}, // many channels, odd kernel
	)
	for _, gm := range cases {
		for _, bias := range []bool{true, false} {
			t.Run(fmt.Sprintf("%+v/bias=%v", gm, bias), func(t *testing.T) {
				bothPaths(t, func(t *testing.T, grad bool) {
					r := rand.New(rand.NewPCG(uint64(gm.h*gm.w), uint64(gm.stride*10+gm.pad)))
					x := randT(r, grad, gm.n, gm.c, gm.h, gm.w)
					w := randT(r, grad, gm.o, gm.c, gm.kh, gm.kw)
					var b *tensor.Tensor
					if bias {
						b = randT(r, grad, gm.o)
					}
					shape, want := naiveConv2D(x, w, b, gm.stride, gm.pad)
					got := newGraph(1).Conv2D(x, w, b, gm.stride, gm.pad)
					assertClose(t, "Conv2D", got, shape, want, dotTol(gm.c*gm.kh*gm.kw), 1e-5)
				})
			})
		}
	}
}

func naiveMaxPool(x *tensor.Tensor, size, stride int) ([]int, []float64) {
	n, c, h, w := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
	oh, ow := (h-size)/stride+1, (w-size)/stride+1
	out := make([]float64, n*c*oh*ow)
	for p := 0; p < n*c; p++ {
		for i := 0; i < oh; i++ {
			for j := 0; j < ow; j++ {
				m := math.Inf(-1)
				for di := 0; di < size; di++ {
					for dj := 0; dj < size; dj++ {
						m = math.Max(m, float64(x.Data[p*h*w+(i*stride+di)*w+j*stride+dj]))
					}
				}
				out[(p*oh+i)*ow+j] = m
			}
		}
	}
	return []int{n, c, oh, ow}, out
}

func TestMaxPool2DForward(t *testing.T) {
	for _, size := range []int{2, 3} {
		for _, stride := range []int{1, 2} {
			for _, shape := range [][]int{{2, 3, 7, 6}, {1, 1, 3, 8}, {1, 2, 5, 5}} {
				t.Run(fmt.Sprintf("size%d/stride%d/%v", size, stride, shape), func(t *testing.T) {
					bothPaths(t, func(t *testing.T, grad bool) {
						r := rand.New(rand.NewPCG(uint64(size), uint64(stride)))
						x := randT(r, grad, shape...)
						wantShape, want := naiveMaxPool(x, size, stride)
						assertClose(t, "MaxPool2D", newGraph(1).MaxPool2D(x, size, stride), wantShape, want, 0, 0)
					})
				})
			}
		}
	}
}

// activationInputs covers ordinary values and magnitudes where a naive
// formula overflows.
func activationInputs(r *rand.Rand) []float32 {
	xs := []float32{0, 1, -1, 0.5, -0.5, 3, -3, 10, -10, 20, -20, 50, -50, 88, -88, 89, -89, 100, -100, 1e4, -1e4, 3e38, -3e38}
	for i := 0; i < 41; i++ {
		xs = append(xs, float32(4*r.NormFloat64()))
	}
	return xs
}

func TestActivationsForward(t *testing.T) {
	phi := func(x float64) float64 { return 0.5 * (1 + math.Erf(x/math.Sqrt2)) }
	cases := []struct {
		name string
		op   func(g *tensor.Graph, x *tensor.Tensor) *tensor.Tensor
		f    func(x float64) float64
	}{
		{"ReLU", (*tensor.Graph).ReLU, func(x float64) float64 { return math.Max(x, 0) }},
		{"GELU", (*tensor.Graph).GELU, func(x float64) float64 { return x * phi(x) }},
		{"Tanh", (*tensor.Graph).Tanh, math.Tanh},
		{"Sigmoid", (*tensor.Graph).Sigmoid, func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bothPaths(t, func(t *testing.T, grad bool) {
				xs := activationInputs(rand.New(rand.NewPCG(4, 4)))
				x := tensor.FromData(xs, len(xs))
				x.SetRequiresGrad(grad)
				want := make([]float64, len(xs))
				for i, v := range xs {
					want[i] = c.f(float64(v))
				}
				got := c.op(newGraph(1), x)
				for i, v := range got.Data {
					if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
						t.Errorf("%s(%g) = %g, want a finite value", c.name, xs[i], v)
					}
				}
				assertClose(t, c.name, got, []int{len(xs)}, want, 1e-7, 1e-6)
			})
		})
	}
}

func TestSigmoidSaturates(t *testing.T) {
	g := newGraph(1)
	got := g.Sigmoid(tensor.FromData([]float32{-100, 100, -1e30, 1e30}, 4))
	want := []float32{0, 1, 0, 1}
	for i, v := range got.Data {
		// e^−100 ≈ 3.7e−44 is a float32 subnormal; anything that small is 0.
		if math.Abs(float64(v-want[i])) > 1e-30 {
			t.Errorf("Sigmoid element %d = %g, want %g", i, v, want[i])
		}
	}
}

func TestLayerNormForward(t *testing.T) {
	const eps = 1e-5
	for _, shape := range [][]int{{3, 7}, {2, 3, 5}, {1, 1}, {4, 64}, {9}} {
		t.Run(fmt.Sprint(shape), func(t *testing.T) {
			bothPaths(t, func(t *testing.T, grad bool) {
				r := rand.New(rand.NewPCG(uint64(len(shape)), 5))
				x := randT(r, grad, shape...)
				// Shift and scale rows so normalisation has work to do.
				for i := range x.Data {
					x.Data[i] = 3*x.Data[i] + 7
				}
				d := shape[len(shape)-1]
				rows := x.Len() / d

				one, zero := tensor.New(d), tensor.New(d)
				for i := range one.Data {
					one.Data[i] = 1
				}
				one.SetRequiresGrad(grad)
				zero.SetRequiresGrad(grad)
				y := newGraph(1).LayerNorm(x, one, zero, eps)
				if d > 1 {
					for rw := 0; rw < rows; rw++ {
						var mean, vr float64
						row := f64(y.Data[rw*d : (rw+1)*d])
						for _, v := range row {
							mean += v
						}
						mean /= float64(d)
						for _, v := range row {
							vr += (v - mean) * (v - mean)
						}
						vr /= float64(d)
						if math.Abs(mean) > 1e-5 || math.Abs(vr-1) > 1e-4 {
							t.Errorf("row %d: mean %g, variance %g; want 0 and 1", rw, mean, vr)
						}
					}
				}

				gamma, beta := randT(r, grad, d), randT(r, grad, d)
				want := make([]float64, x.Len())
				for rw := 0; rw < rows; rw++ {
					row := f64(x.Data[rw*d : (rw+1)*d])
					var mean, vr float64
					for _, v := range row {
						mean += v
					}
					mean /= float64(d)
					for _, v := range row {
						vr += (v - mean) * (v - mean)
					}
					vr /= float64(d)
					for i, v := range row {
						want[rw*d+i] = (v-mean)/math.Sqrt(vr+eps)*float64(gamma.Data[i]) + float64(beta.Data[i])
					}
				}
				assertClose(t, "LayerNorm", newGraph(1).LayerNorm(x, gamma, beta, eps), shape, want, 1e-5, 1e-5)
			})
		})
	}
}

func TestEmbeddingForward(t *testing.T) {
	bothPaths(t, func(t *testing.T, grad bool) {
		r := rand.New(rand.NewPCG(6, 6))
		table := randT(r, grad, 7, 3)
		ids := []int32{6, 0, 3, 3, 1}
		want := make([]float64, 0, len(ids)*3)
		for _, id := range ids {
			want = append(want, f64(table.Data[id*3:(id+1)*3])...)
		}
		g := newGraph(1)
		assertClose(t, "Embedding", g.Embedding(ids, table), []int{5, 3}, want, 0, 0)
		if err := g.Err(); err != nil {
			t.Fatalf("Err() = %v for ids in range", err)
		}
	})
}

func TestEmbeddingOutOfRange(t *testing.T) {
	for _, bad := range []int32{7, 1000, -1} {
		t.Run(fmt.Sprint(bad), func(t *testing.T) {
			r := rand.New(rand.NewPCG(6, 7))
			table := randT(r, true, 7, 3)
			g := newGraph(1)
			y := g.Embedding([]int32{2, bad, 4}, table)
			err := g.Err()
			if err == nil {
				t.Fatalf("Err() = nil after id %d with a 7-row table", bad)
			}
			if !strings.Contains(err.Error(), fmt.Sprint(bad)) {
				t.Errorf("Err() = %q, want it to name id %d", err, bad)
			}
			for i, v := range y.Data[3:6] {
				if v != 0 {
					t.Errorf("row for the bad id: element %d = %g, want 0", i, v)
				}
			}
			if bErr := g.Backward(g.Sum(y)); bErr == nil {
				t.Error("Backward succeeded on a graph holding an error")
			}
			g.Reset()
			if err := g.Err(); err != nil {
				t.Errorf("Err() after Reset = %v, want nil", err)
			}
		})
	}
}

// naiveCE returns the per-row loss −Σ q log p with q = (1−ε)·onehot + ε/K,
// computing log-softmax in float64 with the maximum subtracted.
func naiveCE(logits []float32, n, k int, targets []int32, eps float64) []float64 {
	out := make([]float64, n)
	for i := 0; i < n; i++ {
		row := f64(logits[i*k : (i+1)*k])
		m := math.Inf(-1)
		for _, v := range row {
			m = math.Max(m, v)
		}
		var z float64
		for _, v := range row {
			z += math.Exp(v - m)
		}
		var loss float64
		for j, v := range row {
			q := eps / float64(k)
			if j == int(targets[i]) {
				q += 1 - eps
			}
			loss -= q * (v - m - math.Log(z))
		}
		out[i] = loss
	}
	return out
}

func mean(s []float64) float64 {
	var t float64
	for _, v := range s {
		t += v
	}
	return t / float64(len(s))
}

func TestSoftmaxCrossEntropyForward(t *testing.T) {
	cases := []struct {
		name   string
		n, k   int
		scale  float32
		smooth float32
	}{
		{"plain", 5, 7, 1, 0},
		{"two-classes", 9, 2, 3, 0},
		{"one-class", 3, 1, 1, 0},
		{"smoothing0.1", 6, 5, 2, 0.1},
		{"smoothing0.5", 4, 11, 1, 0.5},
		{"huge-logits", 4, 6, 1e4, 0},
		{"huge-logits-smoothing", 4, 6, 1e4, 0.2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bothPaths(t, func(t *testing.T, grad bool) {
				r := rand.New(rand.NewPCG(uint64(c.n), uint64(c.k)))
				logits := randT(r, false, c.n, c.k)
				for i := range logits.Data {
					logits.Data[i] *= c.scale
				}
				logits.SetRequiresGrad(grad)
				targets := make([]int32, c.n)
				for i := range targets {
					targets[i] = int32(r.IntN(c.k))
				}
				per := make([]float32, c.n)
				g := newGraph(1)
				loss := g.SoftmaxCrossEntropy(logits, targets, c.smooth, per)
				if err := g.Err(); err != nil {
					t.Fatal(err)
				}
				want := naiveCE(logits.Data, c.n, c.k, targets, float64(c.smooth))
				// Relative 1e-5 of the loss plus rounding of logits − max,
				// which is at most one ulp of the largest logit.
				tol := func(w float64) float64 { return 1e-5*math.Abs(w) + 1e-6 + 2e-7*float64(c.scale) }
				for i, w := range want {
					if v := float64(per[i]); math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v-w) > tol(w) {
						t.Errorf("row %d loss %g, want %g", i, v, w)
					}
				}
				if v, w := float64(loss.Item()), mean(want); math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v-w) > tol(w) {
					t.Errorf("mean loss %g, want %g", v, w)
				}
				if grad {
					if err := g.Backward(loss); err != nil {
						t.Fatal(err)
					}
					for i, v := range logits.Grad {
						if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
							t.Fatalf("gradient element %d = %g", i, v)
						}
					}
				}
			})
		})
	}
}

func TestSoftmaxCrossEntropyWithoutPerSample(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	logits := randT(r, false, 3, 4)
	targets := []int32{3, 0, 1}
	got := newGraph(1).SoftmaxCrossEntropy(logits, targets, 0, nil).Item()
	want := mean(naiveCE(logits.Data, 3, 4, targets, 0))
	if math.Abs(float64(got)-want) > 1e-6*(1+math.Abs(want)) {
		t.Errorf("loss %g, want %g", got, want)
	}
}

func TestSoftmaxCrossEntropyBadTarget(t *testing.T) {
	for _, bad := range []int32{4, 99, -1} {
		t.Run(fmt.Sprint(bad), func(t *testing.T) {
			r := rand.New(rand.NewPCG(8, 9))
			logits := randT(r, true, 3, 4)
			g := newGraph(1)
			loss := g.SoftmaxCrossEntropy(logits, []int32{1, bad, 2}, 0, nil)
			err := g.Err()
			if err == nil {
				t.Fatalf("Err() = nil after target %d with 4 classes", bad)
			}
			if !strings.Contains(err.Error(), fmt.Sprint(bad)) {
				t.Errorf("Err() = %q, want it to name target %d", err, bad)
			}
			if bErr := g.Backward(loss); bErr == nil {
				t.Error("Backward succeeded on a graph holding an error")
			}
		})
	}
}

func TestMSEForward(t *testing.T) {
	for _, shape := range [][]int{{1}, {3, 4}, {2, 3, 5}} {
		t.Run(fmt.Sprint(shape), func(t *testing.T) {
			bothPaths(t, func(t *testing.T, grad bool) {
				r := rand.New(rand.NewPCG(9, uint64(len(shape))))
				p, q := randT(r, grad, shape...), randT(r, grad, shape...)
				var s float64
				for i := range p.Data {
					d := float64(p.Data[i]) - float64(q.Data[i])
					s += d * d
				}
				want := s / float64(p.Len())
				assertClose(t, "MSE", newGraph(1).MSE(p, q), []int{1}, []float64{want}, 1e-6, 1e-6)
			})
		})
	}
}

func TestSumForward(t *testing.T) {
	r := rand.New(rand.NewPCG(10, 10))
	x := randT(r, false, 3, 5, 7)
	var s float64
	for _, v := range x.Data {
		s += float64(v)
	}
	assertClose(t, "Sum", newGraph(1).Sum(x), []int{1}, []float64{s}, 1e-5, 1e-6)
}

func TestDropoutEvalIsIdentity(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 11))
	x := randT(r, true, 4, 5)
	g := newGraph(1)
	g.SetTraining(false)
	if got := g.Dropout(x, 0.5); got != x {
		t.Errorf("eval-mode Dropout returned %p, want its input %p", got, x)
	}
	g.SetTraining(true)
	if got := g.Dropout(x, 0); got != x {
		t.Errorf("Dropout with p = 0 returned %p, want its input %p", got, x)
	}
}

func TestDropoutTrain(t *testing.T) {
	const n = 20000
	for _, p := range []float32{0.1, 0.3, 0.5, 0.9} {
		t.Run(fmt.Sprint(p), func(t *testing.T) {
			bothPaths(t, func(t *testing.T, grad bool) {
				x := tensor.New(n)
				for i := range x.Data {
					x.Data[i] = 1 + float32(i%13) // never zero
				}
				x.SetRequiresGrad(grad)
				y := newGraph(1).Dropout(x, p)
				zeros := 0
				for i, v := range y.Data {
					if v == 0 {
						zeros++
						continue
					}
					want := float64(x.Data[i]) / (1 - float64(p))
					if math.Abs(float64(v)-want) > 1e-6*want {
						t.Fatalf("survivor %d = %g, want %g", i, v, want)
					}
				}
				// Dropped count is Binomial(n, p): allow six standard deviations.
				frac := float64(zeros) / n
				sd := math.Sqrt(float64(p) * (1 - float64(p)) / n)
				if math.Abs(frac-float64(p)) > 6*sd {
					t.Errorf("dropped fraction %.4f, want %.2f ± %.4f", frac, p, 6*sd)
				}
			})
		})
	}
}

func TestDropoutMaskRepeatsWithSeed(t *testing.T) {
	x := tensor.New(500)
	for i := range x.Data {
		x.Data[i] = 1
	}
	run := func(seed uint64, grad bool) []float32 {
		x.SetRequiresGrad(grad)
		return append([]float32(nil), newGraph(seed).Dropout(x, 0.5).Data...)
	}
	a, b := run(3, false), run(3, true)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed, element %d: %g and %g", i, a[i], b[i])
		}
	}
	c := run(4, false)
	same := 0
	for i := range a {
		if a[i] == c[i] {
			same++
		}
	}
	if same == len(a) {
		t.Error("different seeds gave the same mask")
	}
}

func TestReshapeForward(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 12))
	x := randT(r, true, 2, 3, 4)
	cases := []struct {
		shape, want []int
	}{
		{[]int{4, -1}, []int{4, 6}},
		{[]int{-1, 2}, []int{12, 2}},
		{[]int{2, -1, 3}, []int{2, 4, 3}},
		{[]int{-1}, []int{24}},
		{[]int{24}, []int{24}},
		{[]int{1, 2, 3, 4}, []int{1, 2, 3, 4}},
	}
	for _, c := range cases {
		y := newGraph(1).Reshape(x, c.shape...)
		assertClose(t, fmt.Sprintf("Reshape%v", c.shape), y, c.want, f64(x.Data), 0, 0)
	}
	y := newGraph(1).Flatten(x)
	assertClose(t, "Flatten", y, []int{2, 12}, f64(x.Data), 0, 0)
}

func TestReshapeRejectsBadShapes(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 13))
	x := randT(r, false, 2, 3)
	for _, shape := range [][]int{{4, -1}, {5}, {-1, -1}, {-2, -3}} {
		t.Run(fmt.Sprint(shape), func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("Reshape(%v, %v) did not panic", x.Shape(), shape)
				}
			}()
			newGraph(1).Reshape(x, shape...)
		})
	}
}

func TestBackwardErrors(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 13))
	w := randT(r, true, 3, 4)
	x := randT(r, false, 2, 4)

	g := newGraph(1)
	y := g.Linear(x, w, nil)
	err := g.Backward(y)
	if err == nil {
		t.Error("Backward of a [2, 3] output succeeded, want an error")
	} else if !strings.Contains(err.Error(), "[2 3]") {
		t.Errorf("Backward of a [2, 3] output: error %q does not name the shape", err)
	}

	g = newGraph(1)
	if err := g.Backward(g.Sum(x)); err == nil {
		t.Error("Backward of a loss that needs no gradient succeeded, want an error")
	}

	g = newGraph(1)
	g.SetNoGrad(true)
	if err := g.Backward(g.Sum(g.Linear(x, w, nil))); err == nil {
		t.Error("Backward in no-grad mode succeeded, want an error")
	}
}

// TestBackwardAccumulates checks that parameter gradients add up over
// Backward calls while intermediate ones restart from zero.
func TestBackwardAccumulates(t *testing.T) {
	r := rand.New(rand.NewPCG(14, 14))
	w := randT(r, true, 3, 4)
	xs := randT(r, false, 2, 4).Data
	g := newGraph(1)
	step := func() {
		g.Reset()
		h := g.Tanh(g.Linear(g.Input(xs, 2, 4), w, nil))
		if err := g.Backward(g.Sum(g.Mul(h, h))); err != nil {
			t.Fatal(err)
		}
	}
	step()
	once := append([]float32(nil), w.Grad...)
	step()
	for i, v := range w.Grad {
		if math.Abs(float64(v-2*once[i])) > 1e-6*(1+math.Abs(float64(v))) {
			t.Fatalf("gradient element %d after two steps = %g, want 2 × %g", i, v, once[i])
		}
	}
}

func TestInputCopies(t *testing.T) {
	data := []float32{1, 2, 3, 4, 5, 6}
	g := newGraph(1)
	x := g.Input(data, 2, 3)
	data[0] = 99
	if x.Data[0] != 1 {
		t.Errorf("Input aliases its data: element 0 = %g after the caller changed it", x.Data[0])
	}
	if x.RequiresGrad() {
		t.Error("Input requires a gradient")
	}
	assertClose(t, "Input", x, []int{2, 3}, []float64{1, 2, 3, 4, 5, 6}, 0, 0)
}

func TestDropoutRejectsBadP(t *testing.T) {
	x := tensor.New(3)
	for _, p := range []float32{-0.1, 1, 2, float32(math.NaN())} {
		t.Run(fmt.Sprint(p), func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("Dropout(p = %v) did not panic", p)
				}
			}()
			newGraph(1).Dropout(x, p)
		})
	}
}
