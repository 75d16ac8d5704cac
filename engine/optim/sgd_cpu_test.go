package optim

import (
	"fmt"
	"math"
	"testing"

	"github.com/troupe-ml/troupe/kernels"
)

// TestSGDOnCPU checks that an SGD given a CPU, which splits LeNet-300-100's
// first weight matrix between threads, updates every parameter and buffer
// bit for bit as one without, for each mode, and allocates nothing.
func TestSGDOnCPU(t *testing.T) {
	for _, threads := range []int{1, 2, 3} {
		for _, c := range []SGDConfig{{WeightDecay: 1e-4}, {Momentum: 0.9, WeightDecay: 1e-4}, {Momentum: 0.9, Nesterov: true}} {
			t.Run(fmt.Sprintf("threads=%d/%+v", threads, c), func(t *testing.T) {
				cpu, err := kernels.NewCPU(threads, kernels.ImplAuto)
				if err != nil {
					t.Fatal(err)
				}
				defer cpu.Close()
				serial, split := lenetParams(), lenetParams()
				a, err := NewSGD(serial, c)
				if err != nil {
					t.Fatal(err)
				}
				c.CPU = cpu
				b, err := NewSGD(split, c)
				if err != nil {
					t.Fatal(err)
				}
				for range 3 {
					a.Step(0.01)
					b.Step(0.01)
				}
				for i := range serial {
					for j := range serial[i].Data {
						if math.Float32bits(split[i].Data[j]) != math.Float32bits(serial[i].Data[j]) {
							t.Fatalf("%s[%d] = %v, want %v as without a CPU", serial[i].Name, j, split[i].Data[j], serial[i].Data[j])
						}
					}
				}
				sa, sb := a.State(), b.State()
				for i := range sa {
					for j := range sa[i].Data {
						if math.Float32bits(sb[i].Data[j]) != math.Float32bits(sa[i].Data[j]) {
							t.Fatalf("state %s[%d] = %v, want %v", sa[i].Name, j, sb[i].Data[j], sa[i].Data[j])
						}
					}
				}
				if !raceEnabled {
					if n := testing.AllocsPerRun(5, func() { b.Step(0.01) }); n != 0 {
						t.Errorf("Step on a CPU allocates %v times, want 0", n)
					}
				}
			})
		}
	}
}
