package core

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/quick"
)

var (
	_ Policy = (*SelectiveBackprop)(nil)
	_ Policy = (*Uniform)(nil)
)

func mustSelective(t testing.TB, cfg SelectiveConfig) *SelectiveBackprop {
	t.Helper()
	s, err := NewSelectiveBackprop(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// naivePercentile is scipy.stats.percentileofscore(history, x, kind="rank")
// divided by 100, written from its documentation.
func naivePercentile(history []float32, x float32) float64 {
	left, right := 0, 0
	for _, h := range history {
		if h < x {
			left++
		}
		if h <= x {
			right++
		}
	}
	extra := 0
	if right > left {
		extra = 1
	}
	return float64(left+right+extra) / float64(2*len(history))
}

func TestSelectivePercentileMatchesScipyExample(t *testing.T) {
	// scipy's documentation: percentileofscore([1, 2, 3, 3, 4], 3) == 70.0.
	s := mustSelective(t, SelectiveConfig{History: 8, Beta: 1})
	for _, l := range []float32{1, 2, 3, 4} {
		s.Observe(l)
	}
	if got, want := s.Observe(3), 0.70; math.Abs(got-want) > 1e-12 {
		t.Errorf("percentile of 3 in [1 2 3 3 4] = %v, want %v", got, want)
	}
}

func TestSelectiveAgainstNaiveWindow(t *testing.T) {
	// Losses are drawn from a few values so that ties are common.
	check := func(raw []uint8, hist uint8, beta10 uint8, floor100 uint8) bool {
		r := 1 + int(hist%16)
		cfg := SelectiveConfig{History: r, Beta: float64(beta10%40) / 10, Floor: float64(floor100%101) / 100}
		s := mustSelective(t, cfg)
		var window []float32
		for _, b := range raw {
			l := float32(b%7) / 2
			window = append(window, l)
			if len(window) > r {
				window = window[1:]
			}
			want := max(cfg.Floor, math.Pow(naivePercentile(window, l), cfg.Beta))
			if got := s.Observe(l); math.Abs(got-want) > 1e-12 {
				t.Logf("R=%d beta=%g floor=%g window=%v loss=%g: got %v, want %v", r, cfg.Beta, cfg.Floor, window, l, got, want)
				return false
			}
		}
		return true
	}
	if err := quick.Check(check, &quick.Config{MaxCount: 500, Rand: nil}); err != nil {
		t.Error(err)
	}
}

func TestSelectiveDecide(t *testing.T) {
	tests := []struct {
		name     string
		cfg      SelectiveConfig
		losses   []float32
		uniforms []float32
		want     []bool
	}{
		{
			// Beta 0 keeps everything, even at the top of [0, 1).
			name: "beta 0 keeps all", cfg: SelectiveConfig{History: 4, Beta: 0},
			losses: []float32{5, 1, 1, 1}, uniforms: []float32{0.99999994, 0.99999994, 0, 0.5},
			want: []bool{true, true, true, true},
		},
		{
			// Percentiles: 2 alone → 1; 1 in [2 1] → (0+1+1)/4 = 0.5;
			// 0.5 in [2 1 0.5] → (0+1+1)/6 = 1/3; 3 in [2 1 0.5 3] → 1.
			name: "beta 1", cfg: SelectiveConfig{History: 4, Beta: 1},
			losses: []float32{2, 1, 0.5, 3}, uniforms: []float32{0.9, 0.51, 0.32, 0.9},
			want: []bool{true, false, true, true},
		},
		{
			// The floor lifts 1/3 to 0.4, so 0.39 keeps the third sample.
			name: "floor", cfg: SelectiveConfig{History: 4, Beta: 1, Floor: 0.4},
			losses: []float32{2, 1, 0.5}, uniforms: []float32{0.9, 0.51, 0.39},
			want: []bool{true, false, true},
		},
		{
			// A NaN loss is kept and stays out of the history: the 1 that
			// follows ranks in [2 1] (0.5), not in a history of 3 (1/3).
			name: "NaN", cfg: SelectiveConfig{History: 4, Beta: 1},
			losses: []float32{2, float32(math.NaN()), 1}, uniforms: []float32{0, 0.99, 0.4},
			want: []bool{true, true, true},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mustSelective(t, tc.cfg)
			keep := make([]bool, len(tc.losses))
			s.Decide(tc.losses, tc.uniforms, keep)
			if fmt.Sprint(keep) != fmt.Sprint(tc.want) {
				t.Errorf("keep = %v, want %v", keep, tc.want)
			}
			var fwd uint64
			for _, k := range tc.want {
				if k {
					fwd++
				}
			}
			if st := s.Stats(); st.Forwarded != fwd || st.Dropped != uint64(len(keep))-fwd {
				t.Errorf("stats %+v, want %d forwarded of %d", st, fwd, len(keep))
			}
		})
	}
}

func TestSelectiveKeepRate(t *testing.T) {
	// With i.i.d. losses the percentile is uniform on (0, 1], so with beta
	// the expected keep rate is about 1/(beta+1).
	for _, beta := range []float64{1, 2, 3} {
		s := mustSelective(t, SelectiveConfig{History: 1024, Beta: beta})
		rng := rand.New(rand.NewPCG(1, 2))
		const n = 40000
		losses, uniforms, keep := make([]float32, 64), make([]float32, 64), make([]bool, 64)
		for i := 0; i < n; i += 64 {
			for j := range losses {
				losses[j] = float32(rng.ExpFloat64())
				uniforms[j] = SampleUniform(9, 0, i+j)
			}
			s.Decide(losses, uniforms, keep)
		}
		st := s.Stats()
		got := float64(st.Forwarded) / float64(st.Forwarded+st.Dropped)
		if want := 1 / (beta + 1); math.Abs(got-want) > 0.02 {
			t.Errorf("beta %g: keep rate %.4f, want %.4f ± 0.02", beta, got, want)
		}
	}
}

func TestSelectiveDeterministic(t *testing.T) {
	run := func() []bool {
		s := mustSelective(t, SelectiveConfig{History: 32, Beta: 2, Floor: 0.05})
		var all []bool
		losses, uniforms, keep := make([]float32, 16), make([]float32, 16), make([]bool, 16)
		for b := range 20 {
			for j := range losses {
				losses[j] = float32(SampleUniform(5, 1, 1000+b*16+j)) * 3
				uniforms[j] = SampleUniform(5, 0, b*16+j)
			}
			s.Decide(losses, uniforms, keep)
			all = append(all, keep...)
		}
		return all
	}
	if a, b := run(), run(); fmt.Sprint(a) != fmt.Sprint(b) {
		t.Error("two runs with the same inputs decided differently")
	}
}

func TestSelectiveDecideAllocatesNothing(t *testing.T) {
	s := mustSelective(t, SelectiveConfig{History: 1024, Beta: 1})
	losses, uniforms, keep := make([]float32, 128), make([]float32, 128), make([]bool, 128)
	for i := range losses {
		losses[i] = float32(i % 13)
		uniforms[i] = SampleUniform(1, 2, i)
	}
	if n := testing.AllocsPerRun(50, func() { s.Decide(losses, uniforms, keep) }); n != 0 {
		t.Errorf("Decide allocates %v times per call, want 0", n)
	}
}

func TestDecideLengthMismatchPanics(t *testing.T) {
	s := mustSelective(t, SelectiveConfig{History: 4, Beta: 1})
	u, _ := NewUniform(1)
	for name, p := range map[string]Policy{"selective": s, "uniform": u} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				r := recover()
				if msg, _ := r.(string); !strings.Contains(msg, "want equal lengths") {
					t.Errorf("recovered %v, want a panic about lengths", r)
				}
			}()
			p.Decide(make([]float32, 2), make([]float32, 3), make([]bool, 2))
		})
	}
}

func TestUniformPolicy(t *testing.T) {
	all, err := NewUniform(1)
	if err != nil {
		t.Fatal(err)
	}
	keep := make([]bool, 3)
	all.Decide([]float32{1, 2, 3}, []float32{0, 0.5, 0.99999994}, keep)
	if fmt.Sprint(keep) != "[true true true]" {
		t.Errorf("pass-through kept %v", keep)
	}
	quarter, err := NewUniform(0.25)
	if err != nil {
		t.Fatal(err)
	}
	const n = 40000
	losses, uniforms, k := make([]float32, n), make([]float32, n), make([]bool, n)
	for i := range uniforms {
		uniforms[i] = SampleUniform(3, 1, i)
	}
	quarter.Decide(losses, uniforms, k)
	st := quarter.Stats()
	if rate := float64(st.Forwarded) / n; math.Abs(rate-0.25) > 0.01 || st.Forwarded+st.Dropped != n {
		t.Errorf("keep rate %.4f (stats %+v), want 0.25 ± 0.01", rate, st)
	}
	for _, p := range []float64{0, -1, 1.5, math.NaN()} {
		if _, err := NewUniform(p); !isErr(err, ErrConfig) {
			t.Errorf("NewUniform(%v): %v, want ErrConfig", p, err)
		}
	}
}

func TestSelectiveConfigValidate(t *testing.T) {
	for _, cfg := range []SelectiveConfig{
		{History: 0, Beta: 1},
		{History: 4, Beta: -1},
		{History: 4, Beta: math.NaN()},
		{History: 4, Beta: math.Inf(1)},
		{History: 4, Beta: 1, Floor: -0.1},
		{History: 4, Beta: 1, Floor: 1.1},
		{History: 4, Beta: 1, Floor: math.NaN()},
	} {
		if _, err := NewSelectiveBackprop(cfg); !isErr(err, ErrConfig) {
			t.Errorf("%+v: %v, want ErrConfig", cfg, err)
		}
	}
}

func TestSampleUniform(t *testing.T) {
	if SampleUniform(1, 2, 3) != SampleUniform(1, 2, 3) {
		t.Fatal("not a function of its inputs")
	}
	base := SampleUniform(1, 2, 3)
	for _, other := range []float32{SampleUniform(2, 2, 3), SampleUniform(1, 3, 3), SampleUniform(1, 2, 4)} {
		if other == base {
			t.Errorf("changing one input left the value at %v", base)
		}
	}
	// Chi-square over 20 bins of 100000 draws: the 99.9% quantile with 19
	// degrees of freedom is 43.8.
	const n, bins = 100000, 20
	var count [bins]int
	for i := range n {
		u := SampleUniform(42, i%7, i)
		if !(u >= 0 && u < 1) {
			t.Fatalf("SampleUniform = %v, want [0, 1)", u)
		}
		count[int(u*bins)]++
	}
	chi := 0.0
	for _, c := range count {
		d := float64(c) - n/bins
		chi += d * d / (n / bins)
	}
	if chi > 43.8 {
		t.Errorf("chi-square %.1f over %d bins, want ≤ 43.8: %v", chi, bins, count)
	}
}

func TestSelectionScripts(t *testing.T) { runScripts(t, "selection", newSelectionHandler) }

// newSelectionHandler drives one policy per script:
//
//	new-selective history=4 beta=1 floor=0
//	new-uniform p=0.5
//	observe loss=1.5          prints the keep probability
//	decide losses=1,2 uniforms=0.3,0.9
func newSelectionHandler() handler {
	var p Policy
	stats := func() SelectionStats {
		switch q := p.(type) {
		case *SelectiveBackprop:
			return q.Stats()
		case *Uniform:
			return q.Stats()
		}
		return SelectionStats{}
	}
	return func(c scriptCmd) []string {
		switch c.name {
		case "new-selective":
			s, err := NewSelectiveBackprop(SelectiveConfig{History: c.int("history"), Beta: c.float("beta"), Floor: c.float("floor")})
			if err != nil {
				return errLine(err)
			}
			p = s
			return nil
		case "new-uniform":
			u, err := NewUniform(c.float("p"))
			if err != nil {
				return errLine(err)
			}
			p = u
			return nil
		case "observe":
			s, ok := p.(*SelectiveBackprop)
			if !ok {
				panic(argError{"observe needs new-selective"})
			}
			return []string{fmt.Sprintf("p=%.4f", s.Observe(c.floats("loss")[0]))}
		case "decide":
			losses, uniforms := c.floats("losses"), c.floats("uniforms")
			if len(losses) != len(uniforms) {
				panic(argError{"losses and uniforms differ in length"})
			}
			keep := make([]bool, len(losses))
			p.Decide(losses, uniforms, keep)
			st := stats()
			return []string{fmt.Sprintf("keep=%v forwarded=%d dropped=%d", keep, st.Forwarded, st.Dropped)}
		}
		return unknownCmd(c)
	}
}
