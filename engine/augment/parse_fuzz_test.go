package augment

import (
	"math"
	"reflect"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "none", "affine,elastic,noise", fullSpec,
		"affine(degrees=15, scale_min=0.8, scale_max=1.2, translate=0.2, shear=10, fill=-0.42)",
		"elastic(alpha=1e4,sigma=100)", "crop(pad=4096)", "noise(std=0x1p-3)", "cutout(size=1,p=0)",
		"affine(", "noise(std=1,,)", "hflip(p=NaN)", "elastic(sigma=1e-300)", "brightness(delta=-0)",
		"affine,mixup(alpha=0.2)", "cutmix(alpha=1,p=0.5)", "mixup(alpha=1e-300)", "mixup(alpha=5e-324)", "cutmix(alpha=100)",
		"mixup(alpha=0)", "mixup,affine", "cutmix,mixup", "mixup(p=0x1p-1,alpha=.5)",
	} {
		f.Add(s)
	}
	s := Shape{C: 2, H: 5, W: 7}
	src := randomImage(s, 1)
	dst := make([]float32, s.Len())
	batch := make([]float32, 2*s.Len())
	mix, lambda := make([]int32, 2), make([]float32, 2)
	f.Fuzz(func(t *testing.T, spec string) {
		cfgs, err := Parse(spec)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("Parse(%q): error of type %T, want *Error", spec, err)
			}
			return
		}
		again, err := Parse(Format(cfgs))
		if err != nil {
			t.Fatalf("Parse(Format(Parse(%q))) = %q: %v", spec, Format(cfgs), err)
		}
		if !reflect.DeepEqual(again, cfgs) {
			t.Fatalf("round trip of %q: %+v, want %+v", spec, again, cfgs)
		}
		p, err := New(cfgs, -0.5)
		if err != nil {
			t.Fatalf("New on the parsed %q: %v", spec, err)
		}
		// Every accepted configuration must run, and the parameter bounds
		// keep the values finite.
		w := p.NewWorker(1)
		w.Apply(dst, src, s, 0, 0)
		for i, v := range dst {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("%q: value %d is %v", spec, i, v)
			}
		}
		// A batch mix must run on a batch and keep λ a weight.
		copy(batch, src)
		copy(batch[s.Len():], dst)
		if _, err := w.MixBatch(batch, s, 0, []int{0, 1}, []int32{3, 4}, mix, lambda); err != nil {
			t.Fatalf("%q: MixBatch: %v", spec, err)
		}
		for i, v := range batch {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("%q: mixed value %d is %v", spec, i, v)
			}
		}
		for i, l := range lambda {
			if !(l >= 0 && l <= 1) {
				t.Fatalf("%q: λ[%d] = %v", spec, i, l)
			}
		}
	})
}
