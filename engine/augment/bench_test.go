package augment

import "testing"

// BenchmarkTransforms runs each named transform alone, always applied, on
// one 28×28×1 sample through a Worker, as an augmenter actor would.
func BenchmarkTransforms(b *testing.B) {
	s := Shape{C: 1, H: 28, W: 28}
	for _, spec := range []string{
		"affine(shear=5)", "elastic", "noise", "crop", "hflip(p=1)", "cutout", "brightness", "contrast",
		"affine,elastic,noise",
	} {
		b.Run(spec, func(b *testing.B) {
			benchPipeline(b, mustPipeline(b, spec), s)
		})
	}
}

func benchPipeline(b *testing.B, p *Pipeline, s Shape) {
	src := randomImage(s, 1)
	dst := make([]float32, len(src))
	w := p.NewWorker(1)
	w.Apply(dst, src, s, 0, 0)
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		n++
		w.Apply(dst, src, s, 0, uint64(n))
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "samples/s")
}

// The two kernels under affine and elastic, without the pipeline around them.

func BenchmarkElasticField(b *testing.B) {
	e, _ := NewElastic(34, 4, 0)
	dx, dy := make([]float32, 28*28), make([]float32, 28*28)
	sc, rng := new(Scratch), rngFor(1)
	for b.Loop() {
		e.Field(dx, dy, 28, 28, rng, sc)
	}
}

func BenchmarkRemap(b *testing.B) {
	s := Shape{C: 1, H: 28, W: 28}
	src := randomImage(s, 1)
	dst := make([]float32, len(src))
	inv, _ := AffineMatrix(s, 17, 1.1, 3, 1.2, -0.7).Inverse()
	sc := new(Scratch)
	WarpAffine(dst, src, s, inv, 0, sc)
	for b.Loop() {
		Remap(dst, src, s, sc.mapX, sc.mapY, 0)
	}
}
