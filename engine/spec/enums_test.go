package spec

import "testing"

func TestParseEnums(t *testing.T) {
	for _, o := range Optimizers() {
		if got, err := ParseOptimizer(string(o)); err != nil || got != o || !o.Valid() {
			t.Errorf("ParseOptimizer(%q) = %q, %v; Valid=%v", o, got, err, o.Valid())
		}
	}
	for _, s := range Schedules() {
		if got, err := ParseSchedule(string(s)); err != nil || got != s || !s.Valid() {
			t.Errorf("ParseSchedule(%q) = %q, %v; Valid=%v", s, got, err, s.Valid())
		}
	}
	for _, l := range LayerTypes() {
		if got, err := ParseLayerType(string(l)); err != nil || got != l || !l.Valid() {
			t.Errorf("ParseLayerType(%q) = %q, %v; Valid=%v", l, got, err, l.Valid())
		}
	}
	for _, s := range Selections() {
		if got, err := ParseSelection(string(s)); err != nil || got != s || !s.Valid() {
			t.Errorf("ParseSelection(%q) = %q, %v; Valid=%v", s, got, err, s.Valid())
		}
	}
	if len(Selections()) != 4 {
		t.Errorf("Selections() has %d entries, want 4: %v", len(Selections()), Selections())
	}
	if len(LayerTypes()) != 11 || len(Optimizers()) != 3 || len(Schedules()) != 3 {
		t.Errorf("enum lists have %d, %d, %d entries; want 11, 3, 3", len(LayerTypes()), len(Optimizers()), len(Schedules()))
	}
}

func TestParseEnumErrors(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		{second(ParseOptimizer("sgdd")), `unknown "sgdd" (want sgd, adam, adamw)`},
		{second(ParseOptimizer("Adam")), `unknown "Adam" (want sgd, adam, adamw)`},
		{second(ParseOptimizer("")), `missing (want sgd, adam, adamw)`},
		{second(ParseSchedule("linear")), `unknown "linear" (want constant, step, cosine)`},
		{second(ParseLayerType("conv")), `unknown "conv" (want linear, conv2d, maxpool2d, relu, gelu, tanh, sigmoid, dropout, layernorm, flatten, embedding)`},
	}
	for _, c := range cases {
		if c.err == nil || c.err.Error() != c.want {
			t.Errorf("error = %v, want %q", c.err, c.want)
		}
	}
	if Optimizer("SGD").Valid() || Schedule("").Valid() || LayerType("dense").Valid() {
		t.Error("Valid accepted a spelling that is not in the list")
	}
}

func second[T any](_ T, err error) error { return err }

func TestEffectiveStride(t *testing.T) {
	cases := []struct {
		l    Layer
		want int
	}{
		{Layer{Type: Conv2D, Out: 8, Kernel: 3}, 1},
		{Layer{Type: Conv2D, Out: 8, Kernel: 3, Stride: 2}, 2},
		{Layer{Type: MaxPool2D, Kernel: 2}, 2},
		{Layer{Type: MaxPool2D, Kernel: 3, Stride: 1}, 1},
	}
	for _, c := range cases {
		if got := c.l.EffectiveStride(); got != c.want {
			t.Errorf("%+v.EffectiveStride() = %d, want %d", c.l, got, c.want)
		}
	}
}
