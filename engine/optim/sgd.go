package optim

import (
	"fmt"
	"slices"
)

// SGDConfig holds the hyper-parameters of torch.optim.SGD other than the
// learning rate. The zero value is plain gradient descent.
type SGDConfig struct {
	Momentum    float32
	WeightDecay float32
	Nesterov    bool
	Dampening   float32
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
	bufScale := o.cfg.Momentum
	gradScale := float32(1 - float64(o.cfg.Dampening))
	if o.step == 0 {
		bufScale, gradScale = 0, 1
	}
	for i := range o.params {
		p := &o.params[i]
		wd := o.cfg.WeightDecay
		if p.NoDecay {
			wd = 0
		}
		switch {
		case o.momentum == nil:
			sgdPlain(p.Data, p.Grad, lr, wd)
		case o.cfg.Nesterov:
			sgdNesterov(p.Data, p.Grad, o.momentum[i], lr, wd, o.cfg.Momentum, bufScale, gradScale)
		default:
			sgdMomentum(p.Data, p.Grad, o.momentum[i], lr, wd, bufScale, gradScale)
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

func sgdPlain(d, g []float32, lr, wd float32) {
	g = g[:len(d)]
	for i := range d {
		d[i] -= lr * (g[i] + wd*d[i])
	}
}

func sgdMomentum(d, g, buf []float32, lr, wd, bufScale, gradScale float32) {
	g, buf = g[:len(d)], buf[:len(d)]
	for i := range d {
		b := bufScale*buf[i] + gradScale*(g[i]+wd*d[i])
		buf[i] = b
		d[i] -= lr * b
	}
}

func sgdNesterov(d, g, buf []float32, lr, wd, momentum, bufScale, gradScale float32) {
	g, buf = g[:len(d)], buf[:len(d)]
	for i := range d {
		gi := g[i] + wd*d[i]
		b := bufScale*buf[i] + gradScale*gi
		buf[i] = b
		d[i] -= lr * (gi + momentum*b)
	}
}
