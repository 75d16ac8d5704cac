package augment

import (
	"fmt"
	"math"
)

// param describes one numeric parameter of a named transform.
type param struct {
	name     string
	def      float64
	min, max float64 // inclusive bounds
	minOpen  bool    // min itself is not allowed
	integer  bool
	doc      string
}

// kind describes a named transform: its default probability, parameters and
// how to build it from resolved values. fill, when true, adds the "fill"
// parameter whose default is the pipeline's background value.
type kind struct {
	name   string
	p      float64
	doc    string
	fill   bool
	params []param
	check  func(v map[string]float64) (param, reason string) // constraints between parameters; "" when met
	build  func(v map[string]float64, fill float32) (Transform, error)
	mixer  func(v map[string]float64) Mixer // set for batch mixes, which have no build
}

// kinds lists the named transforms, the per-sample ones then the batch mixes
// (mixKinds). It builds the table afresh on every call so that the package
// holds no mutable state; it runs only while parsing.
func kinds() []kind {
	return append([]kind{
		{
			name: "affine", p: 1, fill: true,
			doc: "random rotation, scale, shear and translation with bilinear sampling",
			params: []param{
				{name: "degrees", def: 10, min: 0, max: 180, doc: "rotation drawn from U(-degrees, degrees)"},
				{name: "scale_min", def: 0.9, min: 0, max: 100, minOpen: true, doc: "smallest scale"},
				{name: "scale_max", def: 1.1, min: 0, max: 100, minOpen: true, doc: "largest scale"},
				{name: "translate", def: 0.1, min: 0, max: 1, doc: "shift drawn from U(-translate, translate) times W and H"},
				{name: "shear", def: 0, min: 0, max: 80, doc: "x-shear drawn from U(-shear, shear) degrees"},
			},
			check: func(v map[string]float64) (string, string) {
				if v["scale_min"] > v["scale_max"] {
					return "scale_min", fmt.Sprintf("%g exceeds scale_max = %g", v["scale_min"], v["scale_max"])
				}
				return "", ""
			},
			build: func(v map[string]float64, fill float32) (Transform, error) {
				return &Affine{Degrees: v["degrees"], ScaleMin: v["scale_min"], ScaleMax: v["scale_max"],
					Translate: v["translate"], Shear: v["shear"], Fill: fill}, nil
			},
		},
		{
			name: "elastic", p: 1, fill: true,
			doc: "elastic distortion (Simard et al. 2003)",
			params: []param{
				{name: "alpha", def: 34, min: 0, max: 1e4, doc: "displacement scale in pixels"},
				{name: "sigma", def: 4, min: 0, max: 100, minOpen: true, doc: "Gaussian smoothing of the field in pixels"},
			},
			build: func(v map[string]float64, fill float32) (Transform, error) {
				return NewElastic(v["alpha"], v["sigma"], fill)
			},
		},
		{
			name: "noise", p: 1,
			doc:    "additive Gaussian noise",
			params: []param{{name: "std", def: 0.1, min: 0, max: 1e6, doc: "standard deviation in data units"}},
			build: func(v map[string]float64, _ float32) (Transform, error) {
				return &Noise{Std: v["std"]}, nil
			},
		},
		{
			name: "crop", p: 1, fill: true,
			doc:    "random crop of the original size from the image padded on every side",
			params: []param{{name: "pad", def: 2, min: 0, max: 4096, integer: true, doc: "padding in pixels"}},
			build: func(v map[string]float64, fill float32) (Transform, error) {
				return &Crop{Pad: int(v["pad"]), Fill: fill}, nil
			},
		},
		{
			name: "hflip", p: 0.5, doc: "left-right mirror",
			build: func(map[string]float64, float32) (Transform, error) { return &Flip{}, nil },
		},
		{
			name: "vflip", p: 0.5, doc: "top-bottom mirror",
			build: func(map[string]float64, float32) (Transform, error) { return &Flip{Vertical: true}, nil },
		},
		{
			name: "cutout", p: 1, fill: true,
			doc:    "erase a random box",
			params: []param{{name: "size", def: 0.25, min: 0, max: 1, minOpen: true, doc: "box side as a fraction of the image side"}},
			build: func(v map[string]float64, fill float32) (Transform, error) {
				return &Cutout{Size: v["size"], Fill: fill}, nil
			},
		},
		{
			name: "brightness", p: 1,
			doc:    "add one random offset to the whole sample",
			params: []param{{name: "delta", def: 0.2, min: 0, max: 1e6, doc: "offset drawn from U(-delta, delta) in data units"}},
			build: func(v map[string]float64, _ float32) (Transform, error) {
				return &Brightness{Delta: v["delta"]}, nil
			},
		},
		{
			name: "contrast", p: 1,
			doc:    "scale deviations from each channel's mean",
			params: []param{{name: "factor", def: 0.2, min: 0, max: 1, doc: "factor drawn from U(1-factor, 1+factor)"}},
			build: func(v map[string]float64, _ float32) (Transform, error) {
				return &Contrast{Factor: v["factor"]}, nil
			},
		},
	}, mixKinds()...)
}

// Names lists the transforms Parse and New know, in a fixed order.
func Names() []string {
	ks := kinds()
	names := make([]string, len(ks))
	for i, k := range ks {
		names[i] = k.name
	}
	return names
}

func lookup(name string) (kind, bool) {
	for _, k := range kinds() {
		if k.name == name {
			return k, true
		}
	}
	return kind{}, false
}

// check tests v against the bounds of p and says what is wrong.
func (p param) check(v float64) (reason string, ok bool) {
	lo := "≤"
	if p.minOpen {
		lo = "<"
	}
	if math.IsNaN(v) || v > p.max || v < p.min || (p.minOpen && v == p.min) {
		return fmt.Sprintf("%g: want %g %s %s ≤ %g", v, p.min, lo, p.name, p.max), false
	}
	if p.integer && v != math.Trunc(v) {
		return fmt.Sprintf("%g: want a whole number", v), false
	}
	return "", true
}
