package augment

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// MaxSteps bounds the length of a pipeline.
const MaxSteps = 64

// Config names one transform of a pipeline, the probability that it runs on
// a sample and its parameters. Missing parameters take their defaults (see
// Describe); a nil P takes the transform's default probability, 1 for all
// but the flips, which default to 0.5. P = 0 turns the step off.
//
// Every transform that moves pixels (affine, elastic, crop, cutout) also
// takes "fill", the value of pixels that come from outside the image; its
// default is the background value given to New.
type Config struct {
	Name   string             `yaml:"name" json:"name"`
	P      *float64           `yaml:"p,omitempty" json:"p,omitempty"`
	Params map[string]float64 `yaml:"params,omitempty" json:"params,omitempty"`
}

// Prob returns a pointer to p, for Config literals.
func Prob(p float64) *float64 { return &p }

// Validate reports an unknown transform or parameter, or a value out of
// range; the error is an *Error naming both.
func (c Config) Validate() error {
	_, err := c.resolve(0)
	return err
}

// Defaults returns the configuration of transform name with its default
// probability and every parameter at its default, fill excepted.
func Defaults(name string) (Config, error) {
	k, ok := lookup(name)
	if !ok {
		return Config{}, unknownTransform(name, 0)
	}
	c := Config{Name: name, P: Prob(k.p)}
	if len(k.params) > 0 {
		c.Params = make(map[string]float64, len(k.params))
		for _, p := range k.params {
			c.Params[p.name] = p.def
		}
	}
	return c, nil
}

// resolved is a validated configuration with every default filled in.
type resolved struct {
	kind   kind
	p      float64
	values map[string]float64
	fill   *float64 // nil: use the pipeline's background
}

// resolve validates c; step (1-based, 0 for none) only labels errors.
func (c Config) resolve(step int) (resolved, error) {
	k, ok := lookup(c.Name)
	if !ok {
		return resolved{}, unknownTransform(c.Name, step)
	}
	bad := func(param, format string, args ...any) error {
		return &Error{Offset: -1, Step: step, Transform: c.Name, Param: param, Reason: fmt.Sprintf(format, args...)}
	}
	r := resolved{kind: k, p: k.p, values: make(map[string]float64, len(k.params))}
	if c.P != nil {
		if p := *c.P; !(p >= 0 && p <= 1) {
			return resolved{}, bad("p", "%g: want a probability, 0 ≤ p ≤ 1", p)
		}
		r.p = *c.P
	}
	for _, key := range slices.Sorted(maps.Keys(c.Params)) {
		v := c.Params[key]
		if key == "fill" && k.fill {
			if f := float32(v); math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
				return resolved{}, bad(key, "%g: want a finite float32", v)
			}
			r.fill = &v
			continue
		}
		if key == "p" {
			return resolved{}, bad(key, "belongs in Config.P, not in Params")
		}
		i := slices.IndexFunc(k.params, func(p param) bool { return p.name == key })
		if i < 0 {
			return resolved{}, bad(key, "unknown; %s takes %s", c.Name, paramList(k))
		}
		if reason, ok := k.params[i].check(v); !ok {
			return resolved{}, bad(key, "%s", reason)
		}
		r.values[key] = v
	}
	for _, p := range k.params {
		if _, ok := r.values[p.name]; !ok {
			r.values[p.name] = p.def
		}
	}
	if k.check != nil {
		if param, reason := k.check(r.values); reason != "" {
			return resolved{}, bad(param, "%s", reason)
		}
	}
	return r, nil
}

// config turns r back into a Config with every value explicit; background
// stands in for an unset fill.
func (r resolved) config(background float32) Config {
	c := Config{Name: r.kind.name, P: Prob(r.p)}
	if len(r.values) > 0 || r.kind.fill {
		c.Params = maps.Clone(r.values)
		if c.Params == nil {
			c.Params = map[string]float64{}
		}
		if r.kind.fill {
			c.Params["fill"] = float64(r.fillValue(background))
		}
	}
	return c
}

func (r resolved) fillValue(background float32) float32 {
	if r.fill != nil {
		return float32(*r.fill)
	}
	return background
}

func unknownTransform(name string, step int) *Error {
	return &Error{Offset: -1, Step: step, Transform: name,
		Reason: "unknown transform; known: " + strings.Join(Names(), ", ")}
}

func paramList(k kind) string {
	names := make([]string, 0, len(k.params)+1)
	for _, p := range k.params {
		names = append(names, p.name)
	}
	if k.fill {
		names = append(names, "fill")
	}
	if len(names) == 0 {
		return "no parameters besides p"
	}
	return "p, " + strings.Join(names, ", ")
}

// Describe lists the transforms with their default probability and
// parameters, one block per transform, for command-line help.
func Describe() string {
	var b strings.Builder
	for _, k := range kinds() {
		fmt.Fprintf(&b, "%s (p=%g): %s\n", k.name, k.p, k.doc)
		for _, p := range k.params {
			fmt.Fprintf(&b, "  %s=%g  %s\n", p.name, p.def, p.doc)
		}
		if k.fill {
			b.WriteString("  fill=<background>  value of pixels from outside the image\n")
		}
	}
	return b.String()
}
