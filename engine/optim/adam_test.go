package optim

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestAdamMatchesReference(t *testing.T) {
	decayed := DefaultAdam()
	decayed.WeightDecay = 0.05
	cases := []struct {
		name      string
		c         AdamConfig
		decoupled bool
	}{
		{"Adam defaults", DefaultAdam(), false},
		{"Adam L2", decayed, false},
		{"Adam low betas", AdamConfig{Beta1: 0.5, Beta2: 0.75, Eps: 1e-3, WeightDecay: 0.05}, false},
		{"AdamW defaults", DefaultAdamW(), true},
		{"AdamW strong decay", AdamConfig{Beta1: 0.8, Beta2: 0.99, Eps: 1e-6, WeightDecay: 0.5}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(refSteps)
			params := f.params()
			build := NewAdam
			if tc.decoupled {
				build = NewAdamW
			}
			o, err := build(params, tc.c)
			if err != nil {
				t.Fatal(err)
			}
			f.run(o, params)
			wantP, wantM, wantV := refAdam(f, tc.c, tc.decoupled)
			state := stateByName(t, o.State())
			for i, p := range params {
				assertRel(t, p.Name, p.Data, wantP[i], 1e-6)
				assertRel(t, p.Name+".exp_avg", state[p.Name+".exp_avg"], wantM[i], 1e-6)
				assertRel(t, p.Name+".exp_avg_sq", state[p.Name+".exp_avg_sq"], wantV[i], 1e-6)
			}
		})
	}
}

// TestAdamHandComputed uses a constant gradient, for which the
// bias-corrected moments are exactly g and g*g at every step, so Adam moves
// each parameter by lr*g/(|g|+eps) and AdamW first shrinks it by 1-lr*wd.
func TestAdamHandComputed(t *testing.T) {
	c := DefaultAdam()
	cw := c
	cw.WeightDecay = 0.5
	cases := []struct {
		name  string
		build func([]Param, AdamConfig) (*Adam, error)
		c     AdamConfig
		want  []float64 // p0 = 1, g = 2, lr = 0.1
	}{
		{"Adam", NewAdam, c, []float64{0.9, 0.8, 0.7, 0.6, 0.5}},
		// p*(1-0.05) - 0.1: 0.85, 0.7075, 0.572125
		{"AdamW", NewAdamW, cw, []float64{0.85, 0.7075, 0.572125}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := Param{Name: "w", Data: []float32{1}, Grad: []float32{2}}
			o, err := tc.build([]Param{p}, tc.c)
			if err != nil {
				t.Fatal(err)
			}
			for s, want := range tc.want {
				o.Step(0.1)
				// eps shifts each step by 0.1*eps/2, far below the tolerance.
				assertRel(t, fmt.Sprintf("step %d", s+1), p.Data, []float64{want}, 1e-6)
			}
		})
	}
}

func TestAdamWithoutDecayEqualsAdamW(t *testing.T) {
	f := newFixture(refSteps)
	pa, pw := f.params(), f.params()
	a, err := NewAdam(pa, DefaultAdam())
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewAdamW(pw, DefaultAdam())
	if err != nil {
		t.Fatal(err)
	}
	f.run(a, pa)
	f.run(w, pw)
	for i := range pa {
		for j := range pa[i].Data {
			if pa[i].Data[j] != pw[i].Data[j] {
				t.Errorf("%s[%d]: Adam %v, AdamW %v; want equal with no decay",
					pa[i].Name, j, pa[i].Data[j], pw[i].Data[j])
			}
		}
	}
}

func TestAdamNoDecay(t *testing.T) {
	for _, build := range []struct {
		name string
		fn   func([]Param, AdamConfig) (*Adam, error)
	}{{"Adam", NewAdam}, {"AdamW", NewAdamW}} {
		run := func(wd float32) (decayed, exempt []float32) {
			c := DefaultAdam()
			c.WeightDecay = wd
			return noDecayPair(t, func(ps []Param) (Optimizer, error) { return build.fn(ps, c) })
		}
		decayed, exempt := run(0.5)
		plain, _ := run(0)
		checkNoDecay(t, build.name, decayed, exempt, plain)
	}
}

func TestAdamStepAllocatesNothing(t *testing.T) {
	for _, build := range []func([]Param, AdamConfig) (*Adam, error){NewAdam, NewAdamW} {
		f := newFixture(1)
		params := f.params()
		o, err := build(params, DefaultAdamW())
		if err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(50, func() { o.Step(0.01) }); n != 0 {
			t.Errorf("Step allocates %v times, want 0", n)
		}
	}
}

func TestNewAdamValidates(t *testing.T) {
	good := func() []Param {
		return []Param{{Name: "w", Data: make([]float32, 2), Grad: make([]float32, 2)}}
	}
	with := func(edit func(*AdamConfig)) AdamConfig {
		c := DefaultAdam()
		edit(&c)
		return c
	}
	cases := []struct {
		name   string
		params []Param
		c      AdamConfig
		want   string
	}{
		{"grad length", []Param{{Name: "fc.bias", Data: make([]float32, 1), Grad: nil}}, DefaultAdam(), `"fc.bias"`},
		{"beta1 one", good(), with(func(c *AdamConfig) { c.Beta1 = 1 }), "Beta1"},
		{"beta1 negative", good(), with(func(c *AdamConfig) { c.Beta1 = -0.1 }), "Beta1"},
		{"beta2 NaN", good(), with(func(c *AdamConfig) { c.Beta2 = float32(math.NaN()) }), "Beta2"},
		{"beta2 above one", good(), with(func(c *AdamConfig) { c.Beta2 = 1.5 }), "Beta2"},
		{"eps negative", good(), with(func(c *AdamConfig) { c.Eps = -1e-8 }), "Eps"},
		{"weight decay negative", good(), with(func(c *AdamConfig) { c.WeightDecay = -0.01 }), "WeightDecay"},
	}
	for _, tc := range cases {
		for _, build := range []struct {
			name string
			fn   func([]Param, AdamConfig) (*Adam, error)
		}{{"NewAdam", NewAdam}, {"NewAdamW", NewAdamW}} {
			t.Run(build.name+"/"+tc.name, func(t *testing.T) {
				o, err := build.fn(tc.params, tc.c)
				if err == nil {
					t.Fatalf("%s = %v, want an error", build.name, o)
				}
				if !errors.Is(err, ErrConfig) {
					t.Errorf("error %q does not wrap ErrConfig", err)
				}
				if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), build.name) {
					t.Errorf("error %q does not name %s and %s", err, tc.want, build.name)
				}
			})
		}
	}
}
