package kernels

import (
	"fmt"
	"testing"
)

// BenchmarkIm2colImpls times unfolding and folding back one image of each of
// LeNet-5's convolutions, with each implementation's loops.
func BenchmarkIm2colImpls(b *testing.B) {
	geoms := []struct {
		name                string
		c, h, w, k, pad, oh int
	}{{"conv1", 1, 28, 28, 5, 2, 28}, {"conv2", 6, 14, 14, 5, 0, 10}}
	for _, g := range geoms {
		src := make([]float32, g.c*g.h*g.w)
		cols := make([]float32, g.c*g.k*g.k*g.oh*g.oh)
		for _, impl := range Impls() {
			if !Available(impl) {
				continue
			}
			k := streamsOf(impl)
			b.Run(fmt.Sprintf("%s/im2col/impl=%v", g.name, impl), func(b *testing.B) {
				for b.Loop() {
					im2col(k, src, g.c, g.h, g.w, g.k, g.k, g.pad, g.pad, 1, 1, cols)
				}
			})
			b.Run(fmt.Sprintf("%s/col2im/impl=%v", g.name, impl), func(b *testing.B) {
				for b.Loop() {
					col2im(k, cols, g.c, g.h, g.w, g.k, g.k, g.pad, g.pad, 1, 1, src)
				}
			})
		}
	}
}
