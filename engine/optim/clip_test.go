package optim

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/floats"
)

func gradParams(grads ...[]float32) []Param {
	ps := make([]Param, len(grads))
	for i, g := range grads {
		ps[i] = Param{Name: string(rune('a' + i)), Data: make([]float32, len(g)), Grad: slices.Clone(g)}
	}
	return ps
}

func allGrads(ps []Param) []float64 {
	var out []float64
	for _, p := range ps {
		out = append(out, to64(p.Grad)...)
	}
	return out
}

func TestClipGradNormHandComputed(t *testing.T) {
	ps := gradParams([]float32{3, 4}, []float32{12})
	norm := ClipGradNorm(ps, 6.5)
	if norm != 13 {
		t.Errorf("norm = %v, want 13", norm)
	}
	c := 6.5 / (13 + 1e-6)
	assertRel(t, "clipped", []float32{ps[0].Grad[0], ps[0].Grad[1], ps[1].Grad[0]},
		[]float64{3 * c, 4 * c, 12 * c}, 1e-6)
}

func TestClipGradNormRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	var gs [][]float32
	for _, n := range []int{500, 1, 333} {
		g := make([]float32, n)
		for i := range g {
			g[i] = float32(rng.NormFloat64())
		}
		gs = append(gs, g)
	}
	ps := gradParams(gs...)
	before := allGrads(ps)
	want := floats.Norm(before, 2)
	const maxNorm = 2
	got := ClipGradNorm(ps, maxNorm)
	if d := math.Abs(float64(got) - want); d > 1e-6*want {
		t.Fatalf("norm = %v, want %v", got, want)
	}
	scaled := slices.Clone(before)
	floats.Scale(maxNorm/(want+1e-6), scaled)
	var flat []float32
	for _, p := range ps {
		flat = append(flat, p.Grad...)
	}
	// Drop elements too small for a relative comparison to mean anything.
	for i := range scaled {
		if math.Abs(scaled[i]) < 1e-3 {
			scaled[i], flat[i] = 1, 1
		}
	}
	assertRel(t, "grad", flat, scaled, 1e-6)
	if after := floats.Norm(allGrads(ps), 2); math.Abs(after-maxNorm) > 1e-5*maxNorm {
		t.Errorf("norm after clipping = %v, want %v", after, maxNorm)
	}
}

func TestClipGradNormLeavesGradsAlone(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	cases := []struct {
		name     string
		grads    []float32
		maxNorm  float32
		wantNorm float64
	}{
		{"below max", []float32{3, 4}, 6, 5},
		{"zero grads", []float32{0, 0}, 1, 0},
		{"max zero disables", []float32{3, 4}, 0, 5},
		{"max negative disables", []float32{3, 4}, -1, 5},
		{"max NaN disables", []float32{3, 4}, nan, 5},
		{"infinite grad", []float32{3, inf}, 1, math.Inf(1)},
		{"NaN grad", []float32{nan, 4}, 1, math.NaN()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ps := gradParams(tc.grads)
			norm := ClipGradNorm(ps, tc.maxNorm)
			if !(float64(norm) == tc.wantNorm || math.IsNaN(float64(norm)) && math.IsNaN(tc.wantNorm)) {
				t.Errorf("norm = %v, want %v", norm, tc.wantNorm)
			}
			for i, g := range ps[0].Grad {
				if math.Float32bits(g) != math.Float32bits(tc.grads[i]) {
					t.Errorf("grad[%d] = %v, want untouched %v", i, g, tc.grads[i])
				}
			}
		})
	}
}

// TestClipScaleBoundary pins PyTorch's rule: the factor is
// maxNorm/(norm+1e-6), applied whenever it is below 1, so a norm equal to
// maxNorm is still scaled by a hair.
func TestClipScaleBoundary(t *testing.T) {
	cases := []struct {
		norm    float64
		maxNorm float32
		want    float64
	}{
		{1, 1, 1 / (1 + 1e-6)},
		{0.5, 1, 1},
		{1 - 2e-6, 1, 1},
		{4, 1, 1 / (4 + 1e-6)},
	}
	for _, tc := range cases {
		got := ClipScale(tc.norm, tc.maxNorm)
		if d := math.Abs(float64(got) - tc.want); d > 1e-7*tc.want {
			t.Errorf("ClipScale(%v, %v) = %.9g, want %.9g", tc.norm, tc.maxNorm, got, tc.want)
		}
	}
	if got := ClipScale(1, 1); !(got < 1) {
		t.Errorf("ClipScale(1, 1) = %v, want below 1", got)
	}
}

// TestShardedClipping splits the gradients in two "shards" and wants the
// shard-wise recipe to give the same result as clipping everything at once.
func TestShardedClipping(t *testing.T) {
	whole := gradParams([]float32{1, -2, 3}, []float32{4, 5}, []float32{-6})
	a, b := gradParams(whole[0].Grad, whole[1].Grad), gradParams(whole[2].Grad)
	wantNorm := ClipGradNorm(whole, 3)
	norm := math.Sqrt(GradSquaredNorm(a) + GradSquaredNorm(b))
	if float32(norm) != wantNorm {
		t.Errorf("sharded norm %v, want %v", norm, wantNorm)
	}
	s := ClipScale(norm, 3)
	ScaleGrads(a, s)
	ScaleGrads(b, s)
	got := append(allGrads(a), allGrads(b)...)
	want := allGrads(whole)
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("grad %d: sharded %v, whole %v", i, got[i], want[i])
		}
	}
}

func TestZeroGrad(t *testing.T) {
	ps := gradParams([]float32{1, 2}, []float32{float32(math.NaN())})
	ps[0].Data[0] = 7
	ZeroGrad(ps)
	for _, g := range allGrads(ps) {
		if g != 0 {
			t.Errorf("grad %v after ZeroGrad, want 0", g)
		}
	}
	if ps[0].Data[0] != 7 {
		t.Errorf("ZeroGrad changed Data to %v", ps[0].Data[0])
	}
}

func TestClipAndZeroAllocateNothing(t *testing.T) {
	ps := gradParams([]float32{3, 4}, []float32{12})
	if n := testing.AllocsPerRun(50, func() { ClipGradNorm(ps, 1) }); n != 0 {
		t.Errorf("ClipGradNorm allocates %v times, want 0", n)
	}
	if n := testing.AllocsPerRun(50, func() { ZeroGrad(ps) }); n != 0 {
		t.Errorf("ZeroGrad allocates %v times, want 0", n)
	}
}
