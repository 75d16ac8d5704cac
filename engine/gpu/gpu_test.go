package gpu

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/troupe-ml/troupe/engine/data/datatest"
	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/train"
	"github.com/troupe-ml/troupe/kernels/cuda"
)

// One device for all tests (opening compiles the kernels). Without a GPU
// the device tests skip.
var shared struct {
	once sync.Once
	d    *cuda.Device
	err  error
}

func device(t *testing.T) *cuda.Device {
	t.Helper()
	shared.once.Do(func() { shared.d, shared.err = cuda.Open(cuda.Options{}) })
	if errors.Is(shared.err, cuda.ErrNoDevice) {
		t.Skipf("no GPU: %v", shared.err)
	}
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.d
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.d != nil {
		if err := shared.d.Close(); err != nil {
			println("Device.Close:", err.Error())
			code = 1
		}
	}
	os.Exit(code)
}

// everyStage is a model with every stage kind the device runs.
func everyStage() *spec.Model {
	return &spec.Model{Input: []int{3, 10, 9}, Layers: []spec.Layer{
		{Type: spec.Conv2D, Out: 4, Kernel: 3, Pad: 1}, {Type: spec.GELU},
		{Type: spec.MaxPool2D, Kernel: 3, Stride: 2},
		{Type: spec.Conv2D, Out: 5, Kernel: 2, Stride: 1}, {Type: spec.Sigmoid},
		{Type: spec.Flatten}, {Type: spec.LayerNorm}, {Type: spec.Tanh},
		{Type: spec.Linear, Out: 7}, {Type: spec.ReLU},
		{Type: spec.Linear, Out: 6, NoBias: true},
	}}
}

func jobFor(model string, ms *spec.Model) spec.Job {
	job := spec.Default()
	job.Model, job.ModelSpec, job.Out, job.Epochs = model, ms, "", 1
	if ms != nil {
		job.Model = ""
	}
	job.Batch = 32
	return job
}

func randomBatch(rng *rand.Rand, n, per, classes int) ([]float32, []int32) {
	x := make([]float32, n*per)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	y := make([]int32, n)
	for i := range y {
		y[i] = int32(rng.IntN(classes))
	}
	return x, y
}

func relDiff(a, b []float32) float64 {
	var num, den float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		num += d * d
		den += float64(b[i]) * float64(b[i])
	}
	if den == 0 {
		return math.Sqrt(num)
	}
	return math.Sqrt(num / den)
}

// TestGradientsMatchCPU compares every parameter's gradient on the device
// with the CPU engine's, from the same initial weights and batch.
func TestGradientsMatchCPU(t *testing.T) {
	d := device(t)
	cases := []struct {
		name string
		job  spec.Job
	}{
		{"mlp", jobFor("mlp", nil)},
		{"lenet5", jobFor("lenet5", nil)},
		{"every-stage", jobFor("", everyStage())},
	}
	cases[2].job.LabelSmoothing = 0.1
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cpu, err := train.NewReplica(c.job, 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			g, err := New(d, c.job, 10, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			in, out := numel(cpu.Model().InputShape()), numel(cpu.Model().OutputShape())
			x, y := randomBatch(rand.New(rand.NewPCG(1, 2)), 29, in, out)
			cr, err := cpu.Gradients(x, y, nil)
			if err != nil {
				t.Fatal(err)
			}
			loss, grads, err := g.GradientsHost(x, y)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(float64(loss-cr.Loss)) > 1e-5*(1+math.Abs(float64(cr.Loss))) {
				t.Errorf("loss %v on the device, %v on the CPU", loss, cr.Loss)
			}
			for _, p := range cpu.Model().Params() {
				if e := relDiff(grads[p.Name], p.T.Grad); !(e < 1e-4) {
					t.Errorf("%s: gradient differs from the CPU's by %.3g (relative)", p.Name, e)
				}
			}
		})
	}
}

// TestStepsMatchCPU runs a few optimizer steps on both and compares the
// weights, for each optimizer, with weight decay and clipping.
func TestStepsMatchCPU(t *testing.T) {
	d := device(t)
	for _, opt := range []spec.Optimizer{spec.SGD, spec.Adam, spec.AdamW} {
		t.Run(string(opt), func(t *testing.T) {
			job := jobFor("lenet5", nil)
			job.Optimizer, job.ClipNorm, job.WeightDecay = opt, 0.5, 1e-3
			if opt != spec.SGD {
				job.LR = 1e-3
			}
			cpu, err := train.Setup(job, 10, nil)
			if err != nil {
				t.Fatal(err)
			}
			g, err := New(d, job, 10, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			rng := rand.New(rand.NewPCG(3, 4))
			for step := range 5 {
				x, y := randomBatch(rng, 17, 784, 10)
				cr, err := cpu.Step(x, y, nil)
				if err != nil {
					t.Fatal(err)
				}
				loss, err := g.StepHost(x, y)
				if err != nil {
					t.Fatal(err)
				}
				if math.Abs(float64(loss-cr.Loss)) > 1e-4*(1+math.Abs(float64(cr.Loss))) {
					t.Errorf("step %d: loss %v on the device, %v on the CPU", step, loss, cr.Loss)
				}
			}
			if err := g.SyncToHost(); err != nil {
				t.Fatal(err)
			}
			gp := g.Model().Params()
			for i, p := range cpu.Model().Params() {
				if e := relDiff(gp[i].T.Data, p.T.Data); !(e < 1e-4) {
					t.Errorf("%s after 5 steps: differs from the CPU's by %.3g (relative)", p.Name, e)
				}
			}
			state, err := g.OptimizerState()
			if err != nil {
				t.Fatal(err)
			}
			want := cpu.Optimizer().State()
			if len(state) != len(want) {
				t.Fatalf("%d optimizer state tensors, the CPU has %d", len(state), len(want))
			}
			for i := range want {
				if state[i].Name != want[i].Name {
					t.Fatalf("state tensor %d is %q, the CPU's %q", i, state[i].Name, want[i].Name)
				}
			}
		})
	}
}

// TestRun trains on a small synthetic set, resident and streamed, and
// checks that both learn, agree, and write a checkpoint the CPU path reads.
func TestRun(t *testing.T) {
	d := device(t)
	trainSet, testSet := datatest.MNISTLike(1000, 1), datatest.MNISTLike(300, 2)
	var results []train.Result
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			job := jobFor("mlp", nil)
			job.Epochs, job.Out = 3, t.TempDir()
			res, err := Run(context.Background(), d, job, trainSet, testSet, nil, RunOptions{Stream: stream})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Epochs) != 3 {
				t.Fatalf("%d epoch reports, want 3", len(res.Epochs))
			}
			first, last := res.Epochs[0], res.Epochs[2]
			if !(last.TrainLoss < first.TrainLoss) || !(last.TestAccuracy > 0.5) {
				t.Errorf("did not learn: %+v … %+v", first, last)
			}
			ld, err := train.LoadCheckpoint(filepath.Join(job.Out, train.CheckpointName), nil)
			if err != nil {
				t.Fatal(err)
			}
			ev, err := train.NewEvaluator(nil).Evaluate(ld.Model, testSet, 100)
			if err != nil {
				t.Fatal(err)
			}
			// Float rounding may flip a borderline sample or two.
			if math.Abs(ev.Accuracy-last.TestAccuracy) > 2.0/float64(testSet.N)+1e-9 {
				t.Errorf("the checkpoint scores %v on the CPU, the device reported %v", ev.Accuracy, last.TestAccuracy)
			}
			results = append(results, res)
		})
	}
	if len(results) == 2 {
		for i := range results[0].Epochs {
			a, b := results[0].Epochs[i], results[1].Epochs[i]
			if math.Abs(a.TrainLoss-b.TrainLoss) > 1e-6*math.Abs(a.TrainLoss) {
				t.Errorf("epoch %d: resident and streamed runs differ: loss %v vs %v", i+1, a.TrainLoss, b.TrainLoss)
			}
		}
	}
}

// TestDropout trains a model with dropout: evaluation is deterministic
// (no dropout) and training still learns.
func TestDropout(t *testing.T) {
	d := device(t)
	ms := &spec.Model{Input: []int{1, 28, 28}, Layers: []spec.Layer{
		{Type: spec.Flatten}, {Type: spec.Linear, Out: 64}, {Type: spec.ReLU}, {Type: spec.Dropout, P: 0.5}, {Type: spec.Linear, Out: 10},
	}}
	job := jobFor("", ms)
	job.Epochs = 4
	trainSet, testSet := datatest.MNISTLike(800, 3), datatest.MNISTLike(200, 4)
	res, err := Run(context.Background(), d, job, trainSet, testSet, nil, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if last := res.Epochs[len(res.Epochs)-1]; !(last.TestAccuracy > 0.5) || !(last.TrainLoss < res.Epochs[0].TrainLoss) {
		t.Errorf("did not learn with dropout: %+v", res.Epochs)
	}
	g, err := New(d, job, 10, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	set, err := UploadSet(g.Stream(), testSet)
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	a, err := g.Evaluate(set, 64)
	if err != nil {
		t.Fatal(err)
	}
	b, err := g.Evaluate(set, 37)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(a.Accuracy-b.Accuracy) > 1.0/float64(testSet.N)+1e-9 || math.Abs(a.Loss-b.Loss) > 1e-5*a.Loss {
		t.Errorf("evaluation depends on the batch: %+v vs %+v", a, b)
	}
}

func TestBadInput(t *testing.T) {
	d := device(t)
	g, err := New(d, jobFor("mlp", nil), 10, Options{MaxBatch: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if _, err := g.StepHost(make([]float32, 9*784), make([]int32, 9)); err == nil {
		t.Error("a batch over MaxBatch was accepted")
	}
	if _, err := g.StepHost(make([]float32, 5), make([]int32, 1)); err == nil {
		t.Error("a batch of the wrong sample size was accepted")
	}
	job := jobFor("", &spec.Model{Input: []int{4}, Layers: []spec.Layer{{Type: spec.Embedding, Vocab: 10, Out: 3}, {Type: spec.Flatten}, {Type: spec.Linear, Out: 2}}})
	if _, err := New(d, job, 10, Options{}); err == nil {
		t.Error("an embedding model was accepted")
	}
}
