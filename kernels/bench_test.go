package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkSgemm times every BenchShapes product for each available
// implementation on 1 and 2 threads, and the package-level Sgemm. Compare
// runs with benchstat; GFLOP/s is 2·M·N·K per product.
func BenchmarkSgemm(b *testing.B) {
	rng := rand.New(rand.NewPCG(11, 12))
	bench := func(b *testing.B, s Shape, gemm func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)) {
		lda, ldb, ldc := s.Lds()
		x := randVec(rng, s.M*s.K)
		y := randVec(rng, s.K*s.N)
		c := randVec(rng, s.M*s.N)
		gemm(s.TransA, s.TransB, s.M, s.N, s.K, 1, x, lda, y, ldb, 0, c, ldc)
		b.ReportAllocs()
		for b.Loop() {
			gemm(s.TransA, s.TransB, s.M, s.N, s.K, 1, x, lda, y, ldb, 0, c, ldc)
		}
		b.ReportMetric(s.Flops()*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	}
	for _, impl := range Impls() {
		if !Available(impl) {
			continue
		}
		for _, threads := range []int{1, 2} {
			cpu, err := NewCPU(threads, impl)
			if err != nil {
				b.Fatal(err)
			}
			for _, s := range BenchShapes() {
				b.Run(fmt.Sprintf("impl=%v/threads=%d/%v", impl, threads, s), func(b *testing.B) { bench(b, s, cpu.Sgemm) })
			}
			cpu.Close()
		}
	}
	for _, s := range BenchShapes() {
		b.Run(fmt.Sprintf("impl=package/%v", s), func(b *testing.B) { bench(b, s, Sgemm) })
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
