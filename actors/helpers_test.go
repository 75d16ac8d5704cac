package actors

import (
	"math"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/troupe-ml/troupe/engine/checkpoint"
	"github.com/troupe-ml/troupe/engine/data"
	"github.com/troupe-ml/troupe/engine/data/datatest"
	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/train"
)

func synth(n int, seed uint64) *data.Dataset { return datatest.MNISTLike(n, seed) }

// smallJob is the default job on the mlp preset, shortened.
func smallJob(epochs int) spec.Job {
	j := spec.Default()
	j.Model = "mlp"
	j.Epochs = epochs
	j.Batch = 32
	j.EvalBatch = 100
	j.Out = ""
	return j
}

// tinyJob trains a small custom model, for tests whose point is the
// pipeline rather than the numbers.
func tinyJob(epochs int) spec.Job {
	j := smallJob(epochs)
	j.Model = ""
	j.ModelSpec = &spec.Model{Input: []int{1, 28, 28}, Layers: []spec.Layer{
		{Type: spec.Flatten}, {Type: spec.Linear, Out: 32}, {Type: spec.ReLU}, {Type: spec.Linear, Out: 10},
	}}
	return j
}

// checkpointParams loads the parameters of the checkpoint at path.
func checkpointParams(t *testing.T, path string) map[string][]float32 {
	t.Helper()
	l, err := train.LoadCheckpoint(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]float32{}
	for _, p := range l.Model.Params() {
		out[p.Name] = p.T.Data
	}
	return out
}

// checkpointState loads the optimizer-state tensors of the checkpoint at
// path, by name, and fails the test if there are none.
func checkpointState(t *testing.T, path string) map[string][]float32 {
	t.Helper()
	ts, _, err := checkpoint.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]float32{}
	for _, x := range ts {
		if strings.HasPrefix(x.Name, "optimizer.") {
			out[x.Name] = x.Data
		}
	}
	if len(out) == 0 {
		t.Fatalf("checkpoint %s holds no optimizer state", path)
	}
	return out
}

// sameBits reports the first element whose bits differ.
func sameBits(t *testing.T, want, got map[string][]float32) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("%d tensors, want %d", len(got), len(want))
	}
	for name, w := range want {
		g := got[name]
		if len(g) != len(w) {
			t.Fatalf("tensor %s: %d values, want %d", name, len(g), len(w))
		}
		for i := range w {
			if math.Float32bits(g[i]) != math.Float32bits(w[i]) {
				t.Fatalf("tensor %s[%d] = %v (%#x), plain loop %v (%#x)", name, i, g[i], math.Float32bits(g[i]), w[i], math.Float32bits(w[i]))
			}
		}
	}
}

// noLeak checks, after the test, that no goroutine outlived it.
//
// protoactor's remote endpoint writer retries a peer that went away with
// two-second sleeps and notices its own shutdown only after one, so a
// test that loses a node leaves such a goroutine behind for a few
// seconds. The check waits for goroutines to end (up to leakWait) before
// it reports them, instead of ignoring any.
func noLeak(t *testing.T) {
	t.Cleanup(func() {
		deadline := time.Now().Add(leakWait)
		for goleak.Find() != nil && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		goleak.VerifyNone(t)
	})
}

// leakWait bounds noLeak's wait: the test nodes' one connection attempt
// and protoactor's 2 s pause after it, with a margin.
const leakWait = 6 * time.Second
