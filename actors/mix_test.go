package actors

import (
	"math"
	"sync"
	"testing"

	"github.com/troupe-ml/troupe/engine/augment"
	"github.com/troupe-ml/troupe/engine/tensor"
	"github.com/troupe-ml/troupe/engine/train"
	"github.com/troupe-ml/troupe/messages"
)

// lossLog records the loss of every step in the order the coordinator
// reports them.
type lossLog struct {
	mu     sync.Mutex
	losses []float32
}

func (l *lossLog) Progress(p train.Progress) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.losses = append(l.losses, p.Loss)
}
func (l *lossLog) Epoch(train.EpochReport) error { return nil }

func meanOf(s []float32) float64 {
	var sum float64
	for _, v := range s {
		sum += float64(v)
	}
	return sum / float64(len(s))
}

// TestMixupPipelineTrains runs an epoch with mixup through the augmenters:
// the mixed loss falls over the epoch and the model learns; mixing changes
// the run, a mix that never fires does not, and the result is the same
// bits whatever the size of the augmenter pool.
func TestMixupPipelineTrains(t *testing.T) {
	noLeak(t)
	trainSet, testSet := synth(640, 1), synth(200, 2)
	var firstIDs []int64 // the samples of the first step of the mixed run
	run := func(augment string, augmenters int, log *lossLog) map[string][]float32 {
		job := tinyJob(1)
		job.Out = t.TempDir()
		cfg := Config{Job: job, Workers: 1, Augment: augment, Augmenters: augmenters}
		if log != nil {
			cfg.Observer = log
			cfg.hooks.trained = func(_ int, _ uint64, ids []int64) {
				if firstIDs == nil {
					firstIDs = append([]int64(nil), ids...)
				}
			}
		}
		res, _, err := Run(t.Context(), cfg, trainSet, testSet)
		if err != nil {
			t.Fatal(err)
		}
		if augment == "mixup(alpha=0.4)" && augmenters == 2 {
			// Chance is ln 10 ≈ 2.3 and 10 %.
			last := res.Epochs[len(res.Epochs)-1]
			t.Logf("after an epoch of mixup: test loss %.3f, accuracy %.3f", last.TestLoss, last.TestAccuracy)
			if last.TestLoss > 1.2 || last.TestAccuracy < 0.7 {
				t.Errorf("after an epoch of mixup: test loss %.3f, accuracy %.3f; want < 1.2 and ≥ 0.7", last.TestLoss, last.TestAccuracy)
			}
		}
		return checkpointParams(t, res.Checkpoint)
	}
	var log lossLog
	mixed := run("mixup(alpha=0.4)", 2, &log)
	if n := len(log.losses); n != 20 {
		t.Fatalf("%d steps reported, want 20", n)
	}
	first, last := meanOf(log.losses[:5]), meanOf(log.losses[15:])
	t.Logf("mixed loss: first five steps %.3f, last five %.3f", first, last)
	if !(last < 0.8*first) {
		t.Errorf("mixed loss over the epoch: first five steps %.3f, last five %.3f; want a fall of at least 20 %%", first, last)
	}
	checkFirstStepLoss(t, "mixup(alpha=0.4)", firstIDs, log.losses[0])
	sameBits(t, mixed, run("mixup(alpha=0.4)", 3, nil))
	plain := run("", 0, nil)
	sameBits(t, plain, run("mixup(p=0)", 2, nil))
	differs := false
	for name, w := range plain {
		for i := range w {
			if math.Float32bits(w[i]) != math.Float32bits(mixed[name][i]) {
				differs = true
			}
		}
	}
	if !differs {
		t.Error("training with mixup ended with the parameters of training without it")
	}
}

// checkFirstStepLoss recomputes the first step of a mixed run outside the
// pipeline, from the same samples, augmentation and initial model: the
// replica must have reported the loss of the mixed targets, which differs
// from that of the mixed images with their own labels only.
func checkFirstStepLoss(t *testing.T, spec string, ids []int64, got float32) {
	t.Helper()
	job := tinyJob(1)
	trainSet := synth(640, 1)
	idx := make([]int, len(ids))
	for i, id := range ids {
		idx[i] = int(id)
	}
	s := augment.Shape{C: trainSet.C, H: trainSet.H, W: trainSet.W}
	x, y := make([]float32, len(idx)*s.Len()), make([]int32, len(idx))
	trainSet.Fill(idx, x, y)
	cfgs, err := augment.Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	pipe, err := augment.New(cfgs, -trainSet.Mean/trainSet.Std)
	if err != nil {
		t.Fatal(err)
	}
	w := pipe.NewWorker(job.Seed)
	w.ApplyBatch(x, x, s, 1, idx)
	mix, lambda := make([]int32, len(idx)), make([]float32, len(idx))
	if ok, err := w.MixBatch(x, s, 1, idx, y, mix, lambda); err != nil || !ok {
		t.Fatalf("first batch: MixBatch = %v, %v", ok, err)
	}
	loss := func(tg tensor.Targets) float32 {
		tr, err := train.NewReplica(job, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := tr.GradientsTargets(x, tg, nil)
		if err != nil {
			t.Fatal(err)
		}
		return res.Loss
	}
	want := loss(tensor.Targets{Labels: y, Mix: mix, Lambda: lambda})
	unmixed := loss(tensor.Targets{Labels: y})
	// The pipeline's replica may use other GEMM threads: rounding only.
	if d := math.Abs(float64(got - want)); d > 1e-5*float64(want) {
		t.Errorf("first step loss %v, want %v from the mixed targets (labels only would give %v)", got, want, unmixed)
	}
	if math.Abs(float64(unmixed-want)) < 1e-3 {
		t.Errorf("mixed and unmixed targets give the same first loss %v: the check cannot tell them apart", want)
	}
}

// TestAugmenterFillsMixTargets checks what the augmenter puts in a mixed
// batch and what a replica reads from it.
func TestAugmenterFillsMixTargets(t *testing.T) {
	trainSet, testSet := synth(64, 1), synth(10, 2)
	for _, c := range []struct {
		spec  string
		mixes bool
	}{{"affine,cutmix", true}, {"noise", false}, {"mixup(p=0)", false}} {
		p, err := newPlan(Config{Job: tinyJob(1), Augment: c.spec}, trainSet, testSet)
		if err != nil {
			t.Fatal(err)
		}
		a := newAugmenter(p, nil, 0, nil)
		const n = 8
		ids, idx := make([]int64, n), make([]int, n)
		for i := range ids {
			ids[i], idx[i] = int64(10+i), 10+i
		}
		x, y := make([]float32, n*p.shape.Len()), make([]int32, n)
		trainSet.Fill(idx, x, y)
		b := &messages.Batch{Epoch: 1, SampleIds: ids, Labels: y}
		a.ids = idx
		mix, lambda, err := a.mix(x, b)
		if err != nil {
			t.Fatal(err)
		}
		if got := mix != nil; got != c.mixes || len(mix) != len(lambda) || (c.mixes && len(mix) != n) {
			t.Fatalf("%s: %d partner labels and %d weights, want a mix: %v", c.spec, len(mix), len(lambda), c.mixes)
		}
		b.MixLabels, b.MixLambda = mix, lambda
		tg := mixTargets(b)
		if len(tg.Labels) != n || (tg.Mix == nil) == c.mixes || (tg.Lambda == nil) == c.mixes {
			t.Fatalf("%s: targets %+v", c.spec, tg)
		}
		for i := range mix {
			if !(lambda[i] >= 0 && lambda[i] <= 1) || !containsLabel(y, mix[i]) {
				t.Fatalf("%s: sample %d: partner label %d, λ = %v", c.spec, i, mix[i], lambda[i])
			}
		}
		// An unmixed batch that says so with empty lists trains as labels only.
		if tg := mixTargets(&messages.Batch{Labels: y, MixLabels: []int32{}}); tg.Mix != nil || tg.Lambda != nil {
			t.Errorf("empty mix lists read as a mix: %+v", tg)
		}
	}
	// A batch whose labels do not fit its samples is an error, not a mix.
	p, err := newPlan(Config{Job: tinyJob(1), Augment: "mixup"}, trainSet, testSet)
	if err != nil {
		t.Fatal(err)
	}
	a := newAugmenter(p, nil, 0, nil)
	a.ids = []int{1, 2}
	if _, _, err := a.mix(make([]float32, 2*p.shape.Len()), &messages.Batch{Labels: []int32{1}}); err == nil {
		t.Error("one label for two samples was mixed")
	}
}

func containsLabel(y []int32, v int32) bool {
	for _, l := range y {
		if l == v {
			return true
		}
	}
	return false
}
