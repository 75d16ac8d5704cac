package augment

import (
	"fmt"
	"maps"
	"math"
	"strings"
)

// Step is one stage of a Pipeline: a transform and the probability that it
// runs on a given sample.
type Step struct {
	T Transform
	P float64
}

// Pipeline is an ordered list of steps. It is immutable and may be shared by
// any number of Workers.
type Pipeline struct {
	steps []Step
	mix   *MixStep // the batch mix, run after the steps; nil for none
	cfgs  []Config // resolved configurations; nil when built by Compose
}

// New builds the pipeline cfgs describe. background is the value of pixels
// that come from outside the image wherever a step's "fill" is not set; pass
// the normalised value of a black pixel (about -0.4242 for MNIST normalised
// with mean 0.1307 and std 0.3081). Errors are *Error values naming the
// step, transform and parameter.
func New(cfgs []Config, background float32) (*Pipeline, error) {
	if math.IsNaN(float64(background)) || math.IsInf(float64(background), 0) {
		return nil, &Error{Offset: -1, Param: "background", Reason: fmt.Sprintf("%g: want a finite value", background)}
	}
	if len(cfgs) > MaxSteps {
		return nil, &Error{Offset: -1, Reason: fmt.Sprintf("%d steps, want at most %d", len(cfgs), MaxSteps)}
	}
	p := &Pipeline{steps: make([]Step, 0, len(cfgs)), cfgs: make([]Config, 0, len(cfgs))}
	for i, c := range cfgs {
		r, err := c.resolve(i + 1)
		if err != nil {
			return nil, err
		}
		if err := checkMixOrder(cfgs[:i], c, i+1); err != nil {
			return nil, err
		}
		p.cfgs = append(p.cfgs, r.config(background))
		if r.kind.mixer != nil {
			p.mix = &MixStep{M: r.kind.mixer(r.values), P: r.p}
			continue
		}
		t, err := r.kind.build(r.values, r.fillValue(background))
		if err != nil {
			return nil, &Error{Offset: -1, Step: i + 1, Transform: c.Name, Reason: err.Error()}
		}
		p.steps = append(p.steps, Step{T: t, P: r.p})
	}
	return p, nil
}

// Compose builds a pipeline from transforms directly, for transforms that
// have no name in Parse.
func Compose(steps ...Step) (*Pipeline, error) {
	if len(steps) > MaxSteps {
		return nil, &Error{Offset: -1, Reason: fmt.Sprintf("%d steps, want at most %d", len(steps), MaxSteps)}
	}
	for i, s := range steps {
		if s.T == nil {
			return nil, &Error{Offset: -1, Step: i + 1, Reason: "nil transform"}
		}
		if !(s.P >= 0 && s.P <= 1) {
			return nil, &Error{Offset: -1, Step: i + 1, Transform: s.T.Name(), Param: "p",
				Reason: fmt.Sprintf("%g: want a probability, 0 ≤ p ≤ 1", s.P)}
		}
	}
	return &Pipeline{steps: append([]Step(nil), steps...)}, nil
}

// Len is the number of per-sample steps; a batch mix is not one (see Mix).
func (p *Pipeline) Len() int { return len(p.steps) }

// Steps returns a copy of the per-sample steps.
func (p *Pipeline) Steps() []Step { return append([]Step(nil), p.steps...) }

// Mix returns the pipeline's batch mix and true, or false when it has none.
// A Worker runs it in MixBatch; code that augments samples one at a time
// cannot, and should reject a pipeline that has one.
func (p *Pipeline) Mix() (MixStep, bool) {
	if p.mix == nil {
		return MixStep{}, false
	}
	return *p.mix, true
}

// Configs returns the configurations a pipeline built by New runs, with every
// probability and parameter explicit (fill included), so that
// New(Parse(Format(p.Configs()))) rebuilds it whatever the background.
// It is nil for a pipeline built by Compose.
func (p *Pipeline) Configs() []Config {
	if p.cfgs == nil {
		return nil
	}
	out := make([]Config, len(p.cfgs))
	for i, c := range p.cfgs {
		out[i] = Config{Name: c.Name, P: Prob(*c.P), Params: maps.Clone(c.Params)}
	}
	return out
}

// String describes the pipeline: Format(p.Configs()) when built by New, the
// step names and probabilities otherwise.
func (p *Pipeline) String() string {
	if p.cfgs != nil {
		return Format(p.cfgs)
	}
	if len(p.steps) == 0 {
		return "none"
	}
	parts := make([]string, len(p.steps))
	for i, s := range p.steps {
		parts[i] = fmt.Sprintf("%s(p=%g)", s.T.Name(), s.P)
	}
	return strings.Join(parts, ",")
}
