package gpu

import (
	"strings"
	"testing"

	"github.com/troupe-ml/troupe/engine/nn"
	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/kernels/cuda"
)

func TestPlanPresets(t *testing.T) {
	mlp, err := nn.Preset("mlp")
	if err != nil {
		t.Fatal(err)
	}
	st, err := plan(mlp)
	if err != nil {
		t.Fatal(err)
	}
	// flatten, then three linears with the two ReLUs fused.
	kinds := []opKind{opFlatten, opLinear, opLinear, opLinear}
	acts := []cuda.Act{cuda.ActNone, cuda.ActReLU, cuda.ActReLU, cuda.ActNone}
	if len(st) != len(kinds) {
		t.Fatalf("mlp: %d stages, want %d", len(st), len(kinds))
	}
	for i := range st {
		if st[i].kind != kinds[i] || st[i].act != acts[i] {
			t.Errorf("mlp stage %d: kind %d act %d, want %d %d", i, st[i].kind, st[i].act, kinds[i], acts[i])
		}
	}
	if st[3].inF != 100 || st[3].outF != 10 || st[1].inF != 784 {
		t.Errorf("mlp linear sizes: %+v", st)
	}
	lenet, err := nn.Preset("lenet5")
	if err != nil {
		t.Fatal(err)
	}
	st, err = plan(lenet)
	if err != nil {
		t.Fatal(err)
	}
	// One input channel: no transpose before the first convolution.
	kinds = []opKind{opConv, opPool, opConv, opPool, opFlatten, opLinear, opLinear, opLinear}
	if len(st) != len(kinds) {
		t.Fatalf("lenet5: %d stages, want %d", len(st), len(kinds))
	}
	for i := range st {
		if st[i].kind != kinds[i] {
			t.Errorf("lenet5 stage %d: kind %d, want %d", i, st[i].kind, kinds[i])
		}
	}
	if got := st[3].out; got[0] != 16 || got[1] != 5 || got[2] != 5 {
		t.Errorf("lenet5 second pool output %v, want [16 5 5]", got)
	}
	if !st[4].cnhw || st[5].cnhw {
		t.Errorf("flatten must read channel-major and write batch-major")
	}
}

func TestPlanTransposesMultiChannelInput(t *testing.T) {
	m := spec.Model{Input: []int{3, 8, 8}, Layers: []spec.Layer{
		{Type: spec.Conv2D, Out: 4, Kernel: 3, Pad: 1}, {Type: spec.GELU}, {Type: spec.Dropout, P: 0.1},
		{Type: spec.MaxPool2D, Kernel: 2}, {Type: spec.Flatten}, {Type: spec.LayerNorm}, {Type: spec.Tanh},
		{Type: spec.Linear, Out: 5},
	}}
	st, err := plan(m)
	if err != nil {
		t.Fatal(err)
	}
	kinds := []opKind{opToCNHW, opConv, opDropout, opPool, opFlatten, opLayerNorm, opAct, opLinear}
	if len(st) != len(kinds) {
		t.Fatalf("%d stages, want %d: %+v", len(st), len(kinds), st)
	}
	for i := range st {
		if st[i].kind != kinds[i] {
			t.Errorf("stage %d: kind %d, want %d", i, st[i].kind, kinds[i])
		}
	}
	if st[1].act != cuda.ActGELU || st[6].act != cuda.ActTanh {
		t.Errorf("activations: conv %d, standalone %d", st[1].act, st[6].act)
	}
}

func TestPlanRejects(t *testing.T) {
	for _, c := range []struct {
		m    spec.Model
		want string
	}{
		{spec.Model{Input: []int{4}, Layers: []spec.Layer{{Type: spec.Embedding, Vocab: 10, Out: 3}, {Type: spec.Flatten}}}, "not supported on the cuda device"},
		{spec.Model{Input: []int{2, 3}, Layers: []spec.Layer{{Type: spec.Linear, Out: 3}}}, "output shape"},
	} {
		if _, err := plan(c.m); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("plan(%+v) = %v, want an error containing %q", c.m, err, c.want)
		}
	}
}
