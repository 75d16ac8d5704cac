package core

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

// The credit property test wires one Sender to several Receivers through FIFO
// links and lets a seeded random scheduler pick, at every turn, one of the
// things that could happen next: a grant or a batch is delivered, a consumer
// finishes a batch, the shell finishes producing one, the source runs dry, a
// consumer leaves or joins, a message is delivered twice. Beside the machines
// it keeps a naive model that counts tokens with explicit per-consumer
// numbers, and checks after every turn:
//
//   - memory is bounded: batches being produced, on the wire, or held by a
//     consumer never exceed its window;
//   - credit is conserved: credit at the sender, grants on the wire, free
//     slots at the receiver and batches in memory add up to the window;
//   - the sender's credit equals the naive count and never goes negative;
//   - a failed event changed nothing.
//
// At the end it checks liveness: the scheduler never found itself with
// nothing to do before every epoch was over, and every batch that was sent
// was delivered and finished exactly once, and each epoch's batches all went
// out (none lost to a consumer that left).

type simMsg struct {
	send *Send
	end  *EndOfEpoch
}

type simConsumer struct {
	id     ConsumerID
	window int
	r      *Receiver
	wire   []simMsg // sender → receiver, FIFO
	grants []Grant  // receiver → sender, FIFO
	held   []uint64 // arrived, not done (the consumer's own view)

	credit    int // naive: credit the sender holds for it
	producing int // naive: Produce issued, Produced not yet
	nextSeq   uint64
	lastSeq   int64 // last seq delivered, for replaying a duplicate; -1 if none
	doneSeqs  map[uint64]bool
	sent      map[int]int // epoch → Sends
	marked    map[int]int // epoch → EndOfEpoch.Batches
	allIn     map[int]int // epoch → AllArrived.Batches
}

type creditSim struct {
	t         *testing.T
	rng       *rand.Rand
	s         *Sender
	cons      []*simConsumer
	requests  []ConsumerID // Produce requests the shell has not met yet
	unbounded bool
	perEpoch  int // batches in each epoch's source
	source    int // left in the current epoch's source
	epoch     int // last epoch started
	epochs    int
	nextID    int
	produced  map[int]int // epoch → Produced stepped
	turns     int
}

func newCreditSim(t *testing.T, seed uint64) *creditSim {
	rng := rand.New(rand.NewPCG(seed, 7))
	sim := &creditSim{
		t: t, rng: rng,
		unbounded: rng.IntN(2) == 0,
		perEpoch:  rng.IntN(40),
		epochs:    1 + rng.IntN(3),
		epoch:     -1,
		produced:  map[int]int{},
	}
	var cfg SenderConfig
	n := 1 + rng.IntN(4)
	for range n {
		c := sim.newConsumer()
		cfg.Links = append(cfg.Links, LinkConfig{Consumer: c.id, Window: c.window})
	}
	s, err := NewSender(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sim.s = s
	for _, c := range sim.cons {
		sim.open(c)
	}
	return sim
}

func (sim *creditSim) newConsumer() *simConsumer {
	w := 1 + sim.rng.IntN(4)
	c := &simConsumer{
		id: ConsumerID(fmt.Sprintf("c%d", sim.nextID)), window: w, lastSeq: -1,
		doneSeqs: map[uint64]bool{}, sent: map[int]int{}, marked: map[int]int{}, allIn: map[int]int{},
	}
	sim.nextID++
	r, err := NewReceiver(ReceiverConfig{Consumer: c.id, Window: w, MinGrant: sim.rng.IntN(w + 1)})
	if err != nil {
		sim.t.Fatal(err)
	}
	c.r = r
	sim.cons = append(sim.cons, c)
	return c
}

func (sim *creditSim) find(id ConsumerID) *simConsumer {
	for _, c := range sim.cons {
		if c.id == id {
			return c
		}
	}
	return nil
}

func (sim *creditSim) open(c *simConsumer) {
	acts, err := c.r.Step(Open{})
	if err != nil {
		sim.t.Fatal(err)
	}
	sim.receiverActions(c, acts)
}

func (sim *creditSim) stepSender(ev SenderEvent) {
	before := sim.s.clone()
	acts, err := sim.s.Step(ev)
	unchangedOnError(sim.t, err, before, sim.s, ev)
	if err != nil {
		sim.t.Fatalf("turn %d: sender.Step(%#v): %v", sim.turns, ev, err)
	}
	for _, a := range acts {
		switch a := a.(type) {
		case Produce:
			c := sim.find(a.Consumer)
			if c.credit <= 0 {
				sim.t.Fatalf("turn %d: Produce for %s without credit", sim.turns, c.id)
			}
			c.credit--
			c.producing++
			sim.requests = append(sim.requests, c.id)
		case Send:
			c := sim.find(a.Consumer)
			if a.Seq != c.nextSeq || a.Epoch != sim.epoch {
				sim.t.Fatalf("turn %d: %v, want seq %d epoch %d", sim.turns, a, c.nextSeq, sim.epoch)
			}
			c.nextSeq++
			c.sent[a.Epoch]++
			c.wire = append(c.wire, simMsg{send: &a})
		case EndOfEpoch:
			c := sim.find(a.Consumer)
			if _, dup := c.marked[a.Epoch]; dup {
				sim.t.Fatalf("turn %d: second %v", sim.turns, a)
			}
			if c.producing != 0 {
				sim.t.Fatalf("turn %d: %v while %d batches are being produced for it", sim.turns, a, c.producing)
			}
			c.marked[a.Epoch] = a.Batches
			c.wire = append(c.wire, simMsg{end: &a})
		}
	}
}

func (sim *creditSim) stepReceiver(c *simConsumer, ev ReceiverEvent) error {
	before := c.r.clone()
	acts, err := c.r.Step(ev)
	unchangedOnError(sim.t, err, before, c.r, ev)
	if err == nil {
		sim.receiverActions(c, acts)
	}
	return err
}

func (sim *creditSim) receiverActions(c *simConsumer, acts []ReceiverAction) {
	for _, a := range acts {
		switch a := a.(type) {
		case Grant:
			c.grants = append(c.grants, a)
		case AllArrived:
			c.allIn[a.Epoch] = a.Batches
		}
	}
}

// moves lists what may happen next.
func (sim *creditSim) moves() []func() {
	var m []func()
	for _, c := range sim.cons {
		if len(c.grants) > 0 {
			m = append(m, func() {
				g := c.grants[0]
				c.grants = c.grants[1:]
				c.credit += g.N
				sim.stepSender(g)
			})
		}
		if len(c.wire) > 0 {
			m = append(m, func() { sim.deliver(c) })
		}
		if len(c.held) > 0 {
			m = append(m, func() {
				i := sim.rng.IntN(len(c.held))
				seq := c.held[i]
				c.held = append(c.held[:i], c.held[i+1:]...)
				if c.doneSeqs[seq] {
					sim.t.Fatalf("batch %d of %s finished twice", seq, c.id)
				}
				c.doneSeqs[seq] = true
				if err := sim.stepReceiver(c, Done{Seq: seq}); err != nil {
					sim.t.Fatalf("turn %d: Done %d on %s: %v", sim.turns, seq, c.id, err)
				}
				// A repeated Done is refused and changes nothing.
				if sim.rng.IntN(4) == 0 {
					if err := sim.stepReceiver(c, Done{Seq: seq}); !errors.Is(err, ErrDuplicate) {
						sim.t.Fatalf("repeated Done: got %v, want ErrDuplicate", err)
					}
				}
			})
		}
		if c.lastSeq >= 0 && sim.rng.IntN(8) == 0 {
			m = append(m, func() {
				err := sim.stepReceiver(c, Arrived{Epoch: sim.epoch, Seq: uint64(c.lastSeq)})
				if !errors.Is(err, ErrDuplicate) {
					sim.t.Fatalf("repeated arrival: got %v, want ErrDuplicate", err)
				}
			})
		}
	}
	if len(sim.requests) > 0 && (sim.unbounded && sim.source > 0 || !sim.unbounded) {
		m = append(m, func() {
			i := sim.rng.IntN(len(sim.requests))
			id := sim.requests[i]
			sim.requests = append(sim.requests[:i], sim.requests[i+1:]...)
			c := sim.find(id)
			c.producing--
			if sim.unbounded {
				sim.source--
			}
			sim.produced[sim.epoch]++
			sim.stepSender(Produced{Consumer: id})
		})
	}
	if sim.unbounded && sim.source == 0 && sim.s.Running() {
		m = append(m, func() {
			// The shell forgets requests it cannot meet; their credit
			// returns to the consumers.
			for _, id := range sim.requests {
				c := sim.find(id)
				c.credit++
				c.producing--
			}
			sim.requests = nil
			sim.stepSender(Exhausted{})
		})
	}
	if !sim.s.Running() && sim.epoch+1 < sim.epochs {
		m = append(m, func() {
			sim.epoch++
			sim.source = sim.perEpoch
			n := sim.perEpoch
			if sim.unbounded {
				n = Unbounded
			}
			sim.stepSender(StartEpoch{Epoch: sim.epoch, Batches: n})
		})
	}
	if len(sim.cons) > 1 && sim.rng.IntN(30) == 0 {
		m = append(m, func() { sim.remove(sim.cons[sim.rng.IntN(len(sim.cons))]) })
	}
	if len(sim.cons) < 6 && sim.rng.IntN(30) == 0 {
		m = append(m, func() {
			c := sim.newConsumer()
			sim.stepSender(AddConsumer{Consumer: c.id, Window: c.window})
			sim.open(c)
		})
	}
	return m
}

func (sim *creditSim) deliver(c *simConsumer) {
	msg := c.wire[0]
	c.wire = c.wire[1:]
	if msg.send != nil {
		if err := sim.stepReceiver(c, Arrived{Epoch: msg.send.Epoch, Seq: msg.send.Seq}); err != nil {
			sim.t.Fatalf("turn %d: arrival of %v: %v", sim.turns, *msg.send, err)
		}
		c.held = append(c.held, msg.send.Seq)
		c.lastSeq = int64(msg.send.Seq)
		return
	}
	if err := sim.stepReceiver(c, *msg.end); err != nil {
		sim.t.Fatalf("turn %d: %v: %v", sim.turns, *msg.end, err)
	}
}

// remove takes a consumer away with everything in its pipeline; the batches
// it held or had on the way count as produced but are not checked further.
func (sim *creditSim) remove(c *simConsumer) {
	kept := sim.requests[:0]
	for _, id := range sim.requests {
		if id != c.id {
			kept = append(kept, id)
		}
	}
	sim.requests = kept
	for i, x := range sim.cons {
		if x == c {
			sim.cons = append(sim.cons[:i], sim.cons[i+1:]...)
			break
		}
	}
	sim.stepSender(RemoveConsumer{Consumer: c.id})
}

func (sim *creditSim) check() {
	for _, c := range sim.cons {
		l, ok := sim.s.Link(c.id)
		if !ok {
			sim.t.Fatalf("turn %d: sender lost link %s", sim.turns, c.id)
		}
		onWire := 0
		for _, m := range c.wire {
			if m.send != nil {
				onWire++
			}
		}
		inMemory := c.producing + onWire + len(c.held)
		if inMemory > c.window {
			sim.t.Fatalf("turn %d: %s has %d batches in memory, window %d", sim.turns, c.id, inMemory, c.window)
		}
		if l.Credit != c.credit || c.credit < 0 || l.Producing != c.producing {
			sim.t.Fatalf("turn %d: %s: sender credit %d producing %d, naive model %d and %d",
				sim.turns, c.id, l.Credit, l.Producing, c.credit, c.producing)
		}
		if l.Credit+l.InFlight() > l.Window {
			sim.t.Fatalf("turn %d: %s: credit %d + in flight %d > window %d", sim.turns, c.id, l.Credit, l.InFlight(), l.Window)
		}
		granted := 0
		for _, g := range c.grants {
			granted += g.N
		}
		st := c.r.Status()
		if tokens := c.credit + granted + st.Free + inMemory; tokens != c.window {
			sim.t.Fatalf("turn %d: %s: credit %d + grants on the wire %d + free %d + in memory %d = %d, want window %d",
				sim.turns, c.id, c.credit, granted, st.Free, inMemory, tokens, c.window)
		}
	}
}

func (sim *creditSim) finished() bool {
	if sim.epoch+1 < sim.epochs || sim.s.Running() || len(sim.requests) > 0 {
		return false
	}
	for _, c := range sim.cons {
		if len(c.wire) > 0 || len(c.held) > 0 || len(c.grants) > 0 {
			return false
		}
	}
	return true
}

func (sim *creditSim) run() {
	for sim.turns = 0; !sim.finished(); sim.turns++ {
		if sim.turns > 100000 {
			sim.t.Fatal("no end after 100000 turns")
		}
		m := sim.moves()
		if len(m) == 0 {
			sim.t.Fatalf("turn %d: deadlock: nothing can happen and the run is not over", sim.turns)
		}
		m[sim.rng.IntN(len(m))]()
		sim.check()
	}
	for e := 0; e < sim.epochs; e++ {
		if sim.produced[e] != sim.perEpoch {
			sim.t.Errorf("epoch %d: %d batches produced, want %d", e, sim.produced[e], sim.perEpoch)
		}
		for _, c := range sim.cons {
			if _, ok := c.marked[e]; !ok && c.sent[e] == 0 {
				continue // it joined after the epoch ended
			}
			if c.marked[e] != c.sent[e] || c.allIn[e] != c.sent[e] {
				sim.t.Errorf("epoch %d, %s: %d sent, end marker says %d, receiver saw %d",
					e, c.id, c.sent[e], c.marked[e], c.allIn[e])
			}
		}
	}
	for _, c := range sim.cons {
		if uint64(len(c.doneSeqs)) != c.nextSeq {
			sim.t.Errorf("%s: %d batches sent, %d finished", c.id, c.nextSeq, len(c.doneSeqs))
		}
	}
}

func TestCreditRandomRuns(t *testing.T) {
	for seed := range uint64(300) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			newCreditSim(t, seed).run()
		})
	}
}
