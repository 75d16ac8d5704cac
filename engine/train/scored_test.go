package train_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/troupe-ml/troupe/engine/nn"
	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/tensor"
	"github.com/troupe-ml/troupe/engine/train"
	"github.com/troupe-ml/troupe/kernels"
)

// noDropout returns the preset without its dropout, so that scoring in
// the training pass is exact for it too.
func noDropout(t *testing.T, preset string) spec.Job {
	t.Helper()
	m, err := nn.Preset(preset)
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.Layers {
		if m.Layers[i].Type == spec.Dropout {
			m.Layers[i].P = 0
		}
	}
	j := smallJob("")
	j.Model = ""
	j.ModelSpec = &m
	return j
}

// noisyBatch returns n samples of random values with random labels.
func noisyBatch(n int, seed uint64) ([]float32, []int32) {
	r := rand.New(rand.NewPCG(seed, 3))
	x, y := make([]float32, n*784), make([]int32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	for i := range y {
		y[i] = int32(r.IntN(10))
	}
	return x, y
}

func gradsOf(tr *train.Trainer) [][]float32 {
	var out [][]float32
	for _, p := range tr.Model().Params() {
		out = append(out, append([]float32(nil), p.T.Grad...))
	}
	return out
}

// sameBits fails unless got and want hold the same bits, NaN excluded.
func sameBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) || math.IsNaN(float64(want[i])) {
			t.Fatalf("%s[%d]: fused pass %v, separate passes %v", what, i, got[i], want[i])
		}
	}
}

type scoredCase struct {
	train, score int
	weighted     bool
}

// checkScored compares GradientsScored with GradientsTargets on the
// trained rows and Losses on the rest, on one trainer: gradients, loss and
// per-sample losses must match bit for bit. Each call finds the graph's
// buffers holding what a larger batch left, and the parameters' gradients
// garbage, which must not leak.
func checkScored(t *testing.T, tr *train.Trainer, c scoredCase, seed uint64) {
	t.Helper()
	n := c.train + c.score
	wx, wy := noisyBatch(64, seed+100)
	if _, err := tr.Gradients(wx, wy, nil); err != nil {
		t.Fatal(err)
	}
	x, y := noisyBatch(n, seed)
	tg := tensor.Targets{Labels: y}
	var w []float32
	if c.weighted {
		r := rand.New(rand.NewPCG(seed, 4))
		w = make([]float32, c.train)
		for i := range w {
			w[i] = 2 * r.Float32()
		}
		tg.Weights = w
	}
	poison(tr.Model())
	fused := make([]float32, n)
	rf, err := tr.GradientsScored(x, tg, c.train, fused)
	if err != nil {
		t.Fatal(err)
	}
	gf := gradsOf(tr)

	poison(tr.Model())
	sep := make([]float32, n)
	rs, err := tr.GradientsTargets(x[:c.train*784], tensor.Targets{Labels: y[:c.train], Weights: w}, sep[:c.train])
	if err != nil {
		t.Fatal(err)
	}
	gs := gradsOf(tr)
	if c.score > 0 {
		if err := tr.Losses(x[c.train*784:], y[c.train:], sep[c.train:]); err != nil {
			t.Fatal(err)
		}
	}
	if math.Float32bits(rf.Loss) != math.Float32bits(rs.Loss) || rf != rs {
		t.Fatalf("result: fused %+v, separate %+v", rf, rs)
	}
	sameBits(t, "per-sample loss", fused, sep)
	for i, p := range tr.Model().Params() {
		sameBits(t, p.Name+" gradient", gf[i], gs[i])
	}
}

// TestGradientsScoredMatchesSeparate runs the presets whose forward pass
// treats samples alone (with the cnn's dropout off) on odd batch sizes,
// serially and on a CPU with threads, which splits convolutions by image:
// there the backward pass must split the trained images alone as a batch
// of them would, not the whole batch.
func TestGradientsScoredMatchesSeparate(t *testing.T) {
	cpu, err := kernels.NewCPU(3, kernels.ImplAuto)
	if err != nil {
		t.Fatal(err)
	}
	defer cpu.Close()
	jobs := []struct {
		name string
		job  spec.Job
	}{
		{"mlp", smallJob("mlp")}, {"mlp800", smallJob("mlp800")}, {"lenet5", smallJob("lenet5")},
		{"cnn-without-dropout", noDropout(t, "cnn")}, {"conv-stride2-tanh", convJob()},
	}
	cases := []scoredCase{{19, 21, true}, {1, 1, false}, {7, 0, false}, {2, 3, true}}
	for _, j := range jobs {
		for _, be := range []struct {
			name string
			be   tensor.Backend
		}{{"serial", nil}, {"threads=3", tensor.CPUBackend{K: cpu}}} {
			if j.name == "cnn-without-dropout" && be.be == nil {
				continue // slow; lenet5 and conv-stride2-tanh cover serial convolutions
			}
			t.Run(j.name+"/"+be.name, func(t *testing.T) {
				j.job.LabelSmoothing = 0.1
				tr, err := train.NewReplica(j.job, 0, be.be)
				if err != nil {
					t.Fatal(err)
				}
				if !tr.ScoresInTrainingPass() {
					t.Fatal("ScoresInTrainingPass is false for a model without dropout")
				}
				for i, c := range cases {
					t.Logf("case %+v", c)
					checkScored(t, tr, c, uint64(10+i))
				}
			})
		}
	}
}

// TestScoresInTrainingPass checks the predicate on the presets: only the
// cnn has dropout.
func TestScoresInTrainingPass(t *testing.T) {
	for _, name := range nn.PresetNames() {
		tr, err := train.NewReplica(smallJob(name), 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := tr.ScoresInTrainingPass(), name != "cnn"; got != want {
			t.Errorf("%s: ScoresInTrainingPass = %v, want %v", name, got, want)
		}
	}
}

// TestGradientsScoredDropout runs the cnn, with dropout, fused: the
// trained rows' loss is what the per-sample losses say, and the gradients
// are finite and written in full over garbage.
func TestGradientsScoredDropout(t *testing.T) {
	tr, err := train.NewReplica(smallJob("cnn"), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	x, y := noisyBatch(9, 7)
	per := make([]float32, 9)
	poison(tr.Model())
	res, err := tr.GradientsScored(x, tensor.Targets{Labels: y}, 4, per)
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, l := range per[:4] {
		sum += float64(l)
	}
	if want := float32(sum / 4); math.Abs(float64(res.Loss-want)) > 1e-6*float64(want) {
		t.Errorf("loss %v, want the mean of the trained rows' losses %v", res.Loss, want)
	}
	nonzero := false
	for _, g := range gradsOf(tr) {
		for _, v := range g {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("gradient holds %v", v)
			}
			nonzero = nonzero || v != 0
		}
	}
	if !nonzero {
		t.Error("every gradient is zero")
	}
}

func TestGradientsScoredRejects(t *testing.T) {
	tr, err := train.NewReplica(smallJob("mlp"), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	x, y := noisyBatch(5, 1)
	per := make([]float32, 5)
	cases := []struct {
		name    string
		x       []float32
		tg      tensor.Targets
		train   int
		per     []float32
		wantErr string
	}{
		{"empty", nil, tensor.Targets{}, 1, nil, "empty batch"},
		{"train 0", x, tensor.Targets{Labels: y}, 0, per, "train = 0 outside [1, 5]"},
		{"train past the batch", x, tensor.Targets{Labels: y}, 6, per, "train = 6 outside [1, 5]"},
		{"Targets.Train differs", x, tensor.Targets{Labels: y, Train: 2}, 3, per, "Targets.Train = 2 differs"},
		{"weights for every row", x, tensor.Targets{Labels: y, Weights: make([]float32, 5)}, 3, per, "Weights has 5 entries, want 3"},
		{"short perSample", x, tensor.Targets{Labels: y}, 3, per[:3], "perSample has 3 entries, want 5"},
		{"short batch", x[:4*784], tensor.Targets{Labels: y}, 3, per, "batch has 3136 values, want 3920"},
		{"bad label", x, tensor.Targets{Labels: []int32{0, 1, 2, 3, 10}}, 3, per, "target 10 of row 4"},
		{"negative weight", x, tensor.Targets{Labels: y, Weights: []float32{1, -1, 1}}, 3, per, "Weights[1] = -1"},
	}
	for _, c := range cases {
		_, err := tr.GradientsScored(c.x, c.tg, c.train, c.per)
		if err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.wantErr)
		}
	}
}
