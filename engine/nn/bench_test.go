package nn_test

import (
	"testing"

	"github.com/troupe-ml/troupe/engine/nn"
	"github.com/troupe-ml/troupe/engine/optim"
	"github.com/troupe-ml/troupe/engine/tensor"
	"github.com/troupe-ml/troupe/kernels"
)

// BenchmarkTrainStep times one whole training step of each preset on a
// batch of 64 random MNIST-shaped images: forward, loss, backward and an
// SGD-with-momentum update, as `troupe bench train` runs it, on as many
// threads as GOMAXPROCS (go test -cpu). cnn is the preset that training
// time limits most: its convolutions are most of the step.
func BenchmarkTrainStep(b *testing.B) {
	for _, name := range []string{"mlp", "lenet5", "cnn"} {
		b.Run(name, func(b *testing.B) {
			ms, err := nn.Preset(name)
			if err != nil {
				b.Fatal(err)
			}
			m, err := nn.Build(ms, seeded(41))
			if err != nil {
				b.Fatal(err)
			}
			cpu, err := kernels.NewCPU(0, kernels.ImplAuto)
			if err != nil {
				b.Fatal(err)
			}
			defer cpu.Close()
			var ps []optim.Param
			for _, p := range m.Params() {
				ps = append(ps, optim.Param{Name: p.Name, Data: p.T.Data, Grad: p.T.Grad, NoDecay: p.NoDecay})
			}
			opt, err := optim.NewSGD(ps, optim.SGDConfig{Momentum: 0.9})
			if err != nil {
				b.Fatal(err)
			}
			const batch = 64
			r := seeded(42)
			x := make([]float32, batch*28*28)
			for i := range x {
				x[i] = float32(r.NormFloat64())
			}
			y := make([]int32, batch)
			for i := range y {
				y[i] = int32(r.IntN(10))
			}
			g := tensor.NewGraph(tensor.CPUBackend{K: cpu}, seeded(43))
			shape := append([]int{batch}, ms.Input...)
			step := func() {
				g.Reset()
				loss := g.SoftmaxCrossEntropy(m.Forward(g, g.Input(x, shape...)), y, 0, nil)
				optim.ZeroGrad(ps)
				if err := g.Backward(loss); err != nil {
					b.Fatal(err)
				}
				opt.Step(0.01)
			}
			// A first step outside the timed loop grows the buffers, so
			// that allocs/op shows what a warmed-up step allocates.
			step()
			b.ReportAllocs()
			for b.Loop() {
				step()
			}
			b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}
