package kernels

import (
	"fmt"
	"testing"

	"github.com/troupe-ml/troupe/kernels/kerneltest"
)

func TestMaxPoolConformance(t *testing.T) {
	kerneltest.TestMaxPool(t, MaxPool)
}

func TestMaxPoolImpls(t *testing.T) {
	for _, impl := range availableImpls(t) {
		t.Run(impl.String(), func(t *testing.T) {
			k := streamsOf(impl)
			kerneltest.TestMaxPool(t, func(x []float32, planes, h, w, size, stride int, y []float32, arg []int32) {
				maxPool(k, x, planes, h, w, size, stride, y, arg)
			})
		})
	}
}

func TestMaxPoolPanics(t *testing.T) {
	a := make([]float32, 16)
	cases := []struct {
		name string
		call func()
		want string
	}{
		{"stride 0", func() { MaxPool(a, 1, 4, 4, 2, 0, a, nil) }, errMaxPoolGeom},
		{"short x", func() { MaxPool(a[:15], 1, 4, 4, 2, 2, a, nil) }, errMaxPoolX},
		{"short y", func() { MaxPool(a, 1, 4, 4, 2, 2, a[:3], nil) }, errMaxPoolY},
		{"short arg", func() { MaxPool(a, 1, 4, 4, 2, 2, a, make([]int32, 3)) }, errMaxPoolY},
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

// BenchmarkMaxPool times the pooling after LeNet-5's first convolution:
// 64 images of 6 planes of 28×28.
func BenchmarkMaxPool(b *testing.B) {
	const planes, h, w = 64 * 6, 28, 28
	x := make([]float32, planes*h*w)
	for i := range x {
		x[i] = float32((i*7919)%13) - 6
	}
	y, arg := make([]float32, planes*14*14), make([]int32, planes*14*14)
	for _, impl := range Impls() {
		if !Available(impl) {
			continue
		}
		k := streamsOf(impl)
		b.Run(fmt.Sprintf("impl=%v", impl), func(b *testing.B) {
			for b.Loop() {
				maxPool(k, x, planes, h, w, 2, 2, y, arg)
			}
		})
	}
}
