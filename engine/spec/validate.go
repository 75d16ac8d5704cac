package spec

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/troupe-ml/troupe/engine/augment"
	"github.com/troupe-ml/troupe/engine/compress"
)

// Validate reports every invalid value in j, each as a *FieldError naming the
// field by its config key; several are joined with errors.Join. It returns
// nil for a valid job. Preset names are not checked here (see package doc).
func (j *Job) Validate() error {
	var c checker
	switch {
	case j.Model != "" && j.ModelSpec != nil:
		c.add("model", "preset %q and model_spec are mutually exclusive (give one)", j.Model)
	case j.Model == "" && j.ModelSpec == nil:
		c.add("model", "missing: name a preset or give model_spec")
	case j.ModelSpec != nil:
		j.ModelSpec.validate(&c, "model_spec")
	}

	c.intMin("epochs", j.Epochs, 1)
	if j.TargetAccuracy != 0 {
		c.float("target_accuracy", j.TargetAccuracy, interval{lo: 0, hi: 1, loOpen: true})
	}
	c.intMin("batch", j.Batch, 1)
	c.intMin("eval_batch", j.EvalBatch, 1)
	c.intMin("eval_every", j.EvalEvery, 0)

	c.float("lr", j.LR, above(0))
	enumCheck(&c, "optimizer", j.Optimizer, Optimizers())
	c.float("momentum", j.Momentum, unitOpen())
	c.float("weight_decay", j.WeightDecay, atLeast(0))
	c.float("beta1", j.Beta1, unitOpen())
	c.float("beta2", j.Beta2, unitOpen())
	c.float("eps", j.Eps, above(0))

	enumCheck(&c, "schedule", j.Schedule, Schedules())
	if c.float("warmup_epochs", j.WarmupEpochs, atLeast(0)) && j.Epochs >= 1 && j.WarmupEpochs > float64(j.Epochs) {
		c.add("warmup_epochs", "must be ≤ epochs (%d), got %s", j.Epochs, fmtFloat(j.WarmupEpochs))
	}
	if j.Schedule == Step {
		c.intMinWhy("step_epochs", j.StepEpochs, 1, " with schedule step")
	} else {
		c.intMin("step_epochs", j.StepEpochs, 0)
	}
	c.float("gamma", j.Gamma, interval{lo: 0, hi: 1, loOpen: true})
	if c.float("min_lr", j.MinLR, atLeast(0)) && j.LR > 0 && j.MinLR > j.LR {
		c.add("min_lr", "must be ≤ lr (%s), got %s", fmtFloat(j.LR), fmtFloat(j.MinLR))
	}

	c.intMin("workers", j.Workers, 0)
	c.intMin("ps_shards", j.PSShards, 1)
	enumCheck(&c, "sync", j.Sync, Syncs())
	c.intMin("staleness", j.Staleness, 0)
	if j.Augment != "" {
		if _, err := augment.Parse(j.Augment); err != nil {
			c.add("augment", "%s", strings.TrimPrefix(err.Error(), "augment: "))
		}
	}
	c.intMin("augmenters", j.Augmenters, 1)
	enumCheck(&c, "select", j.Select, Selections())
	c.intMin("prefetch", j.Prefetch, 1)
	if _, err := compress.Parse(j.Compress); err != nil {
		c.add("compress", "%s", strings.TrimPrefix(err.Error(), "compress: "))
	}
	j.validateSelection(&c)

	c.float("clip_norm", j.ClipNorm, atLeast(0))
	c.float("label_smoothing", j.LabelSmoothing, unitOpen())
	if j.Device != "" { // empty: a job written before devices existed, the CPU
		enumCheck(&c, "device", j.Device, Devices())
	}
	c.intMin("threads", j.Threads, 0)
	// An empty out means "write no files"; only blanks are a mistake.
	if j.Out != "" && strings.TrimSpace(j.Out) == "" {
		c.add("out", "must not be blank (leave it empty to write no files)")
	}
	return joinFieldErrors(c.errs)
}

func (m *Model) validate(c *checker, field string) {
	if len(m.Input) == 0 {
		c.add(field+".input", "must have at least one dimension, e.g. [1, 28, 28]")
	}
	for i, d := range m.Input {
		c.intMin(fmt.Sprintf("%s.input[%d]", field, i), d, 1)
	}
	if len(m.Layers) == 0 {
		c.add(field+".layers", "must have at least one layer")
	}
	for i, l := range m.Layers {
		l.validate(c, fmt.Sprintf("%s.layers[%d]", field, i))
	}
}

// layerField is a bit set of the optional Layer fields.
type layerField uint8

const (
	useOut layerField = 1 << iota
	useKernel
	useStride
	usePad
	useP
	useVocab
	useNoBias
)

// uses says which optional fields a layer type reads; all others must be zero.
func (t LayerType) uses() layerField {
	switch t {
	case Linear:
		return useOut | useNoBias
	case Conv2D:
		return useOut | useKernel | useStride | usePad | useNoBias
	case MaxPool2D:
		return useKernel | useStride // the engine's max pooling has no padding
	case Dropout:
		return useP
	case LayerNorm:
		return useNoBias
	case Embedding:
		return useVocab | useOut
	}
	return 0
}

func (l Layer) validate(c *checker, field string) {
	if !enumCheck(c, field+".type", l.Type, LayerTypes()) {
		return // which fields are allowed depends on the type
	}
	uses := l.Type.uses()
	unused := func(f layerField, key string, isZero bool) {
		if uses&f == 0 && !isZero {
			c.add(field+"."+key, "not used by %s (omit it)", l.Type)
		}
	}
	unused(useOut, "out", l.Out == 0)
	unused(useKernel, "kernel", l.Kernel == 0)
	unused(useStride, "stride", l.Stride == 0)
	unused(usePad, "pad", l.Pad == 0)
	unused(useP, "p", l.P == 0)
	unused(useVocab, "vocab", l.Vocab == 0)
	unused(useNoBias, "no_bias", !l.NoBias)

	if uses&useOut != 0 {
		c.intMin(field+".out", l.Out, 1)
	}
	if uses&useKernel != 0 {
		c.intMin(field+".kernel", l.Kernel, 1)
	}
	if uses&useStride != 0 {
		c.intMinWhy(field+".stride", l.Stride, 0, " (0 = default)")
	}
	if uses&usePad != 0 {
		c.intMin(field+".pad", l.Pad, 0)
	}
	if uses&useP != 0 {
		c.float(field+".p", l.P, unitOpen())
	}
	if uses&useVocab != 0 {
		c.intMin(field+".vocab", l.Vocab, 1)
	}
}

// checker collects problems so that one Validate call reports all of them.
type checker struct{ errs []*FieldError }

func (c *checker) add(field, format string, args ...any) {
	c.errs = append(c.errs, &FieldError{Field: field, Err: fmt.Errorf(format, args...)})
}

func (c *checker) intMin(field string, v, lo int) bool { return c.intMinWhy(field, v, lo, "") }

func (c *checker) intMinWhy(field string, v, lo int, why string) bool {
	if v < lo {
		c.add(field, "must be ≥ %d%s, got %d", lo, why, v)
		return false
	}
	return true
}

func (c *checker) float(field string, v float64, iv interval) bool {
	if math.IsInf(v, 0) {
		c.add(field, "must be finite, got %s", fmtFloat(v))
		return false
	}
	if !iv.contains(v) {
		c.add(field, "must be %s, got %s", iv, fmtFloat(v))
		return false
	}
	return true
}

func enumCheck[T ~string](c *checker, field string, v T, all []T) bool {
	if _, err := parseEnum(v, all); err != nil {
		c.errs = append(c.errs, &FieldError{Field: field, Err: err})
		return false
	}
	return true
}

// interval is a range of finite floats; hi = +Inf means unbounded above.
type interval struct {
	lo, hi         float64
	loOpen, hiOpen bool
}

func above(lo float64) interval   { return interval{lo: lo, hi: math.Inf(1), loOpen: true} }
func atLeast(lo float64) interval { return interval{lo: lo, hi: math.Inf(1)} }

// unitOpen is [0,1): probabilities and decay rates that must leave something.
func unitOpen() interval { return interval{lo: 0, hi: 1, hiOpen: true} }

func (iv interval) contains(v float64) bool {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return false
	}
	if v < iv.lo || (iv.loOpen && v == iv.lo) {
		return false
	}
	return v < iv.hi || (!iv.hiOpen && v == iv.hi)
}

func (iv interval) String() string {
	if math.IsInf(iv.hi, 1) {
		if iv.loOpen {
			return "> " + fmtFloat(iv.lo)
		}
		return "≥ " + fmtFloat(iv.lo)
	}
	l, r := "[", "]"
	if iv.loOpen {
		l = "("
	}
	if iv.hiOpen {
		r = ")"
	}
	return "in " + l + fmtFloat(iv.lo) + "," + fmtFloat(iv.hi) + r
}

func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
