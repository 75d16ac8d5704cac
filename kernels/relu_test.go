package kernels

import (
	"fmt"
	"testing"

	"github.com/troupe-ml/troupe/kernels/kerneltest"
)

func TestReLUConformance(t *testing.T) {
	kerneltest.TestReLU(t, ReLU, ReLUBackward)
}

// TestReLUImpls runs the suite against each implementation's loops.
func TestReLUImpls(t *testing.T) {
	for _, impl := range availableImpls(t) {
		t.Run(impl.String(), func(t *testing.T) {
			k := streamsOf(impl)
			kerneltest.TestReLU(t, k.relu, k.reluBackward)
		})
	}
}

func TestReLUPanics(t *testing.T) {
	a := make([]float32, 4)
	cases := []struct {
		name string
		call func()
		want string
	}{
		{"short y", func() { ReLU(a, a[:3]) }, errReLULen},
		{"short dy", func() { ReLUBackward(a, a[:3], a) }, errReLUBackwardLen},
		{"short dx", func() { ReLUBackward(a, a, a[:3]) }, errReLUBackwardLen},
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
}

// BenchmarkReLU times the rectifier and its gradient over the activations
// of LeNet-300-100's first layer for a batch of 64.
func BenchmarkReLU(b *testing.B) {
	const n = 64 * 300
	x, dy, dx := make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range x {
		x[i] = float32(i%7) - 3
	}
	for _, impl := range Impls() {
		if !Available(impl) {
			continue
		}
		k := streamsOf(impl)
		b.Run(fmt.Sprintf("fwd/impl=%v", impl), func(b *testing.B) {
			for b.Loop() {
				k.relu(x, dy)
			}
		})
		b.Run(fmt.Sprintf("bwd/impl=%v", impl), func(b *testing.B) {
			for b.Loop() {
				k.reluBackward(x, dy, dx)
			}
		})
	}
}
