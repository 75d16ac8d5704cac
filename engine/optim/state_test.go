package optim

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

type builder struct {
	name string
	fn   func([]Param) (Optimizer, error)
}

func builders() []builder {
	return []builder{
		{"SGD plain", func(ps []Param) (Optimizer, error) { return NewSGD(ps, SGDConfig{}) }},
		{"SGD momentum", func(ps []Param) (Optimizer, error) {
			return NewSGD(ps, SGDConfig{Momentum: 0.9, Dampening: 0.1, WeightDecay: 0.01})
		}},
		{"Adam", func(ps []Param) (Optimizer, error) { return NewAdam(ps, DefaultAdam()) }},
		{"AdamW", func(ps []Param) (Optimizer, error) { return NewAdamW(ps, DefaultAdamW()) }},
	}
}

func TestStateNames(t *testing.T) {
	ps := []Param{{Name: "layers.0.weight", Data: make([]float32, 3), Grad: make([]float32, 3)}}
	want := map[string][]string{
		"SGD plain":    {"step"},
		"SGD momentum": {"step", "layers.0.weight.momentum"},
		"Adam":         {"step", "layers.0.weight.exp_avg", "layers.0.weight.exp_avg_sq"},
		"AdamW":        {"step", "layers.0.weight.exp_avg", "layers.0.weight.exp_avg_sq"},
	}
	for _, b := range builders() {
		o, err := b.fn(ps)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range o.State() {
			got = append(got, s.Name)
		}
		if !slices.Equal(got, want[b.name]) {
			t.Errorf("%s: state names %q, want %q", b.name, got, want[b.name])
		}
	}
}

// TestStateRoundTrip resumes a second optimizer from the first one's state
// halfway through and wants both to end bit-for-bit equal.
func TestStateRoundTrip(t *testing.T) {
	for _, b := range builders() {
		t.Run(b.name, func(t *testing.T) {
			f := newFixture(refSteps)
			first, second := f.params(), f.params()
			half := fixture{names: f.names, noDecay: f.noDecay, p0: f.p0, grads: f.grads[:3], lrs: f.lrs[:3]}
			rest := fixture{names: f.names, noDecay: f.noDecay, p0: f.p0, grads: f.grads[3:], lrs: f.lrs[3:]}

			a, err := b.fn(first)
			if err != nil {
				t.Fatal(err)
			}
			half.run(a, first)
			saved := a.State()
			for i := range second {
				copy(second[i].Data, first[i].Data)
			}
			resumed, err := b.fn(second)
			if err != nil {
				t.Fatal(err)
			}
			if err := resumed.LoadState(saved); err != nil {
				t.Fatalf("LoadState: %v", err)
			}
			rest.run(a, first)
			rest.run(resumed, second)
			for i := range first {
				if !slices.Equal(first[i].Data, second[i].Data) {
					t.Errorf("%s: resumed %v, uninterrupted %v", first[i].Name, second[i].Data, first[i].Data)
				}
			}
		})
	}
}

func TestStateIsACopy(t *testing.T) {
	f := newFixture(2)
	ps := f.params()
	o, err := NewAdam(ps, DefaultAdam())
	if err != nil {
		t.Fatal(err)
	}
	f.run(o, ps)
	before := o.State()
	for _, s := range o.State() {
		for i := range s.Data {
			s.Data[i] = 42
		}
	}
	if !stateEqual(before, o.State()) {
		t.Error("writing into State()'s result changed the optimizer")
	}
}

func TestStepCountEncoding(t *testing.T) {
	for _, step := range []int{0, 1, 1<<24 - 1, 1 << 24, 1<<24 + 1, 123456789012, 1<<48 - 1} {
		got, err := decodeStep(stepTensor(step).Data)
		if err != nil || got != step {
			t.Errorf("decodeStep(stepTensor(%d)) = %d, %v", step, got, err)
		}
	}
}

func TestLoadStateRejects(t *testing.T) {
	f := newFixture(2)
	ps := f.params()
	o, err := NewAdam(ps, DefaultAdam())
	if err != nil {
		t.Fatal(err)
	}
	f.run(o, ps)
	good := o.State()
	edit := func(fn func([]StateTensor) []StateTensor) []StateTensor {
		ts := make([]StateTensor, len(good))
		for i, s := range good {
			ts[i] = StateTensor{Name: s.Name, Data: slices.Clone(s.Data)}
		}
		return fn(ts)
	}
	find := func(ts []StateTensor, name string) int {
		i := slices.IndexFunc(ts, func(s StateTensor) bool { return s.Name == name })
		if i < 0 {
			t.Fatalf("no state %q", name)
		}
		return i
	}
	const w = "layers.0.weight"
	cases := []struct {
		name string
		ts   []StateTensor
		want string
	}{
		{"unknown tensor", edit(func(ts []StateTensor) []StateTensor {
			return append(ts, StateTensor{Name: "layers.9.weight.exp_avg", Data: []float32{0}})
		}), `"layers.9.weight.exp_avg"`},
		{"missing tensor", edit(func(ts []StateTensor) []StateTensor {
			return slices.Delete(ts, find(ts, w+".exp_avg_sq"), find(ts, w+".exp_avg_sq")+1)
		}), `"` + w + `.exp_avg_sq" missing`},
		{"missing step", edit(func(ts []StateTensor) []StateTensor {
			return slices.Delete(ts, find(ts, "step"), find(ts, "step")+1)
		}), `"step" missing`},
		{"duplicate tensor", edit(func(ts []StateTensor) []StateTensor {
			return append(ts, ts[find(ts, w+".exp_avg")])
		}), `"` + w + `.exp_avg" given twice`},
		{"duplicate step", edit(func(ts []StateTensor) []StateTensor {
			return append(ts, ts[find(ts, "step")])
		}), `"step" given twice`},
		{"short tensor", edit(func(ts []StateTensor) []StateTensor {
			i := find(ts, w+".exp_avg")
			ts[i].Data = ts[i].Data[:2]
			return ts
		}), `"` + w + `.exp_avg": length 2, want 6`},
		{"NaN value", edit(func(ts []StateTensor) []StateTensor {
			ts[find(ts, w+".exp_avg")].Data[4] = float32(math.NaN())
			return ts
		}), `"` + w + `.exp_avg"[4]`},
		{"negative second moment", edit(func(ts []StateTensor) []StateTensor {
			ts[find(ts, w+".exp_avg_sq")].Data[1] = -1
			return ts
		}), `"` + w + `.exp_avg_sq"[1]`},
		{"fractional step", edit(func(ts []StateTensor) []StateTensor {
			ts[find(ts, "step")].Data[0] = 2.5
			return ts
		}), `"step"[0]`},
		{"negative step", edit(func(ts []StateTensor) []StateTensor {
			ts[find(ts, "step")].Data[1] = -1
			return ts
		}), `"step"[1]`},
		{"step wrong length", edit(func(ts []StateTensor) []StateTensor {
			ts[find(ts, "step")].Data = []float32{2}
			return ts
		}), `"step": length 1`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := o.State()
			err := o.LoadState(tc.ts)
			if err == nil {
				t.Fatal("LoadState accepted bad state")
			}
			if !errors.Is(err, ErrState) {
				t.Errorf("error %q does not wrap ErrState", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %s", err, tc.want)
			}
			if !stateEqual(before, o.State()) {
				t.Error("failed LoadState changed the state")
			}
		})
	}
}

// stateEqual compares two State() results bit for bit, in order.
func stateEqual(a, b []StateTensor) bool {
	return slices.EqualFunc(a, b, func(x, y StateTensor) bool {
		return x.Name == y.Name && slices.EqualFunc(x.Data, y.Data, func(u, v float32) bool {
			return math.Float32bits(u) == math.Float32bits(v)
		})
	})
}

// FuzzLoadState applies byte-driven edits to a valid Adam state and checks
// that LoadState never panics, leaves the state untouched when it fails,
// and when it succeeds holds exactly what was loaded.
func FuzzLoadState(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 1, 0, 0, 0, 0})                // drop a tensor
	f.Add([]byte{3, 2, 1, 0x00, 0x00, 0xc0, 0x7f}) // NaN into a tensor
	f.Add([]byte{3, 0, 0, 0x00, 0x00, 0x20, 0x41}) // step low word 10
	f.Add([]byte{1, 3, 0, 0, 0, 0, 2, 1, 5, 0, 0, 0, 0})
	f.Add([]byte{4, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, ops []byte) {
		fx := newFixture(2)
		ps := fx.params()
		o, err := NewAdam(ps, DefaultAdam())
		if err != nil {
			t.Fatal(err)
		}
		fx.run(o, ps)
		ts := o.State()
		for len(ops) >= 7 && len(ts) > 0 {
			op, k, j := ops[0]%5, int(ops[1])%len(ts), int(ops[2])
			v := math.Float32frombits(binary.LittleEndian.Uint32(ops[3:7]))
			ops = ops[7:]
			switch op {
			case 0: // drop
				ts = slices.Delete(ts, k, k+1)
			case 1: // duplicate
				ts = append(ts, ts[k])
			case 2: // resize
				ts[k].Data = make([]float32, j%10)
			case 3: // overwrite one value
				if n := len(ts[k].Data); n > 0 {
					ts[k].Data[j%n] = v
				}
			case 4: // rename
				ts[k].Name = ts[j%len(ts)].Name + string(rune('a'+j%3))
			}
		}
		before := o.State()
		if err := o.LoadState(ts); err != nil {
			if !errors.Is(err, ErrState) {
				t.Fatalf("error %q does not wrap ErrState", err)
			}
			if !stateEqual(before, o.State()) {
				t.Fatalf("failed LoadState (%v) changed the state", err)
			}
			return
		}
		got := stateByName(t, o.State())
		for _, s := range ts {
			if !slices.Equal(got[s.Name], s.Data) {
				t.Fatalf("state %q = %v after loading %v", s.Name, got[s.Name], s.Data)
			}
		}
	})
}
