package augment

import (
	"math"
	"math/rand/v2"
	"testing"
)

// stepRNG is the generator step i of a pipeline draws from for sample id of
// epoch, as a Worker seeds it.
func stepRNG(seed, epoch, id uint64, step int) *rand.Rand {
	s0, s1, _ := stepStreams(SampleKey(seed, epoch, id), step)
	return rand.New(rand.NewPCG(s0, s1))
}

// TestFusedWarpMatchesComposedMaps checks fused runs against maps composed
// by hand from each step's own draws: affine steps before an elastic one, or
// before another affine one, are sampled once, through the last step's map
// followed by the earlier steps' inverses, last to first. Shapes are odd and
// multi-channel, and the steps use different fills from one pipeline to
// the next.
func TestFusedWarpMatchesComposedMaps(t *testing.T) {
	const fill = -0.25
	el, err := NewElastic(6, 2, fill)
	if err != nil {
		t.Fatal(err)
	}
	a1 := &Affine{Degrees: 20, ScaleMin: 0.8, ScaleMax: 1.2, Translate: 0.1, Shear: 10, Fill: fill}
	a2 := &Affine{Degrees: 5, ScaleMin: 1, ScaleMax: 1, Translate: 0.2, Fill: fill}
	for _, tc := range []struct {
		name  string
		steps []Step
	}{
		{"affine,elastic", []Step{{a1, 1}, {el, 1}}},
		{"affine,affine", []Step{{a1, 1}, {a2, 1}}},
		{"affine,affine,elastic", []Step{{a1, 1}, {a2, 1}, {el, 1}}},
	} {
		p, err := Compose(tc.steps...)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []Shape{{C: 1, H: 28, W: 28}, {C: 3, H: 9, W: 13}} {
			w := p.NewWorker(7)
			src := randomImage(s, 3)
			got := make([]float32, s.Len())
			for id := range uint64(5) {
				w.Apply(got, src, s, 2, id)
				n := s.Plane()
				mx, my := make([]float32, n), make([]float32, n)
				last := len(tc.steps) - 1
				if e, ok := tc.steps[last].T.(*Elastic); ok {
					e.Field(mx, my, s.H, s.W, stepRNG(7, 2, id, last), nil)
					for i := range mx {
						mx[i] += float32(i % s.W)
						my[i] += float32(i / s.W)
					}
				} else {
					inv, err := tc.steps[last].T.(*Affine).Matrix(s, stepRNG(7, 2, id, last)).Inverse()
					if err != nil {
						t.Fatal(err)
					}
					for i := range mx {
						x, y := inv.Apply(float64(i%s.W), float64(i/s.W))
						mx[i], my[i] = float32(x), float32(y)
					}
				}
				for k := last - 1; k >= 0; k-- {
					inv, err := tc.steps[k].T.(*Affine).Matrix(s, stepRNG(7, 2, id, k)).Inverse()
					if err != nil {
						t.Fatal(err)
					}
					for i := range mx {
						x, y := inv.Apply(float64(mx[i]), float64(my[i]))
						mx[i], my[i] = float32(x), float32(y)
					}
				}
				want := make([]float32, s.Len())
				Remap(want, src, s, mx, my, fill)
				for i := range want {
					if d := math.Abs(float64(got[i] - want[i])); d > 1e-5 {
						t.Fatalf("%s, %dx%dx%d, sample %d: pixel %d = %v, want %v", tc.name, s.C, s.H, s.W, id, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestFusedWarpIdentity: an affine step that draws the identity and an
// elastic step of strength 0 sample every pixel centre exactly, so the
// fused run returns the image unchanged, where resampling twice would too
// but two non-trivial maps would blur twice.
func TestFusedWarpIdentity(t *testing.T) {
	el, err := NewElastic(0, 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compose(Step{&Affine{ScaleMin: 1, ScaleMax: 1}, 1}, Step{el, 1})
	if err != nil {
		t.Fatal(err)
	}
	s := Shape{C: 2, H: 11, W: 7}
	src := randomImage(s, 5)
	got := make([]float32, s.Len())
	p.NewWorker(1).Apply(got, src, s, 0, 3)
	for i := range src {
		if got[i] != src[i] {
			t.Fatalf("pixel %d = %v, want %v unchanged", i, got[i], src[i])
		}
	}
}

// TestFusedWarpSharper: a translation by a fraction of a pixel and back,
// fused, samples pixel centres again (up to rounding of the coordinates);
// resampled twice, it would average neighbours. The fused run must stay
// within rounding of the source, far closer than the double resampling.
func TestFusedWarpSharper(t *testing.T) {
	s := Shape{C: 1, H: 15, W: 15}
	src := randomImage(s, 9)
	// Two steps drawing the same translation would not undo each other, so
	// compose a shift with its own inverse by hand through the maps.
	w := (&Pipeline{}).NewWorker(1)
	n := s.Plane()
	mx, my := grow(&w.sc.mapX, n), grow(&w.sc.mapY, n)
	shift := Matrix{A: 1, C: 0.4, E: 1, F: -0.3}
	back, err := shift.Inverse()
	if err != nil {
		t.Fatal(err)
	}
	fillGrid(mx, my, s, shift)
	mapPoints(mx, my, back)
	fused := make([]float32, s.Len())
	Remap(fused, src, s, mx, my, 0)
	twice, tmp := make([]float32, s.Len()), make([]float32, s.Len())
	WarpAffine(tmp, src, s, shift, 0, nil)
	WarpAffine(twice, tmp, s, back, 0, nil)
	var errFused, errTwice float64
	for y := 1; y < s.H-1; y++ {
		for x := 1; x < s.W-1; x++ {
			i := y*s.W + x
			errFused = math.Max(errFused, math.Abs(float64(fused[i]-src[i])))
			errTwice = math.Max(errTwice, math.Abs(float64(twice[i]-src[i])))
		}
	}
	if errFused > 1e-5 || errTwice < 0.05 {
		t.Fatalf("max interior error fused %g (want ≤ 1e-5), resampled twice %g (want ≥ 0.05)", errFused, errTwice)
	}
}

// TestUnfusedRuns: runs the fusion does not take (an elastic step before an
// affine one, steps with different fills, a step that does not run between
// two that do is skipped over) give what applying the running steps one by
// one gives, or the fused maps for the skipped-over case.
func TestUnfusedRuns(t *testing.T) {
	el, err := NewElastic(5, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	aff := &Affine{Degrees: 15, ScaleMin: 0.9, ScaleMax: 1.1, Translate: 0.1}
	other := &Affine{Degrees: 15, ScaleMin: 0.9, ScaleMax: 1.1, Translate: 0.1, Fill: 1}
	s := Shape{C: 1, H: 12, W: 10}
	src := randomImage(s, 11)
	for _, tc := range []struct {
		name  string
		steps []Step
	}{
		{"elastic,affine", []Step{{el, 1}, {aff, 1}}},
		{"affine(fill=1),elastic", []Step{{other, 1}, {el, 1}}},
	} {
		p, err := Compose(tc.steps...)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]float32, s.Len())
		p.NewWorker(4).Apply(got, src, s, 1, 8)
		cur := append([]float32(nil), src...)
		for k, st := range tc.steps {
			next := make([]float32, s.Len())
			st.T.Apply(next, cur, s, stepRNG(4, 1, 8, k), nil)
			cur = next
		}
		for i := range cur {
			if got[i] != cur[i] {
				t.Fatalf("%s: pixel %d = %v, want %v from the steps one by one", tc.name, i, got[i], cur[i])
			}
		}
	}
	// A step with p = 0 between an affine and an elastic step leaves them
	// adjacent: they fuse as if it were absent, each keeping its own
	// stream (step indices 0 and 2).
	noise := &Noise{Std: 0.5}
	withGap, err := Compose(Step{aff, 1}, Step{noise, 0}, Step{el, 1})
	if err != nil {
		t.Fatal(err)
	}
	got := make([]float32, s.Len())
	withGap.NewWorker(4).Apply(got, src, s, 1, 8)
	n := s.Plane()
	mx, my := make([]float32, n), make([]float32, n)
	el.Field(mx, my, s.H, s.W, stepRNG(4, 1, 8, 2), nil)
	for i := range mx {
		mx[i] += float32(i % s.W)
		my[i] += float32(i / s.W)
	}
	inv, err := aff.Matrix(s, stepRNG(4, 1, 8, 0)).Inverse()
	if err != nil {
		t.Fatal(err)
	}
	mapPoints(mx, my, inv)
	want := make([]float32, s.Len())
	Remap(want, src, s, mx, my, 0)
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-5 {
			t.Fatalf("affine,noise(p=0),elastic: pixel %d = %v, want %v", i, got[i], want[i])
		}
	}
}
