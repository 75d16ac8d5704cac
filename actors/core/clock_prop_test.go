package core

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// refClock is the naive model the Clock is compared with: explicit per-worker
// clocks in a map, the slowest clock recomputed from scratch on every
// question, every rule written the long way.
type refClock struct {
	mode      Consistency
	s         int
	version   uint64
	order     []WorkerID // live, join order
	clock     map[WorkerID]int
	waiting   map[WorkerID]bool
	pending   map[int][]GradRef // BSP: step → pushes not applied yet
	lastFloor int
	// departed holds the clock at leave of each worker that left since
	// the live set was last empty.
	departed map[WorkerID]int
}

func newRefClock(cfg ClockConfig) *refClock {
	r := &refClock{mode: cfg.Mode, s: cfg.Staleness, version: cfg.Version, clock: map[WorkerID]int{},
		waiting: map[WorkerID]bool{}, pending: map[int][]GradRef{}, lastFloor: cfg.Step, departed: map[WorkerID]int{}}
	for _, w := range cfg.Workers {
		r.order = append(r.order, w)
		r.clock[w] = cfg.Step
	}
	return r
}

func (r *refClock) live(w WorkerID) bool { return slices.Contains(r.order, w) }

func (r *refClock) slowest() int {
	if len(r.order) == 0 {
		return r.lastFloor
	}
	m := int(^uint(0) >> 1)
	for _, w := range r.order {
		if r.clock[w] < m {
			m = r.clock[w]
		}
	}
	return m
}

func (r *refClock) ok(t int) bool { return r.mode == Async || t-r.slowest() <= r.s }

// step returns the expected actions, or the error class expected.
func (r *refClock) step(ev ClockEvent) ([]ClockAction, error) {
	var out []ClockAction
	switch e := ev.(type) {
	case Push:
		if !r.live(e.Worker) {
			return nil, ErrUnknown
		}
		c := r.clock[e.Worker]
		switch {
		case e.Step < c:
			return nil, ErrDuplicate
		case e.Step > c, e.Version > r.version, !r.ok(e.Step):
			return nil, ErrProtocol
		}
		r.clock[e.Worker]++
		g := GradRef(e)
		if r.mode == BSP {
			r.pending[e.Step] = append(r.pending[e.Step], g)
		} else {
			r.version++
			out = append(out, Apply{Grads: []GradRef{g}, Scale: 1, Version: r.version})
		}
	case Pull:
		if !r.live(e.Worker) {
			return nil, ErrUnknown
		}
		c := r.clock[e.Worker]
		switch {
		case e.Step < c, e.Step == c && r.waiting[e.Worker]:
			return nil, ErrDuplicate
		case e.Step > c:
			return nil, ErrProtocol
		}
		if r.ok(c) {
			return []ClockAction{Reply{e.Worker, c, r.version}}, nil
		}
		r.waiting[e.Worker] = true
		return nil, nil
	case WorkerLeft:
		if !r.live(e.Worker) {
			return nil, nil
		}
		r.departed[e.Worker] = max(r.departed[e.Worker], r.clock[e.Worker])
		r.order = slices.DeleteFunc(r.order, func(w WorkerID) bool { return w == e.Worker })
		delete(r.waiting, e.Worker)
		if len(r.order) == 0 {
			// The furthest of those who left, whatever order they left in.
			for _, c := range r.departed {
				r.lastFloor = max(r.lastFloor, c)
			}
			clear(r.departed)
		}
	case WorkerJoined:
		if r.live(e.Worker) {
			return nil, nil
		}
		start := r.slowest()
		for _, g := range r.pending[start] {
			if g.Worker == e.Worker {
				start++
				break
			}
		}
		r.order = append(r.order, e.Worker)
		r.clock[e.Worker] = start
		return []ClockAction{Admit{e.Worker, start}}, nil
	}
	// BSP: a step is complete when every live worker's clock is past it.
	for t, gs := range r.pending {
		complete := true
		for _, w := range r.order {
			if r.clock[w] <= t {
				complete = false
			}
		}
		if complete {
			r.version++
			out = append(out, Apply{Grads: gs, Scale: 1 / float32(len(gs)), Version: r.version})
			delete(r.pending, t)
			r.lastFloor = max(r.lastFloor, t+1)
		}
	}
	for _, w := range r.order {
		if r.waiting[w] && r.ok(r.clock[w]) {
			delete(r.waiting, w)
			out = append(out, Reply{w, r.clock[w], r.version})
		}
	}
	if len(r.order) > 0 {
		r.lastFloor = r.slowest()
	}
	return out, nil
}

type clockSim struct {
	t       *testing.T
	rng     *rand.Rand
	k       *Clock
	ref     *refClock
	pool    []WorkerID // every ID the run may use, live or not
	applied map[int]bool
	pulls   map[WorkerID]int // accepted pulls not yet answered
	turns   int
}

func (sim *clockSim) step(ev ClockEvent) []ClockAction {
	before := sim.k.clone()
	// Invariants are judged on the reference state before the event.
	slowBefore := sim.ref.slowest()
	got, err := sim.k.Step(ev)
	unchangedOnError(sim.t, err, before, sim.k, ev)
	want, wantErr := sim.ref.step(ev)
	if (err == nil) != (wantErr == nil) || (err != nil && !errors.Is(err, wantErr)) {
		sim.t.Fatalf("turn %d: %#v: error %v, naive model says %v", sim.turns, ev, err, wantErr)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		sim.t.Fatalf("turn %d: %#v:\n got  %v\n want %v", sim.turns, ev, got, want)
	}
	if err != nil {
		return nil
	}
	if p, ok := ev.(Push); ok && sim.ref.mode != Async && p.Step-slowBefore > sim.ref.s {
		sim.t.Fatalf("turn %d: push %v accepted %d steps ahead of the slowest", sim.turns, p, p.Step-slowBefore)
	}
	if p, ok := ev.(Pull); ok && len(got) == 0 {
		sim.pulls[p.Worker]++
	}
	if l, ok := ev.(WorkerLeft); ok {
		delete(sim.pulls, l.Worker)
	}
	version := before.version
	for _, a := range got {
		switch a := a.(type) {
		case Apply:
			version++
			if a.Version != version {
				sim.t.Fatalf("turn %d: %v, want version %d", sim.turns, a, version)
			}
			if sim.ref.mode == BSP {
				t0 := a.Grads[0].Step
				for _, g := range a.Grads {
					if g.Step != t0 {
						sim.t.Fatalf("turn %d: %v mixes steps", sim.turns, a)
					}
				}
				if sim.applied[t0] {
					sim.t.Fatalf("turn %d: step %d averaged twice", sim.turns, t0)
				}
				sim.applied[t0] = true
				if a.Scale != 1/float32(len(a.Grads)) {
					sim.t.Fatalf("turn %d: %v: scale is not 1/%d", sim.turns, a, len(a.Grads))
				}
			}
		case Reply:
			if a.Version != version {
				sim.t.Fatalf("turn %d: %v, want the version after this event's applies, %d", sim.turns, a, version)
			}
			if sim.ref.mode != Async && a.Step-sim.ref.slowest() > sim.ref.s {
				sim.t.Fatalf("turn %d: %v answered %d steps ahead of the slowest", sim.turns, a, a.Step-sim.ref.slowest())
			}
			if _, direct := ev.(Pull); !direct || ev.(Pull).Worker != a.Worker {
				sim.pulls[a.Worker]--
			}
		}
	}
	// Liveness: nobody waits who could go.
	for _, w := range sim.ref.order {
		if sim.ref.waiting[w] && sim.ref.ok(sim.ref.clock[w]) {
			sim.t.Fatalf("turn %d: %s still waits though it may proceed", sim.turns, w)
		}
	}
	return got
}

func (sim *clockSim) randomEvent() ClockEvent {
	w := sim.pool[sim.rng.IntN(len(sim.pool))]
	c := sim.ref.clock[w] + sim.rng.IntN(4) - 1 // mostly its own step, sometimes off
	if sim.rng.IntN(3) > 0 {
		c = sim.ref.clock[w]
	}
	v := sim.ref.version
	if sim.rng.IntN(10) == 0 {
		v++
	} else if v > 0 && sim.rng.IntN(3) == 0 {
		v -= uint64(sim.rng.IntN(int(min(v, 3))))
	}
	switch n := sim.rng.IntN(40); {
	case n < 18:
		return Push{w, c, v}
	case n < 36:
		return Pull{w, c}
	case n < 38:
		return WorkerLeft{w}
	default:
		return WorkerJoined{w}
	}
}

// drain lets the slowest worker that is not waiting pull and push until all
// live workers stand at the same step; every pull held back must have been
// answered on the way.
func (sim *clockSim) drain() {
	for range 10000 {
		var w WorkerID
		for _, x := range sim.ref.order {
			if sim.ref.waiting[x] {
				continue
			}
			if w == "" || sim.ref.clock[x] < sim.ref.clock[w] {
				w = x
			}
		}
		if w == "" {
			if len(sim.ref.order) > 0 {
				sim.t.Fatal("drain: every live worker waits")
			}
			return
		}
		top := 0
		for _, x := range sim.ref.order {
			top = max(top, sim.ref.clock[x])
		}
		if sim.ref.clock[w] == top && len(sim.ref.waiting) == 0 && len(sim.ref.pending) == 0 {
			break
		}
		c := sim.ref.clock[w]
		sim.step(Pull{w, c})
		sim.step(Push{w, c, sim.ref.version})
	}
	if len(sim.ref.waiting) != 0 {
		sim.t.Fatalf("pulls never answered: %v", sim.ref.waiting)
	}
	for w, n := range sim.pulls {
		if n != 0 {
			sim.t.Fatalf("%s: %d held-back pulls without exactly one reply", w, n)
		}
	}
	if sim.ref.mode == BSP && len(sim.ref.pending) != 0 {
		sim.t.Fatalf("BSP steps never applied: %v", sim.ref.pending)
	}
}

func TestClockAgainstNaiveModel(t *testing.T) {
	for seed := range uint64(400) {
		rng := rand.New(rand.NewPCG(seed, 11))
		mode := []Consistency{BSP, SSP, Async}[seed%3]
		cfg := ClockConfig{Mode: mode, Step: rng.IntN(3), Version: uint64(rng.IntN(3))}
		if mode == SSP {
			cfg.Staleness = rng.IntN(4)
		}
		pool := []WorkerID{"a", "b", "c", "d", "e"}[:2+rng.IntN(4)]
		cfg.Workers = pool[:1+rng.IntN(len(pool))]
		t.Run(fmt.Sprintf("%d-%s-s%d", seed, mode, cfg.Staleness), func(t *testing.T) {
			k, err := NewClock(cfg)
			if err != nil {
				t.Fatal(err)
			}
			sim := &clockSim{t: t, rng: rng, k: k, ref: newRefClock(cfg),
				pool: append(pool, "ghost"), applied: map[int]bool{}, pulls: map[WorkerID]int{}}
			for sim.turns = range 300 {
				sim.step(sim.randomEvent())
			}
			sim.drain()
		})
	}
}
