package spec

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, that every error is a set of
// one-line FieldErrors naming the file, and that whatever it accepts is
// valid and survives a JSON round trip.
func FuzzParse(f *testing.F) {
	seeds := []struct {
		data string
		yaml bool
	}{
		{"epochs: 3\nlr: 0.1\noptimizer: adam\n", true},
		{"model_spec:\n  input: [1, 28, 28]\n  layers:\n    - {type: conv2d, out: 6, kernel: 5}\n    - {type: relu}\n    - {type: flatten}\n    - {type: linear, out: 10}\n", true},
		{"lr: &v 2.5\nbatch: *v\n<<: {seed: 3}\n", true},
		{"lr: 1\n---\nlr: 2\n", true},
		{"!%0A", true}, // a YAML error message that spans two lines
		{"learning_rate: 3\nbatch: [1]\n", true},
		{"", true},
		{`{"epochs": 3, "lr": 0.1, "schedule": "step", "step_epochs": 2}`, false},
		{`{"model": "", "model_spec": {"input": [16], "layers": [{"type": "embedding", "vocab": 10, "out": 4}]}}`, false},
		{`{"lr": "x", "LR": 1}`, false},
		{`{"seed": 18446744073709551615} []`, false},
		{`[{"a": {"b": [1, 2, {"c": null}]}}]`, false},
	}
	for _, s := range seeds {
		f.Add([]byte(s.data), s.yaml)
	}
	f.Fuzz(func(t *testing.T, data []byte, isYAML bool) {
		name := "job.json"
		if isYAML {
			name = "job.yaml"
		}
		j, err := Parse(data, name)
		if err != nil {
			fes := FieldErrors(err)
			if len(fes) == 0 {
				t.Fatalf("error is not a FieldError: %v", err)
			}
			for _, fe := range fes {
				if fe.File != name || strings.Contains(fe.Error(), "\n") {
					t.Fatalf("FieldError %q: want one line starting with %s", fe.Error(), name)
				}
			}
			return
		}
		if err := j.Validate(); err != nil {
			t.Fatalf("Parse accepted an invalid job: %v", err)
		}
		js, err := json.Marshal(j)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		back, err := Parse(js, "job.json")
		if err != nil || !reflect.DeepEqual(back, j) {
			t.Fatalf("round trip: got %+v, %v\nwant %+v", back, err, j)
		}
	})
}
