package tensor_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/troupe-ml/troupe/engine/tensor"
	"github.com/troupe-ml/troupe/engine/tensor/tensortest"
)

// mixedTargets returns targets for n rows of k classes with random second
// classes, λ in [0, 1] and weights in [0, 2).
func mixedTargets(r *rand.Rand, n, k int, mix, weights bool) tensor.Targets {
	t := tensor.Targets{Labels: make([]int32, n)}
	for i := range n {
		t.Labels[i] = int32(r.IntN(k))
	}
	if mix {
		t.Mix, t.Lambda = make([]int32, n), make([]float32, n)
		for i := range n {
			t.Mix[i], t.Lambda[i] = int32(r.IntN(k)), float32(r.Float64())
		}
	}
	if weights {
		t.Weights = make([]float32, n)
		for i := range n {
			t.Weights[i] = float32(2 * r.Float64())
		}
	}
	return t
}

func TestSoftmaxCrossEntropyTargetsGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	edge := tensor.Targets{ // λ at both ends, a sample mixed with its own class, a zero weight
		Labels: []int32{0, 1, 2, 3, 4}, Mix: []int32{5, 1, 0, 2, 1},
		Lambda: []float32{0, 1, 0.5, 0.3, 0.9}, Weights: []float32{1, 0, 2, 0.5, 1},
	}
	cases := []struct {
		name   string
		tg     tensor.Targets
		smooth float32
	}{
		{"labels", mixedTargets(r, 5, 6, false, false), 0},
		{"mix", mixedTargets(r, 5, 6, true, false), 0},
		{"mix/smoothing", mixedTargets(r, 5, 6, true, false), 0.1},
		{"weights", mixedTargets(r, 5, 6, false, true), 0},
		{"mix/weights/smoothing", mixedTargets(r, 5, 6, true, true), 0.2},
		{"edges", edge, 0.1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := []*tensor.Tensor{randTensor(r, true, 5, 6)}
			tensortest.Check(t, in, func(g *tensor.Graph, in []*tensor.Tensor) *tensor.Tensor {
				return g.SoftmaxCrossEntropyTargets(in[0], c.tg, c.smooth, nil)
			})
		})
	}
}

// TestGradCheckSeesMixAndWeights makes sure the gradient check above can
// fail for this op: the gradient of the loss without the mix, or without the
// weights, must be told apart from the right one.
func TestGradCheckSeesMixAndWeights(t *testing.T) {
	r := rand.New(rand.NewPCG(33, 34))
	tg := mixedTargets(r, 5, 6, true, true)
	logits := randTensor(r, true, 5, 6)
	build := func(tg tensor.Targets) tensortest.Build {
		return func(g *tensor.Graph, in []*tensor.Tensor) *tensor.Tensor {
			return g.SoftmaxCrossEntropyTargets(in[0], tg, 0.1, nil)
		}
	}
	rep, err := tensortest.Gradients([]*tensor.Tensor{logits}, build(tg), 60)
	if err != nil {
		t.Fatal(err)
	}
	if bad := rep.Mismatches(); len(bad) != 0 {
		t.Fatalf("correct gradients reported as wrong: %v", bad)
	}
	for _, wrong := range []struct {
		name string
		tg   tensor.Targets
	}{
		{"without the mix", tensor.Targets{Labels: tg.Labels, Weights: tg.Weights}},
		{"without the weights", tensor.Targets{Labels: tg.Labels, Mix: tg.Mix, Lambda: tg.Lambda}},
	} {
		logits.ZeroGrad()
		g := newGraph(1)
		if err := g.Backward(build(wrong.tg)(g, []*tensor.Tensor{logits})); err != nil {
			t.Fatal(err)
		}
		for j, i := range rep.Index[0] {
			rep.Analytic[0][j] = float64(logits.Grad[i])
		}
		if bad := rep.Mismatches(); len(bad) == 0 {
			t.Errorf("the gradient %s was not detected", wrong.name)
		}
	}
}

// ceRun is the output of one loss evaluation.
type ceRun struct {
	loss      float32
	perSample []float32
	grad      []float32
}

func runCE(t *testing.T, logits *tensor.Tensor, f func(g *tensor.Graph, per []float32) *tensor.Tensor) ceRun {
	t.Helper()
	g := newGraph(1)
	per := make([]float32, logits.Shape()[0])
	logits.ZeroGrad()
	loss := f(g, per)
	if err := g.Err(); err != nil {
		t.Fatal(err)
	}
	run := ceRun{loss: loss.Item(), perSample: per}
	if logits.RequiresGrad() {
		if err := g.Backward(loss); err != nil {
			t.Fatal(err)
		}
		run.grad = append([]float32(nil), logits.Grad...)
	}
	return run
}

// TestSoftmaxCrossEntropyTargetsMatchesPlain checks that labels alone, and
// λ = 1 with all weights 1, reproduce SoftmaxCrossEntropy bit for bit: the
// loss, the per-sample losses and the gradient.
func TestSoftmaxCrossEntropyTargetsMatchesPlain(t *testing.T) {
	bothPaths(t, func(t *testing.T, grad bool) {
		for _, smooth := range []float32{0, 0.1} {
			r := rand.New(rand.NewPCG(35, 36))
			n, k := 7, 5
			logits := randT(r, grad, n, k)
			plain := mixedTargets(r, n, k, false, false)
			ones := mixedTargets(r, n, k, true, true)
			ones.Labels = plain.Labels
			for i := range n {
				ones.Lambda[i], ones.Weights[i] = 1, 1
			}
			want := runCE(t, logits, func(g *tensor.Graph, per []float32) *tensor.Tensor {
				return g.SoftmaxCrossEntropy(logits, plain.Labels, smooth, per)
			})
			for name, tg := range map[string]tensor.Targets{"labels": plain, "lambda=1,weights=1": ones} {
				got := runCE(t, logits, func(g *tensor.Graph, per []float32) *tensor.Tensor {
					return g.SoftmaxCrossEntropyTargets(logits, tg, smooth, per)
				})
				what := fmt.Sprintf("%s, smoothing %g", name, smooth)
				if math.Float32bits(got.loss) != math.Float32bits(want.loss) {
					t.Errorf("%s: loss %v, want %v", what, got.loss, want.loss)
				}
				sameBits(t, what+": per-sample", got.perSample, want.perSample)
				sameBits(t, what+": gradient", got.grad, want.grad)
			}
		}
	})
}

func sameBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: value %d = %v, want %v", what, i, got[i], want[i])
		}
	}
}

// TestSoftmaxCrossEntropyTargetsValues checks the loss against the
// definition, (1/N) Σ w_i·[λ_i·CE(y_i) + (1−λ_i)·CE(m_i)] from float64
// per-class losses, and the per-sample output against the unweighted mix.
func TestSoftmaxCrossEntropyTargetsValues(t *testing.T) {
	bothPaths(t, func(t *testing.T, grad bool) {
		for _, smooth := range []float32{0, 0.15} {
			r := rand.New(rand.NewPCG(37, 38))
			n, k := 9, 4
			logits := randT(r, grad, n, k)
			tg := mixedTargets(r, n, k, true, true)
			tg.Lambda[0], tg.Lambda[1] = 0, 1
			ceY := naiveCE(logits.Data, n, k, tg.Labels, float64(smooth))
			ceM := naiveCE(logits.Data, n, k, tg.Mix, float64(smooth))
			got := runCE(t, logits, func(g *tensor.Graph, per []float32) *tensor.Tensor {
				return g.SoftmaxCrossEntropyTargets(logits, tg, smooth, per)
			})
			var want float64
			for i := range n {
				lam := float64(tg.Lambda[i])
				per := lam*ceY[i] + (1-lam)*ceM[i]
				if d := math.Abs(float64(got.perSample[i]) - per); d > 1e-6*(1+per) {
					t.Errorf("smoothing %g: row %d loss %v, want %v", smooth, i, got.perSample[i], per)
				}
				want += float64(tg.Weights[i]) * per
			}
			want /= float64(n)
			if d := math.Abs(float64(got.loss) - want); d > 1e-6*(1+want) {
				t.Errorf("smoothing %g: loss %v, want %v", smooth, got.loss, want)
			}
		}
	})
}

func TestSoftmaxCrossEntropyTargetsRejects(t *testing.T) {
	ok := func() tensor.Targets {
		return tensor.Targets{Labels: []int32{0, 1, 2}, Mix: []int32{2, 2, 0},
			Lambda: []float32{0.5, 1, 0}, Weights: []float32{1, 0, 3}}
	}
	cases := []struct {
		name string
		edit func(*tensor.Targets)
		want string
	}{
		{"label", func(t *tensor.Targets) { t.Labels[1] = 4 }, "target 4 of row 1"},
		{"mix-class", func(t *tensor.Targets) { t.Mix[2] = -1 }, "Mix[2] = -1"},
		{"mix-length", func(t *tensor.Targets) { t.Mix = t.Mix[:2] }, "Mix has 2 entries, want 3"},
		{"lambda-length", func(t *tensor.Targets) { t.Lambda = t.Lambda[:1] }, "Lambda has 1 entries, want 3"},
		{"lambda-without-mix", func(t *tensor.Targets) { t.Mix = nil }, "Mix is nil"},
		{"mix-without-lambda", func(t *tensor.Targets) { t.Lambda = nil }, "Lambda has 0 entries"},
		{"lambda-above-1", func(t *tensor.Targets) { t.Lambda[0] = 1.5 }, "Lambda[0] = 1.5"},
		{"lambda-negative", func(t *tensor.Targets) { t.Lambda[1] = -0.1 }, "Lambda[1] = -0.1"},
		{"lambda-nan", func(t *tensor.Targets) { t.Lambda[2] = float32(math.NaN()) }, "Lambda[2] = NaN"},
		{"weights-length", func(t *tensor.Targets) { t.Weights = append(t.Weights, 1) }, "Weights has 4 entries"},
		{"weight-negative", func(t *tensor.Targets) { t.Weights[1] = -2 }, "Weights[1] = -2"},
		{"weight-nan", func(t *tensor.Targets) { t.Weights[0] = float32(math.NaN()) }, "Weights[0] = NaN"},
		{"weight-inf", func(t *tensor.Targets) { t.Weights[2] = float32(math.Inf(1)) }, "Weights[2] = +Inf"},
	}
	r := rand.New(rand.NewPCG(39, 40))
	logits := randT(r, true, 3, 3)
	g := newGraph(1)
	if g.SoftmaxCrossEntropyTargets(logits, ok(), 0.1, nil); g.Err() != nil {
		t.Fatalf("valid targets rejected: %v", g.Err())
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bothPaths(t, func(t *testing.T, grad bool) {
				logits.SetRequiresGrad(grad)
				tg := ok()
				c.edit(&tg)
				g := newGraph(1)
				loss := g.SoftmaxCrossEntropyTargets(logits, tg, 0.1, make([]float32, 3))
				err := g.Err()
				if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "SoftmaxCrossEntropyTargets") {
					t.Fatalf("Err() = %v, want an error naming the op and containing %q", err, c.want)
				}
				if grad {
					if g.Backward(loss) == nil {
						t.Error("Backward succeeded on a graph holding an error")
					}
				}
			})
		})
	}
}

// TestTargetsAllocatesNothing extends the package's allocation promise to
// the mixed, weighted loss.
func TestTargetsAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's sync.Pool drops items at random; allocations are counted without -race")
	}
	r := rand.New(rand.NewPCG(41, 42))
	logits := randT(r, true, 6, 4)
	tg := mixedTargets(r, 6, 4, true, true)
	per := make([]float32, 6)
	g := newGraph(1)
	step := func() error {
		g.Reset()
		return g.Backward(g.SoftmaxCrossEntropyTargets(logits, tg, 0.1, per))
	}
	allocs := warmAllocs(t, 20, step)
	if allocs != 0 {
		t.Errorf("a warmed-up mixed, weighted loss allocates %v times, want 0", allocs)
	}
}
