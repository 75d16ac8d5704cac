package optim

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

const refSteps = 6

func TestSGDMatchesReference(t *testing.T) {
	cases := map[string]SGDConfig{
		"plain":             {},
		"weight decay":      {WeightDecay: 0.05},
		"momentum":          {Momentum: 0.9},
		"momentum damped":   {Momentum: 0.9, Dampening: 0.3, WeightDecay: 0.05},
		"nesterov":          {Momentum: 0.9, Nesterov: true},
		"nesterov decayed":  {Momentum: 0.8, Nesterov: true, WeightDecay: 0.05},
		"dampening ignored": {Dampening: 0.5, WeightDecay: 0.05}, // no momentum: dampening has no effect
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(refSteps)
			params := f.params()
			o, err := NewSGD(params, c)
			if err != nil {
				t.Fatal(err)
			}
			f.run(o, params)
			wantP, wantBuf := refSGD(f, c)
			state := stateByName(t, o.State())
			for i, p := range params {
				assertRel(t, p.Name, p.Data, wantP[i], 1e-6)
				buf, ok := state[p.Name+".momentum"]
				if c.Momentum == 0 {
					if ok {
						t.Errorf("%s: momentum state without momentum", p.Name)
					}
					continue
				}
				if !ok {
					t.Fatalf("%s: no momentum state", p.Name)
				}
				assertRel(t, p.Name+".momentum", buf, wantBuf[i], 1e-6)
			}
			if got := o.Steps(); got != refSteps {
				t.Errorf("Steps() = %d, want %d", got, refSteps)
			}
		})
	}
}

// TestSGDHandComputed checks the first-step buffer rule and Nesterov against
// values worked out by hand, independent of any reference code.
func TestSGDHandComputed(t *testing.T) {
	cases := []struct {
		name string
		c    SGDConfig
		want []float64 // parameter after each step, p0 = 1, g = 1, lr = 0.1
	}{
		{"plain", SGDConfig{}, []float64{0.9, 0.8, 0.7}},
		// g+wd*p: 1.5 -> 0.85; 1+0.5*0.85 = 1.425 -> 0.7075
		{"weight decay", SGDConfig{WeightDecay: 0.5}, []float64{0.85, 0.7075}},
		// buf = 1 (first step is not damped), then 0.9*1 + 0.5*1 = 1.4,
		// then 0.9*1.4 + 0.5 = 1.76.
		{"momentum damped", SGDConfig{Momentum: 0.9, Dampening: 0.5}, []float64{0.9, 0.76, 0.584}},
		// buf = 1, step 1+0.9*1 = 1.9; buf = 1.9, step 1+0.9*1.9 = 2.71.
		{"nesterov", SGDConfig{Momentum: 0.9, Nesterov: true}, []float64{0.81, 0.539}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := Param{Name: "w", Data: []float32{1}, Grad: []float32{1}}
			o, err := NewSGD([]Param{p}, tc.c)
			if err != nil {
				t.Fatal(err)
			}
			for s, want := range tc.want {
				p.Grad[0] = 1
				o.Step(0.1)
				assertRel(t, fmt.Sprintf("step %d", s+1), p.Data, []float64{want}, 1e-6)
			}
		})
	}
}

func TestSGDNoDecay(t *testing.T) {
	for _, c := range []SGDConfig{{WeightDecay: 0.5}, {WeightDecay: 0.5, Momentum: 0.9, Nesterov: true}} {
		decayed, exempt := noDecayPair(t, func(ps []Param) (Optimizer, error) { return NewSGD(ps, c) })
		c.WeightDecay = 0
		plain, _ := noDecayPair(t, func(ps []Param) (Optimizer, error) { return NewSGD(ps, c) })
		checkNoDecay(t, fmt.Sprintf("SGD %+v", c), decayed, exempt, plain)
	}
}

// noDecayPair runs three steps on two identical parameters, the second
// marked NoDecay, and returns their final values.
func noDecayPair(t *testing.T, build func([]Param) (Optimizer, error)) (decayed, exempt []float32) {
	t.Helper()
	ps := []Param{
		{Name: "w", Data: []float32{1, -2}, Grad: make([]float32, 2)},
		{Name: "b", Data: []float32{1, -2}, Grad: make([]float32, 2), NoDecay: true},
	}
	o, err := build(ps)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		for _, p := range ps {
			copy(p.Grad, []float32{0.25, -0.5})
		}
		o.Step(0.1)
	}
	return ps[0].Data, ps[1].Data
}

// checkNoDecay wants the NoDecay parameter to follow the run without weight
// decay bit for bit, and the decayed one to differ from it.
func checkNoDecay(t *testing.T, what string, decayed, exempt, plain []float32) {
	t.Helper()
	for i := range plain {
		if exempt[i] != plain[i] {
			t.Errorf("%s: NoDecay param[%d] = %v, want %v as without decay", what, i, exempt[i], plain[i])
		}
		if decayed[i] == plain[i] {
			t.Errorf("%s: decayed param[%d] = %v, same as without decay", what, i, decayed[i])
		}
	}
}

func TestSGDStepAllocatesNothing(t *testing.T) {
	for _, c := range []SGDConfig{{}, {Momentum: 0.9, WeightDecay: 1e-4}, {Momentum: 0.9, Nesterov: true}} {
		f := newFixture(1)
		params := f.params()
		o, err := NewSGD(params, c)
		if err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(50, func() { o.Step(0.01) }); n != 0 {
			t.Errorf("SGD %+v: Step allocates %v times, want 0", c, n)
		}
	}
}

func TestNewSGDValidates(t *testing.T) {
	good := func() []Param {
		return []Param{{Name: "w", Data: make([]float32, 2), Grad: make([]float32, 2)}}
	}
	nan := float32(math.NaN())
	cases := []struct {
		name   string
		params []Param
		c      SGDConfig
		want   string // must appear in the error
	}{
		{"grad length", []Param{{Name: "fc.weight", Data: make([]float32, 3), Grad: make([]float32, 2)}}, SGDConfig{}, `"fc.weight"`},
		{"empty name", []Param{{Data: make([]float32, 1), Grad: make([]float32, 1)}}, SGDConfig{}, "param 0"},
		{"duplicate name", append(good(), good()...), SGDConfig{}, `"w"`},
		{"negative momentum", good(), SGDConfig{Momentum: -0.1}, "Momentum"},
		{"NaN weight decay", good(), SGDConfig{WeightDecay: nan}, "WeightDecay"},
		{"infinite weight decay", good(), SGDConfig{WeightDecay: float32(math.Inf(1))}, "WeightDecay"},
		{"negative dampening", good(), SGDConfig{Dampening: -1}, "Dampening"},
		{"nesterov without momentum", good(), SGDConfig{Nesterov: true}, "Nesterov"},
		{"nesterov with dampening", good(), SGDConfig{Nesterov: true, Momentum: 0.9, Dampening: 0.1}, "Nesterov"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o, err := NewSGD(tc.params, tc.c)
			if err == nil {
				t.Fatalf("NewSGD = %v, want an error", o)
			}
			if !errors.Is(err, ErrConfig) {
				t.Errorf("error %q does not wrap ErrConfig", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %s", err, tc.want)
			}
		})
	}
}

func TestSGDEmptyParams(t *testing.T) {
	o, err := NewSGD(nil, SGDConfig{Momentum: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	o.Step(0.1)
	if got := len(o.State()); got != 1 {
		t.Errorf("len(State()) = %d, want 1 (step only)", got)
	}
}
