package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/troupe-ml/troupe/kernels/cuda"
)

// benchGemmCUDAResult is one JSON line of `troupe bench gemm --device cuda`.
type benchGemmCUDAResult struct {
	Bench     string  `json:"bench"`
	Device    string  `json:"device"`
	Precision string  `json:"precision"`
	M         int     `json:"m"`
	N         int     `json:"n"`
	K         int     `json:"k"`
	MedianMs  float64 `json:"median_ms"`
	TFLOPS    float64 `json:"tflops"`
}

// runBenchGemmCUDA times square cuBLAS products with device events: after
// warm-up, the median of reps timed products on random data.
func runBenchGemmCUDA(stdout io.Writer, jsonOut bool, sizesFlag, precFlag string, reps int) error {
	var sizes []int
	for _, f := range strings.Split(sizesFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("bench gemm: --sizes: %q is not a positive size: %w", f, errUsage)
		}
		sizes = append(sizes, n)
	}
	precs := strings.Split(precFlag, ",")
	for _, p := range precs {
		if p != "fp32" && p != "tf32" && p != "bf16" {
			return fmt.Errorf("bench gemm: --precision: %q is not fp32, tf32 or bf16: %w", p, errUsage)
		}
	}
	d, err := cuda.Open(cuda.Options{})
	if err != nil {
		return fmt.Errorf("bench gemm: %w", err)
	}
	defer d.Close()
	s, err := d.NewStream()
	if err != nil {
		return fmt.Errorf("bench gemm: %w", err)
	}
	defer s.Close()
	start, err := d.NewEvent(true)
	if err != nil {
		return fmt.Errorf("bench gemm: %w", err)
	}
	defer start.Close()
	end, err := d.NewEvent(true)
	if err != nil {
		return fmt.Errorf("bench gemm: %w", err)
	}
	defer end.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range sizes {
		host := make([]float32, n*n)
		var bufs []*cuda.Buffer
		alloc := func(bytes int) (cuda.Ptr, error) {
			b, err := d.Alloc(bytes)
			if err != nil {
				return 0, err
			}
			bufs = append(bufs, b)
			return b.Ptr(), nil
		}
		err := func() error {
			defer func() {
				for _, b := range bufs {
					b.Free()
				}
			}()
			var a, b, c, a16, b16, c16 cuda.Ptr
			for _, p := range []*cuda.Ptr{&a, &b, &c} {
				if *p, err = alloc(4 * n * n); err != nil {
					return err
				}
			}
			for _, p := range []*cuda.Ptr{&a16, &b16, &c16} {
				if *p, err = alloc(2 * n * n); err != nil {
					return err
				}
			}
			for _, dst := range []cuda.Ptr{a, b} {
				for i := range host {
					host[i] = 2*rng.Float32() - 1
				}
				if err := s.Upload(dst, host); err != nil {
					return err
				}
			}
			if err := s.ToBF16(a16, a, n*n); err != nil {
				return err
			}
			if err := s.ToBF16(b16, b, n*n); err != nil {
				return err
			}
			for _, prec := range precs {
				call := func() error {
					switch prec {
					case "fp32":
						return s.Gemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n, cuda.FP32)
					case "tf32":
						return s.Gemm(false, false, n, n, n, 1, a, n, b, n, 0, c, n, cuda.TF32)
					}
					return s.GemmEx(false, false, n, n, n, 1, a16, cuda.BF16, n, b16, cuda.BF16, n, 0, c16, cuda.BF16, n)
				}
				for range 3 {
					if err := call(); err != nil {
						return err
					}
				}
				times := make([]float64, 0, reps)
				for range reps {
					if err := start.Record(s); err != nil {
						return err
					}
					if err := call(); err != nil {
						return err
					}
					if err := end.Record(s); err != nil {
						return err
					}
					if err := end.Wait(); err != nil {
						return err
					}
					ms, err := cuda.Milliseconds(start, end)
					if err != nil {
						return err
					}
					times = append(times, float64(ms))
				}
				slices.Sort(times)
				med := times[len(times)/2]
				res := benchGemmCUDAResult{Bench: "gemm", Device: d.Name(), Precision: prec, M: n, N: n, K: n,
					MedianMs: med, TFLOPS: 2 * float64(n) * float64(n) * float64(n) / (med / 1e3) / 1e12}
				if err := writeBench(stdout, jsonOut, res, fmt.Sprintf("gemm %s %d³ on %s: %.3f ms, %.1f TFLOP/s", prec, n, d.Name(), med, res.TFLOPS)); err != nil {
					return err
				}
			}
			return s.Sync()
		}()
		if err != nil {
			return fmt.Errorf("bench gemm: %d³: %w", n, err)
		}
	}
	return nil
}
