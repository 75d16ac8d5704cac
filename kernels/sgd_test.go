package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/troupe-ml/troupe/kernels/kerneltest"
)

func toSGDStep(s kerneltest.SGDStep) SGDStep {
	return SGDStep{LR: s.LR, WeightDecay: s.WeightDecay, BufScale: s.BufScale, GradScale: s.GradScale, Nesterov: s.Nesterov, Momentum: s.Momentum}
}

func TestSGDConformance(t *testing.T) {
	kerneltest.TestSGD(t, func(s kerneltest.SGDStep, p, g, buf []float32) { SGD(toSGDStep(s), p, g, buf) })
}

// TestSGDImpls runs the SGD suite against each implementation's loops on
// the calling goroutine.
func TestSGDImpls(t *testing.T) {
	for _, impl := range availableImpls(t) {
		t.Run(impl.String(), func(t *testing.T) {
			k := streamsOf(impl)
			kerneltest.TestSGD(t, func(s kerneltest.SGDStep, p, g, buf []float32) { k.sgd(toSGDStep(s), p, g, buf) })
		})
	}
}

// TestCPUSGDConformance runs the suite against every implementation on one
// to three threads (fewer under the race detector, see shortMatrix), with
// long slices split into parts of 64 elements.
func TestCPUSGDConformance(t *testing.T) {
	for _, impl := range availableImpls(t) {
		for _, threads := range []int{1, 2, 3} {
			if shortMatrix(impl, threads) {
				continue
			}
			t.Run(fmt.Sprintf("%v/threads=%d", impl, threads), func(t *testing.T) {
				c := newTestCPU(t, threads, impl)
				c.minSGD = sgdAlign
				kerneltest.TestSGD(t, func(s kerneltest.SGDStep, p, g, buf []float32) { c.SGD(toSGDStep(s), p, g, buf) })
			})
		}
	}
}

// TestCPUSGDThreadsIdentical checks that an update is bit-for-bit the same
// on one to four threads and through the package-level SGD, for each mode.
func TestCPUSGDThreadsIdentical(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	const n = 10_007
	p0, g, b0 := make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range p0 {
		p0[i], g[i], b0[i] = rng.Float32()-0.5, rng.Float32()-0.5, rng.Float32()-0.5
	}
	steps := []SGDStep{
		{LR: 0.1, WeightDecay: 0.01},
		{LR: 0.1, WeightDecay: 0.01, BufScale: 0.9, GradScale: 0.8},
		{LR: 0.1, WeightDecay: 0.01, BufScale: 0.9, GradScale: 1, Nesterov: true, Momentum: 0.9},
	}
	for _, impl := range availableImpls(t) {
		for mode, s := range steps {
			run := func(threads int) (p, buf []float32) {
				p, buf = append([]float32(nil), p0...), append([]float32(nil), b0...)
				if mode == 0 {
					buf = nil
				}
				if threads == 0 {
					streamsOf(impl).sgd(s, p, g, buf)
					return p, buf
				}
				c := newTestCPU(t, threads, impl)
				c.minSGD = 1000
				c.SGD(s, p, g, buf)
				return p, buf
			}
			wantP, wantB := run(0)
			for threads := 1; threads <= 4; threads++ {
				p, buf := run(threads)
				for i := range p {
					if math.Float32bits(p[i]) != math.Float32bits(wantP[i]) || (buf != nil && math.Float32bits(buf[i]) != math.Float32bits(wantB[i])) {
						t.Fatalf("%v mode %d threads=%d: element %d = %v, %v; want %v, %v as on one thread", impl, mode, threads, i, p[i], buf[i], wantP[i], wantB[i])
					}
				}
			}
		}
	}
}

func TestSGDPanics(t *testing.T) {
	a := make([]float32, 4)
	c := newTestCPU(t, 2, ImplAuto)
	cases := []struct {
		name string
		call func()
		want string
	}{
		{"short g", func() { SGD(SGDStep{}, a, a[:3], nil) }, errSGDLen},
		{"long buf", func() { SGD(SGDStep{}, a[:3], a[:3], a) }, errSGDLen},
		{"CPU short g", func() { c.SGD(SGDStep{}, a, a[:3], nil) }, errSGDLen},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if got := recover(); got != tc.want {
					t.Fatalf("panic = %v, want %q", got, tc.want)
				}
			}()
			tc.call()
		})
	}
	closed, err := NewCPU(1, ImplAuto)
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	defer func() {
		if got := recover(); got != errCPUClosedSGD {
			t.Fatalf("SGD after Close: panic = %v, want %q", got, errCPUClosedSGD)
		}
	}()
	closed.SGD(SGDStep{}, a, a, nil)
}

func TestCPUSGDAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocations are counted without -race")
	}
	c := newTestCPU(t, 2, ImplAuto)
	c.minSGD = sgdAlign
	p, g, buf := make([]float32, 1000), make([]float32, 1000), make([]float32, 1000)
	s := SGDStep{LR: 0.1, BufScale: 0.9, GradScale: 1}
	if n := testing.AllocsPerRun(50, func() { c.SGD(s, p, g, buf) }); n != 0 {
		t.Errorf("CPU.SGD allocates %v times, want 0", n)
	}
}

// BenchmarkSGD times a momentum update of LeNet-300-100's first weight
// matrix, 235,200 elements, the bulk of its optimizer step.
func BenchmarkSGD(b *testing.B) {
	const n = 784 * 300
	p, g, buf := make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range p {
		p[i], g[i] = float32(i%97)*1e-3, float32(i%89)*1e-4
	}
	s := SGDStep{LR: 1e-3, BufScale: 0.9, GradScale: 1}
	for _, impl := range Impls() {
		if !Available(impl) {
			continue
		}
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("impl=%v/threads=%d", impl, threads), func(b *testing.B) {
				c, err := NewCPU(threads, impl)
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				b.SetBytes(5 * 4 * n)
				for b.Loop() {
					c.SGD(s, p, g, buf)
				}
			})
		}
	}
}
