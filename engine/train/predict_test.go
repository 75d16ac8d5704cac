package train_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/troupe-ml/troupe/engine/train"
)

func TestSoftmaxRows(t *testing.T) {
	x := []float32{0, 0, 0, 0, 1000, 1000, 0, 1000}
	train.Softmax(x, 4)
	want := []float32{0.25, 0.25, 0.25, 0.25, 0.5, 0.5, 0, 0}
	want[7], want[6], want[5], want[4] = 1.0/3, 0, 1.0/3, 1.0/3
	for i := range x {
		if math.Abs(float64(x[i]-want[i])) > 1e-6 {
			t.Fatalf("softmax %v, want %v", x, want)
		}
	}
}

// Deterministic passes repeat each other; stochastic passes differ from
// them and from each other, as fresh dropout masks should.
func TestPredictorForward(t *testing.T) {
	job := dropoutJob()
	m, err := train.NewModel(job)
	if err != nil {
		t.Fatal(err)
	}
	ds := synth(8, 3)
	x, y := make([]float32, 8*784), make([]int32, 8)
	ds.Fill([]int{0, 1, 2, 3, 4, 5, 6, 7}, x, y)
	p := train.NewPredictor(nil, rand.New(rand.NewPCG(1, 2)))
	det, det2, s1, s2 := make([]float32, 80), make([]float32, 80), make([]float32, 80), make([]float32, 80)
	for _, c := range []struct {
		out        []float32
		stochastic bool
	}{{det, false}, {s1, true}, {s2, true}, {det2, false}} {
		if err := p.Forward(m, x, 8, c.stochastic, c.out); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(det, det2) {
		t.Error("two deterministic passes differ")
	}
	if slices.Equal(det, s1) || slices.Equal(s1, s2) {
		t.Error("stochastic passes repeat each other or the deterministic one: dropout is off")
	}
	if err := p.Forward(m, x[:700], 8, false, det); err == nil {
		t.Error("short input accepted")
	}
	if err := p.Forward(m, x, 8, false, det[:79]); err == nil {
		t.Error("short output buffer accepted")
	}
}
