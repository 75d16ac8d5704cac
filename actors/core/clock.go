package core

import (
	"fmt"
	"strings"
)

// Consistency is how a parameter server orders workers' updates.
type Consistency int

const (
	// BSP (bulk synchronous): the gradients of step t from every live worker
	// are averaged into one update, and no worker starts step t+1 before it.
	BSP Consistency = iota + 1
	// SSP (stale synchronous, Ho et al. 2013): each push is applied as it
	// comes; a worker may run at most Staleness steps ahead of the slowest.
	SSP
	// Async: each push is applied as it comes and nobody waits.
	Async
)

func (c Consistency) String() string {
	switch c {
	case BSP:
		return "bsp"
	case SSP:
		return "ssp"
	case Async:
		return "async"
	default:
		return fmt.Sprintf("Consistency(%d)", int(c))
	}
}

// ParseConsistency reads "bsp", "ssp" or "async".
func ParseConsistency(s string) (Consistency, error) {
	switch strings.ToLower(s) {
	case "bsp":
		return BSP, nil
	case "ssp":
		return SSP, nil
	case "async":
		return Async, nil
	}
	return 0, fmt.Errorf("core: consistency %q, want bsp, ssp or async: %w", s, ErrConfig)
}

// ClockEvent is an input to Clock.Step.
type ClockEvent interface{ clockEvent() }

// ClockAction is an output of Clock.Step.
type ClockAction interface {
	clockAction()
	String() string
}

// Push reports that Worker sent the gradient of its step Step, computed on
// parameters of version Version. The shell keeps the tensor under the key
// (Worker, Step) until an Apply names it; no two unapplied gradients share a
// key, but a worker that leaves and rejoins may reuse the key of a gradient
// that was applied already.
type Push struct {
	Worker  WorkerID
	Step    int
	Version uint64
}

// Pull asks for parameters to compute step Step with.
type Pull struct {
	Worker WorkerID
	Step   int
}

// GradRef names one pushed gradient.
type GradRef struct {
	Worker  WorkerID
	Step    int
	Version uint64 // version the gradient was computed on
}

// Apply tells the shell to add Scale × the sum of the named gradients to the
// parameters through the optimizer, which makes version Version.
type Apply struct {
	Grads   []GradRef
	Scale   float32
	Version uint64
}

// Reply tells the shell to send the parameters at version Version to Worker,
// answering its pull for step Step.
type Reply struct {
	Worker  WorkerID
	Step    int
	Version uint64
}

// Admit tells a joining worker the step to start from: the slowest live
// worker's, so a newcomer never holds the others back, or with nobody live
// the furthest clock of those who left since the live set was last empty.
type Admit struct {
	Worker WorkerID
	Step   int
}

func (Push) clockEvent()         {}
func (Pull) clockEvent()         {}
func (WorkerLeft) clockEvent()   {}
func (WorkerJoined) clockEvent() {}

func (Apply) clockAction() {}
func (Reply) clockAction() {}
func (Admit) clockAction() {}

func (a Apply) String() string {
	var b strings.Builder
	b.WriteString("Apply [")
	for i, g := range a.Grads {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s@%d/v%d", g.Worker, g.Step, g.Version)
	}
	fmt.Fprintf(&b, "] scale=%g version=%d", a.Scale, a.Version)
	return b.String()
}

func (r Reply) String() string {
	return fmt.Sprintf("Reply %s step=%d version=%d", r.Worker, r.Step, r.Version)
}

func (a Admit) String() string { return fmt.Sprintf("Admit %s step=%d", a.Worker, a.Step) }

// ClockConfig configures a Clock.
type ClockConfig struct {
	Mode Consistency
	// Staleness is SSP's bound s: a worker at step t proceeds only while
	// t − (slowest live worker's step) ≤ s. BSP and Async take 0.
	Staleness int
	// Workers are live from the start, all at step Step.
	Workers []WorkerID
	// Step and Version resume a run from a checkpoint.
	Step    int
	Version uint64
}

// Validate reports the first problem with the configuration.
func (c ClockConfig) Validate() error {
	switch c.Mode {
	case BSP, Async:
		if c.Staleness != 0 {
			return fmt.Errorf("core: ClockConfig: staleness %d with %s, want 0 (only ssp takes a bound): %w", c.Staleness, c.Mode, ErrConfig)
		}
	case SSP:
		if c.Staleness < 0 {
			return fmt.Errorf("core: ClockConfig: staleness %d, want ≥ 0: %w", c.Staleness, ErrConfig)
		}
	default:
		return fmt.Errorf("core: ClockConfig: mode %v, want BSP, SSP or Async: %w", c.Mode, ErrConfig)
	}
	if c.Step < 0 {
		return fmt.Errorf("core: ClockConfig: step %d, want ≥ 0: %w", c.Step, ErrConfig)
	}
	if err := checkWorkers(c.Workers); err != nil {
		return fmt.Errorf("core: ClockConfig.Workers: %w", err)
	}
	return nil
}

// WorkerClock is one live worker's position.
type WorkerClock struct {
	Worker WorkerID
	// Clock is the step the worker computes next: the number of steps it
	// has pushed, counted from the step it started at.
	Clock int
	// Waiting is set while its pull for step Clock is held back.
	Waiting bool
}

// ClockStatus is a snapshot of a Clock.
type ClockStatus struct {
	Version uint64
	Min     int // slowest live worker's clock (while none is live, the start step)
	Workers []WorkerClock
	// Pending lists pushes held for a BSP average that is not complete.
	Pending []GradRef
}

// Clock is the parameter server's consistency logic. It decides when a pull
// may be answered, which pushes form one update, and when a departed worker
// stops holding the others back; the gradients themselves stay with the
// shell. Invariants: no worker is answered or accepted for a step more than
// s ahead of the slowest live worker (s = 0 for BSP); the slowest clock never
// moves back; versions grow by one per Apply. A Clock is not safe for
// concurrent use.
type Clock struct {
	mode      Consistency
	staleness int
	version   uint64
	workers   []WorkerClock // live, in join order
	floor     int           // slowest clock; the start step while nobody is live
	// reach is the furthest clock of the workers that left since the live
	// set was last empty; it becomes the floor when the set empties again.
	reach int
	// BSP's one open step: Push requires the slowest clock to have reached
	// the pusher's, so a step completes before any worker can push the next.
	pending     []GradRef
	pendingStep int
}

// NewClock returns a Clock with cfg.Workers live at step cfg.Step.
func NewClock(cfg ClockConfig) (*Clock, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Clock{mode: cfg.Mode, staleness: cfg.Staleness, version: cfg.Version, floor: cfg.Step}
	for _, w := range cfg.Workers {
		c.workers = append(c.workers, WorkerClock{Worker: w, Clock: cfg.Step})
	}
	return c, nil
}

// Status returns a snapshot of the clock.
func (c *Clock) Status() ClockStatus {
	return ClockStatus{
		Version: c.version,
		Min:     c.min(),
		Workers: append([]WorkerClock(nil), c.workers...),
		Pending: append([]GradRef(nil), c.pending...),
	}
}

func (c *Clock) find(w WorkerID) int {
	for i := range c.workers {
		if c.workers[i].Worker == w {
			return i
		}
	}
	return -1
}

func (c *Clock) min() int {
	if len(c.workers) == 0 {
		return c.floor
	}
	m := c.workers[0].Clock
	for _, w := range c.workers[1:] {
		m = min(m, w.Clock)
	}
	return m
}

// mayProceed is the SSP read/compute condition for a worker at clock t.
func (c *Clock) mayProceed(t int) bool {
	return c.mode == Async || t-c.min() <= c.staleness
}

// Step feeds one event to the clock and returns the actions to perform, in
// order: an Apply always precedes the Replies it makes possible. On error the
// clock is unchanged.
func (c *Clock) Step(ev ClockEvent) ([]ClockAction, error) {
	switch e := ev.(type) {
	case Push:
		out, err := c.push(e)
		if err != nil {
			return nil, err
		}
		return c.settle(out), nil
	case Pull:
		// A pull never moves a clock, so there is nothing to settle.
		return c.pull(e)
	case WorkerLeft:
		if !c.leave(e.Worker) {
			return nil, nil
		}
		return c.settle(nil), nil
	case WorkerJoined:
		return c.join(e.Worker)
	default:
		return nil, fmt.Errorf("core: Clock: unhandled event %T: %w", ev, ErrProtocol)
	}
}

func (c *Clock) leave(w WorkerID) bool {
	i := c.find(w)
	if i < 0 {
		return false
	}
	c.reach = max(c.reach, c.workers[i].Clock)
	c.workers = append(c.workers[:i], c.workers[i+1:]...)
	if len(c.workers) == 0 {
		// Workers that stop together reach the shards in any order, and
		// the last one's clock would make shards admit the next worker at
		// different steps. The furthest clock among all of them is the same
		// on every shard whatever the order (a worker's leave follows its
		// pushes), never below a slowest clock seen before, and under BSP
		// it is the step after the last one applied, as before.
		c.floor, c.reach = max(c.floor, c.reach), 0
	}
	return true
}

func (c *Clock) join(w WorkerID) ([]ClockAction, error) {
	if c.find(w) >= 0 {
		return nil, nil
	}
	if w == "" {
		return nil, fmt.Errorf("core: Clock: join with an empty worker ID: %w", ErrProtocol)
	}
	start := c.min()
	if c.pendingFrom(w) {
		// It left after pushing the open BSP step and that gradient is
		// still counted, so it resumes after that step.
		start++
	}
	c.workers = append(c.workers, WorkerClock{Worker: w, Clock: start})
	return []ClockAction{Admit{Worker: w, Step: start}}, nil
}

func (c *Clock) push(p Push) ([]ClockAction, error) {
	i := c.find(p.Worker)
	if i < 0 {
		return nil, fmt.Errorf("core: Clock: push from worker %s: %w", p.Worker, ErrUnknown)
	}
	w := &c.workers[i]
	switch {
	case p.Step < w.Clock:
		return nil, fmt.Errorf("core: Clock: push from %s for step %d, already past it (at %d): %w", p.Worker, p.Step, w.Clock, ErrDuplicate)
	case p.Step > w.Clock:
		return nil, fmt.Errorf("core: Clock: push from %s for step %d, expecting step %d: %w", p.Worker, p.Step, w.Clock, ErrProtocol)
	case p.Version > c.version:
		return nil, fmt.Errorf("core: Clock: push from %s computed on version %d, newer than %d: %w", p.Worker, p.Version, c.version, ErrProtocol)
	case !c.mayProceed(p.Step):
		return nil, fmt.Errorf("core: Clock: push from %s for step %d, more than %d steps ahead of the slowest (%d): %w",
			p.Worker, p.Step, c.staleness, c.min(), ErrProtocol)
	}
	w.Clock++
	g := GradRef(p)
	if c.mode != BSP {
		c.version++
		return []ClockAction{Apply{Grads: []GradRef{g}, Scale: 1, Version: c.version}}, nil
	}
	c.pendingStep = p.Step
	c.pending = append(c.pending, g)
	return nil, nil
}

func (c *Clock) pull(p Pull) ([]ClockAction, error) {
	i := c.find(p.Worker)
	if i < 0 {
		return nil, fmt.Errorf("core: Clock: pull from worker %s: %w", p.Worker, ErrUnknown)
	}
	w := &c.workers[i]
	switch {
	case p.Step < w.Clock:
		return nil, fmt.Errorf("core: Clock: pull from %s for step %d, already pushed (at %d): %w", p.Worker, p.Step, w.Clock, ErrDuplicate)
	case p.Step > w.Clock:
		return nil, fmt.Errorf("core: Clock: pull from %s for step %d, expecting step %d: %w", p.Worker, p.Step, w.Clock, ErrProtocol)
	case w.Waiting:
		return nil, fmt.Errorf("core: Clock: pull from %s for step %d, already waiting: %w", p.Worker, p.Step, ErrDuplicate)
	}
	if !c.mayProceed(p.Step) {
		w.Waiting = true
		return nil, nil
	}
	return []ClockAction{Reply{Worker: p.Worker, Step: p.Step, Version: c.version}}, nil
}

func (c *Clock) pendingFrom(w WorkerID) bool {
	for _, g := range c.pending {
		if g.Worker == w {
			return true
		}
	}
	return false
}

// settle completes a BSP step whose every live worker has pushed, then
// answers the pulls that the new slowest clock lets through.
func (c *Clock) settle(out []ClockAction) []ClockAction {
	// With nobody live, every live worker has trivially pushed.
	if len(c.pending) > 0 && (len(c.workers) == 0 || c.min() > c.pendingStep) {
		c.floor = max(c.floor, c.pendingStep+1)
		c.version++
		out = append(out, Apply{Grads: c.pending, Scale: 1 / float32(len(c.pending)), Version: c.version})
		c.pending = nil
	}
	for i := range c.workers {
		w := &c.workers[i]
		if w.Waiting && c.mayProceed(w.Clock) {
			w.Waiting = false
			out = append(out, Reply{Worker: w.Worker, Step: w.Clock, Version: c.version})
		}
	}
	if len(c.workers) > 0 {
		c.floor = c.min()
	}
	return out
}
