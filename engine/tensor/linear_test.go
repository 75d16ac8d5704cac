package tensor_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/troupe-ml/troupe/engine/tensor"
	"github.com/troupe-ml/troupe/kernels"
)

// TestLinearTransposedSame checks that Linear gives bit for bit the product
// x·wᵀ + bias as one Sgemm computes it, on shapes where it computes the
// transpose instead (a weight larger than input and output together) and
// where it does not.
func TestLinearTransposedSame(t *testing.T) {
	for _, sz := range [][3]int{{64, 784, 300}, {5, 37, 29}, {3, 9, 2}, {64, 100, 10}} {
		rows, in, out := sz[0], sz[1], sz[2]
		for _, withBias := range []bool{true, false} {
			t.Run(fmt.Sprintf("rows=%d/in=%d/out=%d/bias=%t", rows, in, out, withBias), func(t *testing.T) {
				r := rand.New(rand.NewPCG(uint64(in), uint64(out)))
				x, w := randT(r, false, rows, in), randT(r, true, out, in)
				want := make([]float32, rows*out)
				var b *tensor.Tensor
				beta := float32(0)
				if withBias {
					b = randT(r, true, out)
					for i := range rows {
						copy(want[i*out:(i+1)*out], b.Data)
					}
					beta = 1
				}
				kernels.Sgemm(false, true, rows, out, in, 1, x.Data, in, w.Data, in, beta, want, out)
				got := newGraph(1).Linear(x, w, b)
				for i := range want {
					if math.Float32bits(got.Data[i]) != math.Float32bits(want[i]) {
						t.Fatalf("y[%d] = %v, want %v", i, got.Data[i], want[i])
					}
				}
			})
		}
	}
}
