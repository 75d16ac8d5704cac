package train_test

import (
	"testing"

	"github.com/troupe-ml/troupe/engine/train"
)

// BenchmarkEvaluate times one evaluation pass of the mlp over 2,000
// samples in batches of 1,000, the batch size evaluations use, with its
// allocations after warm-up.
func BenchmarkEvaluate(b *testing.B) {
	tr, err := train.Setup(smallJob("mlp"), 1, nil)
	if err != nil {
		b.Fatal(err)
	}
	m := tr.Model()
	ds := synth(2000, 5)
	e := train.NewEvaluator(nil)
	if _, err := e.Evaluate(m, ds, 1000); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Evaluate(m, ds, 1000); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(ds.N*b.N)/b.Elapsed().Seconds(), "samples/s")
}
