package core

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// The coordinator property test runs whole jobs with workers that crash,
// rejoin, are wrongly declared gone while still working, and whose reports
// are delayed and repeated. Each epoch has its own shuffled sample order, as
// the loader's would be. It checks:
//
//   - the batches counted done in an epoch cover every sample id exactly once;
//   - with reports delivered at once (the coordinator's view is never stale),
//     every sample is also *trained on* exactly once per epoch, whoever
//     crashes; with late reports a slow worker declared gone may duplicate
//     work, but the count stays exact;
//   - every unfinished batch has exactly one owner, which is live, and it is
//     in that worker's queue (or its report is on the way); batches are
//     orphaned only while nobody is live;
//   - an epoch's first deal is balanced to within one batch per worker;
//   - Evaluate, Checkpoint and the next EpochStarted come once each, in that
//     order, and the run ends with one Finish (no deadlock on the way);
//   - a failed event changed nothing.

type coordWorker struct {
	id     WorkerID
	queue  []int // assigned, not started
	busy   int   // batch in progress, -1 if none
	zombie bool  // declared gone, still finishing its batch
}

type coordSim struct {
	t       *testing.T
	rng     *rand.Rand
	co      *Coordinator
	cfg     CoordinatorConfig
	late    bool // reports may be delayed and repeated
	workers map[WorkerID]*coordWorker
	nextID  int
	wire    []BatchDone // reports on the way
	todo    []CoordinatorEvent
	epoch   int
	phase   Phase
	perm    []int
	trained map[int]int // sample → times trained on, this epoch
	counted map[int]bool
	steps   int
	log     []string // phase actions in order
	turns   int
}

func (sim *coordSim) step(ev CoordinatorEvent) {
	before := sim.co.clone()
	acts, err := sim.co.Step(ev)
	unchangedOnError(sim.t, err, before, sim.co, ev)
	if err != nil {
		sim.t.Fatalf("turn %d: %#v: %v", sim.turns, ev, err)
	}
	if d, ok := ev.(BatchDone); ok && d.Epoch == sim.epoch && sim.phase == Training && !sim.counted[d.Seq] {
		sim.counted[d.Seq] = true
		sim.steps++
	}
	sim.checkBalance(acts)
	for _, a := range acts {
		switch a := a.(type) {
		case EpochStarted:
			sim.log = append(sim.log, a.String())
			sim.epoch, sim.phase = a.Epoch, Training
			sim.perm = sim.rng.Perm(sim.cfg.Samples)
			sim.trained, sim.counted = map[int]int{}, map[int]bool{}
			for _, w := range sim.workers {
				w.queue = nil
			}
		case Assign:
			w := sim.workers[a.Worker]
			if w == nil || w.zombie || a.Epoch != sim.epoch {
				sim.t.Fatalf("turn %d: %v to a worker that is not live or for another epoch", sim.turns, a)
			}
			w.queue = append(w.queue, a.Seqs...)
		case Evaluate:
			sim.endEpoch()
			sim.log = append(sim.log, a.String())
			sim.phase = Evaluating
			sim.todo = append(sim.todo, Evaluated(a))
		case Checkpoint:
			sim.log = append(sim.log, a.String())
			sim.phase = Checkpointing
			sim.todo = append(sim.todo, Checkpointed(a))
		case Finish:
			sim.log = append(sim.log, a.String())
			sim.phase = Finished
		}
	}
	sim.check()
}

// checkBalance checks that an epoch's first deal gives every live worker
// the same number of batches, give or take one.
func (sim *coordSim) checkBalance(acts []CoordinatorAction) {
	if len(acts) == 0 {
		return
	}
	if _, ok := acts[0].(EpochStarted); !ok {
		return
	}
	live := sim.co.Progress().Live
	per := map[WorkerID]int{}
	for _, a := range acts[1:] {
		per[a.(Assign).Worker] += len(a.(Assign).Seqs)
	}
	lo, hi := sim.co.Batches(), 0
	for _, w := range live {
		lo, hi = min(lo, per[w]), max(hi, per[w])
	}
	if len(live) > 0 && hi-lo > 1 {
		sim.t.Fatalf("turn %d: unbalanced deal %v over %v", sim.turns, per, live)
	}
}

// endEpoch checks the epoch's samples when the coordinator declares it done.
func (sim *coordSim) endEpoch() {
	seen := make([]int, sim.cfg.Samples)
	for b := range sim.counted {
		lo, hi, ok := sim.co.BatchRange(b)
		if !ok {
			sim.t.Fatalf("batch %d out of range", b)
		}
		for _, p := range sim.perm[lo:hi] {
			seen[p]++
		}
	}
	for s, n := range seen {
		if n != 1 {
			sim.t.Fatalf("epoch %d: sample %d counted %d times", sim.epoch, s, n)
		}
		if !sim.late && sim.trained[s] != 1 {
			sim.t.Fatalf("epoch %d: sample %d trained on %d times with prompt reports", sim.epoch, s, sim.trained[s])
		}
		if sim.trained[s] < 1 {
			sim.t.Fatalf("epoch %d: sample %d never trained on", sim.epoch, s)
		}
	}
}

func (sim *coordSim) check() {
	p := sim.co.Progress()
	if p.Step != sim.cfg.StartStep+sim.steps {
		sim.t.Fatalf("turn %d: step %d, want %d", sim.turns, p.Step, sim.cfg.StartStep+sim.steps)
	}
	if p.Phase != Training {
		return
	}
	if p.Done != len(sim.counted) {
		sim.t.Fatalf("turn %d: %d done, naive count %d", sim.turns, p.Done, len(sim.counted))
	}
	for b := range sim.co.Batches() {
		owner, done, _ := sim.co.Owner(b)
		if done != sim.counted[b] {
			sim.t.Fatalf("turn %d: batch %d done=%t, naive %t", sim.turns, b, done, sim.counted[b])
		}
		if done {
			continue
		}
		if owner == "" {
			if len(p.Live) > 0 {
				sim.t.Fatalf("turn %d: batch %d orphaned while %v are live", sim.turns, b, p.Live)
			}
			continue
		}
		w := sim.workers[owner]
		if w == nil || w.zombie || !slices.Contains(p.Live, owner) {
			sim.t.Fatalf("turn %d: batch %d owned by %s, which is not live", sim.turns, b, owner)
		}
		onWire := slices.ContainsFunc(sim.wire, func(d BatchDone) bool { return d.Epoch == sim.epoch && d.Seq == b })
		if !slices.Contains(w.queue, b) && w.busy != b && !onWire {
			sim.t.Fatalf("turn %d: batch %d owned by %s but not in its queue %v", sim.turns, b, owner, w.queue)
		}
	}
}

func (sim *coordSim) live() []*coordWorker {
	var out []*coordWorker
	for _, id := range sim.co.Progress().Live {
		out = append(out, sim.workers[id])
	}
	return out
}

func (sim *coordSim) report(d BatchDone) {
	if !sim.late {
		sim.step(d)
		return
	}
	sim.wire = append(sim.wire, d)
	if sim.rng.IntN(4) == 0 {
		sim.wire = append(sim.wire, d)
	}
}

func (sim *coordSim) moves() []func() {
	var m []func()
	for _, w := range sim.workers {
		switch {
		case w.busy >= 0:
			m = append(m, func() {
				lo, hi, _ := sim.co.BatchRange(w.busy)
				for _, s := range sim.perm[lo:hi] {
					sim.trained[s]++
				}
				d := BatchDone{w.id, sim.epoch, w.busy}
				w.busy = -1
				if w.zombie {
					delete(sim.workers, w.id)
				}
				sim.report(d)
			})
		case len(w.queue) > 0 && sim.phase == Training:
			m = append(m, func() {
				w.busy, w.queue = w.queue[0], w.queue[1:]
				// A batch someone else finished (it was reassigned after a
				// false alarm) is skipped, as a real worker would once told.
				if sim.counted[w.busy] && sim.late {
					w.busy = -1
				}
			})
		}
	}
	if len(sim.wire) > 0 {
		m = append(m, func() {
			i := sim.rng.IntN(len(sim.wire))
			d := sim.wire[i]
			sim.wire = append(sim.wire[:i], sim.wire[i+1:]...)
			sim.step(d)
		})
	}
	if len(sim.todo) > 0 {
		m = append(m, func() {
			ev := sim.todo[0]
			sim.todo = sim.todo[1:]
			sim.step(ev)
			if sim.rng.IntN(3) == 0 {
				sim.step(ev) // a repeat changes nothing
			}
		})
	}
	live := sim.live()
	if len(live) > 0 && sim.rng.IntN(12) == 0 {
		m = append(m, func() {
			w := live[sim.rng.IntN(len(live))]
			w.queue = nil
			if sim.late && w.busy >= 0 && sim.rng.IntN(2) == 0 {
				w.zombie = true // declared gone, but finishes and reports
			} else {
				w.busy = -1
				delete(sim.workers, w.id)
			}
			sim.step(WorkerLeft{w.id})
		})
	}
	if len(live) < 5 && (len(live) == 0 || sim.rng.IntN(12) == 0) {
		m = append(m, func() {
			id := WorkerID(fmt.Sprintf("w%d", sim.rng.IntN(sim.nextID+1)))
			if id == WorkerID(fmt.Sprintf("w%d", sim.nextID)) {
				sim.nextID++
			}
			if w := sim.workers[id]; w != nil {
				if !w.zombie {
					sim.step(WorkerJoined{id}) // already live: a repeat
					return
				}
				// A zombie that comes back is a fresh process.
				w.zombie, w.busy, w.queue = false, -1, nil
			} else {
				sim.workers[id] = &coordWorker{id: id, busy: -1}
			}
			sim.step(WorkerJoined{id})
		})
	}
	return m
}

func runCoordSim(t *testing.T, seed uint64, late bool) {
	rng := rand.New(rand.NewPCG(seed, 3))
	cfg := CoordinatorConfig{
		Samples: 1 + rng.IntN(60), BatchSize: 1 + rng.IntN(8),
		StartEpoch: rng.IntN(2), StartStep: rng.IntN(100),
	}
	cfg.Epochs = cfg.StartEpoch + 1 + rng.IntN(3)
	sim := &coordSim{t: t, rng: rng, cfg: cfg, late: late, workers: map[WorkerID]*coordWorker{}, epoch: -1}
	for range rng.IntN(4) {
		id := WorkerID(fmt.Sprintf("w%d", sim.nextID))
		sim.nextID++
		cfg.Workers = append(cfg.Workers, id)
		sim.workers[id] = &coordWorker{id: id, busy: -1}
	}
	co, err := NewCoordinator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sim.co = co
	sim.step(Begin{})
	for sim.turns = 0; sim.phase != Finished; sim.turns++ {
		if sim.turns > 200000 {
			t.Fatal("no Finish after 200000 turns")
		}
		m := sim.moves()
		if len(m) == 0 {
			t.Fatalf("turn %d: deadlock in phase %s", sim.turns, sim.phase)
		}
		m[rng.IntN(len(m))]()
	}
	var want []string
	for e := cfg.StartEpoch; e < cfg.Epochs; e++ {
		want = append(want, EpochStarted{e, co.Batches()}.String(), Evaluate{e}.String(), Checkpoint{e}.String())
	}
	want = append(want, "Finish")
	if !slices.Equal(sim.log, want) {
		t.Fatalf("phases:\n got  %v\n want %v", sim.log, want)
	}
}

func TestCoordinatorRandomFailures(t *testing.T) {
	for seed := range uint64(200) {
		t.Run(fmt.Sprintf("prompt-%d", seed), func(t *testing.T) { runCoordSim(t, seed, false) })
		t.Run(fmt.Sprintf("late-%d", seed), func(t *testing.T) { runCoordSim(t, seed, true) })
	}
}
