package augment

import (
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Parse reads a pipeline spec: transform names separated by commas, each
// optionally followed by parameters in parentheses, for example
//
//	affine,elastic,noise
//	affine(degrees=15, scale_min=0.8, scale_max=1.2), elastic(alpha=34, sigma=4, p=0.5), noise(std=0.05)
//
// The parameter p is the step's probability; the others are listed by
// Describe. A batch mix (mixup, cutmix) comes last, at most one per spec.
// Spaces around tokens are ignored. An empty spec, or "none", is the empty
// pipeline. The result is validated; errors are *Error values giving the
// byte offset, step, transform and parameter.
func Parse(spec string) ([]Config, error) {
	p := parser{spec: spec}
	p.space()
	if p.done() || strings.TrimSpace(spec) == "none" {
		return nil, nil
	}
	var cfgs []Config
	for {
		if len(cfgs) == MaxSteps {
			return nil, p.fail(len(cfgs)+1, "", "", "more than "+strconv.Itoa(MaxSteps)+" steps")
		}
		start := p.pos
		c, err := p.item(len(cfgs) + 1)
		if err != nil {
			return nil, err
		}
		if _, err := c.resolve(len(cfgs) + 1); err != nil {
			e := err.(*Error)
			e.Spec, e.Offset = spec, start
			return nil, e
		}
		if e := checkMixOrder(cfgs, c, len(cfgs)+1); e != nil {
			e.Spec, e.Offset = spec, start
			return nil, e
		}
		cfgs = append(cfgs, c)
		p.space()
		if p.done() {
			return cfgs, nil
		}
		if !p.eat(',') {
			return nil, p.fail(len(cfgs), c.Name, "", "want ',' between transforms or the end of the spec")
		}
		p.space()
	}
}

type parser struct {
	spec string
	pos  int
}

func (p *parser) done() bool { return p.pos >= len(p.spec) }

func (p *parser) space() {
	for !p.done() && (p.spec[p.pos] == ' ' || p.spec[p.pos] == '\t' || p.spec[p.pos] == '\n' || p.spec[p.pos] == '\r') {
		p.pos++
	}
}

func (p *parser) eat(b byte) bool {
	if !p.done() && p.spec[p.pos] == b {
		p.pos++
		return true
	}
	return false
}

func (p *parser) fail(step int, transform, param, reason string) *Error {
	return &Error{Spec: p.spec, Offset: p.pos, Step: step, Transform: transform, Param: param, Reason: reason}
}

// ident reads a name: lower-case letters, digits and underscores.
func (p *parser) ident() string {
	start := p.pos
	for !p.done() {
		b := p.spec[p.pos]
		if (b < 'a' || b > 'z') && (b < '0' || b > '9') && b != '_' {
			break
		}
		p.pos++
	}
	return p.spec[start:p.pos]
}

// number reads everything up to the next separator and parses it.
func (p *parser) number() (float64, bool) {
	start := p.pos
	for !p.done() && !strings.ContainsRune(",) \t\r\n", rune(p.spec[p.pos])) {
		p.pos++
	}
	v, err := strconv.ParseFloat(p.spec[start:p.pos], 64)
	if err != nil {
		p.pos = start
		return 0, false
	}
	return v, true
}

// item reads one transform with its optional parameter list.
func (p *parser) item(step int) (Config, error) {
	name := p.ident()
	if name == "" {
		return Config{}, p.fail(step, "", "", "want a transform name (lower case); known: "+strings.Join(Names(), ", "))
	}
	c := Config{Name: name}
	p.space()
	if !p.eat('(') {
		return c, nil
	}
	for {
		p.space()
		if p.eat(')') {
			return c, nil
		}
		if len(c.Params) > 0 || c.P != nil {
			if !p.eat(',') {
				return Config{}, p.fail(step, name, "", "want ',' or ')' after a parameter")
			}
			p.space()
		}
		at := p.pos
		key := p.ident()
		if key == "" {
			return Config{}, p.fail(step, name, "", "want a parameter name")
		}
		p.space()
		if !p.eat('=') {
			return Config{}, p.fail(step, name, key, "want '=' after the parameter name")
		}
		p.space()
		v, ok := p.number()
		if !ok {
			return Config{}, p.fail(step, name, key, "want a number")
		}
		_, dup := c.Params[key]
		if dup || (key == "p" && c.P != nil) {
			p.pos = at
			return Config{}, p.fail(step, name, key, "given twice")
		}
		if key == "p" {
			c.P = Prob(v)
			continue
		}
		if c.Params == nil {
			c.Params = make(map[string]float64)
		}
		c.Params[key] = v
	}
}

// Format writes cfgs in the syntax Parse reads, p first and the other
// parameters in name order, with numbers in the shortest form that parses
// back to the same value. Parse(Format(c)) gives back c for any c that Parse
// returned.
func Format(cfgs []Config) string {
	if len(cfgs) == 0 {
		return "none"
	}
	var b strings.Builder
	for i, c := range cfgs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(c.Name)
		if c.P == nil && len(c.Params) == 0 {
			continue
		}
		b.WriteByte('(')
		sep := ""
		if c.P != nil {
			b.WriteString("p=" + strconv.FormatFloat(*c.P, 'g', -1, 64))
			sep = ","
		}
		for _, k := range slices.Sorted(maps.Keys(c.Params)) {
			b.WriteString(sep + k + "=" + strconv.FormatFloat(c.Params[k], 'g', -1, 64))
			sep = ","
		}
		b.WriteByte(')')
	}
	return b.String()
}
