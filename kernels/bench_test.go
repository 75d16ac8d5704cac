package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// gemmBench is one product; the LeNet-300-100 shapes use a batch of 64 with
// weights stored out×in, so the forward pass is Y = X·Wᵀ, the input
// gradient dX = dY·W and the weight gradient dW = dYᵀ·X.
type gemmBench struct {
	name           string
	transA, transB bool
	m, n, k        int
}

func BenchmarkSgemm(b *testing.B) {
	gemmBenches := []gemmBench{
		{"square128", false, false, 128, 128, 128},
		{"square256", false, false, 256, 256, 256},
		{"square512", false, false, 512, 512, 512},
		{"lenet/fc1/fwd", false, true, 64, 300, 784},
		{"lenet/fc1/dX", false, false, 64, 784, 300},
		{"lenet/fc1/dW", true, false, 300, 784, 64},
		{"lenet/fc2/fwd", false, true, 64, 100, 300},
		{"lenet/fc2/dX", false, false, 64, 300, 100},
		{"lenet/fc2/dW", true, false, 100, 300, 64},
		{"lenet/fc3/fwd", false, true, 64, 10, 100},
		{"lenet/fc3/dX", false, false, 64, 100, 10},
		{"lenet/fc3/dW", true, false, 10, 100, 64},
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for _, g := range gemmBenches {
		name := fmt.Sprintf("%s_%dx%dx%d", g.name, g.m, g.n, g.k)
		b.Run(name, func(b *testing.B) {
			lda, ldb := g.k, g.n
			if g.transA {
				lda = g.m
			}
			if g.transB {
				ldb = g.k
			}
			x := randVec(rng, g.m*g.k)
			y := randVec(rng, g.k*g.n)
			c := randVec(rng, g.m*g.n)
			b.ReportAllocs()
			for b.Loop() {
				Sgemm(g.transA, g.transB, g.m, g.n, g.k, 1, x, lda, y, ldb, 0, c, g.n)
			}
			flops := 2 * float64(g.m) * float64(g.n) * float64(g.k) * float64(b.N)
			b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func BenchmarkIm2col(b *testing.B) {
	// The first convolution of a LeNet-5 style network on a 28×28 digit.
	rng := rand.New(rand.NewPCG(13, 14))
	const c, h, w, k, pad = 6, 14, 14, 5, 2
	oh, ow := ConvOut(h, k, pad, 1), ConvOut(w, k, pad, 1)
	src := randVec(rng, c*h*w)
	cols := make([]float32, c*k*k*oh*ow)
	b.Run("im2col", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Im2col(src, c, h, w, k, k, pad, pad, 1, 1, cols)
		}
	})
	b.Run("col2im", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			Col2im(cols, c, h, w, k, k, pad, pad, 1, 1, src)
		}
	})
}

func BenchmarkVec(b *testing.B) {
	rng := rand.New(rand.NewPCG(15, 16))
	for _, n := range []int{100, 784, 4096} {
		x, y := randVec(rng, n), randVec(rng, n)
		b.Run(fmt.Sprintf("Axpy/%d", n), func(b *testing.B) {
			for b.Loop() {
				Axpy(1e-3, x, y)
			}
		})
		b.Run(fmt.Sprintf("Scale/%d", n), func(b *testing.B) {
			for b.Loop() {
				Scale(-1, y)
			}
		})
		b.Run(fmt.Sprintf("Dot/%d", n), func(b *testing.B) {
			for b.Loop() {
				Dot(x, y)
			}
		})
		b.Run(fmt.Sprintf("Sum/%d", n), func(b *testing.B) {
			for b.Loop() {
				Sum(x)
			}
		})
	}
}
