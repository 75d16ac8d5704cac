package train_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/troupe-ml/troupe/engine/data"
	"github.com/troupe-ml/troupe/engine/data/datatest"
	"github.com/troupe-ml/troupe/engine/nn"
	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/train"
)

func synth(n int, seed uint64) *data.Dataset { return datatest.MNISTLike(n, seed) }

func smallJob(model string) spec.Job {
	j := spec.Default()
	j.Model = model
	j.Epochs = 2
	j.Batch = 32
	j.EvalBatch = 100
	return j
}

func TestRunLearnsAndCheckpointRoundTrips(t *testing.T) {
	for _, model := range []string{"mlp", "lenet5"} {
		t.Run(model, func(t *testing.T) {
			job := smallJob(model)
			job.Out = t.TempDir()
			trainSet, testSet := synth(640, 1), synth(200, 2)
			res, err := train.Run(t.Context(), job, trainSet, testSet, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			last := res.Epochs[len(res.Epochs)-1]
			if last.TestAccuracy < 0.9 {
				t.Errorf("test accuracy %.3f, want ≥ 0.9 on an easy task", last.TestAccuracy)
			}
			l, err := train.LoadCheckpoint(res.Checkpoint, nil)
			if err != nil {
				t.Fatal(err)
			}
			if l.State.Epoch != 2 || l.State.Step != res.Trainer.StepCount() || l.State.TestAccuracy != last.TestAccuracy {
				t.Errorf("checkpoint state %+v does not match the run (step %d, accuracy %v)", l.State, res.Trainer.StepCount(), last.TestAccuracy)
			}
			ev, err := train.NewEvaluator(nil).Evaluate(l.Model, testSet, job.EvalBatch)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Accuracy != last.TestAccuracy {
				t.Errorf("reloaded model scores %v, training's last epoch %v", ev.Accuracy, last.TestAccuracy)
			}
		})
	}
}

func TestStepDeterministic(t *testing.T) {
	run := func() []float32 {
		job := smallJob("mlp")
		job.Out = ""
		ds := synth(96, 4)
		tr, err := train.Setup(job, 3, nil)
		if err != nil {
			t.Fatal(err)
		}
		x := make([]float32, 32*784)
		y := make([]int32, 32)
		var losses []float32
		for s := 0; s < 3; s++ {
			idx := []int{}
			for i := 0; i < 32; i++ {
				idx = append(idx, s*32+i)
			}
			ds.Fill(idx, x, y)
			st, err := tr.Step(x, y, nil)
			if err != nil {
				t.Fatal(err)
			}
			losses = append(losses, st.Loss)
		}
		return losses
	}
	a, b := run(), run()
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("step %d: loss %v then %v with the same seed", i, a[i], b[i])
		}
	}
	if a[2] >= a[0] {
		t.Errorf("loss did not fall over three steps: %v", a)
	}
}

func TestStepRejectsBadLabels(t *testing.T) {
	tr, err := train.Setup(smallJob("mlp"), 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, 2*784)
	if _, err := tr.Step(x, []int32{3, 12}, nil); err == nil || !strings.Contains(err.Error(), "12") {
		t.Fatalf("label 12 of 10 classes: error %v, want one naming it", err)
	}
	if _, err := tr.Step(x[:783], []int32{1}, nil); err == nil {
		t.Fatal("a batch of the wrong size was accepted")
	}
}

func TestLoadCheckpointErrors(t *testing.T) {
	job := smallJob("mlp")
	job.Epochs = 1
	job.Out = t.TempDir()
	res, err := train.Run(t.Context(), job, synth(64, 1), synth(20, 2), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	lenet, _ := nn.Preset("lenet5")
	if _, err := train.LoadCheckpoint(res.Checkpoint, &lenet); err == nil || !strings.Contains(err.Error(), "layers.0.weight") {
		t.Errorf("loading mlp weights into lenet5: %v, want an error naming layers.0.weight", err)
	}
	b, _ := os.ReadFile(res.Checkpoint)
	trunc := filepath.Join(t.TempDir(), "t.safetensors")
	os.WriteFile(trunc, b[:len(b)-10], 0o644)
	if _, err := train.LoadCheckpoint(trunc, nil); err == nil || !strings.Contains(err.Error(), "t.safetensors") {
		t.Errorf("truncated checkpoint: %v, want an error naming the file", err)
	}
}

// BenchmarkStep measures one LeNet-300-100 training step at batch 64 and its
// allocations after warm-up.
func BenchmarkStep(b *testing.B) {
	for _, model := range []string{"mlp", "lenet5"} {
		b.Run(model, func(b *testing.B) {
			tr, err := train.Setup(smallJob(model), 100, nil)
			if err != nil {
				b.Fatal(err)
			}
			ds := synth(64, 1)
			x := make([]float32, 64*784)
			y := make([]int32, 64)
			idx := make([]int, 64)
			for i := range idx {
				idx[i] = i
			}
			ds.Fill(idx, x, y)
			tr.Step(x, y, nil)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := tr.Step(x, y, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(64*b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}

func TestLossesMatchesGradientsForward(t *testing.T) {
	tr, err := train.Setup(smallJob("mlp"), 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	ds := synth(8, 9)
	x := make([]float32, 8*784)
	y := make([]int32, 8)
	ds.Fill([]int{0, 1, 2, 3, 4, 5, 6, 7}, x, y)
	a, b := make([]float32, 8), make([]float32, 8)
	if err := tr.Losses(x, y, a); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Gradients(x, y, b); err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if a[i] != b[i] || a[i] <= 0 {
			t.Fatalf("sample %d: forward-only loss %v, training forward %v", i, a[i], b[i])
		}
	}
	if err := tr.Losses(x, []int32{0, 1, 2, 3, 4, 5, 6, 42}, a); err == nil {
		t.Fatal("label 42 accepted")
	}
}
