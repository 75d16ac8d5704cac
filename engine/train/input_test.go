package train_test

import (
	"math"
	"slices"
	"testing"

	"github.com/troupe-ml/troupe/engine/tensor"
	"github.com/troupe-ml/troupe/engine/train"
)

// The trainer, evaluator and predictor read the caller's batch in place
// (tensor.Graph.InputView): these tests check that they never write it
// and are done with it when they return.

// TestStepLeavesBatchUnchanged runs every kind of pass on a batch and
// checks that the batch still holds the same bits afterwards.
func TestStepLeavesBatchUnchanged(t *testing.T) {
	for _, model := range []string{"mlp", "lenet5"} {
		t.Run(model, func(t *testing.T) {
			tr, err := train.Setup(smallJob(model), 10, nil)
			if err != nil {
				t.Fatal(err)
			}
			x, y := noisyBatch(6, 21)
			orig := append([]float32(nil), x...)
			per := make([]float32, 6)
			if _, err := tr.Step(x, y, per); err != nil {
				t.Fatal(err)
			}
			unchanged(t, "Step", x, orig)
			if _, err := tr.GradientsScored(x, tensor.Targets{Labels: y}, 4, per); err != nil {
				t.Fatal(err)
			}
			unchanged(t, "GradientsScored", x, orig)
			if err := tr.Losses(x, y, per); err != nil {
				t.Fatal(err)
			}
			unchanged(t, "Losses", x, orig)
			out := make([]float32, 60)
			if err := train.NewPredictor(nil, nil).Forward(tr.Model(), x, 6, false, out); err != nil {
				t.Fatal(err)
			}
			unchanged(t, "Predictor.Forward", x, orig)
		})
	}
}

// TestStepReleasesBatch checks that a caller may refill its batch buffer
// as soon as a step returns: scribbling over it between steps trains
// exactly as fresh buffers do.
func TestStepReleasesBatch(t *testing.T) {
	for _, model := range []string{"mlp", "lenet5"} {
		t.Run(model, func(t *testing.T) {
			reused, err := train.Setup(smallJob(model), 10, nil)
			if err != nil {
				t.Fatal(err)
			}
			fresh, err := train.Setup(smallJob(model), 10, nil)
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]float32, 5*784)
			for s := range 3 {
				x, y := noisyBatch(5, uint64(30+s))
				copy(buf, x)
				ra, err := reused.Step(buf, y, nil)
				if err != nil {
					t.Fatal(err)
				}
				for i := range buf {
					buf[i] = float32(math.NaN())
				}
				rb, err := fresh.Step(x, y, nil)
				if err != nil {
					t.Fatal(err)
				}
				if math.Float32bits(ra.Loss) != math.Float32bits(rb.Loss) {
					t.Fatalf("step %d: loss %v with a reused buffer, %v with fresh ones", s, ra.Loss, rb.Loss)
				}
			}
			if a, b := params(reused), params(fresh); !slices.Equal(bitsOf(a), bitsOf(b)) {
				t.Error("parameters trained from a reused buffer differ from those from fresh ones")
			}
		})
	}
}

// unchanged fails unless the batch x holds the bits of orig after what.
func unchanged(t *testing.T, what string, x, orig []float32) {
	t.Helper()
	for i := range orig {
		if math.Float32bits(x[i]) != math.Float32bits(orig[i]) {
			t.Fatalf("%s changed the caller's batch at %d: %v, was %v", what, i, x[i], orig[i])
		}
	}
}

func bitsOf(s []float32) []uint32 {
	b := make([]uint32, len(s))
	for i, v := range s {
		b[i] = math.Float32bits(v)
	}
	return b
}
