package optim

import (
	"fmt"
	"slices"

	"github.com/troupe-ml/troupe/kernels"
)

// SGDConfig holds the hyper-parameters of torch.optim.SGD other than the
// learning rate. The zero value is plain gradient descent.
type SGDConfig struct {
	Momentum    float32
	WeightDecay float32
	Nesterov    bool
	Dampening   float32
	// CPU, when not nil, runs the updates with its implementation and
	// splits large parameters between its threads; otherwise they run on
	// the calling goroutine with the fastest implementation. It is not a
	// hyper-parameter: the result does not depend on the thread count.
	CPU *kernels.CPU
}

// SGD is stochastic gradient descent with optional momentum, dampening,
// Nesterov momentum and L2 weight decay, matching torch.optim.SGD.
type SGD struct {
	params []Param
	cfg    SGDConfig
	// momentum holds one buffer per param, or is nil when Momentum is 0.
	momentum [][]float32
	slots    []slot
	step     int
}

var _ Optimizer = (*SGD)(nil)

// NewSGD returns an SGD optimizer over params. It rejects mismatched
// Data/Grad lengths, empty or duplicate names, negative or non-finite
// hyper-parameters, and Nesterov without momentum or with dampening (which
// PyTorch rejects too).
func NewSGD(params []Param, c SGDConfig) (*SGD, error) {
	if err := validateParams(params); err != nil {
		return nil, fmt.Errorf("NewSGD: %w", err)
	}
	for _, f := range []struct {
		name string
		v    float32
	}{
		{"SGDConfig.Momentum", c.Momentum},
		{"SGDConfig.WeightDecay", c.WeightDecay},
		{"SGDConfig.Dampening", c.Dampening},
	} {
		if err := checkNonNeg(f.name, f.v); err != nil {
			return nil, fmt.Errorf("NewSGD: %w", err)
		}
	}
	if c.Nesterov && (c.Momentum == 0 || c.Dampening != 0) {
		return nil, fmt.Errorf("NewSGD: optim: SGDConfig.Nesterov needs Momentum > 0 and Dampening == 0 (have %v, %v): %w",
			c.Momentum, c.Dampening, ErrConfig)
	}
	o := &SGD{params: slices.Clone(params), cfg: c}
	if c.Momentum != 0 {
		o.momentum = newSlab(params)
		o.slots = make([]slot, len(params))
		for i, p := range params {
			o.slots[i] = slot{name: p.Name + ".momentum", data: o.momentum[i]}
		}
	}
	return o, nil
}

// Step applies one SGD update with learning rate lr. It allocates nothing.
func (o *SGD) Step(lr float32) {
	// PyTorch starts the buffer as a plain copy of the first gradient; the
	// general update with these two factors does exactly that.
	s := kernels.SGDStep{
		LR:        lr,
		BufScale:  o.cfg.Momentum,
		GradScale: float32(1 - float64(o.cfg.Dampening)),
		Nesterov:  o.cfg.Nesterov,
		Momentum:  o.cfg.Momentum,
	}
	if o.step == 0 {
		s.BufScale, s.GradScale = 0, 1
	}
	for i := range o.params {
		p := &o.params[i]
		s.WeightDecay = o.cfg.WeightDecay
		if p.NoDecay {
			s.WeightDecay = 0
		}
		var buf []float32
		if o.momentum != nil {
			buf = o.momentum[i]
		}
		if o.cfg.CPU != nil {
			o.cfg.CPU.SGD(s, p.Data, p.Grad, buf)
		} else {
			kernels.SGD(s, p.Data, p.Grad, buf)
		}
	}
	o.step++
}

// Params returns a copy of the parameter list; the slices still alias the
// model's buffers.
func (o *SGD) Params() []Param { return slices.Clone(o.params) }

// Steps returns how many times Step has run, counting loaded state.
func (o *SGD) Steps() int { return o.step }

// State returns copies of "step" and, with momentum, "<name>.momentum".
func (o *SGD) State() []StateTensor { return snapshot(o.step, o.slots) }

// LoadState replaces the step count and momentum buffers. Every tensor
// must be present exactly once with the right length and finite values;
// otherwise it returns an error naming the tensor and changes nothing.
func (o *SGD) LoadState(ts []StateTensor) error {
	step, err := restore(ts, o.slots)
	if err != nil {
		return fmt.Errorf("SGD.LoadState: %w", err)
	}
	o.step = step
	return nil
}
