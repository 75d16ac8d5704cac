package core

import "fmt"

// LinkConfig describes one sender→consumer link.
type LinkConfig struct {
	Consumer ConsumerID
	// Window is the most batches the consumer may hold or have on the way
	// (its prefetch depth). The receiver must be built with the same value.
	Window int
}

// SenderConfig configures a Sender.
type SenderConfig struct {
	Links []LinkConfig
}

// Validate reports the first problem with the configuration.
func (c SenderConfig) Validate() error {
	seen := make(map[ConsumerID]bool, len(c.Links))
	for i, l := range c.Links {
		if err := checkLink(l.Consumer, l.Window); err != nil {
			return fmt.Errorf("core: SenderConfig.Links[%d]: %w", i, err)
		}
		if seen[l.Consumer] {
			return fmt.Errorf("core: SenderConfig.Links[%d]: consumer %s listed twice: %w", i, l.Consumer, ErrConfig)
		}
		seen[l.Consumer] = true
	}
	return nil
}

func checkLink(c ConsumerID, window int) error {
	if c == "" {
		return fmt.Errorf("empty consumer ID: %w", ErrConfig)
	}
	if window < 1 {
		return fmt.Errorf("consumer %s: window %d, want ≥ 1: %w", c, window, ErrConfig)
	}
	return nil
}

// LinkStatus is a snapshot of one link as the sender sees it.
type LinkStatus struct {
	Window    int
	Credit    int    // granted and not yet used
	Producing int    // Produce issued, Produced not yet stepped
	Sent      uint64 // batches sent since the link opened
	Acked     uint64 // of those, finished by the consumer
	EpochSent int    // batches sent in the current epoch
	Ended     bool   // EndOfEpoch sent for the current epoch
}

// InFlight is the number of batches that hold memory on account of this
// link: being produced, on the wire, or held by the consumer.
func (l LinkStatus) InFlight() int { return l.Producing + int(l.Sent-l.Acked) }

type link struct {
	id ConsumerID
	LinkStatus
}

// Sender is the upstream half of credit-based flow control. It turns credit
// into Produce actions, produced batches into Send actions, and the end of
// its source into one EndOfEpoch per link. Per link it keeps
// Credit + InFlight ≤ Window at all times, so the memory a slow consumer can
// pin is bounded by configuration. A Sender is not safe for concurrent use.
type Sender struct {
	links   []link // in the order they were added, for deterministic output
	epoch   int
	started bool // some epoch has started, so epoch is meaningful
	running bool // between StartEpoch and the last EndOfEpoch
	// budget counts the batches of the epoch not yet produced (or is
	// Unbounded). It is charged on Produced, not on Produce, so that the
	// reservations of a consumer that goes away return to the others.
	budget    int
	exhausted bool // the shell said the source is empty
	next      int  // round-robin cursor into links
}

// dry reports that no more batches will be produced this epoch.
func (s *Sender) dry() bool { return s.exhausted || s.budget == 0 }

func (s *Sender) producing() int {
	n := 0
	for i := range s.links {
		n += s.links[i].Producing
	}
	return n
}

// NewSender returns a Sender with the configured links, no credit and no
// epoch open.
func NewSender(cfg SenderConfig) (*Sender, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Sender{links: make([]link, 0, len(cfg.Links))}
	for _, l := range cfg.Links {
		s.links = append(s.links, link{id: l.Consumer, LinkStatus: LinkStatus{Window: l.Window}})
	}
	return s, nil
}

// Link returns the state of the link to c.
func (s *Sender) Link(c ConsumerID) (LinkStatus, bool) {
	i := s.find(c)
	if i < 0 {
		return LinkStatus{}, false
	}
	return s.links[i].LinkStatus, true
}

// Consumers lists the open links in the order they were added.
func (s *Sender) Consumers() []ConsumerID {
	out := make([]ConsumerID, len(s.links))
	for i, l := range s.links {
		out[i] = l.id
	}
	return out
}

// Running reports whether an epoch is open (started and not yet ended on
// every link).
func (s *Sender) Running() bool { return s.running }

func (s *Sender) find(c ConsumerID) int {
	for i := range s.links {
		if s.links[i].id == c {
			return i
		}
	}
	return -1
}

// Step feeds one event to the sender and returns the actions to perform, in
// order. On error the sender is unchanged.
func (s *Sender) Step(ev SenderEvent) ([]SenderAction, error) {
	switch e := ev.(type) {
	case Grant:
		return s.grant(e)
	case StartEpoch:
		return s.startEpoch(e)
	case Produced:
		return s.produced(e)
	case Exhausted:
		return s.exhaust()
	case AddConsumer:
		return s.addConsumer(e)
	case RemoveConsumer:
		return s.removeConsumer(e)
	default:
		return nil, fmt.Errorf("core: Sender: unhandled event %T: %w", ev, ErrProtocol)
	}
}

func (s *Sender) grant(g Grant) ([]SenderAction, error) {
	i := s.find(g.Consumer)
	if i < 0 {
		return nil, fmt.Errorf("core: Sender: grant from consumer %s: %w", g.Consumer, ErrUnknown)
	}
	l := &s.links[i]
	if g.N < 1 {
		return nil, fmt.Errorf("core: Sender: grant from %s: n=%d, want ≥ 1: %w", g.Consumer, g.N, ErrProtocol)
	}
	if g.Acked < l.Acked || g.Acked > l.Sent {
		return nil, fmt.Errorf("core: Sender: grant from %s: acked=%d, want between %d (acked before) and %d (sent): %w",
			g.Consumer, g.Acked, l.Acked, l.Sent, ErrProtocol)
	}
	inFlight := l.Producing + int(l.Sent-g.Acked)
	if l.Credit+g.N+inFlight > l.Window {
		return nil, fmt.Errorf("core: Sender: grant from %s: n=%d on top of credit %d and %d in flight exceeds window %d: %w",
			g.Consumer, g.N, l.Credit, inFlight, l.Window, ErrProtocol)
	}
	l.Acked = g.Acked
	l.Credit += g.N
	return s.pump(nil), nil
}

func (s *Sender) startEpoch(e StartEpoch) ([]SenderAction, error) {
	if s.running {
		return nil, fmt.Errorf("core: Sender: start of epoch %d while epoch %d is open: %w", e.Epoch, s.epoch, ErrProtocol)
	}
	if s.started && e.Epoch <= s.epoch {
		return nil, fmt.Errorf("core: Sender: start of epoch %d after epoch %d: %w", e.Epoch, s.epoch, ErrProtocol)
	}
	if e.Batches < Unbounded {
		return nil, fmt.Errorf("core: Sender: start of epoch %d: batches=%d, want ≥ 0 or Unbounded: %w", e.Epoch, e.Batches, ErrProtocol)
	}
	s.epoch, s.started, s.running, s.budget, s.exhausted = e.Epoch, true, true, e.Batches, false
	for i := range s.links {
		s.links[i].EpochSent, s.links[i].Ended = 0, false
	}
	return s.pump(nil), nil
}

func (s *Sender) produced(p Produced) ([]SenderAction, error) {
	i := s.find(p.Consumer)
	if i < 0 {
		return nil, fmt.Errorf("core: Sender: produced for consumer %s: %w", p.Consumer, ErrUnknown)
	}
	l := &s.links[i]
	if l.Producing == 0 {
		return nil, fmt.Errorf("core: Sender: produced for %s, which has no Produce outstanding: %w", p.Consumer, ErrProtocol)
	}
	l.Producing--
	if s.budget > 0 {
		s.budget--
	}
	seq := l.Sent
	l.Sent++
	l.EpochSent++
	out := []SenderAction{Send{Consumer: l.id, Epoch: s.epoch, Seq: seq}}
	return s.pump(out), nil
}

func (s *Sender) exhaust() ([]SenderAction, error) {
	if !s.running {
		return nil, fmt.Errorf("core: Sender: source exhausted with no epoch open: %w", ErrProtocol)
	}
	if s.exhausted {
		return nil, fmt.Errorf("core: Sender: source of epoch %d exhausted twice: %w", s.epoch, ErrDuplicate)
	}
	s.exhausted = true
	for i := range s.links {
		l := &s.links[i]
		l.Credit += l.Producing
		l.Producing = 0
	}
	return s.finish(nil), nil
}

func (s *Sender) addConsumer(a AddConsumer) ([]SenderAction, error) {
	if err := checkLink(a.Consumer, a.Window); err != nil {
		return nil, fmt.Errorf("core: Sender: add consumer: %w", err)
	}
	if s.find(a.Consumer) >= 0 {
		return nil, fmt.Errorf("core: Sender: add consumer %s: %w", a.Consumer, ErrDuplicate)
	}
	s.links = append(s.links, link{id: a.Consumer, LinkStatus: LinkStatus{Window: a.Window}})
	// It has no credit yet, so it cannot take part in production; it only
	// waits for the epoch's end with the others.
	return nil, nil
}

func (s *Sender) removeConsumer(r RemoveConsumer) ([]SenderAction, error) {
	i := s.find(r.Consumer)
	if i < 0 {
		return nil, fmt.Errorf("core: Sender: remove consumer %s: %w", r.Consumer, ErrUnknown)
	}
	s.links = append(s.links[:i], s.links[i+1:]...)
	if s.next > i {
		s.next--
	}
	if s.next >= len(s.links) {
		s.next = 0
	}
	return s.pump(nil), nil
}

// pump spends credit on Produce actions, one link at a time in turn, so that
// a shared budget is spread over the consumers rather than drained by the
// first one that granted.
func (s *Sender) pump(out []SenderAction) []SenderAction {
	if !s.running || s.dry() {
		return s.finish(out)
	}
	reserved := s.producing()
	for s.budget == Unbounded || reserved < s.budget {
		i, ok := s.nextWithCredit()
		if !ok {
			break
		}
		l := &s.links[i]
		l.Credit--
		l.Producing++
		reserved++
		s.next = (i + 1) % len(s.links)
		out = append(out, Produce{Consumer: l.id})
	}
	return out
}

func (s *Sender) nextWithCredit() (int, bool) {
	for k := range s.links {
		i := (s.next + k) % len(s.links)
		if s.links[i].Credit > 0 {
			return i, true
		}
	}
	return 0, false
}

// finish closes the epoch on every link that has nothing left to send.
func (s *Sender) finish(out []SenderAction) []SenderAction {
	if !s.running || !s.dry() {
		return out
	}
	open := false
	for i := range s.links {
		l := &s.links[i]
		if l.Ended {
			continue
		}
		if l.Producing > 0 {
			open = true
			continue
		}
		l.Ended = true
		out = append(out, EndOfEpoch{Consumer: l.id, Epoch: s.epoch, Batches: l.EpochSent})
	}
	if !open {
		s.running = false
	}
	return out
}
