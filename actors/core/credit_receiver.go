package core

import "fmt"

// Open starts a receiver: it grants its whole window.
type Open struct{}

// Arrived reports that batch Seq of Epoch came in on the link.
type Arrived struct {
	Epoch int
	Seq   uint64
}

// Done reports that the consumer finished batch Seq and freed its memory.
type Done struct {
	Seq uint64
}

// AllArrived says that every batch the sender put on this link for Epoch has
// arrived; Batches is how many.
type AllArrived struct {
	Epoch   int
	Batches int
}

func (Open) receiverEvent()       {}
func (Arrived) receiverEvent()    {}
func (Done) receiverEvent()       {}
func (EndOfEpoch) receiverEvent() {}

func (Grant) receiverAction()      {}
func (AllArrived) receiverAction() {}

func (a AllArrived) String() string {
	return fmt.Sprintf("AllArrived epoch=%d batches=%d", a.Epoch, a.Batches)
}

// ReceiverConfig configures a Receiver.
type ReceiverConfig struct {
	// Consumer is this receiver's name on the link.
	Consumer ConsumerID
	// Window is the prefetch depth: batches granted but not arrived plus
	// batches arrived but not done never exceed it.
	Window int
	// MinGrant holds back freed credit until at least this many slots are
	// free, trading latency for fewer Grant messages. 0 means 1; at most
	// Window, so that a drained consumer always grants again.
	MinGrant int
}

// Validate reports the first problem with the configuration.
func (c ReceiverConfig) Validate() error {
	if err := checkLink(c.Consumer, c.Window); err != nil {
		return fmt.Errorf("core: ReceiverConfig: %w", err)
	}
	if c.MinGrant < 0 || c.MinGrant > c.Window {
		return fmt.Errorf("core: ReceiverConfig: consumer %s: MinGrant %d, want 0..Window (%d): %w", c.Consumer, c.MinGrant, c.Window, ErrConfig)
	}
	return nil
}

// ReceiverStatus is a snapshot of a Receiver.
type ReceiverStatus struct {
	Outstanding int    // granted, not arrived
	Held        int    // arrived, not done
	Free        int    // neither: credit not yet granted back
	Next        uint64 // sequence number expected next
	Done        uint64 // batches finished since the link opened
	Epoch       int    // epoch being received, if EpochOpen
	EpochOpen   bool
	Arrived     int // batches arrived in the open epoch
}

// Receiver is the downstream half of credit-based flow control. It grants its
// window once, takes batches only against credit it granted, in sequence, and
// grants a slot back each time the consumer finishes a batch. The link must
// deliver in order and without repeats (as actor mailboxes and remote
// streams do); a gap or a repeat is reported, not absorbed. A Receiver is not
// safe for concurrent use.
type Receiver struct {
	id       ConsumerID
	window   int
	minGrant int
	opened   bool

	outstanding int
	held        []uint64 // at most window entries, so a slice beats a map
	next        uint64
	done        uint64

	epoch     int
	epochOpen bool
	closed    bool // some epoch has ended, so lastEnded is meaningful
	lastEnded int
	arrived   int
}

// NewReceiver returns a Receiver that has granted nothing yet; step Open.
func NewReceiver(cfg ReceiverConfig) (*Receiver, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	mg := cfg.MinGrant
	if mg == 0 {
		mg = 1
	}
	return &Receiver{id: cfg.Consumer, window: cfg.Window, minGrant: mg, held: make([]uint64, 0, cfg.Window)}, nil
}

// Status returns a snapshot of the receiver.
func (r *Receiver) Status() ReceiverStatus {
	return ReceiverStatus{
		Outstanding: r.outstanding, Held: len(r.held), Free: r.free(),
		Next: r.next, Done: r.done,
		Epoch: r.epoch, EpochOpen: r.epochOpen, Arrived: r.arrived,
	}
}

func (r *Receiver) free() int {
	if !r.opened {
		return 0
	}
	return r.window - r.outstanding - len(r.held)
}

// Step feeds one event to the receiver and returns the actions to perform.
// On error the receiver is unchanged.
func (r *Receiver) Step(ev ReceiverEvent) ([]ReceiverAction, error) {
	switch e := ev.(type) {
	case Open:
		if r.opened {
			return nil, fmt.Errorf("core: Receiver %s: opened twice: %w", r.id, ErrDuplicate)
		}
		r.opened = true
		return r.regrant(nil, 1), nil
	case Arrived:
		return nil, r.arrive(e)
	case Done:
		return r.finish(e)
	case EndOfEpoch:
		return r.endOfEpoch(e)
	default:
		return nil, fmt.Errorf("core: Receiver %s: unhandled event %T: %w", r.id, ev, ErrProtocol)
	}
}

func (r *Receiver) arrive(a Arrived) error {
	switch {
	case a.Seq < r.next:
		return fmt.Errorf("core: Receiver %s: batch seq %d again (expecting %d): %w", r.id, a.Seq, r.next, ErrDuplicate)
	case a.Seq > r.next:
		return fmt.Errorf("core: Receiver %s: batch seq %d, expecting %d: batches lost or reordered: %w", r.id, a.Seq, r.next, ErrProtocol)
	case r.outstanding == 0:
		return fmt.Errorf("core: Receiver %s: batch seq %d arrived without credit: %w", r.id, a.Seq, ErrProtocol)
	}
	if err := r.checkEpoch(a.Epoch, "batch"); err != nil {
		return err
	}
	r.epoch, r.epochOpen = a.Epoch, true
	r.outstanding--
	r.held = append(r.held, a.Seq)
	r.next++
	r.arrived++
	return nil
}

// checkEpoch accepts the open epoch, or a new one later than the last ended.
func (r *Receiver) checkEpoch(e int, what string) error {
	if r.epochOpen && e != r.epoch {
		return fmt.Errorf("core: Receiver %s: %s of epoch %d while epoch %d is open: %w", r.id, what, e, r.epoch, ErrProtocol)
	}
	if !r.epochOpen && r.closed && e <= r.lastEnded {
		return fmt.Errorf("core: Receiver %s: %s of epoch %d after epoch %d ended: %w", r.id, what, e, r.lastEnded, ErrProtocol)
	}
	return nil
}

func (r *Receiver) finish(d Done) ([]ReceiverAction, error) {
	i := -1
	for k, s := range r.held {
		if s == d.Seq {
			i = k
			break
		}
	}
	if i < 0 {
		if d.Seq < r.next {
			return nil, fmt.Errorf("core: Receiver %s: batch seq %d done twice: %w", r.id, d.Seq, ErrDuplicate)
		}
		return nil, fmt.Errorf("core: Receiver %s: done for batch seq %d, which has not arrived: %w", r.id, d.Seq, ErrProtocol)
	}
	r.held = append(r.held[:i], r.held[i+1:]...)
	r.done++
	return r.regrant(nil, r.minGrant), nil
}

// regrant hands every free slot back as credit once at least min are free.
func (r *Receiver) regrant(out []ReceiverAction, min int) []ReceiverAction {
	f := r.free()
	if f < min || f == 0 {
		return out
	}
	r.outstanding += f
	return append(out, Grant{Consumer: r.id, N: f, Acked: r.done})
}

func (r *Receiver) endOfEpoch(e EndOfEpoch) ([]ReceiverAction, error) {
	if e.Consumer != r.id {
		return nil, fmt.Errorf("core: Receiver %s: end of epoch %d addressed to %s: %w", r.id, e.Epoch, e.Consumer, ErrProtocol)
	}
	if !r.epochOpen && r.closed && e.Epoch == r.lastEnded {
		return nil, fmt.Errorf("core: Receiver %s: end of epoch %d again: %w", r.id, e.Epoch, ErrDuplicate)
	}
	if err := r.checkEpoch(e.Epoch, "end"); err != nil {
		return nil, err
	}
	if e.Batches != r.arrived {
		return nil, fmt.Errorf("core: Receiver %s: end of epoch %d says %d batches, %d arrived: %w", r.id, e.Epoch, e.Batches, r.arrived, ErrProtocol)
	}
	r.epochOpen, r.closed, r.lastEnded, r.arrived = false, true, e.Epoch, 0
	return []ReceiverAction{AllArrived{Epoch: e.Epoch, Batches: e.Batches}}, nil
}
