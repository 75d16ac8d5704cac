package train_test

import (
	"testing"

	"github.com/troupe-ml/troupe/engine/tensor"
	"github.com/troupe-ml/troupe/engine/train"
)

// BenchmarkScored compares, on the mlp, an importance-sampling step's
// gradient pass on 19 trained samples with 21 more scored: separate
// passes (GradientsTargets, then Losses) against one fused pass
// (GradientsScored), with a 64-sample GradientsTargets for scale.
func BenchmarkScored(b *testing.B) {
	const nt, ns = 19, 21
	tr, err := train.NewReplica(smallJob("mlp"), 0, nil)
	if err != nil {
		b.Fatal(err)
	}
	x, y := noisyBatch(64, 1)
	w := make([]float32, nt)
	for i := range w {
		w[i] = 1 + float32(i%3)/4
	}
	per := make([]float32, 64)
	xs, ys := x[:(nt+ns)*784], y[:nt+ns]
	b.Run("separate", func(b *testing.B) {
		for b.Loop() {
			if _, err := tr.GradientsTargets(xs[:nt*784], tensor.Targets{Labels: ys[:nt], Weights: w}, per[:nt]); err != nil {
				b.Fatal(err)
			}
			if err := tr.Losses(xs[nt*784:], ys[nt:], per[nt:nt+ns]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("fused", func(b *testing.B) {
		for b.Loop() {
			if _, err := tr.GradientsScored(xs, tensor.Targets{Labels: ys, Weights: w}, nt, per[:nt+ns]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("gradients-64", func(b *testing.B) {
		for b.Loop() {
			if _, err := tr.GradientsTargets(x, tensor.Targets{Labels: y}, per); err != nil {
				b.Fatal(err)
			}
		}
	})
}
