package nn_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/troupe-ml/troupe/engine/nn"
	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/tensor"
)

func seeded(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5eed)) }

func buildPreset(t *testing.T, name string, seed uint64) *nn.Model {
	t.Helper()
	ms, err := nn.Preset(name)
	if err != nil {
		t.Fatal(err)
	}
	m, err := nn.Build(ms, seeded(seed))
	if err != nil {
		t.Fatalf("Build(%s): %v", name, err)
	}
	return m
}

type paramShape struct {
	name  string
	shape []int
}

// presetParams gives the names and shapes of PyTorch's state_dict for the
// same nn.Sequential stored as "layers".
func presetParams() map[string][]paramShape {
	return map[string][]paramShape{
		"mlp": {
			{"layers.1.weight", []int{300, 784}}, {"layers.1.bias", []int{300}},
			{"layers.3.weight", []int{100, 300}}, {"layers.3.bias", []int{100}},
			{"layers.5.weight", []int{10, 100}}, {"layers.5.bias", []int{10}},
		},
		"mlp800": {
			{"layers.1.weight", []int{800, 784}}, {"layers.1.bias", []int{800}},
			{"layers.3.weight", []int{10, 800}}, {"layers.3.bias", []int{10}},
		},
		"cnn": {
			{"layers.0.weight", []int{32, 1, 3, 3}}, {"layers.0.bias", []int{32}},
			{"layers.3.weight", []int{64, 32, 3, 3}}, {"layers.3.bias", []int{64}},
			{"layers.5.weight", []int{64, 64, 3, 3}}, {"layers.5.bias", []int{64}},
			{"layers.10.weight", []int{128, 3136}}, {"layers.10.bias", []int{128}},
			{"layers.13.weight", []int{10, 128}}, {"layers.13.bias", []int{10}},
		},
		"lenet5": {
			{"layers.0.weight", []int{6, 1, 5, 5}}, {"layers.0.bias", []int{6}},
			{"layers.3.weight", []int{16, 6, 5, 5}}, {"layers.3.bias", []int{16}},
			{"layers.7.weight", []int{120, 400}}, {"layers.7.bias", []int{120}},
			{"layers.9.weight", []int{84, 120}}, {"layers.9.bias", []int{84}},
			{"layers.11.weight", []int{10, 84}}, {"layers.11.bias", []int{10}},
		},
	}
}

func presetCounts() map[string]int {
	return map[string]int{"mlp": 266_610, "lenet5": 61_706, "mlp800": 636_010, "cnn": 458_570}
}

func TestPresetNames(t *testing.T) {
	if got, want := nn.PresetNames(), []string{"cnn", "lenet5", "mlp", "mlp800"}; !slices.Equal(got, want) {
		t.Errorf("PresetNames() = %v, want %v", got, want)
	}
	_, err := nn.Preset("resnet")
	if err == nil {
		t.Fatal("Preset(resnet) succeeded")
	}
	for _, want := range []string{`"resnet"`, "lenet5", "mlp"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Preset(resnet) error %q does not mention %s", err, want)
		}
	}
}

func TestPresetParams(t *testing.T) {
	for name, want := range presetParams() {
		t.Run(name, func(t *testing.T) {
			m := buildPreset(t, name, 1)
			ps := m.Params()
			if len(ps) != len(want) {
				t.Fatalf("%d parameters, want %d", len(ps), len(want))
			}
			for i, p := range ps {
				if p.Name != want[i].name || !slices.Equal(p.T.Shape(), want[i].shape) {
					t.Errorf("parameter %d: %s %v, want %s %v", i, p.Name, p.T.Shape(), want[i].name, want[i].shape)
				}
				if !p.T.RequiresGrad() || len(p.T.Grad) != p.T.Len() {
					t.Errorf("%s: requires grad %v with %d gradient slots, want a full gradient", p.Name, p.T.RequiresGrad(), len(p.T.Grad))
				}
				if wantNoDecay := strings.HasSuffix(p.Name, ".bias"); p.NoDecay != wantNoDecay {
					t.Errorf("%s: NoDecay = %v, want %v", p.Name, p.NoDecay, wantNoDecay)
				}
			}
			if got := m.NumParams(); got != presetCounts()[name] {
				t.Errorf("NumParams() = %d, want %d", got, presetCounts()[name])
			}
			if got := m.InputShape(); !slices.Equal(got, []int{1, 28, 28}) {
				t.Errorf("InputShape() = %v, want [1 28 28]", got)
			}
			if got := m.OutputShape(); !slices.Equal(got, []int{10}) {
				t.Errorf("OutputShape() = %v, want [10]", got)
			}
		})
	}
}

func TestPresetForward(t *testing.T) {
	for _, name := range nn.PresetNames() {
		t.Run(name, func(t *testing.T) {
			m := buildPreset(t, name, 2)
			r := seeded(3)
			const n = 3
			x := make([]float32, n*28*28)
			for i := range x {
				x[i] = r.Float32()
			}
			run := func(g *tensor.Graph) []float32 {
				y := m.Forward(g, g.Input(x, n, 1, 28, 28))
				if !slices.Equal(y.Shape(), []int{n, 10}) {
					t.Fatalf("output shape %v, want [%d 10]", y.Shape(), n)
				}
				for i, v := range y.Data {
					if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
						t.Fatalf("output element %d = %g", i, v)
					}
				}
				return slices.Clone(y.Data)
			}
			g := tensor.NewGraph(nil, seeded(4))
			g.SetTraining(false) // dropout off: the forward pass is a function of x
			a := run(g)
			g.Reset()
			g.SetNoGrad(true)
			if b := run(g); !slices.Equal(a, b) {
				t.Error("forward differs between grad and no-grad mode")
			}
			// Each sample's output depends on that sample only.
			one := m.Forward(g, g.Input(x[28*28:2*28*28], 1, 1, 28, 28))
			for j := 0; j < 10; j++ {
				if d := math.Abs(float64(one.Data[j] - a[10+j])); d > 1e-5*(1+math.Abs(float64(a[10+j]))) {
					t.Errorf("sample 1 alone, output %d = %g; in the batch %g", j, one.Data[j], a[10+j])
				}
			}
		})
	}
}

// TestPresetTrainingStep runs a full backward pass through each preset and
// checks every parameter receives a finite, non-zero gradient.
func TestPresetTrainingStep(t *testing.T) {
	for _, name := range nn.PresetNames() {
		t.Run(name, func(t *testing.T) {
			m := buildPreset(t, name, 5)
			r := seeded(6)
			const n = 4
			x := make([]float32, n*28*28)
			for i := range x {
				x[i] = r.Float32()
			}
			g := tensor.NewGraph(nil, seeded(7))
			logits := m.Forward(g, g.Input(x, n, 1, 28, 28))
			if err := g.Backward(g.SoftmaxCrossEntropy(logits, []int32{0, 3, 7, 9}, 0, nil)); err != nil {
				t.Fatal(err)
			}
			for _, p := range m.Params() {
				var norm float64
				for _, v := range p.T.Grad {
					norm += float64(v) * float64(v)
				}
				if norm == 0 || math.IsNaN(norm) || math.IsInf(norm, 0) {
					t.Errorf("%s: squared gradient norm %g, want finite and non-zero", p.Name, norm)
				}
			}
		})
	}
}

func TestSeedDeterminesWeights(t *testing.T) {
	for _, name := range nn.PresetNames() {
		t.Run(name, func(t *testing.T) {
			a, b, c := buildPreset(t, name, 42), buildPreset(t, name, 42), buildPreset(t, name, 43)
			for i, p := range a.Params() {
				if !slices.Equal(p.T.Data, b.Params()[i].T.Data) {
					t.Errorf("%s differs between two builds with seed 42", p.Name)
				}
				if strings.HasSuffix(p.Name, ".weight") && slices.Equal(p.T.Data, c.Params()[i].T.Data) {
					t.Errorf("%s is the same with seeds 42 and 43", p.Name)
				}
			}
		})
	}
}

// checkUniform fails unless w looks like U(−bound, bound): inside the bound,
// reaching close to it, centred, with variance bound²/3.
func checkUniform(t *testing.T, name string, w []float32, bound float64) {
	t.Helper()
	n := float64(len(w))
	var mx, sum, sq float64
	for _, v := range w {
		a := math.Abs(float64(v))
		mx = math.Max(mx, a)
		sum += float64(v)
		sq += float64(v) * float64(v)
	}
	if mx > bound*(1+1e-6) {
		t.Errorf("%s: max |w| = %g exceeds the bound %g", name, mx, bound)
	}
	// The chance that n uniform draws all stay below 0.9·bound is 0.9ⁿ.
	if mx < 0.9*bound {
		t.Errorf("%s: max |w| = %g, want close to the bound %g", name, mx, bound)
	}
	// Mean has standard deviation bound/√(3n); w² has relative standard
	// deviation √(4/5) about its mean bound²/3. Allow five of each.
	if m := sum / n; math.Abs(m) > 5*bound/math.Sqrt(3*n) {
		t.Errorf("%s: mean %g, want 0 ± %g", name, m, 5*bound/math.Sqrt(3*n))
	}
	want := bound * bound / 3
	if v := sq / n; math.Abs(v-want) > 5*math.Sqrt(0.8/n)*want {
		t.Errorf("%s: mean square %g, want %g", name, v, want)
	}
}

func TestInitStatistics(t *testing.T) {
	kaiming := func(fanIn int) float64 { return math.Sqrt(6 / float64(fanIn)) }
	xavier := func(fanIn, fanOut int) float64 { return math.Sqrt(6 / float64(fanIn+fanOut)) }
	bounds := map[string]map[string]float64{
		"mlp": {
			"layers.1.weight": kaiming(784),
			"layers.3.weight": kaiming(300),
			"layers.5.weight": xavier(100, 10),
		},
		"lenet5": {
			"layers.0.weight":  kaiming(25),
			"layers.3.weight":  kaiming(150),
			"layers.7.weight":  kaiming(400),
			"layers.9.weight":  kaiming(120),
			"layers.11.weight": xavier(84, 10),
		},
	}
	for name, want := range bounds {
		t.Run(name, func(t *testing.T) {
			m := buildPreset(t, name, 9)
			for _, p := range m.Params() {
				if strings.HasSuffix(p.Name, ".bias") {
					for i, v := range p.T.Data {
						if v != 0 {
							t.Errorf("%s[%d] = %g, want 0", p.Name, i, v)
							break
						}
					}
					continue
				}
				bound, ok := want[p.Name]
				if !ok {
					t.Fatalf("unexpected parameter %s", p.Name)
				}
				checkUniform(t, p.Name, p.T.Data, bound)
			}
		})
	}
}

// TestInitFollowsNextActivation checks which layers count as feeding a
// rectifier: dropout, pooling and flatten in between do not change it; tanh
// and sigmoid get Xavier, whose conv fan-out counts the kernel area.
func TestInitFollowsNextActivation(t *testing.T) {
	ms := spec.Model{Input: []int{3, 12, 12}, Layers: []spec.Layer{
		{Type: spec.Conv2D, Out: 40, Kernel: 3}, // 0: → maxpool → gelu: Kaiming
		{Type: spec.MaxPool2D, Kernel: 2},       // 1
		{Type: spec.GELU},                       // 2
		{Type: spec.Conv2D, Out: 50, Kernel: 3}, // 3: → tanh: Xavier, fan-out 50·9
		{Type: spec.Tanh},                       // 4
		{Type: spec.Flatten},                    // 5
		{Type: spec.Linear, Out: 300},           // 6: in 450; → dropout → relu: Kaiming
		{Type: spec.Dropout, P: 0.5},            // 7
		{Type: spec.ReLU},                       // 8
		{Type: spec.Linear, Out: 200},           // 9: → sigmoid: Xavier
		{Type: spec.Sigmoid},                    // 10
		{Type: spec.Linear, Out: 100},           // 11: → layernorm → relu: Xavier
		{Type: spec.LayerNorm},                  // 12
		{Type: spec.ReLU},                       // 13
	}}
	m, err := nn.Build(ms, seeded(10))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		"layers.0.weight":  math.Sqrt(6.0 / 27),
		"layers.3.weight":  math.Sqrt(6.0 / (40*9 + 50*9)),
		"layers.6.weight":  math.Sqrt(6.0 / 450), // 50·3·3 flattened
		"layers.9.weight":  math.Sqrt(6.0 / (300 + 200)),
		"layers.11.weight": math.Sqrt(6.0 / (200 + 100)),
	}
	for _, p := range m.Params() {
		switch {
		case p.Name == "layers.12.weight":
			for i, v := range p.T.Data {
				if v != 1 {
					t.Fatalf("layernorm gain[%d] = %g, want 1", i, v)
				}
			}
		case strings.HasSuffix(p.Name, ".bias"):
			for i, v := range p.T.Data {
				if v != 0 {
					t.Fatalf("%s[%d] = %g, want 0", p.Name, i, v)
				}
			}
		default:
			bound, ok := want[p.Name]
			if !ok {
				t.Fatalf("unexpected parameter %s", p.Name)
			}
			checkUniform(t, p.Name, p.T.Data, bound)
		}
	}
	if got := m.OutputShape(); !slices.Equal(got, []int{100}) {
		t.Errorf("OutputShape() = %v, want [100]", got)
	}
}

func TestSpecIsCopied(t *testing.T) {
	ms := spec.Model{Input: []int{4}, Layers: []spec.Layer{{Type: spec.Linear, Out: 3}}}
	m, err := nn.Build(ms, seeded(11))
	if err != nil {
		t.Fatal(err)
	}
	ms.Input[0], ms.Layers[0].Out = 99, 99
	got := m.Spec()
	if got.Input[0] != 4 || got.Layers[0].Out != 3 {
		t.Fatalf("changing the caller's spec changed the model's: %+v", got)
	}
	got.Input[0], got.Layers[0].Out = 77, 77
	m.InputShape()[0] = 55
	m.OutputShape()[0] = 55
	if again := m.Spec(); again.Input[0] != 4 || again.Layers[0].Out != 3 {
		t.Errorf("changing Spec()'s result changed the model: %+v", again)
	}
	if !slices.Equal(m.InputShape(), []int{4}) || !slices.Equal(m.OutputShape(), []int{3}) {
		t.Errorf("InputShape %v, OutputShape %v after callers changed copies; want [4] and [3]", m.InputShape(), m.OutputShape())
	}
}

func TestNoBias(t *testing.T) {
	ms := spec.Model{Input: []int{2, 6, 6}, Layers: []spec.Layer{
		{Type: spec.Conv2D, Out: 3, Kernel: 3, NoBias: true},
		{Type: spec.Flatten},
		{Type: spec.Linear, Out: 4, NoBias: true},
		{Type: spec.LayerNorm, NoBias: true},
	}}
	m, err := nn.Build(ms, seeded(12))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range m.Params() {
		names = append(names, p.Name)
	}
	want := []string{"layers.0.weight", "layers.2.weight", "layers.3.weight"}
	if !slices.Equal(names, want) {
		t.Errorf("parameters %v, want %v", names, want)
	}
	if got, want := m.NumParams(), 3*2*9+4*48+4; got != want {
		t.Errorf("NumParams() = %d, want %d", got, want)
	}
}

// TestEmbeddingForward checks ids stored as float32 in the input select
// rows of the table, in an output shaped [N, input..., dim].
func TestEmbeddingForward(t *testing.T) {
	ms := spec.Model{Input: []int{2, 3}, Layers: []spec.Layer{{Type: spec.Embedding, Vocab: 5, Out: 4}}}
	m, err := nn.Build(ms, seeded(13))
	if err != nil {
		t.Fatal(err)
	}
	table := m.Params()[0]
	if table.Name != "layers.0.weight" || !slices.Equal(table.T.Shape(), []int{5, 4}) {
		t.Fatalf("table %s %v, want layers.0.weight [5 4]", table.Name, table.T.Shape())
	}
	ids := []float32{4, 0, 1, 1, 2, 3, 0, 0, 4, 3, 2, 1}
	g := tensor.NewGraph(nil, seeded(14))
	y := m.Forward(g, g.Input(ids, 2, 2, 3))
	if err := g.Err(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(y.Shape(), []int{2, 2, 3, 4}) {
		t.Fatalf("output shape %v, want [2 2 3 4]", y.Shape())
	}
	for i, id := range ids {
		if got, want := y.Data[i*4:(i+1)*4], table.T.Data[int(id)*4:(int(id)+1)*4]; !slices.Equal(got, want) {
			t.Errorf("position %d (id %g): %v, want %v", i, id, got, want)
		}
	}
	if got := m.OutputShape(); !slices.Equal(got, []int{2, 3, 4}) {
		t.Errorf("OutputShape() = %v, want [2 3 4]", got)
	}
}

func TestEmbeddingBadIDIsAnError(t *testing.T) {
	ms := spec.Model{Input: []int{3}, Layers: []spec.Layer{
		{Type: spec.Embedding, Vocab: 5, Out: 2},
		{Type: spec.Linear, Out: 2},
	}}
	m, err := nn.Build(ms, seeded(15))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []float32{5, -1, 1e6} {
		t.Run(fmt.Sprint(bad), func(t *testing.T) {
			g := tensor.NewGraph(nil, seeded(16))
			y := m.Forward(g, g.Input([]float32{0, bad, 4}, 1, 3))
			if g.Err() == nil {
				t.Fatalf("id %g with a vocabulary of 5: Err() = nil", bad)
			}
			if err := g.Backward(g.Sum(y)); err == nil {
				t.Error("Backward succeeded after a bad id")
			}
		})
	}
}

func TestDropoutOnlyInTraining(t *testing.T) {
	layers := []spec.Layer{{Type: spec.Linear, Out: 50}, {Type: spec.Dropout, P: 0.5}, {Type: spec.Linear, Out: 3}}
	with, err := nn.Build(spec.Model{Input: []int{4}, Layers: layers}, seeded(17))
	if err != nil {
		t.Fatal(err)
	}
	without, err := nn.Build(spec.Model{Input: []int{4}, Layers: []spec.Layer{layers[0], layers[2]}}, seeded(17))
	if err != nil {
		t.Fatal(err)
	}
	// Non-zero biases, so that a dropped unit still differs from a kept one.
	for _, p := range with.Params() {
		if strings.HasSuffix(p.Name, ".bias") {
			for i := range p.T.Data {
				p.T.Data[i] = 0.1
			}
		}
	}
	for i, p := range without.Params() {
		copy(p.T.Data, with.Params()[i].T.Data)
	}
	x := []float32{0.5, -1, 2, 0.25, 1, 1, -0.5, 3}
	run := func(m *nn.Model, seed uint64, training bool) []float32 {
		g := tensor.NewGraph(nil, seeded(seed))
		g.SetTraining(training)
		return slices.Clone(m.Forward(g, g.Input(x, 2, 4)).Data)
	}
	ref := run(without, 1, true)
	if got := run(with, 1, false); !slices.Equal(got, ref) {
		t.Errorf("eval mode: %v, want the output without dropout %v", got, ref)
	}
	a, b, c := run(with, 1, true), run(with, 1, true), run(with, 2, true)
	if !slices.Equal(a, b) {
		t.Error("training mode with the same seed gave different outputs")
	}
	if slices.Equal(a, ref) || slices.Equal(a, c) {
		t.Error("training-mode dropout changed nothing, or did not depend on the seed")
	}
}
