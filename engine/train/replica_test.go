package train_test

import (
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/troupe-ml/troupe/engine/optim"
	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/train"
)

func dropoutJob() spec.Job {
	j := smallJob("")
	j.Model = ""
	j.ModelSpec = &spec.Model{Input: []int{1, 28, 28}, Layers: []spec.Layer{
		{Type: spec.Flatten}, {Type: spec.Linear, Out: 16}, {Type: spec.ReLU}, {Type: spec.Dropout, P: 0.5}, {Type: spec.Linear, Out: 10},
	}}
	return j
}

func grads(t *testing.T, tr *train.Trainer) []float32 {
	t.Helper()
	ds := synth(8, 5)
	x, y := make([]float32, 8*784), make([]int32, 8)
	ds.Fill([]int{0, 1, 2, 3, 4, 5, 6, 7}, x, y)
	if _, err := tr.Gradients(x, y, nil); err != nil {
		t.Fatal(err)
	}
	var out []float32
	for _, p := range tr.Model().Params() {
		out = append(out, p.T.Grad...)
	}
	return out
}

// Replica 0 computes the plain trainer's gradients, dropout included;
// another replica draws other dropout masks.
func TestNewReplicaMatchesSetup(t *testing.T) {
	job := dropoutJob()
	plain, err := train.Setup(job, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	r0, err := train.NewReplica(job, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	r1, err := train.NewReplica(job, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, g0, g1 := grads(t, plain), grads(t, r0), grads(t, r1)
	for i := range want {
		if math.Float32bits(g0[i]) != math.Float32bits(want[i]) {
			t.Fatalf("replica 0 gradient %d = %v, plain trainer %v", i, g0[i], want[i])
		}
	}
	if slices.Equal(g1, want) {
		t.Error("replica 1 drew the same dropout masks as replica 0")
	}
	if _, err := train.NewReplica(job, -1, nil); err == nil {
		t.Error("replica -1 accepted")
	}
}

// An optimizer over halves of every tensor updates each element exactly as
// one over the whole tensors.
func TestNewOptimizerForSlices(t *testing.T) {
	for _, o := range []spec.Optimizer{spec.SGD, spec.AdamW} {
		job := smallJob("mlp")
		job.Optimizer = o
		whole, _ := train.NewModel(job)
		split, _ := train.NewModel(job)
		a, err := train.NewOptimizer(job, whole)
		if err != nil {
			t.Fatal(err)
		}
		var halves []optim.Param
		for _, p := range train.OptimParams(split) {
			h := len(p.Data) / 2
			halves = append(halves,
				optim.Param{Name: p.Name + "/0", Data: p.Data[:h], Grad: p.Grad[:h], NoDecay: p.NoDecay},
				optim.Param{Name: p.Name + "/1", Data: p.Data[h:], Grad: p.Grad[h:], NoDecay: p.NoDecay})
		}
		b, err := train.NewOptimizerFor(job, halves)
		if err != nil {
			t.Fatal(err)
		}
		for step := range 3 {
			for i, p := range whole.Params() {
				for j := range p.T.Grad {
					g := float32(math.Sin(float64(i*7+j+step))) / 10
					p.T.Grad[j], split.Params()[i].T.Grad[j] = g, g
				}
			}
			a.Step(0.01)
			b.Step(0.01)
		}
		for i, p := range whole.Params() {
			q := split.Params()[i]
			for j := range p.T.Data {
				if math.Float32bits(p.T.Data[j]) != math.Float32bits(q.T.Data[j]) {
					t.Fatalf("%s: %s[%d] = %v split, %v whole", o, p.Name, j, q.T.Data[j], p.T.Data[j])
				}
			}
		}
	}
}

func TestSaveModelRoundTrips(t *testing.T) {
	job := smallJob("mlp")
	m, _ := train.NewModel(job)
	path := filepath.Join(t.TempDir(), train.CheckpointName)
	if err := train.SaveModel(path, m, train.State{Job: job, Epoch: 3, Step: 7}); err != nil {
		t.Fatal(err)
	}
	l, err := train.LoadCheckpoint(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if l.State.Epoch != 3 || l.State.Step != 7 || !l.HasJob {
		t.Errorf("state %+v, want epoch 3 step 7 with the job", l.State)
	}
	for i, p := range m.Params() {
		if !slices.Equal(p.T.Data, l.Model.Params()[i].T.Data) {
			t.Fatalf("tensor %s changed in the round trip", p.Name)
		}
	}
}
