package gpu

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/troupe-ml/troupe/engine/nn"
	"github.com/troupe-ml/troupe/engine/optim"
	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/train"
	"github.com/troupe-ml/troupe/kernels/cuda"
)

// Options tune a Trainer.
type Options struct {
	// MaxBatch sizes the activation buffers: no step or evaluation may use
	// more samples. 0 means the job's larger of batch and eval batch.
	MaxBatch int
	// TF32 lets the matrix products round their inputs to TensorFloat-32
	// (faster on tensor cores, ~1e-3 relative error). Off by default.
	TF32 bool
}

// paramSlot places one model parameter in the flat device buffers.
type paramSlot struct {
	p   nn.Param
	off int // in floats
}

// stageBufs are one stage's device buffers. in is the input pointer of the
// last forward pass (an earlier stage's output), kept for the backward.
type stageBufs struct {
	in, out  cuda.Ptr
	z        cuda.Ptr // pre-activation, GELU only
	dx       cuda.Ptr // gradient with respect to the input
	col      cuda.Ptr // conv: im2col columns, reused for their gradient
	arg      cuda.Ptr // pool: argmax indices
	mask     cuda.Ptr // dropout: scale factors
	xhat     cuda.Ptr // layernorm
	rstd     cuda.Ptr // layernorm
	partial  cuda.Ptr // conv: per-channel partial bias gradients
	w, b     int      // parameter offsets (floats), -1 when absent
	applied  bool     // dropout: the mask was applied this step
	aliased  bool     // the output is the input (flatten without transpose)
	rowsPerN int      // linear, layernorm: rows per sample
}

// Trainer trains a model on one CUDA device. Parameters, gradients,
// activations and optimizer state stay on the device for the whole step; the
// host only queues work. Parameters live in one flat buffer (weight-decayed
// tensors first) so the optimizer, clipping and checkpoints handle all of
// them at once. A Trainer is used by one goroutine at a time.
type Trainer struct {
	dev    *cuda.Device
	s      *cuda.Stream
	model  *nn.Model
	job    spec.Job
	stages []stage
	bufs   []stageBufs
	slots  []paramSlot
	first  int // first stage with parameters: earlier ones need no input gradient

	nparams, ndecay int
	params, grads   cuda.Ptr
	mom1, mom2      cuda.Ptr // SGD momentum or Adam's moments
	clipPartial     cuda.Ptr
	clipScale       cuda.Ptr
	gradNorm        cuda.Ptr
	dlogits         cuda.Ptr
	xBuf, yBuf      cuda.Ptr // a host batch's landing place (StepHost)
	scratch         cuda.Ptr // one float + one int32 for StepHost/Evaluate

	sched    optim.Schedule
	step     int // optimizer steps taken (the schedule's position)
	maxBatch int
	prec     cuda.Precision
	seed     uint32
	owned    []*cuda.Buffer
}

// alignFloats keeps every parameter and buffer on a 256-byte boundary.
const alignFloats = 64

func alignUp(n int) int { return (n + alignFloats - 1) / alignFloats * alignFloats }

// New builds the job's model (initialised on the host from the job's seed,
// exactly as the CPU trainer does) and moves it to the device with the
// job's optimizer and schedule. stepsPerEpoch positions the schedule.
func New(dev *cuda.Device, job spec.Job, stepsPerEpoch int, o Options) (t *Trainer, err error) {
	if err := job.Validate(); err != nil {
		return nil, err
	}
	model, err := train.NewModel(job)
	if err != nil {
		return nil, err
	}
	stages, err := plan(model.Spec())
	if err != nil {
		return nil, fmt.Errorf("gpu: %w", err)
	}
	sched, err := train.NewSchedule(job, stepsPerEpoch)
	if err != nil {
		return nil, err
	}
	if job.Optimizer != spec.SGD && job.Optimizer != spec.Adam && job.Optimizer != spec.AdamW {
		return nil, fmt.Errorf("gpu: optimizer %q is not supported", job.Optimizer)
	}
	t = &Trainer{dev: dev, model: model, job: job, stages: stages, sched: sched,
		maxBatch: o.MaxBatch, seed: uint32(rand.New(rand.NewPCG(job.Seed, 0x6770)).Uint32())}
	if t.maxBatch <= 0 {
		t.maxBatch = max(job.Batch, job.EvalBatch)
	}
	if o.TF32 {
		t.prec = cuda.TF32
	}
	defer func() {
		if err != nil {
			t.Close()
			t = nil
		}
	}()
	if t.s, err = dev.NewStream(); err != nil {
		return nil, fmt.Errorf("gpu: %w", err)
	}
	if err := t.allocParams(); err != nil {
		return nil, fmt.Errorf("gpu: parameters: %w", err)
	}
	if err := t.allocStages(); err != nil {
		return nil, fmt.Errorf("gpu: activations for batch %d: %w", t.maxBatch, err)
	}
	return t, nil
}

func (t *Trainer) alloc(floats int) (cuda.Ptr, error) {
	b, err := t.dev.AllocF32(max(floats, 1))
	if err != nil {
		return 0, err
	}
	t.owned = append(t.owned, b)
	return b.Ptr(), nil
}

// allocParams lays out the flat buffers, decayed tensors first, and uploads
// the initial values.
func (t *Trainer) allocParams() error {
	ps := t.model.Params()
	off := 0
	for _, decayed := range []bool{true, false} {
		for _, p := range ps {
			if p.NoDecay == decayed {
				continue
			}
			t.slots = append(t.slots, paramSlot{p: p, off: off})
			off = alignUp(off + p.T.Len())
		}
		if decayed {
			t.ndecay = off
		}
	}
	t.nparams = off
	var err error
	for _, dst := range []*cuda.Ptr{&t.params, &t.grads, &t.mom1} {
		if *dst, err = t.alloc(t.nparams); err != nil {
			return err
		}
		if err := t.s.Zero(*dst, t.nparams); err != nil {
			return err
		}
	}
	if t.job.Optimizer != spec.SGD {
		if t.mom2, err = t.alloc(t.nparams); err != nil {
			return err
		}
		if err := t.s.Zero(t.mom2, t.nparams); err != nil {
			return err
		}
	}
	for _, sl := range t.slots {
		if err := t.s.Upload(t.params.F32(sl.off), sl.p.T.Data); err != nil {
			return err
		}
	}
	if t.clipPartial, err = t.alloc(2 * cuda.ClipParts); err != nil {
		return err
	}
	if t.clipScale, err = t.alloc(alignFloats); err != nil {
		return err
	}
	t.gradNorm = t.clipScale.F32(1)
	if t.scratch, err = t.alloc(alignFloats); err != nil {
		return err
	}
	return t.s.Sync()
}

// paramOffset returns the offset of layer i's named parameter, or -1.
func (t *Trainer) paramOffset(layer int, name string) int {
	full := fmt.Sprintf("layers.%d.%s", layer, name)
	for _, sl := range t.slots {
		if sl.p.Name == full {
			return sl.off
		}
	}
	return -1
}

func (t *Trainer) allocStages() error {
	n := t.maxBatch
	t.bufs = make([]stageBufs, len(t.stages))
	t.first = len(t.stages)
	var err error
	a := func(dst *cuda.Ptr, floats int) {
		if err == nil {
			*dst, err = t.alloc(floats)
		}
	}
	for j := range t.stages {
		st, b := &t.stages[j], &t.bufs[j]
		b.w, b.b = t.paramOffset(st.layer, "weight"), t.paramOffset(st.layer, "bias")
		if b.w >= 0 && j < t.first {
			t.first = j
		}
		in, out := numel(st.in), numel(st.out)
		switch st.kind {
		case opLinear, opLayerNorm:
			b.rowsPerN = in / st.inF
		}
		switch st.kind {
		case opFlatten:
			b.aliased = !(st.cnhw && st.in[0] > 1)
			if !b.aliased {
				a(&b.out, n*out)
				a(&b.dx, n*in)
			}
			continue
		case opConv:
			oh, ow := st.conv.Out()
			a(&b.col, st.conv.C*st.conv.KH*st.conv.KW*n*oh*ow)
			a(&b.partial, st.outF*cuda.ChanSplits(n*oh*ow))
		case opPool:
			a(&b.arg, n*out)
		case opDropout:
			a(&b.mask, n*out)
		case opLayerNorm:
			a(&b.xhat, n*out)
			a(&b.rstd, n*b.rowsPerN)
		}
		a(&b.out, n*out)
		if st.act.NeedsPreActivation() {
			a(&b.z, n*out)
		}
		a(&b.dx, n*in)
	}
	if err != nil {
		return err
	}
	classes := numel(t.stages[len(t.stages)-1].out)
	in := numel(t.model.InputShape())
	a(&t.dlogits, n*classes)
	a(&t.xBuf, n*in)
	a(&t.yBuf, n)
	return err
}

// Close frees the trainer's device memory and stream.
func (t *Trainer) Close() error {
	var errs []error
	if t.s != nil {
		errs = append(errs, t.s.Sync())
	}
	for _, b := range t.owned {
		errs = append(errs, b.Free())
	}
	t.owned = nil
	if t.s != nil {
		errs = append(errs, t.s.Close())
		t.s = nil
	}
	return errors.Join(errs...)
}

// Stream is the stream the trainer queues its work on.
func (t *Trainer) Stream() *cuda.Stream { return t.s }

// Model is the host mirror of the model: its parameters are current after
// SyncToHost.
func (t *Trainer) Model() *nn.Model { return t.model }

// StepCount is the number of optimizer steps taken.
func (t *Trainer) StepCount() int { return t.step }

// SetStepCount restores the step counter (the schedule's position).
func (t *Trainer) SetStepCount(n int) { t.step = n }

// MaxBatch is the largest batch the buffers hold.
func (t *Trainer) MaxBatch() int { return t.maxBatch }

// SyncToHost waits for queued work and copies the parameters into the
// host model.
func (t *Trainer) SyncToHost() error {
	for _, sl := range t.slots {
		if err := t.s.Download(sl.p.T.Data, t.params.F32(sl.off)); err != nil {
			return fmt.Errorf("gpu: downloading %s: %w", sl.p.Name, err)
		}
	}
	return nil
}

// LoadFromHost copies the host model's parameters to the device, e.g.
// after loading a checkpoint into Model().
func (t *Trainer) LoadFromHost() error {
	for _, sl := range t.slots {
		if err := t.s.Upload(t.params.F32(sl.off), sl.p.T.Data); err != nil {
			return fmt.Errorf("gpu: uploading %s: %w", sl.p.Name, err)
		}
	}
	return t.s.Sync()
}

// OptimizerState returns the optimizer state in the CPU optimizers' names,
// order and layout ("step", then per parameter "<name>.momentum", or
// "<name>.exp_avg" and "<name>.exp_avg_sq"), so checkpoints move between
// devices.
func (t *Trainer) OptimizerState() ([]optim.StateTensor, error) {
	type buf struct {
		suffix string
		p      cuda.Ptr
	}
	var bufs []buf
	switch {
	case t.job.Optimizer != spec.SGD:
		bufs = []buf{{".exp_avg", t.mom1}, {".exp_avg_sq", t.mom2}}
	case t.job.Momentum != 0:
		bufs = []buf{{".momentum", t.mom1}}
	}
	out := []optim.StateTensor{optim.StepState(t.step)}
	for _, p := range t.model.Params() {
		off := -1
		for _, sl := range t.slots {
			if sl.p.Name == p.Name {
				off = sl.off
			}
		}
		for _, b := range bufs {
			data := make([]float32, p.T.Len())
			if err := t.s.Download(data, b.p.F32(off)); err != nil {
				return nil, fmt.Errorf("gpu: downloading %s%s: %w", p.Name, b.suffix, err)
			}
			out = append(out, optim.StateTensor{Name: p.Name + b.suffix, Data: data})
		}
	}
	return out, nil
}

// forward runs the stages on n samples at x; it returns the logits.
func (t *Trainer) forward(x cuda.Ptr, n int, training bool) (cuda.Ptr, error) {
	s := t.s
	cur := x
	for j := range t.stages {
		st, b := &t.stages[j], &t.bufs[j]
		b.in = cur
		var err error
		count := n * numel(st.out)
		switch st.kind {
		case opLinear:
			rows := n * b.rowsPerN
			err = s.Gemm(false, true, rows, st.outF, st.inF, 1, cur, st.inF, t.params.F32(b.w), st.inF, 0, b.out, st.outF, t.prec)
			if err == nil && (st.act != cuda.ActNone || b.b >= 0) {
				err = s.BiasActRows(b.out, b.z, t.ptrOrNil(b.b), rows, st.outF, st.act)
			}
			cur = b.out
		case opConv:
			c := st.conv
			c.N = n
			oh, ow := c.Out()
			plane, k := n*oh*ow, c.C*c.KH*c.KW
			err = s.Im2col(cur, b.col, c)
			if err == nil {
				err = s.Gemm(false, false, st.outF, plane, k, 1, t.params.F32(b.w), k, b.col, plane, 0, b.out, plane, t.prec)
			}
			if err == nil && (st.act != cuda.ActNone || b.b >= 0) {
				err = s.BiasActChan(b.out, b.z, t.ptrOrNil(b.b), st.outF, plane, st.act)
			}
			cur = b.out
		case opPool:
			c := st.conv
			c.N = n
			err = s.MaxPool(cur, b.out, b.arg, c)
			cur = b.out
		case opAct:
			err = s.Copy(b.out, cur, 4*count)
			if err == nil {
				err = s.BiasActRows(b.out, b.z, 0, 1, count, st.act)
			}
			cur = b.out
		case opDropout:
			b.applied = training && st.p > 0
			if b.applied {
				err = s.Dropout(b.out, b.mask, cur, count, st.p, t.seed, uint32(t.step))
				cur = b.out
			}
		case opFlatten:
			if !b.aliased {
				err = s.ToNCHW(b.out, cur, n, st.in[0], st.in[1]*st.in[2])
				cur = b.out
			}
		case opToCNHW:
			err = s.ToCNHW(b.out, cur, n, st.in[0], st.in[1]*st.in[2])
			cur = b.out
		case opLayerNorm:
			err = s.LayerNorm(cur, b.out, b.xhat, b.rstd, t.params.F32(b.w), t.ptrOrNil(b.b), n*b.rowsPerN, st.inF, 1e-5)
			cur = b.out
		}
		if err != nil {
			return 0, fmt.Errorf("gpu: forward, layer %d: %w", st.layer, err)
		}
	}
	return cur, nil
}

func (t *Trainer) ptrOrNil(off int) cuda.Ptr {
	if off < 0 {
		return 0
	}
	return t.params.F32(off)
}

func (t *Trainer) gradOrNil(off int) cuda.Ptr {
	if off < 0 {
		return 0
	}
	return t.grads.F32(off)
}

// backward propagates dy (the logits' gradient) through the stages,
// writing every parameter's gradient.
func (t *Trainer) backward(dy cuda.Ptr, n int) error {
	s := t.s
	for j := len(t.stages) - 1; j >= t.first; j-- {
		st, b := &t.stages[j], &t.bufs[j]
		needDX := j > t.first
		var err error
		switch st.kind {
		case opLinear:
			rows := n * b.rowsPerN
			if st.act != cuda.ActNone || b.b >= 0 {
				dz := cuda.Ptr(0)
				if st.act != cuda.ActNone {
					dz = dy
				}
				err = s.ColSumActGrad(dz, dy, b.z, b.out, t.gradOrNil(b.b), rows, st.outF, st.act)
			}
			if err == nil {
				err = s.Gemm(true, false, st.outF, st.inF, rows, 1, dy, st.outF, b.in, st.inF, 0, t.grads.F32(b.w), st.inF, t.prec)
			}
			if err == nil && needDX {
				err = s.Gemm(false, false, rows, st.inF, st.outF, 1, dy, st.outF, t.params.F32(b.w), st.inF, 0, b.dx, st.inF, t.prec)
				dy = b.dx
			}
		case opConv:
			c := st.conv
			c.N = n
			oh, ow := c.Out()
			plane, k := n*oh*ow, c.C*c.KH*c.KW
			if st.act != cuda.ActNone || b.b >= 0 {
				dz := cuda.Ptr(0)
				if st.act != cuda.ActNone {
					dz = dy
				}
				err = s.ChanActGrad(dz, dy, b.z, b.out, t.gradOrNil(b.b), b.partial, st.outF, plane, st.act)
			}
			if err == nil {
				err = s.Gemm(false, true, st.outF, k, plane, 1, dy, plane, b.col, plane, 0, t.grads.F32(b.w), k, t.prec)
			}
			if err == nil && needDX {
				// The columns are no longer needed: their gradient replaces them.
				err = s.Gemm(true, false, k, plane, st.outF, 1, t.params.F32(b.w), k, dy, plane, 0, b.col, plane, t.prec)
				if err == nil {
					err = s.Col2im(b.col, b.dx, c, false)
				}
				dy = b.dx
			}
		case opPool:
			c := st.conv
			c.N = n
			err = s.MaxPoolGrad(dy, b.arg, b.dx, c)
			dy = b.dx
		case opAct:
			err = s.ActGrad(dy, dy, b.z, b.out, n*numel(st.out), st.act)
		case opDropout:
			if b.applied {
				err = s.Mul(dy, dy, b.mask, n*numel(st.out))
			}
		case opFlatten:
			if !b.aliased {
				err = s.ToCNHW(b.dx, dy, n, st.in[0], st.in[1]*st.in[2])
				dy = b.dx
			}
		case opToCNHW:
			err = s.ToNCHW(b.dx, dy, n, st.in[0], st.in[1]*st.in[2])
			dy = b.dx
		case opLayerNorm:
			dx := cuda.Ptr(0)
			if needDX {
				dx = b.dx
			}
			err = s.LayerNormGrad(dy, b.xhat, b.rstd, t.params.F32(b.w), dx, t.grads.F32(b.w), t.gradOrNil(b.b), n*b.rowsPerN, st.inF)
			dy = dx
		}
		if err != nil {
			return fmt.Errorf("gpu: backward, layer %d: %w", st.layer, err)
		}
	}
	return nil
}

// Step queues one training step on n samples already on the device: x in
// the model's input layout (batch-major), y int32 labels. The batch's summed
// loss is added to the device float at lossSum when that is not 0. Nothing
// waits for the device; it returns the learning rate used.
func (t *Trainer) Step(x, y cuda.Ptr, n int, lossSum cuda.Ptr) (float32, error) {
	if n < 1 || n > t.maxBatch {
		return 0, fmt.Errorf("gpu: Step: batch of %d samples, want 1..%d", n, t.maxBatch)
	}
	if err := t.gradients(x, y, n, lossSum); err != nil {
		return 0, err
	}
	lr := t.sched.LR(t.step)
	if err := t.update(lr); err != nil {
		return 0, fmt.Errorf("gpu: optimizer: %w", err)
	}
	t.step++
	return lr, nil
}

// gradients queues forward, loss and backward for n samples, adding the
// summed loss to lossSum when it is not 0.
func (t *Trainer) gradients(x, y cuda.Ptr, n int, lossSum cuda.Ptr) error {
	logits, err := t.forward(x, n, true)
	if err != nil {
		return err
	}
	classes := numel(t.stages[len(t.stages)-1].out)
	if err := t.s.SoftmaxXent(cuda.XentArgs{Logits: logits, Labels: y, N: n, K: classes,
		Smoothing: float32(t.job.LabelSmoothing), GradScale: 1 / float32(n), DLogits: t.dlogits, LossSum: lossSum}); err != nil {
		return fmt.Errorf("gpu: loss: %w", err)
	}
	return t.backward(t.dlogits, n)
}

// update applies the optimizer (after clipping, when the job asks).
func (t *Trainer) update(lr float32) error {
	clip := cuda.Ptr(0)
	if t.job.ClipNorm > 0 {
		clip = t.clipScale
		if err := t.s.ClipScale(t.grads, t.nparams, t.clipPartial, float32(t.job.ClipNorm), t.clipScale, t.gradNorm); err != nil {
			return err
		}
	}
	if t.job.Optimizer == spec.SGD {
		a := cuda.SGDArgs{Params: t.params, Grads: t.grads, N: t.nparams, NDecay: t.ndecay, LR: lr,
			WeightDecay: float32(t.job.WeightDecay), Mom: float32(t.job.Momentum), BufScale: float32(t.job.Momentum),
			GradScale: 1, Nesterov: t.job.Nesterov, Clip: clip}
		if t.job.Momentum != 0 {
			a.Momentum = t.mom1
		}
		if t.step == 0 {
			// As PyTorch: the momentum buffer starts as the first gradient.
			a.BufScale = 0
		}
		return t.s.SGDStep(a)
	}
	b1, b2 := t.job.Beta1, t.job.Beta2
	step := float64(t.step + 1)
	a := cuda.AdamArgs{Params: t.params, Grads: t.grads, M: t.mom1, V: t.mom2, N: t.nparams, NDecay: t.ndecay,
		Beta1: float32(b1), Beta2: float32(b2), OneMinus1: float32(1 - b1), OneMinus2: float32(1 - b2),
		StepSize: float32(float64(lr) / (1 - math.Pow(b1, step))), BC2Sqrt: float32(math.Sqrt(1 - math.Pow(b2, step))),
		Eps: float32(t.job.Eps), Shrink: 1, Clip: clip}
	if t.job.WeightDecay != 0 {
		if t.job.Optimizer == spec.AdamW {
			a.Shrink = float32(1 - float64(lr)*t.job.WeightDecay)
		} else {
			a.L2 = float32(t.job.WeightDecay)
		}
	}
	return t.s.AdamStep(a)
}

// Warmup runs forward and backward passes, without updating anything, for
// each batch size given, then waits. The first use of each matrix-product
// shape makes cuBLAS load and select kernels (milliseconds each); doing it
// here keeps that one-time cost out of the first epoch's timing. Gradients
// it leaves behind are overwritten by the next step.
func (t *Trainer) Warmup(sizes ...int) error {
	in := numel(t.model.InputShape())
	if err := errors.Join(t.s.Zero(t.xBuf, t.maxBatch*in), t.s.Zero(t.yBuf, t.maxBatch)); err != nil {
		return err
	}
	for _, n := range sizes {
		if n < 1 || n > t.maxBatch {
			continue
		}
		if err := t.gradients(t.xBuf, t.yBuf, n, 0); err != nil {
			return err
		}
	}
	return t.s.Sync()
}

// StepHost copies a host batch to the device, steps, and waits for the
// loss: the simple, synchronous way in (Run streams batches instead).
func (t *Trainer) StepHost(x []float32, y []int32) (float32, error) {
	n := len(y)
	if n < 1 || n > t.maxBatch || len(x) != n*numel(t.model.InputShape()) {
		return 0, fmt.Errorf("gpu: StepHost: %d labels and %d inputs for samples of %v (at most %d)", n, len(x), t.model.InputShape(), t.maxBatch)
	}
	if err := t.s.Upload(t.xBuf, x); err != nil {
		return 0, err
	}
	if err := t.s.UploadI32(t.yBuf, y); err != nil {
		return 0, err
	}
	if err := t.s.Zero(t.scratch, 1); err != nil {
		return 0, err
	}
	if _, err := t.Step(t.xBuf, t.yBuf, n, t.scratch); err != nil {
		return 0, err
	}
	var loss [1]float32
	if err := t.s.Download(loss[:], t.scratch); err != nil {
		return 0, err
	}
	return loss[0] / float32(n), nil
}

// GradientsHost runs forward and backward on a host batch, without an
// optimizer step, and returns the mean loss and every parameter's gradient
// by name (for checks against the CPU engine).
func (t *Trainer) GradientsHost(x []float32, y []int32) (float32, map[string][]float32, error) {
	n := len(y)
	if n < 1 || n > t.maxBatch || len(x) != n*numel(t.model.InputShape()) {
		return 0, nil, fmt.Errorf("gpu: GradientsHost: %d labels and %d inputs", n, len(x))
	}
	s := t.s
	if err := errors.Join(s.Upload(t.xBuf, x), s.UploadI32(t.yBuf, y), s.Zero(t.scratch, 1)); err != nil {
		return 0, nil, err
	}
	if err := t.gradients(t.xBuf, t.yBuf, n, t.scratch); err != nil {
		return 0, nil, err
	}
	var loss [1]float32
	if err := s.Download(loss[:], t.scratch); err != nil {
		return 0, nil, err
	}
	grads := map[string][]float32{}
	for _, sl := range t.slots {
		g := make([]float32, sl.p.T.Len())
		if err := s.Download(g, t.grads.F32(sl.off)); err != nil {
			return 0, nil, err
		}
		grads[sl.p.Name] = g
	}
	return loss[0] / float32(n), grads, nil
}
