package augment

import (
	"fmt"
	"math/rand/v2"
)

// Worker runs a Pipeline on samples. It owns one generator, reseeded for
// every step of every sample from (seed, epoch, id, step), and the scratch
// buffers, so that after the first sample of a shape it does not allocate.
// The output for a sample depends only on the pipeline, seed, epoch and the
// sample's id: any number of Workers of one pipeline and seed, handling
// samples in any order, produce the same bits. A Worker is not safe for concurrent use; give each
// goroutine its own.
type Worker struct {
	pipe *Pipeline
	seed uint64
	pcg  rand.PCG
	rng  *rand.Rand
	sc   Scratch
	mx   mixScratch
}

// NewWorker returns a Worker running p with the given seed.
func (p *Pipeline) NewWorker(seed uint64) *Worker {
	w := &Worker{pipe: p, seed: seed}
	// rand.Rand keeps no state beyond its source, so reseeding the PCG
	// resets the whole generator.
	w.rng = rand.New(&w.pcg)
	return w
}

// Apply writes the augmented src, sample id of epoch, into dst. Both hold
// one sample of shape s; dst may be src itself but may not partly overlap
// it. Step i runs when a uniform draw from the i-th part of the sample's
// key stream falls below its probability, and then draws its parameters
// from a PCG seeded by the rest of that part (see SampleKey), so steps are
// independent of each other. Consecutive running geometric steps (affine
// steps ending in an affine or elastic one, with one fill) resample the
// image once through their composed maps rather than once each (fuse.go).
func (w *Worker) Apply(dst, src []float32, s Shape, epoch, id uint64) {
	mustFit("Worker.Apply", dst, src, s)
	key := SampleKey(w.seed, epoch, id)
	steps := w.pipe.steps
	var run uint64 // bit i: step i runs on this sample
	for i, st := range steps {
		_, _, d := stepStreams(key, i)
		if unit(d) < st.P {
			run |= 1 << i
		}
	}
	// ops lists the first step of each resampling: a step on its own, or
	// a fused run of geometric steps (see fuse.go).
	var ops, ends [MaxSteps]uint8
	k := 0
	for i := range steps {
		if run&(1<<i) == 0 {
			continue
		}
		if k > 0 && i <= int(ends[k-1]) {
			continue
		}
		ops[k], ends[k] = uint8(i), uint8(fusedEnd(steps, run, i))
		k++
	}
	if k == 0 {
		copy(dst, src)
		return
	}
	if &dst[0] == &src[0] {
		src = grow(&w.sc.alias, len(src))
		copy(src, dst)
	}
	// Alternate between dst and a scratch image so that the last step
	// writes into dst and no final copy is needed.
	tmp := grow(&w.sc.img, len(src))
	cur := src
	for j, op := range ops[:k] {
		out := tmp
		if (k-1-j)%2 == 0 {
			out = dst
		}
		i, end := int(op), int(ends[j])
		if end > i {
			w.applyFused(out, cur, s, key, run, i, end)
		} else {
			s0, s1, _ := stepStreams(key, i)
			w.pcg.Seed(s0, s1)
			steps[i].T.Apply(out, cur, s, w.rng, &w.sc)
		}
		cur = out
	}
}

// ApplyBatch applies the pipeline to len(ids) consecutive samples of shape s
// in src, sample k having id ids[k] (a dataset index), writing into dst. dst
// may be src itself.
func (w *Worker) ApplyBatch(dst, src []float32, s Shape, epoch uint64, ids []int) {
	n := s.Len()
	if len(dst) != len(ids)*n || len(src) != len(ids)*n {
		panic(fmt.Sprintf("augment: ApplyBatch of %d samples of %dx%dx%d: len(dst)=%d, len(src)=%d, want %d",
			len(ids), s.C, s.H, s.W, len(dst), len(src), len(ids)*n))
	}
	for k, id := range ids {
		w.Apply(dst[k*n:(k+1)*n], src[k*n:(k+1)*n], s, epoch, uint64(id))
	}
}
