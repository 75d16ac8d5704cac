package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"time"

	"github.com/troupe-ml/troupe/kernels"
)

// benchGemmResult is one JSON line of `troupe bench gemm`.
type benchGemmResult struct {
	Bench   string  `json:"bench"`
	Shape   string  `json:"shape"`
	M       int     `json:"m"`
	N       int     `json:"n"`
	K       int     `json:"k"`
	TransA  bool    `json:"trans_a"`
	TransB  bool    `json:"trans_b"`
	Threads int     `json:"threads"`
	Impl    string  `json:"impl"`
	GFLOPS  float64 `json:"gflops"`
}

// runBenchGemm times kernels.CPU.Sgemm on the squares 128..2048 and the
// LeNet-300-100 batch-64 training products (kernels.BenchShapes): for each,
// the best of several timed rounds of at least 50 ms.
func runBenchGemm(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench gemm", flag.ContinueOnError)
	threads := fs.Int("threads", 0, "threads (0: all cores)")
	implName := fs.String("impl", "auto", "implementation: auto, avx512, avx2, generic")
	rounds := fs.Int("rounds", 5, "timed rounds per product; the best is reported")
	jsonOut := fs.Bool("json", false, "print one JSON line per product")
	device := fs.String("device", "cpu", "cpu, or cuda for cuBLAS on the GPU")
	sizes := fs.String("sizes", "4096,8192", "with --device cuda: square sizes, comma-separated")
	precision := fs.String("precision", "fp32,tf32,bf16", "with --device cuda: fp32, tf32, bf16 (comma-separated)")
	reps := fs.Int("reps", 20, "with --device cuda: timed products per size; the median is reported")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	switch *device {
	case "cuda":
		if *reps < 1 {
			return fmt.Errorf("bench gemm: --reps must be ≥ 1: %w", errUsage)
		}
		return runBenchGemmCUDA(stdout, *jsonOut, *sizes, *precision, *reps)
	case "cpu":
	default:
		return fmt.Errorf("bench gemm: --device: %q is not cpu or cuda: %w", *device, errUsage)
	}
	if *threads < 0 || *rounds < 1 {
		return fmt.Errorf("bench gemm: --threads must be ≥ 0 and --rounds ≥ 1: %w", errUsage)
	}
	impl, err := kernels.ParseImpl(*implName)
	if err != nil {
		return fmt.Errorf("bench gemm: --impl: %v: %w", err, errUsage)
	}
	n := *threads
	if n == 0 {
		n = runtime.GOMAXPROCS(0)
	}
	cpu, err := kernels.NewCPU(n, impl)
	if err != nil {
		return fmt.Errorf("bench gemm: %w", err)
	}
	defer cpu.Close()
	r := rand.New(rand.NewPCG(1, 1))
	for _, s := range kernels.BenchShapes() {
		lda, ldb, ldc := s.Lds()
		ar, br := s.M, s.K
		if s.TransA {
			ar = s.K
		}
		if s.TransB {
			br = s.N
		}
		a, b, c := randSlice(r, ar*lda), randSlice(r, br*ldb), randSlice(r, s.M*ldc)
		call := func() { cpu.Sgemm(s.TransA, s.TransB, s.M, s.N, s.K, 1, a, lda, b, ldb, 0, c, ldc) }
		call()
		reps := 1
		for {
			start := time.Now()
			for range reps {
				call()
			}
			if time.Since(start) > 50*time.Millisecond {
				break
			}
			reps *= 2
		}
		best := time.Duration(1<<63 - 1)
		for range *rounds {
			start := time.Now()
			for range reps {
				call()
			}
			best = min(best, time.Since(start))
		}
		res := benchGemmResult{Bench: "gemm", Shape: s.String(), M: s.M, N: s.N, K: s.K, TransA: s.TransA, TransB: s.TransB,
			Threads: cpu.Threads(), Impl: cpu.Impl().String(), GFLOPS: s.Flops() * float64(reps) / best.Seconds() / 1e9}
		if err := writeBench(stdout, *jsonOut, res, fmt.Sprintf("%-40s %3d threads %-8s %7.1f GFLOP/s", res.Shape, res.Threads, res.Impl, res.GFLOPS)); err != nil {
			return err
		}
	}
	return nil
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}
