package messages

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/troupe-ml/troupe/engine/spec"
)

// JobFromSpec converts j to its wire form. It copies everything and checks
// nothing: an invalid job converts to an equally invalid message. The
// pipeline fields, which spec.Job does not have yet, are left zero.
func JobFromSpec(j spec.Job) *JobSpec {
	m := &JobSpec{
		Model: j.Model,

		Epochs:    int64(j.Epochs),
		Batch:     int64(j.Batch),
		EvalBatch: int64(j.EvalBatch),

		Lr:          j.LR,
		Optimizer:   string(j.Optimizer),
		Momentum:    j.Momentum,
		Nesterov:    j.Nesterov,
		WeightDecay: j.WeightDecay,
		Beta1:       j.Beta1,
		Beta2:       j.Beta2,
		Eps:         j.Eps,

		Schedule:     string(j.Schedule),
		WarmupEpochs: j.WarmupEpochs,
		StepEpochs:   int64(j.StepEpochs),
		Gamma:        j.Gamma,
		MinLr:        j.MinLR,

		ClipNorm:       j.ClipNorm,
		LabelSmoothing: j.LabelSmoothing,

		Workers:    int64(j.Workers),
		PsShards:   int64(j.PSShards),
		Sync:       syncToProto(j.Sync),
		Staleness:  int64(j.Staleness),
		Augmenters: int64(j.Augmenters),
		Select:     string(j.Select),
		Prefetch:   int64(j.Prefetch),
		Compress:   j.Compress,

		TargetAccuracy:    j.TargetAccuracy,
		EvalEvery:         int64(j.EvalEvery),
		ScoreStaleness:    int64(j.ScoreStaleness),
		SelectBeta:        j.SelectBeta,
		SelectPressure:    j.SelectPressure,
		SelectPressureEnd: j.SelectPressureEnd,
		SelectSmoothing:   j.SelectSmoothing,
		SelectFraction:    j.SelectFraction,

		Seed:    j.Seed,
		Device:  string(j.Device),
		Threads: int64(j.Threads),
		Data:    j.Data,
		Out:     j.Out,
		Json:    j.JSON,
	}
	if j.Augment != "" {
		// One element holding the whole list: transform parameters contain
		// commas, so splitting here could not be undone exactly.
		m.Augment = []string{j.Augment}
	}
	if j.ModelSpec != nil {
		m.ModelSpec = modelFromSpec(j.ModelSpec)
	}
	return m
}

// syncToProto maps spec's spelling to the wire enum; an unknown spelling
// becomes UNSPECIFIED, which ToSpec reports.
func syncToProto(s spec.Sync) SyncMode {
	switch s {
	case spec.BSP:
		return SyncMode_BSP
	case spec.Async:
		return SyncMode_ASYNC
	case spec.SSP:
		return SyncMode_SSP
	}
	return SyncMode_SYNC_MODE_UNSPECIFIED
}

func syncFromProto(c *converter, m SyncMode) spec.Sync {
	switch m {
	case SyncMode_BSP:
		return spec.BSP
	case SyncMode_ASYNC:
		return spec.Async
	case SyncMode_SSP:
		return spec.SSP
	}
	c.errs = append(c.errs, fmt.Errorf("sync: unknown mode %v", m))
	return ""
}

func modelFromSpec(s *spec.Model) *ModelSpec {
	m := &ModelSpec{}
	if len(s.Input) > 0 {
		m.Input = make([]int64, len(s.Input))
		for i, d := range s.Input {
			m.Input[i] = int64(d)
		}
	}
	for _, l := range s.Layers {
		m.Layers = append(m.Layers, &LayerSpec{
			Type:   string(l.Type),
			Out:    int64(l.Out),
			Kernel: int64(l.Kernel),
			Stride: int64(l.Stride),
			Pad:    int64(l.Pad),
			P:      l.P,
			Vocab:  int64(l.Vocab),
			NoBias: l.NoBias,
		})
	}
	return m
}

// ToSpec converts m back to a spec.Job. It checks only what the conversion
// itself needs: every enum string is a spelling spec knows and every integer
// fits in an int. Range and consistency checks are spec.Job.Validate's job.
// Errors name fields by their config key, all of them joined. The pipeline
// fields are dropped. Empty and nil lists are not told apart on the wire, so
// an empty model_spec.input or layers list comes back nil.
func (m *JobSpec) ToSpec() (spec.Job, error) {
	if m == nil {
		return spec.Job{}, errors.New("messages: nil JobSpec")
	}
	c := &converter{}
	j := spec.Job{
		Model: m.GetModel(),

		Epochs:    c.int("epochs", m.GetEpochs()),
		Batch:     c.int("batch", m.GetBatch()),
		EvalBatch: c.int("eval_batch", m.GetEvalBatch()),

		LR:          m.GetLr(),
		Optimizer:   enum(c, "optimizer", m.GetOptimizer(), spec.ParseOptimizer),
		Momentum:    m.GetMomentum(),
		Nesterov:    m.GetNesterov(),
		WeightDecay: m.GetWeightDecay(),
		Beta1:       m.GetBeta1(),
		Beta2:       m.GetBeta2(),
		Eps:         m.GetEps(),

		Schedule:     enum(c, "schedule", m.GetSchedule(), spec.ParseSchedule),
		WarmupEpochs: m.GetWarmupEpochs(),
		StepEpochs:   c.int("step_epochs", m.GetStepEpochs()),
		Gamma:        m.GetGamma(),
		MinLR:        m.GetMinLr(),

		ClipNorm:       m.GetClipNorm(),
		LabelSmoothing: m.GetLabelSmoothing(),

		Workers:    c.int("workers", m.GetWorkers()),
		PSShards:   c.int("ps_shards", m.GetPsShards()),
		Sync:       syncFromProto(c, m.GetSync()),
		Staleness:  c.int("staleness", m.GetStaleness()),
		Augment:    strings.Join(m.GetAugment(), ","),
		Augmenters: c.int("augmenters", m.GetAugmenters()),
		Select:     enum(c, "select", m.GetSelect(), spec.ParseSelection),
		Prefetch:   c.int("prefetch", m.GetPrefetch()),
		Compress:   m.GetCompress(),

		TargetAccuracy:    m.GetTargetAccuracy(),
		EvalEvery:         c.int("eval_every", m.GetEvalEvery()),
		ScoreStaleness:    c.int("score_staleness", m.GetScoreStaleness()),
		SelectBeta:        m.GetSelectBeta(),
		SelectPressure:    m.GetSelectPressure(),
		SelectPressureEnd: m.GetSelectPressureEnd(),
		SelectSmoothing:   m.GetSelectSmoothing(),
		SelectFraction:    m.GetSelectFraction(),

		Seed:    m.GetSeed(),
		Device:  deviceFromProto(c, m.GetDevice()),
		Threads: c.int("threads", m.GetThreads()),
		Data:    m.GetData(),
		Out:     m.GetOut(),
		JSON:    m.GetJson(),
	}
	if ms := m.GetModelSpec(); ms != nil {
		j.ModelSpec = ms.toSpec(c, "model_spec")
	}
	if err := errors.Join(c.errs...); err != nil {
		return spec.Job{}, fmt.Errorf("messages: JobSpec: %w", err)
	}
	return j, nil
}

func (m *ModelSpec) toSpec(c *converter, key string) *spec.Model {
	s := &spec.Model{}
	if len(m.GetInput()) > 0 {
		s.Input = make([]int, len(m.GetInput()))
		for i, d := range m.GetInput() {
			s.Input[i] = c.int(fmt.Sprintf("%s.input[%d]", key, i), d)
		}
	}
	for i, l := range m.GetLayers() {
		k := fmt.Sprintf("%s.layers[%d]", key, i)
		if l == nil {
			// A nil entry cannot come off the wire, only from Go code.
			c.errs = append(c.errs, fmt.Errorf("%s: nil layer", k))
			continue
		}
		s.Layers = append(s.Layers, spec.Layer{
			Type:   enum(c, k+".type", l.GetType(), spec.ParseLayerType),
			Out:    c.int(k+".out", l.GetOut()),
			Kernel: c.int(k+".kernel", l.GetKernel()),
			Stride: c.int(k+".stride", l.GetStride()),
			Pad:    c.int(k+".pad", l.GetPad()),
			P:      l.GetP(),
			Vocab:  c.int(k+".vocab", l.GetVocab()),
			NoBias: l.GetNoBias(),
		})
	}
	return s
}

// converter collects every conversion error instead of stopping at the
// first, so one round trip reports all bad fields.
type converter struct {
	errs []error
}

// int narrows v to int; it can only fail where int is 32 bits.
func (c *converter) int(key string, v int64) int {
	if v < math.MinInt || v > math.MaxInt {
		c.errs = append(c.errs, fmt.Errorf("%s: %d does not fit in an int", key, v))
		return 0
	}
	return int(v)
}

// enum parses a config spelling with spec's own parser, so the accepted
// spellings and the error text stay defined in one place.
// deviceFromProto keeps an empty device empty: a message from a sender that
// predates the field means the CPU, as spec.Job's validation reads it.
func deviceFromProto(c *converter, s string) spec.Device {
	if s == "" {
		return ""
	}
	return enum(c, "device", s, spec.ParseDevice)
}

func enum[T ~string](c *converter, key, v string, parse func(string) (T, error)) T {
	t, err := parse(v)
	if err != nil {
		c.errs = append(c.errs, fmt.Errorf("%s: %w", key, err))
	}
	return t
}
