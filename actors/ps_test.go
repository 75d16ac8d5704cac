package actors

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/troupe-ml/troupe/actors/core"
	"github.com/troupe-ml/troupe/engine/optim"
	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/train"
)

// A shard's updates must not depend on where the gradients lie: in a lone
// replica's memory that the optimizer is bound to, in other memory (as a
// push from another process brings), which ends the binding, or in the
// replica's memory again afterwards.
func TestShardUpdatesWhereverGradientsLie(t *testing.T) {
	for _, opt := range []spec.Optimizer{spec.SGD, spec.AdamW} {
		t.Run(string(opt), func(t *testing.T) {
			job := tinyJob(1)
			job.Optimizer = opt
			p, err := newPlan(Config{Job: job, Workers: 1, PSShards: 2}, synth(64, 1), synth(10, 2))
			if err != nil {
				t.Fatal(err)
			}
			s := newShard(p, nil, newOutcome(), 1, &depthGauge{})
			if err := s.start(); err != nil {
				t.Fatal(err)
			}
			ref := slices.Clone(s.params)
			for i := range ref {
				ref[i].Data = slices.Clone(ref[i].Data)
				ref[i].Grad = make([]float32, len(ref[i].Data))
			}
			refOpt, err := train.NewOptimizerFor(job, ref)
			if err != nil {
				t.Fatal(err)
			}
			replica, elsewhere := s.newBuffers(), s.newBuffers()
			r := rand.New(rand.NewPCG(1, 2))
			// A push's views land in one reused scratch slice, as in push.
			var scratch [][]float32
			for step, src := range [][][]float32{replica, replica, elsewhere, replica, replica} {
				for i := range src {
					for j := range src[i] {
						src[i][j] = float32(r.NormFloat64())
						ref[i].Grad[j] = src[i][j]
					}
				}
				scratch = append(scratch[:0], src...)
				s.pushed[gradKey{w: workerID(0), step: step}] = held{g: scratch, lent: true}
				a := core.Apply{Grads: []core.GradRef{{Worker: workerID(0), Step: step}}, Scale: 1, Version: uint64(step + 1)}
				if err := s.apply(a); err != nil {
					t.Fatal(err)
				}
				refOpt.Step(s.sched.LR(step))
				if bound := s.bound != nil; bound != (step < 2) {
					t.Fatalf("step %d: bound to the replica's memory: %v, want %v", step, bound, step < 2)
				}
				sameParams(t, step, ref, s.params)
			}
		})
	}
}

func sameParams(t *testing.T, step int, want, got []optim.Param) {
	t.Helper()
	for i := range want {
		for j, w := range want[i].Data {
			if g := got[i].Data[j]; math.Float32bits(g) != math.Float32bits(w) {
				t.Fatalf("step %d: %s[%d] = %v, want %v", step, want[i].Name, j, g, w)
			}
		}
	}
}

// Should a gradient still be held when the shard answers its pusher, which
// the clocks never allow today, keep copies it first: after the reply the
// replica may overwrite its memory, and the update must not see that.
func TestShardKeepsHeldGradientBeforeReply(t *testing.T) {
	job := tinyJob(1)
	p, err := newPlan(Config{Job: job, Workers: 2, Sync: core.SSP, Staleness: 1}, synth(64, 1), synth(10, 2))
	if err != nil {
		t.Fatal(err)
	}
	s := newShard(p, nil, newOutcome(), 0, &depthGauge{})
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	before := slices.Clone(s.params[0].Data)
	replica := s.newBuffers()
	for i := range replica {
		for j := range replica[i] {
			replica[i][j] = 1
		}
	}
	key := gradKey{w: workerID(1), step: 0}
	s.pushed[key] = held{g: replica, lent: true}
	s.keep(workerID(1))
	if h := s.pushed[key]; h.lent || &h.g[0][0] == &replica[0][0] {
		t.Fatal("the gradient is still a view of the replica's memory after keep")
	}
	replica[0][0] = 1e6 // the replica computes its next gradient
	if err := s.apply(core.Apply{Grads: []core.GradRef{{Worker: workerID(1), Step: 0}}, Scale: 1, Version: 1}); err != nil {
		t.Fatal(err)
	}
	// SGD with momentum's first step moves w by lr × (g + wd × w); with
	// g = 1 it cannot move by anything near 1e6 × lr.
	if d := before[0] - s.params[0].Data[0]; math.Abs(float64(d)) > 1 {
		t.Fatalf("parameter 0 moved by %v: the update read the replica's later gradient", d)
	}
	if _, ok := s.lentBy(workerID(1)); ok {
		t.Fatal("a loan is still recorded after the update")
	}
}
