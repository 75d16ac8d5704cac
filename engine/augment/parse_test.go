package augment

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseValid(t *testing.T) {
	for _, c := range []struct {
		spec string
		want []Config
	}{
		{"", nil},
		{"  none ", nil},
		{"affine,elastic,noise", []Config{{Name: "affine"}, {Name: "elastic"}, {Name: "noise"}}},
		{" affine ( degrees = 15 , scale_min=0.8,scale_max=1.2 ) , elastic(p=0.5, alpha=8, sigma=3),noise()",
			[]Config{
				{Name: "affine", Params: map[string]float64{"degrees": 15, "scale_min": 0.8, "scale_max": 1.2}},
				{Name: "elastic", P: Prob(0.5), Params: map[string]float64{"alpha": 8, "sigma": 3}},
				{Name: "noise"},
			}},
		{"crop(pad=4,fill=0),hflip(p=1),hflip", []Config{
			{Name: "crop", Params: map[string]float64{"pad": 4, "fill": 0}},
			{Name: "hflip", P: Prob(1)}, {Name: "hflip"},
		}},
	} {
		got, err := Parse(c.spec)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.spec, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("Parse(%q) = %+v, want %+v", c.spec, got, c.want)
		}
	}
}

func TestParseErrorsNameWhatIsWrong(t *testing.T) {
	for _, c := range []struct {
		spec             string
		step             int
		transform, param string
		reason           string
	}{
		{"affine,blur", 2, "blur", "", "unknown transform"},
		{"affine(degrees=200)", 1, "affine", "degrees", "want 0 ≤ degrees ≤ 180"},
		{"affine(scale_min=1.5)", 1, "affine", "scale_min", "exceeds scale_max"},
		{"affine(scale_min=0)", 1, "affine", "scale_min", "want 0 < scale_min"},
		{"elastic(sigma=-1)", 1, "elastic", "sigma", "want 0 < sigma"},
		{"elastic(alpha=NaN)", 1, "elastic", "alpha", "want 0 ≤ alpha"},
		{"noise(std=1,std=2)", 1, "noise", "std", "given twice"},
		{"noise(p=1.5)", 1, "noise", "p", "probability"},
		{"noise(p=0.5,p=0.5)", 1, "noise", "p", "given twice"},
		{"noise(mean=1)", 1, "noise", "mean", "unknown; noise takes p, std"},
		{"noise(fill=1)", 1, "noise", "fill", "unknown"},
		{"crop(pad=1.5)", 1, "crop", "pad", "whole number"},
		{"crop(fill=1e300)", 1, "crop", "fill", "finite float32"},
		{"noise(std=)", 1, "noise", "std", "want a number"},
		{"noise(std=1e999)", 1, "noise", "std", "want a number"},
		{"noise(std 1)", 1, "noise", "std", "want '='"},
		{"noise(std=1", 1, "noise", "", "want ',' or ')'"},
		{"noise,", 2, "", "", "want a transform name"},
		{"noise elastic", 1, "noise", "", "want ','"},
		{"Affine", 1, "", "", "want a transform name"},
		{"hflip(p=0.5,x=1)", 1, "hflip", "x", "no parameters besides p"},
		{strings.Repeat("hflip,", MaxSteps) + "hflip", MaxSteps + 1, "", "", "more than 64 steps"},
	} {
		_, err := Parse(c.spec)
		var e *Error
		if !errors.As(err, &e) || !errors.Is(err, ErrSpec) {
			t.Errorf("Parse(%q): error %v, want an *Error wrapping ErrSpec", c.spec, err)
			continue
		}
		if e.Step != c.step || e.Transform != c.transform || e.Param != c.param || !strings.Contains(e.Reason, c.reason) {
			t.Errorf("Parse(%q): step %d, transform %q, param %q, reason %q; want %d, %q, %q, containing %q",
				c.spec, e.Step, e.Transform, e.Param, e.Reason, c.step, c.transform, c.param, c.reason)
		}
		if e.Spec != c.spec || e.Offset < 0 || e.Offset > len(c.spec) {
			t.Errorf("Parse(%q): error locates spec %q at byte %d", c.spec, e.Spec, e.Offset)
		}
		if msg := err.Error(); c.param != "" && !strings.Contains(msg, `parameter "`+c.param+`"`) {
			t.Errorf("Parse(%q): message %q does not name the parameter", c.spec, msg)
		}
	}
}

func TestConfigValidationNamesTransformAndParameter(t *testing.T) {
	cfgs := []Config{
		{Name: "affine"},
		{Name: "elastic", Params: map[string]float64{"sigma": 0}},
	}
	_, err := New(cfgs, 0)
	want := `augment: step 2: transform "elastic": parameter "sigma": 0: want 0 < sigma ≤ 100`
	if err == nil || err.Error() != want {
		t.Errorf("New: error %v, want %q", err, want)
	}
	err = Config{Name: "noise", Params: map[string]float64{"p": 0.5}}.Validate()
	if err == nil || !strings.Contains(err.Error(), "Config.P") {
		t.Errorf("p in Params: error %v, want a pointer to Config.P", err)
	}
	if err := (Config{Name: "cutout", P: Prob(-0.1)}).Validate(); err == nil {
		t.Error("P = -0.1: want an error")
	}
}

func TestDefaultsAndDescribe(t *testing.T) {
	c, err := Defaults("elastic")
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Name: "elastic", P: Prob(1), Params: map[string]float64{"alpha": 34, "sigma": 4}}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Defaults(elastic) = %+v, want %+v", c, want)
	}
	if c, _ := Defaults("vflip"); *c.P != 0.5 || c.Params != nil {
		t.Errorf("Defaults(vflip) = %+v, want p=0.5 and no parameters", c)
	}
	if _, err := Defaults("nope"); !errors.Is(err, ErrSpec) {
		t.Errorf("Defaults(nope): error %v, want ErrSpec", err)
	}
	d := Describe()
	for _, name := range Names() {
		if !strings.Contains(d, name+" (p=") {
			t.Errorf("Describe lacks %s", name)
		}
		if err := (Config{Name: name}).Validate(); err != nil {
			t.Errorf("defaults of %s do not validate: %v", name, err)
		}
	}
}

func TestConfigsRebuildTheSamePipeline(t *testing.T) {
	p := mustPipeline(t, "affine(degrees=20),elastic(p=0.5),noise,crop(fill=1),cutout")
	spec := p.String()
	if !strings.Contains(spec, "fill=1") || !strings.Contains(spec, "degrees=20") || !strings.Contains(spec, "sigma=4") {
		t.Errorf("String() = %q, want every parameter explicit", spec)
	}
	cfgs, err := Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	q, err := New(cfgs, 123) // a different background must not matter now
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(q.Configs(), p.Configs()) {
		t.Errorf("rebuilt configs %+v, want %+v", q.Configs(), p.Configs())
	}
	s := Shape{C: 1, H: 28, W: 28}
	src := randomImage(s, 30)
	a, b := make([]float32, len(src)), make([]float32, len(src))
	for id := range uint64(20) {
		p.NewWorker(5).Apply(a, src, s, 1, id)
		q.NewWorker(5).Apply(b, src, s, 1, id)
		equalBits(t, "rebuilt pipeline", b, a)
	}
}
