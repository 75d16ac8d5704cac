package spec

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestParseOverlaysDefaults(t *testing.T) {
	docs := map[string]string{
		"job.yaml": "# tuned run\nepochs: 3\nlr: 0.1\noptimizer: adam\nnesterov: false\n",
		"job.yml":  "epochs: 3\nlr: 0.1\noptimizer: adam\nnesterov: false\n",
		"job.json": `{"epochs": 3, "lr": 0.1, "optimizer": "adam", "nesterov": false}`,
		"JOB.JSON": `{"epochs": 3, "lr": 0.1, "optimizer": "adam", "nesterov": false}`,
	}
	want := Default()
	want.Epochs, want.LR, want.Optimizer, want.Nesterov = 3, 0.1, Adam, false
	for name, doc := range docs {
		got, err := Parse([]byte(doc), name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %+v\nwant %+v", name, got, want)
		}
	}
}

func TestParseEmptyYAMLIsDefault(t *testing.T) {
	for _, doc := range []string{"", "# nothing set\n", "---\n"} {
		got, err := Parse([]byte(doc), "job.yaml")
		if err != nil || !reflect.DeepEqual(got, Default()) {
			t.Errorf("Parse(%q) = %+v, %v; want Default()", doc, got, err)
		}
	}
}

func TestParseNullKeepsDefault(t *testing.T) {
	for name, doc := range map[string]string{"j.yaml": "lr: ~\nout: null\n", "j.json": `{"lr": null, "out": null}`} {
		got, err := Parse([]byte(doc), name)
		if err != nil || !reflect.DeepEqual(got, Default()) {
			t.Errorf("%s: Parse = %+v, %v; want Default()", name, got, err)
		}
	}
}

func TestParseModelSpecDropsDefaultPreset(t *testing.T) {
	doc := `
model_spec:
  input: [1, 28, 28]
  layers:
    - {type: conv2d, out: 6, kernel: 5, pad: 2}
    - {type: relu}
    - {type: maxpool2d, kernel: 2}
    - {type: flatten}
    - {type: linear, out: 10}
`
	got, err := Parse([]byte(doc), "lenet.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := &Model{Input: []int{1, 28, 28}, Layers: []Layer{
		{Type: Conv2D, Out: 6, Kernel: 5, Pad: 2}, {Type: ReLU}, {Type: MaxPool2D, Kernel: 2}, {Type: Flatten}, {Type: Linear, Out: 10},
	}}
	if got.Model != "" || !reflect.DeepEqual(got.ModelSpec, want) {
		t.Errorf("got model %q spec %+v, want model \"\" spec %+v", got.Model, got.ModelSpec, want)
	}

	// Naming a preset explicitly next to model_spec is a conflict, not an override.
	_, err = Parse([]byte("model: mlp\n"+doc), "lenet.yaml")
	if want := `lenet.yaml: line 1: model: preset "mlp" and model_spec are mutually exclusive (give one)`; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, doc string
		want      string // the whole error text
	}{
		// Unknown fields.
		{"job.yaml", "epochs: 3\nlr: 0.1\nlearning_rate: 3\n", `job.yaml: line 3: unknown field "learning_rate"`},
		{"job.yaml", "Lr: 0.1\n", `job.yaml: line 1: unknown field "Lr" (did you mean "lr"?)`},
		{"job.yaml", "model_spec:\n  input: [1]\n  layers:\n    - type: relu\n    - {type: linear, out: 10, kernal: 3}\n",
			`job.yaml: line 5: model_spec.layers[1]: unknown field "kernal" (did you mean "kernel"?)`},
		{"job.json", "{\n  \"epochs\": 3,\n  \"learning_rate\": 3\n}", `job.json: line 3: unknown field "learning_rate"`},
		{"job.json", `{"model_spec": {"input[0]": 2}}`, `job.json: line 1: model_spec: unknown field "input[0]"`},
		{"job.json", `{"LR": 2}`, `job.json: line 1: unknown field "LR" (did you mean "lr"?)`},
		{"job.json", "{\"model_spec\": {\"input\": [1],\n \"layers\": [{\"type\": \"relu\"}, {\"type\": \"linear\", \"kernal\": 2}]}}",
			`job.json: line 2: model_spec.layers[1]: unknown field "kernal" (did you mean "kernel"?)`},

		// Type errors.
		{"job.yaml", "epochs: 3\nlr: abc\n", `job.yaml: line 2: lr: want a number, got string "abc"`},
		{"job.yaml", "batch: 2.5\n", `job.yaml: line 1: batch: want an integer, got number 2.5`},
		{"job.yaml", "model_spec:\n  input: [1, 2.0]\n  layers: [{type: relu}]\n", `job.yaml: line 2: model_spec.input[1]: want an integer, got number 2.0`},
		{"job.yaml", "seed: 1.5\n", `job.yaml: line 1: seed: want a non-negative integer, got number 1.5`},
		{"job.yaml", "x: &n 2.5\n", `job.yaml: line 1: unknown field "x"`},
		{"job.yaml", "lr: &v 2.5\nbatch: *v\n", `job.yaml: line 2: batch: want an integer, got number 2.5`},
		{"job.yaml", "seed: -1\n", `job.yaml: line 1: seed: want a non-negative integer, got integer -1`},
		{"job.yaml", "nesterov: [1]\n", `job.yaml: line 1: nesterov: want true or false, got a list`},
		{"job.yaml", "model_spec:\n  input: [1, x, 28]\n  layers: [{type: relu}]\n", `job.yaml: line 2: model_spec.input[1]: want an integer, got string "x"`},
		{"job.yaml", "lr: 1\nbatch: x\n", `job.yaml: line 2: batch: want an integer, got string "x"`},
		{"job.json", `{"lr": "abc"}`, `job.json: line 1: lr: want a number, got string`},
		{"job.json", "{\n\"lr\": {\"a\": 1}}", `job.json: line 2: lr: want a number, got an object`},
		{"job.json", `{"seed": -1}`, `job.json: line 1: seed: want a non-negative integer, got number -1`},
		{"job.json", "{\"model_spec\": {\"input\": [1], \"layers\": [{\"type\": \"relu\"},\n{\"type\": \"linear\", \"out\": 2.5}]}}",
			`job.json: line 2: model_spec.layers[1].out: want an integer, got number 2.5`},
		{"job.json", `{"model_spec": {"input": 3}}`, `job.json: line 1: model_spec.input: want a list of integers, got number`},

		// Document structure.
		{"job.yaml", "lr: 1\n---\nlr: 2\n", `job.yaml: line 2: a second YAML document starts here; a job spec is one document`},
		{"job.yaml", "hello", `job.yaml: line 1: want a mapping of fields, got string "hello"`},
		{"job.yaml", "lr: [1\n", `job.yaml: line 1: did not find expected ',' or ']'`},
		{"job.yaml", "lr: 1\nlr: 2\n", `job.yaml: line 2: mapping key "lr" already defined at line 1`},
		{"job.json", "{\n  \"lr\": 0.1,\n  \"lr\": 2\n}", `job.json: line 3: lr: set twice (first at line 2)`},
		{"job.json", "{\"lr\": 1}\n{}", `job.json: line 2: trailing data after the job object`},
		{"job.json", "{\n\"lr\": 1,}", `job.json: line 2: invalid JSON: invalid character '}' looking for beginning of object key string`},
		{"job.json", "{\n\"lr\": 1", `job.json: line 2: invalid JSON: unexpected end of input`},
		{"job.json", "[1]", `job.json: line 1: want a JSON object of job fields, got a list`},
		{"job.json", "", `job.json: empty; want a JSON object of job fields`},
		{"job.json", strings.Repeat(`{"a":`, 40), `job.json: line 1: unknown field "a"`},
		{"job.toml", "lr = 1", `job.toml: unknown config format ".toml" (want .yaml, .yml or .json)`},

		// Validation, located in the file.
		{"job.yaml", "epochs: 3\nlr: -0.1\n", `job.yaml: line 2: lr: must be > 0, got -0.1`},
		{"job.json", "{\n\"epochs\": 3,\n\"lr\": -0.1}", `job.json: line 3: lr: must be > 0, got -0.1`},
		{"job.yaml", "optimizer: sgdd\n", `job.yaml: line 1: optimizer: unknown "sgdd" (want sgd, adam, adamw)`},
		{"job.yaml", "schedule: step\n", `job.yaml: step_epochs: must be ≥ 1 with schedule step, got 0`},
		{"job.yaml", "model_spec:\n  input: [1]\n  layers:\n    - type: relu\n    - type: conv2d\n      out: 4\n",
			`job.yaml: line 5: model_spec.layers[1].kernel: must be ≥ 1, got 0`},
		{"job.yaml", "label_smoothing: .nan\n", `job.yaml: line 1: label_smoothing: must be in [0,1), got NaN`},
		{"job.yaml", "momentum: 1\nlr: -1\n", "job.yaml: line 1: momentum: must be in [0,1), got 1\njob.yaml: line 2: lr: must be > 0, got -1"},
	}
	for _, c := range cases {
		_, err := Parse([]byte(c.doc), c.name)
		if err == nil || err.Error() != c.want {
			t.Errorf("Parse(%q, %s):\n got  %v\n want %s", c.doc, c.name, err, c.want)
			continue
		}
		for _, fe := range FieldErrors(err) {
			if fe.File != c.name {
				t.Errorf("Parse(%q): FieldError.File = %q, want %q", c.doc, fe.File, c.name)
			}
		}
	}
}

// A misspelled nested key is reported at its parent even when the same name
// is valid elsewhere in the document.
func TestParseUnknownFieldAtRightLevel(t *testing.T) {
	doc := "{\n\"model_spec\": {\"input\": [1], \"layers\": [{\"type\": \"maxpool2d\", \"kernel\": 2}]},\n\"kernel\": 3}"
	_, err := Parse([]byte(doc), "job.json")
	if want := `job.json: line 3: unknown field "kernel"`; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
	ydoc := "model_spec:\n  input: [1]\n  layers: [{type: maxpool2d, kernel: 2}]\nkernel: 3\n"
	_, err = Parse([]byte(ydoc), "job.yaml")
	if want := `job.yaml: line 4: unknown field "kernel"`; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}

func TestParseYAMLReportsEveryTypeError(t *testing.T) {
	_, err := Parse([]byte("lr: x\nbatch: y\nfoo: 1\n"), "job.yaml")
	var fields []string
	for _, fe := range FieldErrors(err) {
		fields = append(fields, fe.Field)
	}
	if got, want := strings.Join(fields, "|"), "lr|batch|"; got != want {
		t.Errorf("fields = %q, want %q (err %v)", got, want, err)
	}
}

func fullJob() Job {
	return Job{
		ModelSpec: &Model{Input: []int{3, 32, 32}, Layers: []Layer{
			{Type: Conv2D, Out: 16, Kernel: 3, Stride: 1, Pad: 1, NoBias: true},
			{Type: LayerNorm},
			{Type: GELU},
			{Type: MaxPool2D, Kernel: 3, Stride: 2},
			{Type: Flatten},
			{Type: Dropout, P: 0.25},
			{Type: Linear, Out: 10},
		}},
		Epochs: 7, Batch: 33, EvalBatch: 257, LR: 3e-4,
		Optimizer: AdamW, Momentum: 0, Nesterov: false, WeightDecay: 0.01,
		Beta1: 0.85, Beta2: 0.98, Eps: 1e-6,
		Schedule: Step, WarmupEpochs: 0.5, StepEpochs: 3, Gamma: 0.5, MinLR: 1e-5,
		ClipNorm: 1.5, LabelSmoothing: 0.1,
		Workers: 4, PSShards: 2, Sync: SSP, Staleness: 2, Augment: "affine(degrees=15),elastic",
		Augmenters: 3, Select: SelectiveBackprop, Prefetch: 4, Compress: "topk:0.01",
		TargetAccuracy: 0.99, EvalEvery: 250, ScoreStaleness: 7, SelectBeta: 2, SelectPressure: 50, SelectPressureEnd: 2,
		SelectSmoothing: 0.25, SelectFraction: 0.5,
		Seed: 1<<64 - 1, Threads: 3, Data: "data/cifar", Out: "runs/x", JSON: true,
	}
}

func TestRoundTrip(t *testing.T) {
	jobs := map[string]Job{"default": Default(), "full": fullJob()}
	emb := Default()
	emb.Model, emb.ModelSpec = "", &Model{Input: []int{16}, Layers: []Layer{{Type: Embedding, Vocab: 100, Out: 8}, {Type: Tanh}, {Type: Sigmoid}}}
	jobs["embedding"] = emb
	for name, j := range jobs {
		if err := j.Validate(); err != nil {
			t.Fatalf("%s: test job invalid: %v", name, err)
		}
		js, err := json.Marshal(j)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Parse(js, "job.json")
		if err != nil || !reflect.DeepEqual(got, j) {
			t.Errorf("%s: JSON round trip = %+v, %v\nwant %+v\njson %s", name, got, err, j, js)
		}
		ys, err := yaml.Marshal(j)
		if err != nil {
			t.Fatal(err)
		}
		got, err = Parse(ys, "job.yaml")
		if err != nil || !reflect.DeepEqual(got, j) {
			t.Errorf("%s: YAML round trip = %+v, %v\nwant %+v\nyaml %s", name, got, err, j, ys)
		}
	}
}

// Every config key is snake_case and the same in JSON and YAML, so one name
// works in flags, files and errors.
func TestKeysAreSnakeCaseAndAgree(t *testing.T) {
	snake := regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	for _, typ := range []reflect.Type{reflect.TypeFor[Job](), reflect.TypeFor[Model](), reflect.TypeFor[Layer]()} {
		for i := range typ.NumField() {
			f := typ.Field(i)
			js, ys := f.Tag.Get("json"), f.Tag.Get("yaml")
			if js == "" || js != ys {
				t.Errorf("%s.%s: json tag %q, yaml tag %q; want equal and present", typ.Name(), f.Name, js, ys)
			}
			if name, _, _ := strings.Cut(js, ","); !snake.MatchString(name) {
				t.Errorf("%s.%s: key %q is not snake_case", typ.Name(), f.Name, name)
			}
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "job.yaml")
	if err := os.WriteFile(path, []byte("epochs: 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	j, err := Load(path)
	if err != nil || j.Epochs != 2 {
		t.Fatalf("Load = %+v, %v; want epochs 2", j, err)
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("lr: 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); err == nil || err.Error() != bad+": line 1: lr: must be > 0, got 0" {
		t.Errorf("Load(bad) = %v, want it to name the file, line and field", err)
	}

	if _, err := Load(filepath.Join(dir, "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want an error wrapping os.ErrNotExist", err)
	}

	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(big, make([]byte, maxFileSize+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("Load(big) = %v, want a size error", err)
	}
}

func TestLineOfFallsBackToAncestor(t *testing.T) {
	idx := index{{path: "model_spec", line: 2}, {path: "model_spec.layers", line: 4}, {path: "model_spec.layers[1]", line: 6}}
	cases := map[string]int{
		"model_spec.layers[1].kernel": 6,
		"model_spec.layers[7].kernel": 4,
		"model_spec.input":            2,
		"lr":                          0,
	}
	for path, want := range cases {
		if got := idx.lineOf(path); got != want {
			t.Errorf("lineOf(%q) = %d, want %d", path, got, want)
		}
	}
}

func TestNormalizeAndDistance(t *testing.T) {
	if got := normalize("model_spec.layers[12].kernel"); got != "model_spec.layers[].kernel" {
		t.Errorf("normalize = %q", got)
	}
	for _, c := range []struct {
		a, b string
		want int
	}{{"kernel", "kernal", 1}, {"lr", "LR", 2}, {"", "abc", 3}, {"momentum", "momentum", 0}} {
		if got := editDistance(c.a, c.b); got != c.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}
