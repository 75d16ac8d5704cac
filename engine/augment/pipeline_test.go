package augment

import (
	"errors"
	"math"
	"testing"
)

const mnistBackground = -0.42421296

func mustPipeline(t testing.TB, spec string) *Pipeline {
	t.Helper()
	cfgs, err := Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(cfgs, mnistBackground)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const fullSpec = "affine(shear=5),elastic(p=0.7),noise(std=0.05),crop,hflip,vflip,cutout(p=0.5),brightness,contrast"

func TestSameSampleGivesSameBitsWhateverWorkerOrOrder(t *testing.T) {
	p := mustPipeline(t, fullSpec)
	s := Shape{C: 2, H: 28, W: 28}
	const n = 24
	src := make([]float32, n*s.Len())
	for i := range n {
		copy(src[i*s.Len():], randomImage(s, uint64(i)))
	}
	ids := make([]int, n)
	for i := range ids {
		ids[i] = 1000 + 7*i
	}
	sample := func(buf []float32, k int) []float32 { return buf[k*s.Len() : (k+1)*s.Len()] }

	// Worker a: in order, as a batch.
	a := make([]float32, len(src))
	p.NewWorker(42).ApplyBatch(a, src, s, 3, ids)
	// Worker b: in reverse order, one sample at a time, interleaving with
	// other epochs and ids so that any state carried over would show.
	b := make([]float32, len(src))
	wb := p.NewWorker(42)
	junk := make([]float32, s.Len())
	for k := n - 1; k >= 0; k-- {
		wb.Apply(junk, sample(src, (k+5)%n), s, 9, uint64(k))
		wb.Apply(sample(b, k), sample(src, k), s, 3, uint64(ids[k]))
	}
	equalBits(t, "two workers, two orders", b, a)
	// In place gives the same as out of place.
	c := append([]float32(nil), src...)
	p.NewWorker(42).ApplyBatch(c, c, s, 3, ids)
	equalBits(t, "in place", c, a)

	// Another id, epoch or seed changes the output.
	other := make([]float32, s.Len())
	w := p.NewWorker(42)
	for _, alt := range []struct {
		name      string
		w         *Worker
		epoch, id uint64
	}{{"id", w, 3, uint64(ids[0]) + 1}, {"epoch", w, 4, uint64(ids[0])}, {"seed", p.NewWorker(43), 3, uint64(ids[0])}} {
		alt.w.Apply(other, sample(src, 0), s, alt.epoch, alt.id)
		if equalSlices(other, sample(a, 0)) {
			t.Errorf("changing the %s left the output unchanged", alt.name)
		}
	}
}

func TestStepsDrawIndependently(t *testing.T) {
	// A step that changes nothing must not change what the others draw.
	s := Shape{C: 1, H: 28, W: 28}
	src := randomImage(s, 20)
	a, b := make([]float32, len(src)), make([]float32, len(src))
	mustPipeline(t, "affine,elastic").NewWorker(1).Apply(a, src, s, 0, 5)
	mustPipeline(t, "affine,elastic,noise(std=0)").NewWorker(1).Apply(b, src, s, 0, 5)
	equalBits(t, "with a no-op third step", b, a)
	// Step 0 draws from SampleRNG.
	mustPipeline(t, "affine").NewWorker(1).Apply(a, src, s, 2, 5)
	(&Affine{Degrees: 10, ScaleMin: 0.9, ScaleMax: 1.1, Translate: 0.1, Fill: mnistBackground}).Apply(b, src, s, SampleRNG(1, 2, 5), nil)
	equalBits(t, "step 0 vs SampleRNG", b, a)
}

func TestStepProbability(t *testing.T) {
	p := mustPipeline(t, "hflip(p=0.3)")
	s := Shape{C: 1, H: 1, W: 2}
	src := []float32{1, 2}
	dst := make([]float32, 2)
	w := p.NewWorker(7)
	const n = 20000
	flipped := 0
	for id := range uint64(n) {
		w.Apply(dst, src, s, 0, id)
		if dst[0] == 2 {
			flipped++
		}
	}
	// Binomial(20000, 0.3) has sd 65; allow 5 sd.
	if math.Abs(float64(flipped)-0.3*n) > 5*65 {
		t.Errorf("flipped %d of %d, want %g ± 325", flipped, n, 0.3*n)
	}
	for _, spec := range []string{"hflip(p=0)", "none"} {
		w := mustPipeline(t, spec).NewWorker(7)
		for id := range uint64(100) {
			w.Apply(dst, src, s, 0, id)
			if dst[0] != 1 || dst[1] != 2 {
				t.Fatalf("%s: id %d changed the input to %v", spec, id, dst)
			}
		}
	}
}

func TestWorkerDoesNotAllocate(t *testing.T) {
	p := mustPipeline(t, fullSpec)
	for _, s := range []Shape{{C: 1, H: 28, W: 28}, {C: 3, H: 32, W: 32}} {
		src := randomImage(s, 21)
		dst := make([]float32, len(src))
		w := p.NewWorker(1)
		id := uint64(0)
		w.Apply(dst, src, s, 0, id) // grows the scratch buffers
		allocs := testing.AllocsPerRun(50, func() {
			id++
			w.Apply(dst, src, s, 0, id)
			w.Apply(src, src, s, 1, id)
		})
		if allocs != 0 {
			t.Errorf("shape %+v: %g allocations per sample, want 0", s, allocs)
		}
	}
}

func TestSampleKeysDoNotCollide(t *testing.T) {
	seen := make(map[uint64]bool)
	for seed := range uint64(4) {
		for epoch := range uint64(4) {
			for id := range uint64(5000) {
				k := SampleKey(seed, epoch, id)
				if seen[k] {
					t.Fatalf("SampleKey(%d, %d, %d) collides", seed, epoch, id)
				}
				seen[k] = true
			}
		}
	}
	a, b := SampleRNG(1, 2, 3), SampleRNG(1, 2, 3)
	for range 10 {
		if x, y := a.Uint64(), b.Uint64(); x != y {
			t.Fatalf("SampleRNG(1, 2, 3) draws %d then %d", x, y)
		}
	}
}

func TestNewAndComposeReject(t *testing.T) {
	if _, err := New(nil, float32(math.NaN())); !errors.Is(err, ErrSpec) {
		t.Errorf("New with a NaN background: error %v, want ErrSpec", err)
	}
	if _, err := New(make([]Config, MaxSteps+1), 0); !errors.Is(err, ErrSpec) {
		t.Errorf("New with %d steps: error %v, want ErrSpec", MaxSteps+1, err)
	}
	if _, err := Compose(Step{T: &Noise{}, P: 1.5}); !errors.Is(err, ErrSpec) {
		t.Errorf("Compose with p=1.5: error %v, want ErrSpec", err)
	}
	if _, err := Compose(Step{P: 1}); !errors.Is(err, ErrSpec) {
		t.Errorf("Compose with a nil transform: error %v, want ErrSpec", err)
	}
	p, err := Compose(Step{T: &Flip{}, P: 1}, Step{T: &Noise{Std: 0}, P: 0.25})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.String(), "hflip(p=1),noise(p=0.25)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestWorkerPanicsOnWrongLengths(t *testing.T) {
	w := mustPipeline(t, "noise").NewWorker(0)
	defer func() {
		if recover() == nil {
			t.Error("Apply with a short dst: want a panic")
		}
	}()
	w.Apply(make([]float32, 3), make([]float32, 4), Shape{C: 1, H: 2, W: 2}, 0, 0)
}

func TestWorkersSharingAPipelineConcurrentlyAgreeWithOne(t *testing.T) {
	p := mustPipeline(t, fullSpec)
	s := Shape{C: 1, H: 28, W: 28}
	const n, workers = 64, 4
	src := randomImage(Shape{C: n, H: s.H, W: s.W}, 22)
	one := make([]float32, len(src))
	ids := make([]int, n)
	for i := range ids {
		ids[i] = i
	}
	p.NewWorker(8).ApplyBatch(one, src, s, 2, ids)

	many := make([]float32, len(src))
	done := make(chan struct{})
	for g := range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			w := p.NewWorker(8)
			for k := g; k < n; k += workers {
				w.Apply(many[k*s.Len():(k+1)*s.Len()], src[k*s.Len():(k+1)*s.Len()], s, 2, uint64(k))
			}
		}()
	}
	for range workers {
		<-done
	}
	equalBits(t, "four concurrent workers", many, one)
}
