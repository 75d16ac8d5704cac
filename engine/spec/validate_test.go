package spec

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestDefaultIsValid(t *testing.T) {
	j := Default()
	if err := j.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v, want nil", err)
	}
	// Spot-check the documented defaults so a retune is a visible change.
	if j.Model != "mlp" || j.Epochs != 12 || j.Batch != 64 || j.EvalBatch != 1000 || j.LR != 0.05 ||
		j.Optimizer != SGD || j.Momentum != 0.9 || !j.Nesterov || j.WeightDecay != 5e-4 ||
		j.Schedule != Cosine || j.WarmupEpochs != 1 || j.Gamma != 0.1 || j.Beta1 != 0.9 ||
		j.Beta2 != 0.999 || j.Eps != 1e-8 || j.Seed != 1 || j.Out != "runs/latest" {
		t.Errorf("Default() = %+v differs from the documented defaults", j)
	}
}

func mlpSpec() *Model {
	return &Model{
		Input: []int{1, 28, 28},
		Layers: []Layer{
			{Type: Flatten},
			{Type: Linear, Out: 128},
			{Type: ReLU},
			{Type: Dropout, P: 0.1},
			{Type: Linear, Out: 10, NoBias: true},
		},
	}
}

func TestValidateJob(t *testing.T) {
	cases := []struct {
		name string
		edit func(j *Job)
		want string // the whole error, one line
	}{
		{"lr negative", func(j *Job) { j.LR = -0.1 }, "lr: must be > 0, got -0.1"},
		{"lr zero", func(j *Job) { j.LR = 0 }, "lr: must be > 0, got 0"},
		{"lr inf", func(j *Job) { j.LR = math.Inf(1) }, "lr: must be finite, got +Inf"},
		{"lr nan", func(j *Job) { j.LR = math.NaN() }, "lr: must be > 0, got NaN"},
		{"epochs", func(j *Job) { j.Epochs = 0 }, "epochs: must be ≥ 1, got 0"},
		{"batch", func(j *Job) { j.Batch = 0 }, "batch: must be ≥ 1, got 0"},
		{"eval_batch", func(j *Job) { j.EvalBatch = -5 }, "eval_batch: must be ≥ 1, got -5"},
		{"eval_every", func(j *Job) { j.EvalEvery = -1 }, "eval_every: must be ≥ 0, got -1"},
		{"optimizer", func(j *Job) { j.Optimizer = "sgdd" }, `optimizer: unknown "sgdd" (want sgd, adam, adamw)`},
		{"optimizer empty", func(j *Job) { j.Optimizer = "" }, `optimizer: missing (want sgd, adam, adamw)`},
		{"momentum one", func(j *Job) { j.Momentum = 1 }, "momentum: must be in [0,1), got 1"},
		{"momentum negative", func(j *Job) { j.Momentum = -0.5 }, "momentum: must be in [0,1), got -0.5"},
		{"weight_decay", func(j *Job) { j.WeightDecay = -1e-4 }, "weight_decay: must be ≥ 0, got -0.0001"},
		{"beta1", func(j *Job) { j.Beta1 = 1 }, "beta1: must be in [0,1), got 1"},
		{"beta2", func(j *Job) { j.Beta2 = -0.1 }, "beta2: must be in [0,1), got -0.1"},
		{"eps", func(j *Job) { j.Eps = 0 }, "eps: must be > 0, got 0"},
		{"schedule", func(j *Job) { j.Schedule = "linear" }, `schedule: unknown "linear" (want constant, step, cosine)`},
		{"warmup negative", func(j *Job) { j.WarmupEpochs = -1 }, "warmup_epochs: must be ≥ 0, got -1"},
		{"warmup too long", func(j *Job) { j.WarmupEpochs = 12.5 }, "warmup_epochs: must be ≤ epochs (12), got 12.5"},
		{"step_epochs negative", func(j *Job) { j.StepEpochs = -1 }, "step_epochs: must be ≥ 0, got -1"},
		{"step_epochs for step", func(j *Job) { j.Schedule = Step }, "step_epochs: must be ≥ 1 with schedule step, got 0"},
		{"gamma zero", func(j *Job) { j.Gamma = 0 }, "gamma: must be in (0,1], got 0"},
		{"gamma above one", func(j *Job) { j.Gamma = 1.5 }, "gamma: must be in (0,1], got 1.5"},
		{"min_lr negative", func(j *Job) { j.MinLR = -1 }, "min_lr: must be ≥ 0, got -1"},
		{"min_lr above lr", func(j *Job) { j.MinLR = 0.1 }, "min_lr: must be ≤ lr (0.05), got 0.1"},
		{"clip_norm", func(j *Job) { j.ClipNorm = -1 }, "clip_norm: must be ≥ 0, got -1"},
		{"clip_norm inf", func(j *Job) { j.ClipNorm = math.Inf(1) }, "clip_norm: must be finite, got +Inf"},
		{"label_smoothing one", func(j *Job) { j.LabelSmoothing = 1 }, "label_smoothing: must be in [0,1), got 1"},
		{"label_smoothing negative", func(j *Job) { j.LabelSmoothing = -0.1 }, "label_smoothing: must be in [0,1), got -0.1"},
		{"threads", func(j *Job) { j.Threads = -1 }, "threads: must be ≥ 0, got -1"},
		{"workers", func(j *Job) { j.Workers = -1 }, "workers: must be ≥ 0, got -1"},
		{"ps_shards", func(j *Job) { j.PSShards = 0 }, "ps_shards: must be ≥ 1, got 0"},
		{"sync", func(j *Job) { j.Sync = "bulk" }, `sync: unknown "bulk" (want bsp, async, ssp)`},
		{"staleness", func(j *Job) { j.Staleness = -2 }, "staleness: must be ≥ 0, got -2"},
		{"augmenters", func(j *Job) { j.Augmenters = 0 }, "augmenters: must be ≥ 1, got 0"},
		{"select", func(j *Job) { j.Select = "loss" }, `select: unknown "loss" (want uniform, selective-backprop, loss-rank, importance)`},
		{"target_accuracy above one", func(j *Job) { j.TargetAccuracy = 1.01 }, "target_accuracy: must be in (0,1], got 1.01"},
		{"target_accuracy negative", func(j *Job) { j.TargetAccuracy = -0.5 }, "target_accuracy: must be in (0,1], got -0.5"},
		{"target_accuracy nan", func(j *Job) { j.TargetAccuracy = math.NaN() }, "target_accuracy: must be in (0,1], got NaN"},
		{"score_staleness", func(j *Job) { j.ScoreStaleness = -1 }, "score_staleness: must be ≥ 0, got -1"},
		{"score_staleness loss-rank", func(j *Job) { j.Select, j.ScoreStaleness = LossRank, 0 }, "score_staleness: must be ≥ 1 with select loss-rank, got 0"},
		{"select_beta", func(j *Job) { j.Select, j.SelectBeta = SelectiveBackprop, -1 }, "select_beta: must be ≥ 0, got -1"},
		{"select_pressure", func(j *Job) { j.Select, j.SelectPressure = LossRank, 0.5 }, "select_pressure: must be ≥ 1, got 0.5"},
		{"select_pressure_end", func(j *Job) { j.Select, j.SelectPressureEnd = LossRank, math.Inf(1) }, "select_pressure_end: must be finite, got +Inf"},
		{"select_smoothing", func(j *Job) { j.Select, j.SelectSmoothing = Importance, 0 }, "select_smoothing: must be in (0,1], got 0"},
		{"select_fraction", func(j *Job) { j.Select, j.SelectFraction = Importance, 1.5 }, "select_fraction: must be in (0,1], got 1.5"},
		{"prefetch", func(j *Job) { j.Prefetch = 0 }, "prefetch: must be ≥ 1, got 0"},
		{"compress", func(j *Job) { j.Compress = "int4" }, `compress: unknown mode "int4" (want none, fp16, bf16, int8, topk:FRACTION)`},
		{"compress topk", func(j *Job) { j.Compress = "topk:0" }, `compress: topk fraction "0": want a number in (0, 1]`},
		{"augment", func(j *Job) { j.Augment = "affine,warp" }, `augment: spec "affine,warp" at byte 7: step 2: transform "warp": unknown transform; known: affine, elastic, noise, crop, hflip, vflip, cutout, brightness, contrast, mixup, cutmix`},
		{"out", func(j *Job) { j.Out = " " }, "out: must not be blank (leave it empty to write no files)"},
		{"model and spec", func(j *Job) { j.ModelSpec = mlpSpec() }, `model: preset "mlp" and model_spec are mutually exclusive (give one)`},
		{"no model", func(j *Job) { j.Model = "" }, "model: missing: name a preset or give model_spec"},
		{"spec no input", func(j *Job) { j.Model, j.ModelSpec = "", mlpSpec(); j.ModelSpec.Input = nil },
			"model_spec.input: must have at least one dimension, e.g. [1, 28, 28]"},
		{"spec zero dim", func(j *Job) { j.Model, j.ModelSpec = "", mlpSpec(); j.ModelSpec.Input[2] = 0 },
			"model_spec.input[2]: must be ≥ 1, got 0"},
		{"spec no layers", func(j *Job) { j.Model, j.ModelSpec = "", mlpSpec(); j.ModelSpec.Layers = nil },
			"model_spec.layers: must have at least one layer"},
		{"spec layer", func(j *Job) { j.Model, j.ModelSpec = "", mlpSpec(); j.ModelSpec.Layers[3].P = 1 },
			"model_spec.layers[3].p: must be in [0,1), got 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j := Default()
			c.edit(&j)
			err := j.Validate()
			if err == nil || err.Error() != c.want {
				t.Fatalf("Validate() = %v, want %q", err, c.want)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || !strings.HasPrefix(c.want, fe.Field+": ") {
				t.Errorf("error is not a *FieldError naming the field: %#v", err)
			}
		})
	}
}

func TestValidateAcceptsEdges(t *testing.T) {
	cases := []struct {
		name string
		edit func(j *Job)
	}{
		{"zeros that mean off", func(j *Job) { j.Momentum, j.WeightDecay, j.WarmupEpochs, j.ClipNorm, j.Threads = 0, 0, 0, 0, 0 }},
		{"gamma one", func(j *Job) { j.Gamma = 1 }},
		{"min_lr equals lr", func(j *Job) { j.MinLR = j.LR }},
		{"warmup equals epochs", func(j *Job) { j.WarmupEpochs = float64(j.Epochs) }},
		{"step schedule", func(j *Job) { j.Schedule, j.StepEpochs = Step, 4 }},
		{"adamw", func(j *Job) { j.Optimizer, j.Nesterov = AdamW, false }},
		{"any preset name", func(j *Job) { j.Model = "no-such-preset" }},
		{"custom model", func(j *Job) { j.Model, j.ModelSpec = "", mlpSpec() }},
		{"target accuracy one", func(j *Job) { j.TargetAccuracy = 1 }},
		{"selective backprop from scratch", func(j *Job) { j.Select, j.ScoreStaleness, j.SelectBeta = SelectiveBackprop, 0, 0 }},
		{"pressure one", func(j *Job) { j.Select, j.SelectPressure, j.SelectPressureEnd = LossRank, 1, 1 }},
		{"importance edges", func(j *Job) { j.Select, j.SelectSmoothing, j.SelectFraction, j.ScoreStaleness = Importance, 1, 1, 1 }},
		{"other strategies' zeros", func(j *Job) { j.SelectPressure, j.SelectSmoothing, j.SelectFraction = 0, 0, 0 }},
	}
	for _, c := range cases {
		j := Default()
		c.edit(&j)
		if err := j.Validate(); err != nil {
			t.Errorf("%s: Validate() = %v, want nil", c.name, err)
		}
	}
}

func TestValidateJoinsAllProblems(t *testing.T) {
	j := Default()
	j.LR, j.Batch, j.Optimizer = -1, 0, "x"
	err := j.Validate()
	fes := FieldErrors(err)
	var fields []string
	for _, fe := range fes {
		fields = append(fields, fe.Field)
	}
	if got, want := strings.Join(fields, ","), "batch,lr,optimizer"; got != want {
		t.Fatalf("fields = %s, want %s (err %v)", got, want, err)
	}
	if lines := strings.Split(err.Error(), "\n"); len(lines) != 3 {
		t.Errorf("error has %d lines, want one per problem:\n%v", len(lines), err)
	}
}

func TestValidateLayers(t *testing.T) {
	cases := []struct {
		l    Layer
		want string // "" = valid
	}{
		{Layer{Type: Linear, Out: 10}, ""},
		{Layer{Type: Linear, Out: 10, NoBias: true}, ""},
		{Layer{Type: Linear}, "model_spec.layers[0].out: must be ≥ 1, got 0"},
		{Layer{Type: Linear, Out: 10, Kernel: 3}, "model_spec.layers[0].kernel: not used by linear (omit it)"},
		{Layer{Type: Conv2D, Out: 6, Kernel: 5}, ""},
		{Layer{Type: Conv2D, Out: 6, Kernel: 5, Stride: 2, Pad: 2, NoBias: true}, ""},
		{Layer{Type: Conv2D, Out: 6}, "model_spec.layers[0].kernel: must be ≥ 1, got 0"},
		{Layer{Type: Conv2D, Kernel: 3}, "model_spec.layers[0].out: must be ≥ 1, got 0"},
		{Layer{Type: Conv2D, Out: 6, Kernel: 3, Stride: -1}, "model_spec.layers[0].stride: must be ≥ 0 (0 = default), got -1"},
		{Layer{Type: Conv2D, Out: 6, Kernel: 3, Pad: -1}, "model_spec.layers[0].pad: must be ≥ 0, got -1"},
		{Layer{Type: Conv2D, Out: 6, Kernel: 3, P: 0.5}, "model_spec.layers[0].p: not used by conv2d (omit it)"},
		{Layer{Type: MaxPool2D, Kernel: 2}, ""},
		{Layer{Type: MaxPool2D, Kernel: 3, Stride: 2}, ""},
		{Layer{Type: MaxPool2D}, "model_spec.layers[0].kernel: must be ≥ 1, got 0"},
		{Layer{Type: MaxPool2D, Kernel: 2, Pad: 1}, "model_spec.layers[0].pad: not used by maxpool2d (omit it)"},
		{Layer{Type: MaxPool2D, Kernel: 2, Out: 4}, "model_spec.layers[0].out: not used by maxpool2d (omit it)"},
		{Layer{Type: MaxPool2D, Kernel: 2, NoBias: true}, "model_spec.layers[0].no_bias: not used by maxpool2d (omit it)"},
		{Layer{Type: ReLU}, ""},
		{Layer{Type: GELU, Out: 1}, "model_spec.layers[0].out: not used by gelu (omit it)"},
		{Layer{Type: Tanh, Stride: 1}, "model_spec.layers[0].stride: not used by tanh (omit it)"},
		{Layer{Type: Sigmoid, Pad: 1}, "model_spec.layers[0].pad: not used by sigmoid (omit it)"},
		{Layer{Type: Flatten, Vocab: 1}, "model_spec.layers[0].vocab: not used by flatten (omit it)"},
		{Layer{Type: Dropout}, ""},
		{Layer{Type: Dropout, P: 0.5}, ""},
		{Layer{Type: Dropout, P: 1}, "model_spec.layers[0].p: must be in [0,1), got 1"},
		{Layer{Type: Dropout, P: -0.1}, "model_spec.layers[0].p: must be in [0,1), got -0.1"},
		{Layer{Type: LayerNorm, NoBias: true}, ""},
		{Layer{Type: LayerNorm, P: 0.1}, "model_spec.layers[0].p: not used by layernorm (omit it)"},
		{Layer{Type: Embedding, Vocab: 1000, Out: 64}, ""},
		{Layer{Type: Embedding, Out: 64}, "model_spec.layers[0].vocab: must be ≥ 1, got 0"},
		{Layer{Type: Embedding, Vocab: 10}, "model_spec.layers[0].out: must be ≥ 1, got 0"},
		{Layer{Type: Embedding, Vocab: 10, Out: 4, NoBias: true}, "model_spec.layers[0].no_bias: not used by embedding (omit it)"},
		{Layer{}, "model_spec.layers[0].type: missing (want linear, conv2d, maxpool2d, relu, gelu, tanh, sigmoid, dropout, layernorm, flatten, embedding)"},
		{Layer{Type: "dense", Out: 3}, `model_spec.layers[0].type: unknown "dense" (want linear, conv2d, maxpool2d, relu, gelu, tanh, sigmoid, dropout, layernorm, flatten, embedding)`},
	}
	for _, c := range cases {
		j := Default()
		j.Model, j.ModelSpec = "", &Model{Input: []int{1, 8, 8}, Layers: []Layer{c.l}}
		err := j.Validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%+v: Validate() = %v, want nil", c.l, err)
		case c.want != "" && (err == nil || err.Error() != c.want):
			t.Errorf("%+v: Validate() = %v, want %q", c.l, err, c.want)
		}
	}
}

func TestLayerIndexInField(t *testing.T) {
	j := Default()
	j.Model, j.ModelSpec = "", &Model{Input: []int{1, 28, 28}, Layers: []Layer{
		{Type: Conv2D, Out: 6, Kernel: 5}, {Type: ReLU}, {Type: MaxPool2D, Kernel: 2}, {Type: Conv2D, Out: 16},
	}}
	err := j.Validate()
	if want := "model_spec.layers[3].kernel: must be ≥ 1, got 0"; err == nil || err.Error() != want {
		t.Fatalf("Validate() = %v, want %q", err, want)
	}
}

func TestFieldErrorFormat(t *testing.T) {
	cases := []struct {
		fe   FieldError
		want string
	}{
		{FieldError{File: "job.yaml", Line: 3, Field: "lr", Err: errors.New("bad")}, "job.yaml: line 3: lr: bad"},
		{FieldError{File: "job.yaml", Field: "lr", Err: errors.New("bad")}, "job.yaml: lr: bad"},
		{FieldError{Field: "lr", Err: errors.New("bad")}, "lr: bad"},
		{FieldError{File: "job.json", Err: errors.New("bad")}, "job.json: bad"},
	}
	for _, c := range cases {
		if got := c.fe.Error(); got != c.want {
			t.Errorf("Error() = %q, want %q", got, c.want)
		}
	}
	inner := errors.New("inner")
	if fe := (&FieldError{Err: inner}); !errors.Is(fe, inner) {
		t.Error("FieldError does not unwrap to its Err")
	}
}
