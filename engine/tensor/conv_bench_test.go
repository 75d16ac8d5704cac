package tensor

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/troupe-ml/troupe/kernels"
)

// convBenchGeoms are the convolutions of the cnn and lenet5 presets.
var convBenchGeoms = []struct {
	name            string
	c, h, o, k, pad int
	inputGrad       bool // false for a first layer, whose input needs no gradient
}{
	{"cnn1", 1, 28, 32, 3, 1, false},
	{"cnn2", 32, 28, 32, 3, 1, true},
	{"cnn3", 32, 14, 64, 3, 1, true},
	{"cnn4", 64, 14, 64, 3, 1, true},
	{"lenet1", 1, 28, 6, 5, 2, false},
	{"lenet2", 6, 14, 16, 5, 0, true},
}

// BenchmarkConv2D times the forward and backward passes of each preset's
// convolutions on a batch of 64 images, on as many threads as GOMAXPROCS,
// and reports the rate of the multiply-adds each pass needs: the backward
// pass computes the weight gradient, and the input gradient where the
// layer is not the first.
func BenchmarkConv2D(b *testing.B) {
	const batch = 64
	for _, gm := range convBenchGeoms {
		r := rand.New(rand.NewPCG(1, uint64(gm.c)))
		rnd := func(grad bool, shape ...int) *Tensor {
			t := New(shape...)
			for i := range t.Data {
				t.Data[i] = float32(r.NormFloat64())
			}
			t.SetRequiresGrad(grad)
			return t
		}
		oh := gm.h + 2*gm.pad - gm.k + 1
		x := rnd(gm.inputGrad, batch, gm.c, gm.h, gm.h)
		w, bias := rnd(true, gm.o, gm.c, gm.k, gm.k), rnd(true, gm.o)
		y := rnd(true, batch, gm.o, oh, oh)
		macs := float64(batch * gm.o * oh * oh * gm.c * gm.k * gm.k)
		cpu, err := kernels.NewCPU(0, kernels.ImplAuto)
		if err != nil {
			b.Fatal(err)
		}
		g := NewGraph(CPUBackend{K: cpu}, rand.New(rand.NewPCG(1, 2)))
		for _, backward := range []bool{false, true} {
			name, products := "forward", 1.0
			if backward {
				name, products = "backward", 1
				if gm.inputGrad {
					products = 2
				}
			}
			b.Run(fmt.Sprintf("%s/%s", gm.name, name), func(b *testing.B) {
				for b.Loop() {
					g.runConv(backward, convSet{}, x.Dim(0), x, w, bias, y, 1, gm.pad)
				}
				b.ReportMetric(2*macs*products*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
		cpu.Close()
	}
}
