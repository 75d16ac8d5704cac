package spec

// Layer is one entry of a declarative model. Fields a type does not use must
// be zero, so that a misplaced key is reported instead of silently ignored.
type Layer struct {
	Type   LayerType `json:"type" yaml:"type"`
	Out    int       `json:"out,omitempty" yaml:"out,omitempty"`       // linear: out features; conv2d: out channels; embedding: dim
	Kernel int       `json:"kernel,omitempty" yaml:"kernel,omitempty"` // conv2d/maxpool2d, square
	Stride int       `json:"stride,omitempty" yaml:"stride,omitempty"` // 0 = default, see EffectiveStride
	Pad    int       `json:"pad,omitempty" yaml:"pad,omitempty"`
	P      float64   `json:"p,omitempty" yaml:"p,omitempty"`         // dropout probability in [0,1)
	Vocab  int       `json:"vocab,omitempty" yaml:"vocab,omitempty"` // embedding
	NoBias bool      `json:"no_bias,omitempty" yaml:"no_bias,omitempty"`
}

// EffectiveStride resolves the zero Stride to the type's default: 1 for
// conv2d, the kernel size for maxpool2d (non-overlapping windows).
func (l Layer) EffectiveStride() int {
	if l.Stride != 0 {
		return l.Stride
	}
	if l.Type == MaxPool2D {
		return l.Kernel
	}
	return 1
}

// Model is a custom architecture: the per-sample input shape and the layers
// applied in order.
type Model struct {
	Input  []int   `json:"input" yaml:"input"` // per-sample input shape, e.g. [1,28,28]
	Layers []Layer `json:"layers" yaml:"layers"`
}

// Job is everything a training run needs. Config keys are the json/yaml tags.
// No field is omitempty (except model_spec) so that a marshalled Job parses
// back to itself even where a zero value differs from the default.
type Job struct {
	Model     string `json:"model" yaml:"model"`                               // preset name; empty when ModelSpec is set
	ModelSpec *Model `json:"model_spec,omitempty" yaml:"model_spec,omitempty"` // custom architecture instead of a preset

	Epochs    int `json:"epochs" yaml:"epochs"`
	Batch     int `json:"batch" yaml:"batch"`
	EvalBatch int `json:"eval_batch" yaml:"eval_batch"`
	// TargetAccuracy, when above 0, ends training after the first
	// evaluation whose test accuracy reaches it; Epochs stays the cap and
	// the schedule's length.
	TargetAccuracy float64 `json:"target_accuracy" yaml:"target_accuracy"`
	// EvalEvery, when above 0, also evaluates on the test set every that
	// many optimizer steps, not only at epoch ends.
	EvalEvery int `json:"eval_every" yaml:"eval_every"`

	LR          float64   `json:"lr" yaml:"lr"`
	Optimizer   Optimizer `json:"optimizer" yaml:"optimizer"`
	Momentum    float64   `json:"momentum" yaml:"momentum"` // sgd
	Nesterov    bool      `json:"nesterov" yaml:"nesterov"` // sgd
	WeightDecay float64   `json:"weight_decay" yaml:"weight_decay"`
	Beta1       float64   `json:"beta1" yaml:"beta1"` // adam, adamw
	Beta2       float64   `json:"beta2" yaml:"beta2"` // adam, adamw
	Eps         float64   `json:"eps" yaml:"eps"`     // adam, adamw

	Schedule     Schedule `json:"schedule" yaml:"schedule"`
	WarmupEpochs float64  `json:"warmup_epochs" yaml:"warmup_epochs"`
	StepEpochs   int      `json:"step_epochs" yaml:"step_epochs"` // step schedule: decay every N epochs
	Gamma        float64  `json:"gamma" yaml:"gamma"`             // step schedule: decay factor
	MinLR        float64  `json:"min_lr" yaml:"min_lr"`           // cosine floor

	ClipNorm       float64 `json:"clip_norm" yaml:"clip_norm"` // 0 = off
	LabelSmoothing float64 `json:"label_smoothing" yaml:"label_smoothing"`

	// Actor pipeline. Workers 0 trains in the plain single-process loop.
	Workers    int       `json:"workers" yaml:"workers"`       // data-parallel model replicas
	PSShards   int       `json:"ps_shards" yaml:"ps_shards"`   // parameter-server shards
	Sync       Sync      `json:"sync" yaml:"sync"`             // bsp, async, ssp
	Staleness  int       `json:"staleness" yaml:"staleness"`   // ssp: steps a worker may run ahead
	Augment    string    `json:"augment" yaml:"augment"`       // transform list, e.g. "affine,elastic"
	Augmenters int       `json:"augmenters" yaml:"augmenters"` // augmenter actors
	Select     Selection `json:"select" yaml:"select"`         // uniform, selective-backprop, loss-rank, importance
	Prefetch   int       `json:"prefetch" yaml:"prefetch"`     // batches in flight per worker
	// Compress is how replicas encode their gradient pushes (compress.Parse:
	// none, fp16, bf16, int8, topk:F); empty means none.
	Compress string `json:"compress" yaml:"compress"`

	// Online data selection (docs/selection.md); unused with select uniform.
	ScoreStaleness    int     `json:"score_staleness" yaml:"score_staleness"`         // optimizer steps a stored loss stays usable
	SelectBeta        float64 `json:"select_beta" yaml:"select_beta"`                 // selective-backprop: keep percentile^beta
	SelectPressure    float64 `json:"select_pressure" yaml:"select_pressure"`         // loss-rank: s_e at the start
	SelectPressureEnd float64 `json:"select_pressure_end" yaml:"select_pressure_end"` // loss-rank: s_e at the end
	SelectSmoothing   float64 `json:"select_smoothing" yaml:"select_smoothing"`       // importance: share of the uniform distribution
	SelectFraction    float64 `json:"select_fraction" yaml:"select_fraction"`         // loss-rank, importance: drawn share of each batch

	Seed    uint64 `json:"seed" yaml:"seed"`
	Device  Device `json:"device" yaml:"device"`   // cpu, cuda
	Threads int    `json:"threads" yaml:"threads"` // 0 = all cores
	Data    string `json:"data" yaml:"data"`
	Out     string `json:"out" yaml:"out"`
	JSON    bool   `json:"json" yaml:"json"` // machine-readable output
}

// Default returns the job used when neither flags nor a file say otherwise.
// All default numbers live here so retuning them touches one place.
func Default() Job {
	return Job{
		Model:     "mlp",
		Epochs:    12,
		Batch:     64,
		EvalBatch: 1000,

		LR:          0.05,
		Optimizer:   SGD,
		Momentum:    0.9,
		Nesterov:    true,
		WeightDecay: 5e-4,
		Beta1:       0.9,
		Beta2:       0.999,
		Eps:         1e-8,

		Schedule:     Cosine,
		WarmupEpochs: 1,
		StepEpochs:   0,
		Gamma:        0.1,
		MinLR:        0,

		ClipNorm:       0,
		LabelSmoothing: 0,

		Workers:    1,
		PSShards:   1,
		Sync:       BSP,
		Staleness:  0,
		Augment:    "",
		Augmenters: 2,
		Select:     Uniform,
		Prefetch:   4,
		Compress:   "none",
		Device:     CPU,

		ScoreStaleness:    3000,
		SelectBeta:        1,
		SelectPressure:    1000,
		SelectPressureEnd: 1000,
		SelectSmoothing:   0.5,
		SelectFraction:    1,

		Seed:    1,
		Threads: 0,
		Out:     "runs/latest",
	}
}
