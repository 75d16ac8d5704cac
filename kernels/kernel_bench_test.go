package kernels

import (
	"fmt"
	"testing"
)

// BenchmarkMicroKernel times one implementation's micro-kernel alone on a
// full tile whose operands sit in L1 and L2, the ceiling the blocked
// Sgemm can approach.
func BenchmarkMicroKernel(b *testing.B) {
	for _, impl := range Impls() {
		if !Available(impl) {
			continue
		}
		ar := archOf(impl)
		for _, l := range []layout{layoutR, layoutP} {
			name := map[layout]string{layoutR: "R", layoutP: "P"}[l]
			b.Run(fmt.Sprintf("impl=%v/layout=%s", impl, name), func(b *testing.B) {
				kc := ar.kc
				a := make([]float32, ar.mr*kc)
				bp := make([]float32, ar.nr*kc)
				c := make([]float32, ar.mr*ar.nr)
				for i := range a {
					a[i] = 1e-3
				}
				for i := range bp {
					bp[i] = 1e-3
				}
				kernel, lda := ar.kernelR, kc
				if l == layoutP {
					kernel, lda = ar.kernelP, ar.mr
				}
				for b.Loop() {
					kernel(kc, a, lda, 0, bp, ar.nr, 0, c, ar.nr, 1, 1, ar.mr, ar.nr)
				}
				flops := 2 * float64(ar.mr*ar.nr*kc) * float64(b.N)
				b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
