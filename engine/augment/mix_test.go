package augment

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestBetaDrawMoments(t *testing.T) {
	for _, c := range []struct{ a, b float64 }{{0.2, 0.2}, {1, 1}, {5, 5}, {2, 5}, {0.05, 0.05}} {
		rng := rngFor(uint64(1000 * c.a))
		const n = 20000
		var sum, sq float64
		for range n {
			v := betaDraw(rng, c.a, c.b)
			if !(v >= 0 && v <= 1) {
				t.Fatalf("Beta(%g, %g) drew %v", c.a, c.b, v)
			}
			sum += v
			sq += v * v
		}
		mean, variance := sum/n, sq/n-(sum/n)*(sum/n)
		wantMean := c.a / (c.a + c.b)
		wantVar := c.a * c.b / ((c.a + c.b) * (c.a + c.b) * (c.a + c.b + 1))
		// Five standard errors of the mean; the variance within 5 %.
		if se := math.Sqrt(wantVar / n); math.Abs(mean-wantMean) > 5*se {
			t.Errorf("Beta(%g, %g): mean %.4f, want %.4f ± %.4f", c.a, c.b, mean, wantMean, 5*se)
		}
		if math.Abs(variance-wantVar) > 0.05*wantVar {
			t.Errorf("Beta(%g, %g): variance %.5f, want %.5f ± 5 %%", c.a, c.b, variance, wantVar)
		}
	}
}

// TestBetaDrawTinyShape checks the limit α → 0, where both Gamma draws
// underflow: λ must stay a number in [0, 1], 0 or 1 about equally often.
func TestBetaDrawTinyShape(t *testing.T) {
	rng := rngFor(5)
	ones := 0
	for range 200 {
		v := betaDraw(rng, 5e-324, 5e-324)
		if v != 0 && v != 1 {
			t.Fatalf("Beta(5e-324, 5e-324) drew %v, want 0 or 1", v)
		}
		ones += int(v)
	}
	if ones < 60 || ones > 140 {
		t.Errorf("%d ones in 200 draws, want about 100", ones)
	}
}

// constantBatch returns n samples of shape s, sample i holding the value i+1
// everywhere, with labels i, so that every mixed pixel says where it came from.
func constantBatch(s Shape, n int) ([]float32, []int32, []int) {
	x := make([]float32, n*s.Len())
	labels, ids := make([]int32, n), make([]int, n)
	for i := range n {
		for k := range s.Len() {
			x[i*s.Len()+k] = float32(i + 1)
		}
		labels[i], ids[i] = int32(i), 100+3*i
	}
	return x, labels, ids
}

// softLabelsSumToOne checks that λ lies in [0, 1] and that the soft label
// λ·onehot(y) + (1−λ)·onehot(m) of each sample sums to 1.
func softLabelsSumToOne(t *testing.T, labels, mix []int32, lambda []float32, classes int) {
	t.Helper()
	for i := range labels {
		if !(lambda[i] >= 0 && lambda[i] <= 1) {
			t.Fatalf("sample %d: λ = %v outside [0, 1]", i, lambda[i])
		}
		q := make([]float64, classes)
		q[labels[i]] += float64(lambda[i])
		q[mix[i]] += 1 - float64(lambda[i])
		var sum float64
		for _, v := range q {
			sum += v
		}
		if math.Abs(sum-1) > 1e-6 {
			t.Fatalf("sample %d: soft label sums to %v, want 1", i, sum)
		}
	}
}

// isPermutation checks that mix holds every label exactly once.
func isPermutation(t *testing.T, mix []int32, n int) {
	t.Helper()
	seen := make([]bool, n)
	for _, m := range mix {
		if m < 0 || int(m) >= n || seen[m] {
			t.Fatalf("partner labels %v are not a permutation of the batch", mix)
		}
		seen[m] = true
	}
}

func TestMixupBlendsImagesWithTheLabelWeights(t *testing.T) {
	for _, s := range []Shape{{C: 1, H: 28, W: 28}, {C: 3, H: 5, W: 7}, {C: 2, H: 1, W: 9}} {
		const n = 8
		src := make([]float32, n*s.Len())
		for i := range n {
			copy(src[i*s.Len():], randomImage(s, uint64(i)))
		}
		_, labels, ids := constantBatch(s, n)
		w := mustPipeline(t, "mixup(alpha=1)").NewWorker(3)
		for epoch := range uint64(5) {
			x := append([]float32(nil), src...)
			mix, lambda := make([]int32, n), make([]float32, n)
			ok, err := w.MixBatch(x, s, epoch, ids, labels, mix, lambda)
			if err != nil || !ok {
				t.Fatalf("MixBatch = %v, %v; want a mixed batch", ok, err)
			}
			isPermutation(t, mix, n)
			softLabelsSumToOne(t, labels, mix, lambda, n)
			for i := range n {
				if lambda[i] != lambda[0] {
					t.Fatalf("λ differs within the batch: %v", lambda)
				}
				lam, j := lambda[i], int(mix[i]) // label j is sample j
				a, b := src[i*s.Len():(i+1)*s.Len()], src[j*s.Len():(j+1)*s.Len()]
				for k, v := range x[i*s.Len() : (i+1)*s.Len()] {
					if want := lam*a[k] + (1-lam)*b[k]; math.Float32bits(v) != math.Float32bits(want) {
						t.Fatalf("shape %v epoch %d sample %d value %d = %v, want λ·x_i + (1−λ)·x_j = %v (λ = %v, j = %d)",
							s, epoch, i, k, v, want, lam, j)
					}
				}
			}
		}
	}
}

// TestCutMixGeometry checks on constant images that each mixed sample holds
// one rectangle of its partner, the same in every channel and every sample,
// covering exactly the share 1 − λ of the image.
func TestCutMixGeometry(t *testing.T) {
	for _, s := range []Shape{{C: 1, H: 28, W: 28}, {C: 3, H: 5, W: 7}, {C: 2, H: 1, W: 9}, {C: 1, H: 1, W: 1}} {
		const n = 6
		src, labels, ids := constantBatch(s, n)
		w := mustPipeline(t, "cutmix").NewWorker(4)
		sawBox := false
		for epoch := range uint64(20) {
			x := append([]float32(nil), src...)
			mix, lambda := make([]int32, n), make([]float32, n)
			if ok, err := w.MixBatch(x, s, epoch, ids, labels, mix, lambda); err != nil || !ok {
				t.Fatalf("MixBatch = %v, %v; want a mixed batch", ok, err)
			}
			isPermutation(t, mix, n)
			softLabelsSumToOne(t, labels, mix, lambda, n)
			var box *Box
			for i := range n {
				own, other := float32(i+1), float32(mix[i]+1)
				b := Box{Y0: s.H, X0: s.W}
				count := 0
				for c := range s.C {
					for y := range s.H {
						for xx := range s.W {
							switch v := x[i*s.Len()+c*s.Plane()+y*s.W+xx]; {
							case v == own:
							case v == other:
								if c == 0 {
									count++
									b = Box{Y0: min(b.Y0, y), X0: min(b.X0, xx), Y1: max(b.Y1, y+1), X1: max(b.X1, xx+1)}
								} else if at(x[i*s.Len():], s, 0, y, xx) != other {
									t.Fatalf("shape %v sample %d: channel %d pasted at (%d, %d), channel 0 not", s, i, c, y, xx)
								}
							default:
								t.Fatalf("shape %v sample %d: value %v is neither its own %v nor its partner's %v", s, i, v, own, other)
							}
						}
					}
				}
				if own == other {
					continue // a sample drawn as its own partner stays as it was
				}
				if count > 0 && b.Area() != count {
					t.Fatalf("shape %v sample %d: %d pasted pixels in a bounding box of %d: not a rectangle", s, i, count, b.Area())
				}
				if count > 0 {
					sawBox = true
					if box == nil {
						box = &b
					} else if *box != b {
						t.Fatalf("shape %v: sample %d has box %+v, an earlier one %+v", s, i, b, *box)
					}
				}
				if want := 1 - float64(count)/float64(s.Plane()); math.Abs(float64(lambda[i])-want) > 1e-6 {
					t.Fatalf("shape %v sample %d: λ = %v with %d of %d pixels pasted, want %v", s, i, lambda[i], count, s.Plane(), want)
				}
			}
		}
		if !sawBox && s.Plane() > 1 {
			t.Errorf("shape %v: no box pasted in 20 batches", s)
		}
	}
}

func TestCutBox(t *testing.T) {
	s := Shape{C: 1, H: 10, W: 20}
	for _, c := range []struct {
		lam0   float64
		cy, cx int
		want   Box
	}{
		{1, 5, 10, Box{Y0: 5, X0: 10, Y1: 5, X1: 10}},   // λ₀ = 1: nothing pasted
		{0, 5, 10, Box{Y0: 0, X0: 0, Y1: 10, X1: 20}},   // λ₀ = 0, centred: the whole image
		{0.75, 5, 10, Box{Y0: 3, X0: 5, Y1: 8, X1: 15}}, // half of each side
		{0.75, 0, 19, Box{Y0: 0, X0: 14, Y1: 3, X1: 20}},
	} {
		if got := CutBox(s, c.lam0, c.cy, c.cx); got != c.want {
			t.Errorf("CutBox(λ₀=%g, centre %d,%d) = %+v, want %+v", c.lam0, c.cy, c.cx, got, c.want)
		}
	}
}

// TestMixBatchSameBitsWhateverWorker runs a pipeline with per-sample steps
// and a mix on the same batches with two workers in different orders,
// interleaved with other batches: the images, partners and λ must agree bit
// for bit, so the number of augmenters cannot change a run.
func TestMixBatchSameBitsWhateverWorker(t *testing.T) {
	for _, spec := range []string{"affine,noise(std=0.05),mixup(alpha=0.4)", "crop,cutmix(p=0.7)"} {
		p := mustPipeline(t, spec)
		s := Shape{C: 2, H: 12, W: 10}
		const n, batches = 5, 6
		type out struct {
			x      []float32
			mix    []int32
			lambda []float32
			ok     bool
		}
		run := func(w *Worker, b int) out {
			ids := make([]int, n)
			labels := make([]int32, n)
			src := make([]float32, n*s.Len())
			for i := range n {
				ids[i], labels[i] = 7*b+i, int32((b+i)%10)
				copy(src[i*s.Len():], randomImage(s, uint64(ids[i])))
			}
			o := out{x: make([]float32, len(src)), mix: make([]int32, n), lambda: make([]float32, n)}
			w.ApplyBatch(o.x, src, s, 2, ids)
			var err error
			if o.ok, err = w.MixBatch(o.x, s, 2, ids, labels, o.mix, o.lambda); err != nil {
				t.Fatal(err)
			}
			return o
		}
		a, b := p.NewWorker(9), p.NewWorker(9)
		want := make([]out, batches)
		for k := range batches {
			want[k] = run(a, k)
		}
		mixed := 0
		for k := batches - 1; k >= 0; k-- {
			run(b, k+100) // another batch in between
			got := run(b, k)
			if got.ok != want[k].ok {
				t.Fatalf("%s batch %d: mixed %v by one worker, %v by another", spec, k, want[k].ok, got.ok)
			}
			equalBits(t, spec+": images", got.x, want[k].x)
			equalBits(t, spec+": λ", got.lambda, want[k].lambda)
			for i := range got.mix {
				if got.mix[i] != want[k].mix[i] {
					t.Fatalf("%s batch %d: partners %v, want %v", spec, k, got.mix, want[k].mix)
				}
			}
			if got.ok {
				mixed++
			}
		}
		if mixed == 0 {
			t.Errorf("%s: no batch mixed", spec)
		}
		// Another seed draws other partners or λ.
		c := p.NewWorker(10)
		if o := run(c, 0); o.ok && want[0].ok && o.lambda[0] == want[0].lambda[0] {
			t.Errorf("%s: seeds 9 and 10 drew the same λ %v", spec, o.lambda[0])
		}
	}
}

func TestMixBatchProbability(t *testing.T) {
	s := Shape{C: 1, H: 4, W: 4}
	const n, batches = 3, 400
	x := make([]float32, n*s.Len())
	mix, lambda := make([]int32, n), make([]float32, n)
	labels := []int32{0, 1, 2}
	for _, c := range []struct {
		spec string
		want float64
	}{{"mixup(p=0)", 0}, {"mixup(p=1)", 1}, {"cutmix(p=0.5)", 0.5}, {"affine", 0}} {
		w := mustPipeline(t, c.spec).NewWorker(1)
		hits := 0
		for b := range batches {
			ok, err := w.MixBatch(x, s, 1, []int{3 * b, 3*b + 1, 3*b + 2}, labels, mix, lambda)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				hits++
			}
		}
		// Five standard errors of a binomial share.
		if got, se := float64(hits)/batches, math.Sqrt(c.want*(1-c.want)/batches); math.Abs(got-c.want) > 5*se+1e-12 {
			t.Errorf("%s: %.3f of the batches mixed, want %.3f ± %.3f", c.spec, got, c.want, 5*se)
		}
	}
}

func TestMixBatchErrors(t *testing.T) {
	s := Shape{C: 1, H: 3, W: 3}
	w := mustPipeline(t, "mixup").NewWorker(1)
	x := make([]float32, 2*s.Len())
	ok, err := w.MixBatch(x, s, 0, []int{1, 2}, []int32{4}, make([]int32, 2), make([]float32, 2))
	if ok || err == nil || !strings.Contains(err.Error(), "mixup") || !strings.Contains(err.Error(), "1 labels for 2 samples") {
		t.Errorf("one label for two samples: %v, %v; want an error naming mixup and the counts", ok, err)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "MixBatch") {
			t.Errorf("a short image buffer: recovered %v, want a panic naming MixBatch", r)
		}
	}()
	w.MixBatch(x[:5], s, 0, []int{1, 2}, []int32{4, 5}, make([]int32, 2), make([]float32, 2))
}

func TestMixSpecs(t *testing.T) {
	for _, spec := range []string{"mixup", "affine,mixup(alpha=0.2)", "cutmix(alpha=1,p=0.5)", "crop, hflip, cutmix(p=1)"} {
		p := mustPipeline(t, spec)
		st, ok := p.Mix()
		if !ok || st.M == nil || !strings.Contains(spec, st.M.Name()) {
			t.Errorf("%q: Mix() = %+v, %v", spec, st, ok)
		}
		again := mustPipeline(t, p.String())
		if again.String() != p.String() {
			t.Errorf("%q: rebuilt as %q, want %q", spec, again.String(), p.String())
		}
	}
	if _, ok := mustPipeline(t, "affine").Mix(); ok {
		t.Error("a pipeline without a mix reports one")
	}
	p := mustPipeline(t, "cutmix(alpha=0.5,p=0.25)")
	if st, _ := p.Mix(); st.P != 0.25 || st.M.(*CutMix).Alpha != 0.5 || p.Len() != 0 {
		t.Errorf("cutmix(alpha=0.5,p=0.25): %+v, %d per-sample steps", st, p.Len())
	}
	if st, _ := mustPipeline(t, "mixup").Mix(); st.P != 1 || st.M.(*Mixup).Alpha != 0.2 {
		t.Errorf("mixup defaults: %+v, want p=1, alpha=0.2", st)
	}

	for _, c := range []struct {
		spec             string
		step             int
		transform, param string
		reason           string
	}{
		{"mixup(alpha=0)", 1, "mixup", "alpha", "want 0 < alpha"},
		{"cutmix(alpha=-1)", 1, "cutmix", "alpha", "want 0 < alpha"},
		{"mixup(alpha=NaN)", 1, "mixup", "alpha", "want 0 < alpha"},
		{"affine,cutmix(p=1.5)", 2, "cutmix", "p", "probability"},
		{"mixup(p=-0.1)", 1, "mixup", "p", "probability"},
		{"mixup(fill=0)", 1, "mixup", "fill", "unknown; mixup takes p, alpha"},
		{"mixup,affine", 2, "affine", "", "follows the batch mix mixup (step 1)"},
		{"noise,cutmix,mixup", 3, "mixup", "", "a second batch mix after cutmix (step 2)"},
	} {
		_, err := Parse(c.spec)
		var e *Error
		if !errors.As(err, &e) || !errors.Is(err, ErrSpec) {
			t.Errorf("Parse(%q): error %v, want an *Error wrapping ErrSpec", c.spec, err)
			continue
		}
		if e.Step != c.step || e.Transform != c.transform || e.Param != c.param || !strings.Contains(e.Reason, c.reason) {
			t.Errorf("Parse(%q): step %d, transform %q, param %q, reason %q; want %d, %q, %q, containing %q",
				c.spec, e.Step, e.Transform, e.Param, e.Reason, c.step, c.transform, c.param, c.reason)
		}
		if e.Spec != c.spec || e.Offset < 0 || e.Offset > len(c.spec) {
			t.Errorf("Parse(%q): error locates spec %q at byte %d", c.spec, e.Spec, e.Offset)
		}
	}
	// New checks the order of configurations as Parse checks a spec.
	_, err := New([]Config{{Name: "cutmix"}, {Name: "noise"}}, 0)
	var e *Error
	if !errors.As(err, &e) || e.Step != 2 || e.Transform != "noise" || !strings.Contains(e.Reason, "list them last") {
		t.Errorf("New(cutmix, noise): error %v, want step 2 noise after the mix", err)
	}
}

func TestMixBatchAllocatesNothing(t *testing.T) {
	s := Shape{C: 3, H: 8, W: 8}
	const n = 16
	x := make([]float32, n*s.Len())
	ids, labels := make([]int, n), make([]int32, n)
	for i := range n {
		ids[i], labels[i] = i, int32(i%10)
	}
	mix, lambda := make([]int32, n), make([]float32, n)
	for _, spec := range []string{"mixup", "cutmix"} {
		w := mustPipeline(t, spec).NewWorker(1)
		w.MixBatch(x, s, 0, ids, labels, mix, lambda)
		epoch := uint64(0)
		allocs := testing.AllocsPerRun(20, func() {
			epoch++
			if _, err := w.MixBatch(x, s, epoch, ids, labels, mix, lambda); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: a warmed-up MixBatch allocates %v times, want 0", spec, allocs)
		}
	}
}
