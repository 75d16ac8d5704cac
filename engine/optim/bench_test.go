package optim

import "testing"

// lenetParams returns the parameters of LeNet-300-100 (784-300-100-10),
// 266,610 in all, with small non-zero gradients.
func lenetParams() []Param {
	shapes := []struct {
		name string
		n    int
	}{
		{"fc1.weight", 784 * 300}, {"fc1.bias", 300},
		{"fc2.weight", 300 * 100}, {"fc2.bias", 100},
		{"fc3.weight", 100 * 10}, {"fc3.bias", 10},
	}
	ps := make([]Param, len(shapes))
	for i, s := range shapes {
		p := Param{Name: s.name, Data: make([]float32, s.n), Grad: make([]float32, s.n), NoDecay: s.n <= 300}
		for j := range p.Data {
			p.Data[j] = float32(j%97)*1e-3 - 0.05
			p.Grad[j] = float32(j%89)*1e-4 - 4e-3
		}
		ps[i] = p
	}
	return ps
}

func benchStep(b *testing.B, o Optimizer) {
	n := 0
	for _, p := range o.Params() {
		n += len(p.Data)
	}
	b.SetBytes(int64(4 * n))
	b.ReportAllocs()
	for b.Loop() {
		o.Step(1e-3)
	}
}

func BenchmarkSGDStep(b *testing.B) {
	o, err := NewSGD(lenetParams(), SGDConfig{Momentum: 0.9, WeightDecay: 5e-4})
	if err != nil {
		b.Fatal(err)
	}
	benchStep(b, o)
}

func BenchmarkAdamWStep(b *testing.B) {
	o, err := NewAdamW(lenetParams(), DefaultAdamW())
	if err != nil {
		b.Fatal(err)
	}
	benchStep(b, o)
}

func BenchmarkClipGradNorm(b *testing.B) {
	ps := lenetParams()
	b.ReportAllocs()
	for b.Loop() {
		ClipGradNorm(ps, 1e9) // never clips, so every iteration sees the same gradients
	}
}
