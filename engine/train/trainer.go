package train

import (
	"fmt"
	"math/rand/v2"

	"github.com/troupe-ml/troupe/engine/nn"
	"github.com/troupe-ml/troupe/engine/optim"
	"github.com/troupe-ml/troupe/engine/tensor"
)

// Options tune a Trainer's step.
type Options struct {
	// ClipNorm bounds the global gradient norm; 0 disables clipping.
	ClipNorm float32
	// LabelSmoothing is ε of the smoothed cross-entropy target.
	LabelSmoothing float32
	// Backend computes the heavy operations; nil means the CPU.
	Backend tensor.Backend
}

// StepResult describes one optimisation step.
type StepResult struct {
	Loss     float32 // mean loss of the batch before the update
	LR       float32 // learning rate applied
	GradNorm float32 // global gradient norm before clipping (0 when clipping is off)
}

// Trainer holds one model replica with its optimizer and the graph its steps
// run in. It is not safe for concurrent use. Its methods read the batch x
// in place, never copying or writing it, and only until they return.
type Trainer struct {
	model  *nn.Model
	opt    optim.Optimizer
	sched  optim.Schedule
	params []optim.Param
	fresh  freshGrads
	g      *tensor.Graph
	opts   Options
	step   int
	shape  []int // batch shape buffer
	// sameRows: the model computes each sample alone and the same in
	// training and evaluation (see ScoresInTrainingPass).
	sameRows bool
}

// NewTrainer wraps model and opt; rng drives dropout. opt and sched may be nil
// for a replica that only computes gradients (see Gradients).
func NewTrainer(model *nn.Model, opt optim.Optimizer, sched optim.Schedule, opts Options, rng *rand.Rand) *Trainer {
	t := &Trainer{
		model: model,
		opt:   opt,
		sched: sched,
		g:     tensor.NewGraph(opts.Backend, rng),
		opts:  opts,
	}
	t.sameRows = samplesAlone(model.Spec())
	if opt != nil {
		t.params = opt.Params()
	} else {
		t.params = OptimParams(model)
	}
	t.fresh = newFreshGrads(model, t.params)
	return t
}

// OptimParams exposes a model's parameters as optimizer parameters aliasing
// the model's buffers.
func OptimParams(m *nn.Model) []optim.Param {
	ps := make([]optim.Param, 0, len(m.Params()))
	for _, p := range m.Params() {
		ps = append(ps, optim.Param{Name: p.Name, Data: p.T.Data, Grad: p.T.Grad, NoDecay: p.NoDecay})
	}
	return ps
}

// Model returns the trained model.
func (t *Trainer) Model() *nn.Model { return t.model }

// Optimizer returns the optimizer.
func (t *Trainer) Optimizer() optim.Optimizer { return t.opt }

// StepCount returns how many steps have been applied.
func (t *Trainer) StepCount() int { return t.step }

// SetStepCount restores the step counter (and so the schedule's position).
func (t *Trainer) SetStepCount(n int) { t.step = n }

// batchShape returns [n, input...] in a reused buffer.
func (t *Trainer) batchShape(n int) []int {
	t.shape = append(append(t.shape[:0], n), t.model.InputShape()...)
	return t.shape
}

// Step runs forward, backward and one optimizer update on the batch x (len(y)
// samples, each of the model's input shape) with class labels y. perSample, if
// non-nil, receives each sample's loss. It is StepTargets with labels only.
func (t *Trainer) Step(x []float32, y []int32, perSample []float32) (StepResult, error) {
	return t.StepTargets(x, tensor.Targets{Labels: y}, perSample)
}

// StepTargets is Step with the full supervision of
// tensor.Graph.SoftmaxCrossEntropyTargets: mixed second classes with their
// weights λ (mixup, cutmix) and per-sample loss weights. The batch holds
// len(tg.Labels) samples; perSample, if non-nil, receives each sample's
// unweighted mixed loss. Targets that do not fit the batch are an error.
func (t *Trainer) StepTargets(x []float32, tg tensor.Targets, perSample []float32) (res StepResult, err error) {
	if t.opt == nil {
		return res, fmt.Errorf("train: Step on a trainer without an optimizer (use Gradients)")
	}
	if res, err = t.GradientsTargets(x, tg, perSample); err != nil {
		return res, err
	}
	if t.opts.ClipNorm > 0 {
		res.GradNorm = optim.ClipGradNorm(t.params, t.opts.ClipNorm)
	}
	res.LR = t.sched.LR(t.step)
	t.opt.Step(res.LR)
	t.step++
	return res, nil
}

// Gradients runs forward and backward only: afterwards every parameter's Grad
// holds d loss / d parameter for this batch (previous gradients are
// discarded). A model replica whose update happens elsewhere (a parameter
// server) calls this instead of Step. It is GradientsTargets with labels only.
func (t *Trainer) Gradients(x []float32, y []int32, perSample []float32) (StepResult, error) {
	return t.GradientsTargets(x, tensor.Targets{Labels: y}, perSample)
}

// GradientsTargets is Gradients with the full supervision of
// tensor.Graph.SoftmaxCrossEntropyTargets (see StepTargets).
func (t *Trainer) GradientsTargets(x []float32, tg tensor.Targets, perSample []float32) (res StepResult, err error) {
	defer recoverTo(&err, "train step")
	n := len(tg.Labels)
	if n == 0 {
		return res, fmt.Errorf("train: empty batch")
	}
	return t.gradients(x, tg, perSample)
}

// gradients is the forward and backward pass of GradientsTargets on a
// batch of len(tg.Labels) > 0 samples.
func (t *Trainer) gradients(x []float32, tg tensor.Targets, perSample []float32) (res StepResult, err error) {
	n := len(tg.Labels)
	g := t.g
	g.Reset()
	g.SetTraining(true)
	g.SetNoGrad(false)
	// x is read until this step ends and never written: no copy needed.
	in := g.InputView(x, t.batchShape(n)...)
	logits := t.model.Forward(g, in)
	loss := g.SoftmaxCrossEntropyTargets(logits, tg, t.opts.LabelSmoothing, perSample)
	if err := g.Err(); err != nil {
		return res, fmt.Errorf("train: %w", err)
	}
	if err := g.BackwardFresh(loss, t.fresh.prepare()); err != nil {
		return res, fmt.Errorf("train: %w", err)
	}
	res.Loss = loss.Item()
	return res, nil
}

// Losses runs a forward pass only, in evaluation mode and without recording
// gradients, and writes each sample's loss into perSample (length len(y)).
// Data-selection strategies score a batch with it before choosing which
// samples get a backward pass.
func (t *Trainer) Losses(x []float32, y []int32, perSample []float32) (err error) {
	defer recoverTo(&err, "forward pass")
	n := len(y)
	if n == 0 {
		return fmt.Errorf("train: empty batch")
	}
	g := t.g
	g.Reset()
	g.SetTraining(false)
	g.SetNoGrad(true)
	defer g.SetNoGrad(false)
	logits := t.model.Forward(g, g.InputView(x, t.batchShape(n)...))
	g.SoftmaxCrossEntropy(logits, y, t.opts.LabelSmoothing, perSample)
	if err := g.Err(); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return nil
}

// recoverTo turns a panic inside the engine into an error, so that no panic
// crosses the package's API.
func recoverTo(err *error, what string) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("train: %s failed: %v", what, r)
	}
}
