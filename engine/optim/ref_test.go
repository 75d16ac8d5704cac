package optim

import (
	"math"
	"math/rand/v2"
	"testing"
)

// fixture is a small model and a fixed gradient sequence. Each gradient
// element has the opposite sign of its parameter and magnitude in [0.5, 1],
// and weight decay in the tests stays small, so every sum the optimizers
// form adds like-signed terms: nothing cancels, parameters move away from
// zero, and a 1e-6 relative tolerance measures the float32 arithmetic, not
// an ill-conditioned comparison.
type fixture struct {
	names   []string
	noDecay []bool
	p0      [][]float32
	grads   [][][]float32 // [step][param][element]
	lrs     []float32
}

func newFixture(steps int) fixture {
	rng := rand.New(rand.NewPCG(7, 11))
	f := fixture{
		names:   []string{"layers.0.weight", "layers.0.bias", "layers.1.weight"},
		noDecay: []bool{false, true, false},
	}
	sizes := []int{6, 3, 4}
	for _, n := range sizes {
		p := make([]float32, n)
		for i := range p {
			p[i] = float32(0.5 + rng.Float64())
			if rng.IntN(2) == 0 {
				p[i] = -p[i]
			}
		}
		f.p0 = append(f.p0, p)
	}
	for s := range steps {
		var gs [][]float32
		for _, p := range f.p0 {
			g := make([]float32, len(p))
			for i := range g {
				g[i] = float32(0.5 + 0.5*rng.Float64())
				if p[i] > 0 {
					g[i] = -g[i]
				}
			}
			gs = append(gs, g)
		}
		f.grads = append(f.grads, gs)
		f.lrs = append(f.lrs, float32(0.01*float64(s+1)))
	}
	return f
}

// params returns fresh parameters holding p0 and zero gradients.
func (f fixture) params() []Param {
	ps := make([]Param, len(f.p0))
	for i, p := range f.p0 {
		ps[i] = Param{
			Name:    f.names[i],
			Data:    append([]float32(nil), p...),
			Grad:    make([]float32, len(p)),
			NoDecay: f.noDecay[i],
		}
	}
	return ps
}

// run loads each step's gradients into params and steps the optimizer.
func (f fixture) run(o Optimizer, params []Param) {
	for s, gs := range f.grads {
		for i := range params {
			copy(params[i].Grad, gs[i])
		}
		o.Step(f.lrs[s])
	}
}

func to64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

// refSGD transcribes torch.optim.SGD's single-tensor step in float64,
// including the lazily created momentum buffer.
func refSGD(f fixture, c SGDConfig) (p, bufs [][]float64) {
	mom, wd, damp := float64(c.Momentum), float64(c.WeightDecay), float64(c.Dampening)
	for _, x := range f.p0 {
		p = append(p, to64(x))
	}
	bufs = make([][]float64, len(p))
	for s, gs := range f.grads {
		lr := float64(f.lrs[s])
		for i := range p {
			dp := to64(gs[i])
			if wd != 0 && !f.noDecay[i] {
				for j := range dp {
					dp[j] += wd * p[i][j]
				}
			}
			if mom != 0 {
				if bufs[i] == nil {
					bufs[i] = append([]float64(nil), dp...)
				} else {
					for j := range dp {
						bufs[i][j] = mom*bufs[i][j] + (1-damp)*dp[j]
					}
				}
				for j := range dp {
					if c.Nesterov {
						dp[j] += mom * bufs[i][j]
					} else {
						dp[j] = bufs[i][j]
					}
				}
			}
			for j := range dp {
				p[i][j] -= lr * dp[j]
			}
		}
	}
	return p, bufs
}

// refAdam transcribes torch.optim.Adam (decoupled=false) and
// torch.optim.AdamW (decoupled=true) in float64.
func refAdam(f fixture, c AdamConfig, decoupled bool) (p, m, v [][]float64) {
	b1, b2, eps, wd := float64(c.Beta1), float64(c.Beta2), float64(c.Eps), float64(c.WeightDecay)
	for _, x := range f.p0 {
		p = append(p, to64(x))
		m = append(m, make([]float64, len(x)))
		v = append(v, make([]float64, len(x)))
	}
	for s, gs := range f.grads {
		lr := float64(f.lrs[s])
		t := float64(s + 1)
		bc1 := 1 - math.Pow(b1, t)
		bc2 := 1 - math.Pow(b2, t)
		for i := range p {
			decay := wd != 0 && !f.noDecay[i]
			for j := range p[i] {
				g := float64(gs[i][j])
				if decay && decoupled {
					p[i][j] *= 1 - lr*wd
				}
				if decay && !decoupled {
					g += wd * p[i][j]
				}
				m[i][j] = b1*m[i][j] + (1-b1)*g
				v[i][j] = b2*v[i][j] + (1-b2)*g*g
				denom := math.Sqrt(v[i][j])/math.Sqrt(bc2) + eps
				p[i][j] -= lr / bc1 * m[i][j] / denom
			}
		}
	}
	return p, m, v
}

// assertRel fails unless every got[i] is within rtol of want[i], relative
// to |want[i]|.
func assertRel(t *testing.T, what string, got []float32, want []float64, rtol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len %d, want %d", what, len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(float64(got[i]) - want[i]); d > rtol*math.Abs(want[i]) {
			t.Errorf("%s[%d] = %.9g, want %.9g (rel err %.3g > %g)",
				what, i, got[i], want[i], d/math.Abs(want[i]), rtol)
		}
	}
}

// stateByName indexes a State() result.
func stateByName(t *testing.T, ts []StateTensor) map[string][]float32 {
	t.Helper()
	m := make(map[string][]float32, len(ts))
	for _, s := range ts {
		if _, dup := m[s.Name]; dup {
			t.Fatalf("state %q appears twice", s.Name)
		}
		m[s.Name] = s.Data
	}
	return m
}
