package optim

import (
	"fmt"
	"math"
	"testing"
)

func TestSchedules(t *testing.T) {
	cos := func(progress float64) float64 { return 0.1 + 0.45*(1+math.Cos(math.Pi*progress)) }
	cases := []struct {
		name string
		s    Schedule
		at   map[int]float64
	}{
		{"Constant", Constant(0.3), map[int]float64{-1: 0.3, 0: 0.3, 1: 0.3, 1e9: 0.3}},
		{"StepDecay", StepDecay(0.1, 10, 0.5), map[int]float64{
			-5: 0.1, 0: 0.1, 9: 0.1, 10: 0.05, 19: 0.05, 20: 0.025, 35: 0.0125,
		}},
		{"StepDecay size 0 decays every step", StepDecay(0.1, 0, 0.5), map[int]float64{0: 0.1, 1: 0.05, 3: 0.0125}},
		// lr 1 to 0.1, 10 warm-up steps, cosine from step 10 to step 110.
		{"WarmupCosine", WarmupCosine(1, 0.1, 10, 110), map[int]float64{
			-3:   0.1, // treated as step 0
			0:    0.1, // lr/warmupSteps
			4:    0.5,
			9:    1, // end of warm-up
			10:   1, // cosine starts at the peak
			35:   cos(0.25),
			60:   0.55, // midpoint: (lr+minLR)/2
			109:  cos(0.99),
			110:  0.1, // end
			111:  0.1, // clamped beyond the end
			1000: 0.1,
		}},
		{"WarmupCosine no warm-up", WarmupCosine(1, 0, 0, 4), map[int]float64{
			0: 1, 1: 0.5 + 0.5*math.Cos(math.Pi/4), 2: 0.5, 4: 0, 5: 0,
		}},
		{"WarmupCosine total within warm-up", WarmupCosine(1, 0.2, 4, 2), map[int]float64{
			0: 0.25, 3: 1, 4: 0.2, 10: 0.2,
		}},
	}
	for _, tc := range cases {
		for step, want := range tc.at {
			t.Run(fmt.Sprintf("%s/%d", tc.name, step), func(t *testing.T) {
				got := tc.s.LR(step)
				if d := math.Abs(float64(got) - want); d > 1e-6*math.Abs(want)+1e-12 {
					t.Errorf("LR(%d) = %.9g, want %.9g", step, got, want)
				}
			})
		}
	}
}

func TestWarmupCosineShape(t *testing.T) {
	s := WarmupCosine(3e-3, 1e-5, 50, 1000)
	for step := range 1000 {
		prev, cur := s.LR(step-1), s.LR(step)
		switch {
		case step > 0 && step < 50 && !(cur > prev):
			t.Errorf("warm-up not increasing at %d: %v after %v", step, cur, prev)
		case step > 50 && !(cur < prev):
			t.Errorf("cosine not decreasing at %d: %v after %v", step, cur, prev)
		}
	}
}
