package augment

import "testing"

// BenchmarkMixBatch runs each batch mix, always applied, on a batch of 64
// samples of 28×28×1 through a Worker, as an augmenter actor would after the
// per-sample steps.
func BenchmarkMixBatch(b *testing.B) {
	s := Shape{C: 1, H: 28, W: 28}
	const n = 64
	x := make([]float32, n*s.Len())
	for i := range n {
		copy(x[i*s.Len():], randomImage(s, uint64(i)))
	}
	ids, labels := make([]int, n), make([]int32, n)
	for i := range n {
		ids[i], labels[i] = i, int32(i%10)
	}
	mix, lambda := make([]int32, n), make([]float32, n)
	for _, spec := range []string{"mixup", "cutmix"} {
		b.Run(spec, func(b *testing.B) {
			w := mustPipeline(b, spec).NewWorker(1)
			w.MixBatch(x, s, 0, ids, labels, mix, lambda)
			b.ReportAllocs()
			epoch := uint64(0)
			for b.Loop() {
				epoch++
				w.MixBatch(x, s, epoch, ids, labels, mix, lambda)
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}
