package augment

import (
	"fmt"
	"math/rand/v2"
)

// Consecutive geometric steps are resampled once, not once each. Every
// resampling interpolates bilinearly, which blurs strokes a little; an
// affine map followed by an elastic distortion, the classic recipe of
// Simard et al., would blur twice and train a model on softer digits than
// it is tested on. A run of Affine steps ending in an Affine or Elastic
// step, all with the same fill, is therefore fused: the last step's map of
// output pixels to its input coordinates is computed on the pixel grid,
// then every earlier affine step's inverse is applied to those
// coordinates, last to first, and the source is sampled once.
//
// Each step still draws its parameters from its own stream, so a fused run
// uses exactly the draws the unfused steps would, and the output still
// depends only on the pipeline, seed, epoch and sample id. The result
// differs from resampling step by step only by the interpolation error
// that fusing avoids, and where a step moves pixels out of the image and a
// later one brings them back (unfused, they return as fill; fused, as the
// source they came from).

// warpStep reports whether step t can end a fused run (Affine or Elastic)
// and with which fill.
func warpStep(t Transform) (fill float32, ok bool) {
	switch v := t.(type) {
	case *Affine:
		return v.Fill, true
	case *Elastic:
		return v.fill, true
	}
	return 0, false
}

// fusedEnd returns the index of the last step of the fused run that starts
// at running step i, or i when step i runs alone. run has bit k set for
// each step k that runs on this sample; steps that do not run are skipped
// over, as they leave the image unchanged.
func fusedEnd(steps []Step, run uint64, i int) int {
	a, ok := steps[i].T.(*Affine)
	if !ok {
		return i
	}
	end := i
	for k := i + 1; k < len(steps); k++ {
		if run&(1<<k) == 0 {
			continue
		}
		fill, ok := warpStep(steps[k].T)
		if !ok || fill != a.Fill {
			break
		}
		end = k
		if _, affine := steps[k].T.(*Affine); !affine {
			break // an elastic step ends a run: its map is only known on the grid
		}
	}
	return end
}

// applyFused resamples cur into out through the composed maps of the
// running steps first..last (see fusedEnd), seeding w's generator with each
// step's own streams.
func (w *Worker) applyFused(out, cur []float32, s Shape, key uint64, run uint64, first, last int) {
	steps := w.pipe.steps
	n := s.Plane()
	mx, my := grow(&w.sc.mapX, n), grow(&w.sc.mapY, n)
	s0, s1, _ := stepStreams(key, last)
	w.pcg.Seed(s0, s1)
	var fill float32
	switch t := steps[last].T.(type) {
	case *Elastic:
		t.field(mx, my, s.H, s.W, w.rng, &w.sc, true)
		fill = t.fill
	case *Affine:
		fillGrid(mx, my, s, affineInverse(t, s, w.rng))
		fill = t.Fill
	default:
		panic(fmt.Sprintf("augment: fused run ends in %s, want affine or elastic", t.Name()))
	}
	for k := last - 1; k >= first; k-- {
		if run&(1<<k) == 0 {
			continue
		}
		s0, s1, _ := stepStreams(key, k)
		w.pcg.Seed(s0, s1)
		mapPoints(mx, my, affineInverse(steps[k].T.(*Affine), s, w.rng))
	}
	Remap(out, cur, s, mx, my, fill)
}

// affineInverse draws t's map for one sample and inverts it.
func affineInverse(t *Affine, s Shape, rng *rand.Rand) Matrix {
	inv, err := t.Matrix(s, rng).Inverse()
	if err != nil {
		panic(fmt.Sprintf("augment: affine with %+v: %v", *t, err))
	}
	return inv
}

// fillGrid writes m's image of every pixel centre: the coordinate maps of
// resampling through m.
func fillGrid(mx, my []float32, s Shape, m Matrix) {
	i := 0
	for y := range s.H {
		fy := float64(y)
		bx, by := m.B*fy+m.C, m.E*fy+m.F
		for x := range s.W {
			fx := float64(x)
			mx[i] = float32(m.A*fx + bx)
			my[i] = float32(m.D*fx + by)
			i++
		}
	}
}

// mapPoints replaces every point (mx[i], my[i]) by its image under m.
func mapPoints(mx, my []float32, m Matrix) {
	my = my[:len(mx)]
	for i, x := range mx {
		fx, fy := float64(x), float64(my[i])
		mx[i] = float32(m.A*fx + m.B*fy + m.C)
		my[i] = float32(m.D*fx + m.E*fy + m.F)
	}
}
