package core

import (
	"maps"
	"reflect"
	"slices"
	"testing"
)

// Deep copies of each machine, so that tests can check that an event which
// returns an error leaves the machine exactly as it was.

func (s *Sender) clone() *Sender {
	c := *s
	c.links = slices.Clone(s.links)
	return &c
}

func (r *Receiver) clone() *Receiver {
	c := *r
	c.held = slices.Clone(r.held)
	return &c
}

func (k *Clock) clone() *Clock {
	c := *k
	c.workers = slices.Clone(k.workers)
	c.pending = slices.Clone(k.pending)
	return &c
}

func (k *Coordinator) clone() *Coordinator {
	c := *k
	c.live.order = slices.Clone(k.live.order)
	c.known = maps.Clone(k.known)
	c.owner = slices.Clone(k.owner)
	c.done = slices.Clone(k.done)
	return &c
}

// unchangedOnError fails the test if err is set and the machine differs from
// its copy taken before the event.
func unchangedOnError(t testing.TB, err error, before, after any, ev any) {
	t.Helper()
	if err != nil && !reflect.DeepEqual(before, after) {
		t.Fatalf("event %#v failed (%v) but changed the machine:\nbefore %+v\nafter  %+v", ev, err, before, after)
	}
}

func TestCloneIsDeep(t *testing.T) {
	// The check above is only as good as the copies: mutate each original
	// and make sure its copy does not follow.
	s, _ := NewSender(SenderConfig{Links: []LinkConfig{{"a", 2}}})
	sc := s.clone()
	s.links[0].Credit = 5
	if sc.links[0].Credit != 0 {
		t.Error("Sender clone shares links")
	}
	r, _ := NewReceiver(ReceiverConfig{Consumer: "a", Window: 2})
	r.held = append(r.held, 1)
	rc := r.clone()
	r.held[0] = 9
	if rc.held[0] != 1 {
		t.Error("Receiver clone shares held")
	}
	k, _ := NewClock(ClockConfig{Mode: BSP, Workers: []WorkerID{"a"}})
	k.pending = append(k.pending, GradRef{Worker: "a"})
	kc := k.clone()
	k.workers[0].Clock, k.pending[0].Step = 3, 3
	if kc.workers[0].Clock != 0 || kc.pending[0].Step != 0 {
		t.Error("Clock clone shares state")
	}
	co, _ := NewCoordinator(CoordinatorConfig{Samples: 2, BatchSize: 1, Epochs: 1, Workers: []WorkerID{"a"}})
	cc := co.clone()
	co.live.order[0], co.owner[0], co.done[0], co.known["b"] = "z", "z", true, true
	if cc.live.order[0] != "a" || cc.owner[0] != "" || cc.done[0] || cc.known["b"] {
		t.Error("Coordinator clone shares state")
	}
}
