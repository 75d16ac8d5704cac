package messages

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/troupe-ml/troupe/engine/spec"
)

// viaWire converts j to a JobSpec, sends it through proto encoding and
// converts it back.
func viaWire(t *testing.T, j spec.Job) spec.Job {
	t.Helper()
	raw, err := proto.Marshal(JobFromSpec(j))
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var m JobSpec
	if err := proto.Unmarshal(raw, &m); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	back, err := m.ToSpec()
	if err != nil {
		t.Fatalf("ToSpec: %v", err)
	}
	return back
}

func TestJobRoundTripDefault(t *testing.T) {
	want := spec.Default()
	if got := viaWire(t, want); !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip changed the default job:\n got  %+v\n want %+v", got, want)
	}
}

func TestJobRoundTripCustomModel(t *testing.T) {
	want := spec.Default()
	want.Model = ""
	want.ModelSpec = &spec.Model{
		Input: []int{1, 28, 28},
		Layers: []spec.Layer{
			{Type: spec.Conv2D, Out: 16, Kernel: 3, Pad: 1},
			{Type: spec.ReLU},
			{Type: spec.MaxPool2D, Kernel: 2},
			{Type: spec.Conv2D, Out: 32, Kernel: 3, Stride: 2, NoBias: true},
			{Type: spec.GELU},
			{Type: spec.Flatten},
			{Type: spec.Dropout, P: 0.25},
			{Type: spec.Linear, Out: 10, NoBias: true},
		},
	}
	want.Optimizer = spec.AdamW
	want.Schedule = spec.Step
	want.StepEpochs = 4
	want.ClipNorm = 1.5
	want.Seed = 1<<63 + 7
	want.JSON = true
	if err := want.Validate(); err != nil {
		t.Fatalf("test job is invalid, fix the test: %v", err)
	}
	if got := viaWire(t, want); !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip changed the job:\n got  %+v\n want %+v\n model got %+v\n model want %+v",
			got, want, got.ModelSpec, want.ModelSpec)
	}
}

// TestJobRoundTripEveryField sets every field of spec.Job, however deeply
// nested, to a distinct non-zero value, so a field added to spec.Job and
// forgotten by the conversion fails here.
func TestJobRoundTripEveryField(t *testing.T) {
	var want spec.Job
	next := 0
	fillSpec(t, reflect.ValueOf(&want).Elem(), "job", &next)
	if got := viaWire(t, want); !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip changed the job:\n got  %+v\n want %+v\n model got %+v\n model want %+v",
			got, want, got.ModelSpec, want.ModelSpec)
	}
}

// fillSpec sets v and everything under it to non-zero values, choosing valid
// spellings for spec's enum types since ToSpec checks them.
func fillSpec(t *testing.T, v reflect.Value, path string, next *int) {
	*next++
	n := *next
	switch v.Interface().(type) {
	case spec.Optimizer:
		all := spec.Optimizers()
		v.Set(reflect.ValueOf(all[n%len(all)]))
		return
	case spec.Schedule:
		all := spec.Schedules()
		v.Set(reflect.ValueOf(all[n%len(all)]))
		return
	case spec.LayerType:
		all := spec.LayerTypes()
		v.Set(reflect.ValueOf(all[n%len(all)]))
		return
	case spec.Sync:
		all := spec.Syncs()
		v.Set(reflect.ValueOf(all[n%len(all)]))
		return
	case spec.Selection:
		all := spec.Selections()
		v.Set(reflect.ValueOf(all[n%len(all)]))
		return
	case spec.Device:
		all := spec.Devices()
		v.Set(reflect.ValueOf(all[n%len(all)]))
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			fillSpec(t, v.Field(i), path+"."+v.Type().Field(i).Name, next)
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fillSpec(t, v.Elem(), path, next)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 3, 3))
		for i := range 3 {
			fillSpec(t, v.Index(i), path, next)
		}
	case reflect.String:
		v.SetString(path + "-value")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int:
		v.SetInt(int64(-n))
	case reflect.Uint64:
		v.SetUint(uint64(n) << 40)
	case reflect.Float64:
		v.SetFloat(float64(n) + 0.125)
	default:
		t.Fatalf("%s: fillSpec does not know kind %v; extend it (and check the conversion)", path, v.Kind())
	}
	if v.IsZero() {
		t.Fatalf("%s: fillSpec left it zero", path)
	}
}

func TestToSpecErrorsNameEveryBadField(t *testing.T) {
	m := JobFromSpec(spec.Default())
	m.Optimizer = "sgdd"
	m.Schedule = ""
	m.Model = ""
	m.ModelSpec = &ModelSpec{
		Input:  []int64{3, 32, 32},
		Layers: []*LayerSpec{{Type: "linear", Out: 10}, {Type: "Conv2D"}, nil},
	}
	_, err := m.ToSpec()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`optimizer: unknown "sgdd"`,
		"schedule: missing",
		`model_spec.layers[1].type: unknown "Conv2D"`,
		"model_spec.layers[2]: nil layer",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "layers[0]") {
		t.Errorf("error %q blames the valid layer 0", err)
	}

	if _, err := (*JobSpec)(nil).ToSpec(); err == nil {
		t.Error("nil JobSpec: no error")
	}
}

// TestPipelineFields checks the actor-pipeline fields on the wire.
func TestPipelineFields(t *testing.T) {
	j := spec.Default()
	j.Workers, j.PSShards, j.Sync, j.Staleness = 4, 2, spec.SSP, 3
	j.Augment, j.Augmenters, j.Select, j.Prefetch = "affine(degrees=15,p=0.5),elastic", 3, spec.SelectiveBackprop, 8
	j.Compress = "topk:0.01"
	m := JobFromSpec(j)
	if m.GetWorkers() != 4 || m.GetSync() != SyncMode_SSP || len(m.GetAugment()) != 1 {
		t.Fatalf("JobFromSpec: %v", m)
	}
	if got := viaWire(t, j); !reflect.DeepEqual(got, j) {
		t.Fatalf("round trip changed the job:\n got  %+v\n want %+v", got, j)
	}
	m.Sync = SyncMode_SYNC_MODE_UNSPECIFIED
	if _, err := m.ToSpec(); err == nil || !strings.Contains(err.Error(), "sync") {
		t.Fatalf("unspecified sync: error %v, want one naming sync", err)
	}
}

// TestToSpecIntRange only has something to check where int is 32 bits: the
// wire carries int64 so that any 64-bit int round-trips.
func TestToSpecIntRange(t *testing.T) {
	if strconv.IntSize == 64 {
		t.Skip("every int64 fits in an int here")
	}
	m := JobFromSpec(spec.Default())
	m.Epochs = 1 << 40
	_, err := m.ToSpec()
	if err == nil || !strings.Contains(err.Error(), "epochs: 1099511627776 does not fit in an int") {
		t.Fatalf("error %v, want one naming epochs", err)
	}
	if _, err := (&Tensor{Shape: []int64{1 << 40}}).Dims(); err == nil || !strings.Contains(err.Error(), "shape[0]") {
		t.Fatalf("Dims error %v, want one naming shape[0]", err)
	}
}
