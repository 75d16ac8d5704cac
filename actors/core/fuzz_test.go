package core

import (
	"fmt"
	"math"
	"testing"
)

// The fuzz targets decode arbitrary bytes into event streams, including
// nonsense no honest peer would send, and hold each machine to its
// invariants: no panic, a failed event changes nothing, and the bounds the
// doc promises hold after every event.

// byteReader hands out bytes, then zeros.
type byteReader struct {
	b []byte
	i int
}

func (r *byteReader) next() int {
	if r.i >= len(r.b) {
		return 0
	}
	r.i++
	return int(r.b[r.i-1])
}

func (r *byteReader) more() bool { return r.i < len(r.b) }

func FuzzSender(f *testing.F) {
	f.Add([]byte{2, 3, 0, 1, 2, 0, 1, 1, 2, 2, 3})
	f.Add([]byte{1, 1, 1, 0, 0, 0, 1, 2, 0, 5, 2, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &byteReader{b: data}
		ids := []ConsumerID{"a", "b", "c", "d"}
		var cfg SenderConfig
		for i := range 1 + r.next()%3 {
			cfg.Links = append(cfg.Links, LinkConfig{Consumer: ids[i], Window: 1 + r.next()%4})
		}
		s, err := NewSender(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for r.more() {
			c := ids[r.next()%len(ids)]
			var ev SenderEvent
			switch r.next() % 7 {
			case 0, 1:
				ev = Grant{Consumer: c, N: r.next()%5 - 1, Acked: uint64(r.next() % 8)}
			case 2:
				ev = StartEpoch{Epoch: r.next(), Batches: r.next()%8 - 2}
			case 3, 4:
				ev = Produced{Consumer: c}
			case 5:
				ev = Exhausted{}
			default:
				if r.next()%2 == 0 {
					ev = AddConsumer{Consumer: c, Window: r.next() % 4}
				} else {
					ev = RemoveConsumer{Consumer: c}
				}
			}
			before := s.clone()
			_, err := s.Step(ev)
			unchangedOnError(t, err, before, s, ev)
			for _, id := range s.Consumers() {
				l, _ := s.Link(id)
				if l.Credit < 0 || l.Producing < 0 || l.Acked > l.Sent || l.Credit+l.InFlight() > l.Window {
					t.Fatalf("after %#v: link %s broke its bounds: %+v", ev, id, l)
				}
			}
		}
	})
}

func FuzzReceiver(f *testing.F) {
	f.Add([]byte{3, 1, 0, 0, 0, 0, 1, 1, 0, 2, 0, 3, 0, 0})
	f.Add([]byte{1, 0, 0, 1, 0, 0, 0, 2, 0, 1, 2, 3, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &byteReader{b: data}
		w := 1 + r.next()%4
		rc, err := NewReceiver(ReceiverConfig{Consumer: "c", Window: w, MinGrant: r.next() % (w + 1)})
		if err != nil {
			t.Fatal(err)
		}
		for r.more() {
			var ev ReceiverEvent
			switch r.next() % 5 {
			case 0:
				ev = Open{}
			case 1, 2:
				ev = Arrived{Epoch: r.next() % 3, Seq: uint64(r.next() % 8)}
			case 3:
				ev = Done{Seq: uint64(r.next() % 8)}
			default:
				ev = EndOfEpoch{Consumer: "c", Epoch: r.next() % 3, Batches: r.next() % 4}
			}
			before := rc.clone()
			_, err := rc.Step(ev)
			unchangedOnError(t, err, before, rc, ev)
			st := rc.Status()
			// Once open, every slot of the window is granted, held or free.
			if st.Outstanding < 0 || st.Free < 0 || (rc.opened && st.Outstanding+st.Held+st.Free != w) {
				t.Fatalf("after %#v: bounds broken: %+v (window %d)", ev, st, w)
			}
			if st.Outstanding+st.Held > w {
				t.Fatalf("after %#v: %d outstanding + %d held > window %d", ev, st.Outstanding, st.Held, w)
			}
		}
	})
}

func FuzzClock(f *testing.F) {
	f.Add([]byte{0, 3, 0, 0, 0, 1, 0, 0, 2, 0, 0})
	f.Add([]byte{1, 2, 1, 0, 1, 0, 1, 1, 1, 3, 2, 4})
	f.Add([]byte{2, 1, 0, 0, 0, 0, 0, 1, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &byteReader{b: data}
		mode := []Consistency{BSP, SSP, Async}[r.next()%3]
		cfg := ClockConfig{Mode: mode, Workers: []WorkerID{"a", "b", "c"}[:1+r.next()%3]}
		if mode == SSP {
			cfg.Staleness = r.next() % 3
		}
		k, err := NewClock(cfg)
		if err != nil {
			t.Fatal(err)
		}
		pool := []WorkerID{"a", "b", "c", "d"}
		for r.more() {
			w := pool[r.next()%len(pool)]
			var ev ClockEvent
			switch r.next() % 6 {
			case 0, 1:
				ev = Push{Worker: w, Step: r.next() % 6, Version: uint64(r.next() % 6)}
			case 2, 3:
				ev = Pull{Worker: w, Step: r.next() % 6}
			case 4:
				ev = WorkerLeft{Worker: w}
			default:
				ev = WorkerJoined{Worker: w}
			}
			before := k.clone()
			acts, err := k.Step(ev)
			unchangedOnError(t, err, before, k, ev)
			st := k.Status()
			if st.Min < before.min() {
				t.Fatalf("after %#v: slowest clock went back from %d to %d", ev, before.min(), st.Min)
			}
			applies := 0
			for _, a := range acts {
				switch a := a.(type) {
				case Apply:
					applies++
					if len(a.Grads) == 0 || a.Version != before.version+uint64(applies) {
						t.Fatalf("after %#v: bad %v", ev, a)
					}
				case Reply:
					if mode != Async && a.Step-st.Min > cfg.Staleness {
						t.Fatalf("after %#v: %v is %d ahead of the slowest", ev, a, a.Step-st.Min)
					}
				}
			}
			if st.Version != before.version+uint64(applies) {
				t.Fatalf("after %#v: version %d, want %d", ev, st.Version, before.version+uint64(applies))
			}
		}
	})
}

func FuzzCoordinator(f *testing.F) {
	f.Add([]byte{5, 2, 1, 2, 0, 0, 0, 1, 0, 1, 2, 0, 2, 3, 4})
	f.Add([]byte{9, 3, 2, 0, 6, 1, 0, 0, 5, 1, 1, 1, 0, 3, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &byteReader{b: data}
		pool := []WorkerID{"a", "b", "c", "d"}
		cfg := CoordinatorConfig{Samples: 1 + r.next()%12, BatchSize: 1 + r.next()%4, Epochs: 1 + r.next()%3, Workers: pool[:r.next()%3]}
		co, err := NewCoordinator(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for r.more() {
			w := pool[r.next()%len(pool)]
			var ev CoordinatorEvent
			switch r.next() % 8 {
			case 0:
				ev = Begin{}
			case 1, 2, 3:
				ev = BatchDone{Worker: w, Epoch: r.next() % 4, Seq: r.next()%14 - 1}
			case 4:
				ev = Evaluated{Epoch: r.next() % 4}
			case 5:
				ev = Checkpointed{Epoch: r.next() % 4}
			case 6:
				ev = WorkerLeft{Worker: w}
			default:
				ev = WorkerJoined{Worker: w}
			}
			before := co.clone()
			_, err := co.Step(ev)
			unchangedOnError(t, err, before, co, ev)
			p := co.Progress()
			if p.Step < before.step || p.Done > p.Batches || p.Step-before.step > 1 {
				t.Fatalf("after %#v: progress %+v from step %d", ev, p, before.step)
			}
			if p.Phase != Training {
				continue
			}
			for b := range co.Batches() {
				o, done, _ := co.Owner(b)
				if !done && o == "" && len(p.Live) > 0 {
					t.Fatalf("after %#v: batch %d orphaned while %v live", ev, b, p.Live)
				}
				if !done && o != "" && !co.live.has(o) {
					t.Fatalf("after %#v: batch %d owned by %s, not live", ev, b, o)
				}
			}
		}
	})
}

func FuzzSelective(f *testing.F) {
	f.Add(uint8(4), 1.0, 0.1, []byte{1, 2, 3, 200, 255, 0})
	f.Add(uint8(1), 0.0, 0.0, []byte{9})
	f.Fuzz(func(t *testing.T, hist uint8, beta, floor float64, raw []byte) {
		s, err := NewSelectiveBackprop(SelectiveConfig{History: int(hist), Beta: beta, Floor: floor})
		if err != nil {
			return
		}
		n := len(raw) / 2
		losses, uniforms, keep := make([]float32, n), make([]float32, n), make([]bool, n)
		specials := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1))}
		for i := range n {
			losses[i] = float32(raw[2*i]) / 16
			if raw[2*i] >= 251 {
				losses[i] = specials[raw[2*i]-251]
			}
			uniforms[i] = float32(raw[2*i+1]) / 256
		}
		s.Decide(losses, uniforms, keep)
		st := s.Stats()
		if st.Forwarded+st.Dropped != uint64(n) {
			t.Fatalf("stats %+v for %d samples", st, n)
		}
		if len(s.sorted) != len(s.ring) || len(s.ring) > int(hist) {
			t.Fatalf("history sizes: sorted %d, ring %d, cap %d", len(s.sorted), len(s.ring), hist)
		}
		for i := 1; i < len(s.sorted); i++ {
			if s.sorted[i-1] > s.sorted[i] {
				t.Fatalf("history out of order: %v", s.sorted)
			}
		}
		for i, l := range losses {
			if (beta == 0 || l != l) && !keep[i] {
				t.Fatalf("sample %d (loss %v) dropped with beta %v", i, l, beta)
			}
		}
		p := s.Observe(1)
		if !(p >= floor && p <= 1) {
			t.Fatalf("probability %v outside [floor %v, 1]", p, floor)
		}
	})
}

func TestFuzzSeedsDecode(t *testing.T) {
	// The byte reader must keep handing out zeros past the end, or short
	// inputs would stop being events.
	r := &byteReader{b: []byte{7}}
	if got := fmt.Sprint(r.next(), r.next(), r.more()); got != "7 0 false" {
		t.Errorf("byteReader gave %s, want 7 0 false", got)
	}
}
