package optim

import (
	"fmt"
	"math"
	"slices"
)

// AdamConfig holds the hyper-parameters of torch.optim.Adam and AdamW other
// than the learning rate. The zero value is not useful; start from
// DefaultAdam or DefaultAdamW.
type AdamConfig struct {
	Beta1, Beta2, Eps, WeightDecay float32
}

// DefaultAdam returns PyTorch's Adam defaults: betas (0.9, 0.999), eps 1e-8,
// no weight decay.
func DefaultAdam() AdamConfig {
	return AdamConfig{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
}

// DefaultAdamW returns PyTorch's AdamW defaults: as DefaultAdam with weight
// decay 0.01.
func DefaultAdamW() AdamConfig {
	c := DefaultAdam()
	c.WeightDecay = 0.01
	return c
}

// Adam is the Adam optimizer with bias correction, either with L2 decay
// added to the gradient (torch.optim.Adam) or with decoupled decay
// (torch.optim.AdamW).
type Adam struct {
	params    []Param
	cfg       AdamConfig
	decoupled bool
	expAvg    [][]float32
	expAvgSq  [][]float32
	slots     []slot
	step      int
}

var _ Optimizer = (*Adam)(nil)

// NewAdam returns torch.optim.Adam: weight decay is added to the gradient
// as wd*p before the moments are updated.
func NewAdam(params []Param, c AdamConfig) (*Adam, error) {
	o, err := newAdam(params, c, false)
	if err != nil {
		return nil, fmt.Errorf("NewAdam: %w", err)
	}
	return o, nil
}

// NewAdamW returns torch.optim.AdamW: weight decay shrinks the parameter
// directly, p -= lr*wd*p, and never enters the moments.
func NewAdamW(params []Param, c AdamConfig) (*Adam, error) {
	o, err := newAdam(params, c, true)
	if err != nil {
		return nil, fmt.Errorf("NewAdamW: %w", err)
	}
	return o, nil
}

func newAdam(params []Param, c AdamConfig, decoupled bool) (*Adam, error) {
	if err := validateParams(params); err != nil {
		return nil, err
	}
	if err := checkBeta("AdamConfig.Beta1", c.Beta1); err != nil {
		return nil, err
	}
	if err := checkBeta("AdamConfig.Beta2", c.Beta2); err != nil {
		return nil, err
	}
	if err := checkNonNeg("AdamConfig.Eps", c.Eps); err != nil {
		return nil, err
	}
	if err := checkNonNeg("AdamConfig.WeightDecay", c.WeightDecay); err != nil {
		return nil, err
	}
	o := &Adam{
		params:    slices.Clone(params),
		cfg:       c,
		decoupled: decoupled,
		expAvg:    newSlab(params),
		expAvgSq:  newSlab(params),
		slots:     make([]slot, 0, 2*len(params)),
	}
	for i, p := range params {
		o.slots = append(o.slots,
			slot{name: p.Name + ".exp_avg", data: o.expAvg[i]},
			slot{name: p.Name + ".exp_avg_sq", data: o.expAvgSq[i], nonNeg: true})
	}
	return o, nil
}

// Step applies one Adam or AdamW update with learning rate lr. It
// allocates nothing.
func (o *Adam) Step(lr float32) {
	o.step++
	t := float64(o.step)
	b1, b2 := float64(o.cfg.Beta1), float64(o.cfg.Beta2)
	k := adamScalars{
		beta1:     o.cfg.Beta1,
		beta2:     o.cfg.Beta2,
		oneMinus1: float32(1 - b1),
		oneMinus2: float32(1 - b2),
		stepSize:  float32(float64(lr) / (1 - math.Pow(b1, t))),
		bc2Sqrt:   float32(math.Sqrt(1 - math.Pow(b2, t))),
		eps:       o.cfg.Eps,
	}
	for i := range o.params {
		p := &o.params[i]
		k.shrink, k.l2 = 1, 0
		if !p.NoDecay && o.cfg.WeightDecay != 0 {
			if o.decoupled {
				k.shrink = float32(1 - float64(lr)*float64(o.cfg.WeightDecay))
			} else {
				k.l2 = o.cfg.WeightDecay
			}
		}
		adamKernel(p.Data, p.Grad, o.expAvg[i], o.expAvgSq[i], &k)
	}
}

// Params returns a copy of the parameter list; the slices still alias the
// model's buffers.
func (o *Adam) Params() []Param { return slices.Clone(o.params) }

// Steps returns how many times Step has run, counting loaded state.
func (o *Adam) Steps() int { return o.step }

// State returns copies of "step", "<name>.exp_avg" and "<name>.exp_avg_sq".
func (o *Adam) State() []StateTensor { return snapshot(o.step, o.slots) }

// LoadState replaces the step count and both moments. Every tensor must be
// present exactly once with the right length and finite values, and second
// moments must be non-negative; otherwise it returns an error naming the
// tensor and changes nothing.
func (o *Adam) LoadState(ts []StateTensor) error {
	step, err := restore(ts, o.slots)
	if err != nil {
		return fmt.Errorf("Adam.LoadState: %w", err)
	}
	o.step = step
	return nil
}

// adamScalars are the per-step factors, rounded once to float32.
type adamScalars struct {
	beta1, beta2         float32
	oneMinus1, oneMinus2 float32
	stepSize             float32 // lr / (1 - beta1^t)
	bc2Sqrt              float32 // sqrt(1 - beta2^t)
	eps                  float32
	shrink               float32 // AdamW's 1 - lr*wd, else 1
	l2                   float32 // Adam's wd, else 0
}

func adamKernel(d, g, m, v []float32, k *adamScalars) {
	g, m, v = g[:len(d)], m[:len(d)], v[:len(d)]
	beta1, beta2 := k.beta1, k.beta2
	om1, om2 := k.oneMinus1, k.oneMinus2
	stepSize, bc2Sqrt, eps := k.stepSize, k.bc2Sqrt, k.eps
	shrink, l2 := k.shrink, k.l2
	for i := range d {
		p := d[i] * shrink
		gi := g[i] + l2*p
		mi := beta1*m[i] + om1*gi
		vi := beta2*v[i] + om2*gi*gi
		m[i], v[i] = mi, vi
		denom := float32(math.Sqrt(float64(vi)))/bc2Sqrt + eps
		d[i] = p - stepSize*mi/denom
	}
}
