package tensor_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/troupe-ml/troupe/engine/tensor"
	"github.com/troupe-ml/troupe/engine/tensor/tensortest"
	"github.com/troupe-ml/troupe/kernels"
)

// convRef is a convolution's forward and backward pass in float64 from the
// definition, with, for each result, the sum of the magnitudes of its
// terms, which bounds its float32 rounding error.
type convRef struct {
	y, dx, dw, db             []float64
	yAbs, dxAbs, dwAbs, dbAbs []float64
}

// naiveConvPass computes y = conv(x, w) + b and, for the upstream gradient
// up, the gradients of Σ y·up, added to the given initial gradients.
func naiveConvPass(x, w, b, up *tensor.Tensor, stride, pad int, dx0, dw0, db0 []float32) convRef {
	n, c, h, wd := x.Dim(0), x.Dim(1), x.Dim(2), x.Dim(3)
	o, kh, kw := w.Dim(0), w.Dim(2), w.Dim(3)
	oh, ow := (h+2*pad-kh)/stride+1, (wd+2*pad-kw)/stride+1
	var r convRef
	r.y, r.yAbs = make([]float64, n*o*oh*ow), make([]float64, n*o*oh*ow)
	r.dx, r.dxAbs = f64(dx0), make([]float64, len(dx0))
	r.dw, r.dwAbs = f64(dw0), make([]float64, len(dw0))
	r.db, r.dbAbs = f64(db0), make([]float64, len(db0))
	for i := range n {
		for oc := range o {
			for oy := range oh {
				for ox := range ow {
					yi := ((i*o+oc)*oh+oy)*ow + ox
					if b != nil {
						r.y[yi] = float64(b.Data[oc])
						r.yAbs[yi] = math.Abs(r.y[yi])
					}
					d := float64(up.Data[yi])
					if len(r.db) > 0 {
						r.db[oc] += d
						r.dbAbs[oc] += math.Abs(d)
					}
					for ic := range c {
						for ki := range kh {
							for kj := range kw {
								iy, ix := oy*stride-pad+ki, ox*stride-pad+kj
								if iy < 0 || iy >= h || ix < 0 || ix >= wd {
									continue
								}
								xi := ((i*c+ic)*h+iy)*wd + ix
								wi := ((oc*c+ic)*kh+ki)*kw + kj
								xv, wv := float64(x.Data[xi]), float64(w.Data[wi])
								r.y[yi] += xv * wv
								r.yAbs[yi] += math.Abs(xv * wv)
								if len(r.dx) > 0 {
									r.dx[xi] += d * wv
									r.dxAbs[xi] += math.Abs(d * wv)
								}
								if len(r.dw) > 0 {
									r.dw[wi] += d * xv
									r.dwAbs[wi] += math.Abs(d * xv)
								}
							}
						}
					}
				}
			}
		}
	}
	return r
}

// assertConvClose fails unless every got[i] is within a float32 rounding
// bound of want[i]: a few ulps of the sum of its terms' magnitudes, grown
// with the square root of their number.
func assertConvClose(t *testing.T, name string, got []float32, want, abs []float64, terms int) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
	}
	for i := range want {
		scale := 1.0
		if abs != nil {
			scale = abs[i] + 1
		}
		tol := 4 * 0x1p-23 * math.Sqrt(float64(terms)+1) * scale
		if d := math.Abs(float64(got[i]) - want[i]); !(d <= tol) {
			t.Fatalf("%s[%d] = %v, want %v (difference %.3g > %.3g)", name, i, got[i], want[i], d, tol)
		}
	}
}

// TestConv2DChannelsLast checks the convolution's forward and backward
// passes against the float64 definition on geometries the channels-last
// formulation takes (stride 1, many output channels, 1×1 to 5×5 kernels,
// non-square ones, padding from none to the largest it takes) and some
// next to them that it leaves to the NCHW one, with batches of 1 to 7
// images, serially and on two and three threads, with and without a
// bias, with gradients wanted for everything or only some tensors, and
// gradients that already hold values, which the pass must add to. Every
// run is repeated and must give the same bits.
func TestConv2DChannelsLast(t *testing.T) {
	type geom struct{ n, c, h, w, o, kh, kw, stride, pad int }
	geoms := []struct {
		geom
		cl bool // whether the channels-last formulation takes it
	}{
		{geom{1, 6, 7, 6, 32, 3, 3, 1, 1}, true},
		{geom{3, 8, 9, 8, 24, 3, 3, 1, 1}, true},
		{geom{2, 11, 6, 7, 33, 3, 3, 1, 0}, true},
		{geom{4, 17, 5, 5, 40, 1, 1, 1, 0}, true},
		{geom{5, 7, 10, 9, 32, 5, 5, 1, 2}, true},
		{geom{7, 4, 8, 11, 26, 5, 5, 1, 4}, true},
		{geom{6, 9, 7, 7, 25, 3, 2, 1, 1}, true},
		{geom{2, 6, 5, 4, 24, 3, 5, 1, 2}, true},
		{geom{1, 32, 3, 3, 32, 3, 3, 1, 1}, true},
		{geom{2, 9, 13, 12, 36, 3, 3, 1, 1}, true}, // blocks of rows, a partial panel of channels
		{geom{3, 2, 9, 9, 32, 3, 3, 2, 1}, false},  // stride 2
		{geom{2, 6, 6, 6, 8, 3, 3, 1, 1}, false},   // few output channels
		{geom{3, 1, 7, 6, 32, 3, 3, 1, 1}, false},  // short kernel rows
		{geom{2, 16, 5, 5, 32, 1, 1, 1, 1}, false}, // padding past the kernel
	}
	for gi, tc := range geoms {
		gm := tc.geom
		if got := tensor.ConvChannelsLast(gm.c, gm.o, gm.kh, gm.kw, gm.stride, gm.pad); got != tc.cl {
			t.Fatalf("%+v runs channels-last: %v, want %v", gm, got, tc.cl)
		}
		for variant := range 3 {
			bias, xGrad, wGrad := variant != 2, variant != 1, variant != 2
			r := rand.New(rand.NewPCG(uint64(gi), uint64(variant)))
			x := randT(r, xGrad, gm.n, gm.c, gm.h, gm.w)
			w := randT(r, wGrad, gm.o, gm.c, gm.kh, gm.kw)
			var b *tensor.Tensor
			if bias {
				b = randT(r, true, gm.o)
			}
			params := []*tensor.Tensor{x, w, b}
			var initial [3][]float32
			for i, p := range params {
				if p != nil {
					for j := range p.Grad {
						p.Grad[j] = float32(r.NormFloat64())
					}
					initial[i] = append([]float32(nil), p.Grad...)
				}
			}
			oh := (gm.h+2*gm.pad-gm.kh)/gm.stride + 1
			ow := (gm.w+2*gm.pad-gm.kw)/gm.stride + 1
			up := randT(r, false, gm.n, gm.o, oh, ow)
			want := naiveConvPass(x, w, b, up, gm.stride, gm.pad, initial[0], initial[1], initial[2])
			for _, threads := range []int{1, 2, 3} {
				name := fmt.Sprintf("%+v/bias=%v,dx=%v,dw=%v/threads=%d", gm, bias, xGrad, wGrad, threads)
				t.Run(name, func(t *testing.T) {
					be := tensor.CPUBackend{}
					if threads > 1 {
						cpu, err := kernels.NewCPU(threads, kernels.ImplAuto)
						if err != nil {
							t.Fatal(err)
						}
						defer cpu.Close()
						be.K = cpu
					}
					var first [4][]float32
					for run := range 2 {
						for i, p := range params {
							if p != nil {
								copy(p.Grad, initial[i])
							}
						}
						g := tensor.NewGraph(be, rand.New(rand.NewPCG(1, 2)))
						y := g.Conv2D(x, w, b, gm.stride, gm.pad)
						if err := g.Backward(g.Sum(g.Mul(y, up))); err != nil {
							t.Fatal(err)
						}
						k := gm.c * gm.kh * gm.kw
						assertConvClose(t, "y", y.Data, want.y, want.yAbs, k+1)
						assertConvClose(t, "dx", x.Grad, want.dx, want.dxAbs, gm.o*gm.kh*gm.kw+1)
						assertConvClose(t, "dw", w.Grad, want.dw, want.dwAbs, gm.n*oh*ow+1)
						got := [4][]float32{append([]float32(nil), y.Data...), x.Grad, w.Grad, nil}
						if b != nil {
							assertConvClose(t, "db", b.Grad, want.db, want.dbAbs, gm.n*oh*ow+1)
							got[3] = b.Grad
						}
						for i := range got {
							got[i] = append([]float32(nil), got[i]...)
						}
						if run == 0 {
							first = got
							continue
						}
						for i, name := range []string{"y", "dx", "dw", "db"} {
							for j := range got[i] {
								if math.Float32bits(got[i][j]) != math.Float32bits(first[i][j]) {
									t.Fatalf("%s[%d] = %v on a second run, %v on the first", name, j, got[i][j], first[i][j])
								}
							}
						}
					}
				})
			}
		}
	}
}

// TestConv2DChannelsLastGradients checks the channels-last formulation's
// backward pass against central differences, on its own and feeding
// another convolution, whose input gradient is then an intermediate one.
func TestConv2DChannelsLastGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	if !tensor.ConvChannelsLast(6, 32, 3, 3, 1, 1) || !tensor.ConvChannelsLast(6, 24, 5, 3, 1, 2) || !tensor.ConvChannelsLast(32, 24, 3, 3, 1, 0) {
		t.Fatal("the geometries checked do not run channels-last")
	}
	t.Run("bias-pad1", func(t *testing.T) {
		tensortest.Check(t, []*tensor.Tensor{randT(r, true, 2, 6, 6, 5), randT(r, true, 32, 6, 3, 3), randT(r, true, 32)},
			func(g *tensor.Graph, in []*tensor.Tensor) *tensor.Tensor { return g.Conv2D(in[0], in[1], in[2], 1, 1) })
	})
	t.Run("nobias-5x3-pad2", func(t *testing.T) {
		tensortest.Check(t, []*tensor.Tensor{randT(r, true, 1, 6, 7, 7), randT(r, true, 24, 6, 5, 3)},
			func(g *tensor.Graph, in []*tensor.Tensor) *tensor.Tensor { return g.Conv2D(in[0], in[1], nil, 1, 2) })
	})
	t.Run("chained", func(t *testing.T) {
		// Weights of 0.1 keep the loss small, and with it the rounding
		// noise of the central differences, which sum hundreds of
		// products of products.
		w1, w2 := randT(r, true, 32, 1, 3, 3), randT(r, true, 24, 32, 3, 3)
		kernels.Scale(0.1, w2.Data)
		tensortest.Check(t, []*tensor.Tensor{randT(r, true, 2, 1, 6, 6), w1, randT(r, true, 32), w2},
			func(g *tensor.Graph, in []*tensor.Tensor) *tensor.Tensor {
				return g.Conv2D(g.Conv2D(in[0], in[1], in[2], 1, 1), in[3], nil, 1, 0)
			})
	})
}

// TestConv2DChannelsLastAllocatesNothing extends the graph's promise to
// the channels-last formulation, serial and on two threads, with the
// ReLU and pooling the presets put after it.
func TestConv2DChannelsLastAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocations are counted without -race")
	}
	cpu, err := kernels.NewCPU(2, kernels.ImplAuto)
	if err != nil {
		t.Fatal(err)
	}
	defer cpu.Close()
	for threads, be := range map[int]tensor.CPUBackend{1: {}, 2: {K: cpu}} {
		r := rand.New(rand.NewPCG(5, 6))
		w1, b1 := randT(r, true, 32, 6, 3, 3), randT(r, true, 32)
		w2 := randT(r, true, 24, 32, 3, 3)
		x := randT(r, true, 4, 6, 9, 9)
		g := tensor.NewGraph(be, rand.New(rand.NewPCG(1, 2)))
		step := func() error {
			g.Reset()
			h := g.MaxPool2D(g.ReLU(g.Conv2D(x, w1, b1, 1, 1)), 2, 2)
			return g.Backward(g.Sum(g.Conv2D(h, w2, nil, 1, 1)))
		}
		if err := step(); err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(20, func() { _ = step() }); n != 0 {
			t.Errorf("threads=%d: a warmed-up channels-last convolution allocates %v times, want 0", threads, n)
		}
	}
}
