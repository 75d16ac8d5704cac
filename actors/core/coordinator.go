package core

import (
	"fmt"
	"strings"
)

// CoordinatorEvent is an input to Coordinator.Step.
type CoordinatorEvent interface{ coordinatorEvent() }

// CoordinatorAction is an output of Coordinator.Step.
type CoordinatorAction interface {
	coordinatorAction()
	String() string
}

// Begin starts the first epoch.
type Begin struct{}

// BatchDone reports that Worker trained on batch Seq of Epoch. Delivery may
// repeat it; only the first report of a batch counts.
type BatchDone struct {
	Worker WorkerID
	Epoch  int
	Seq    int
}

// Evaluated reports that the evaluation asked for by Evaluate is over.
type Evaluated struct{ Epoch int }

// Checkpointed reports that the checkpoint asked for by Checkpoint is written.
type Checkpointed struct{ Epoch int }

// EpochStarted announces an epoch of Batches batches, numbered 0..Batches-1.
type EpochStarted struct {
	Epoch   int
	Batches int
}

// Assign gives Worker the batches Seqs of Epoch, in addition to what it
// already has. The loader produces them for it in this order.
type Assign struct {
	Worker WorkerID
	Epoch  int
	Seqs   []int
}

// Evaluate asks the shell to evaluate the model after Epoch.
type Evaluate struct{ Epoch int }

// Checkpoint asks the shell to write a checkpoint after Epoch.
type Checkpoint struct{ Epoch int }

// Finish says the job trained all its epochs.
type Finish struct{}

func (Begin) coordinatorEvent()        {}
func (BatchDone) coordinatorEvent()    {}
func (Evaluated) coordinatorEvent()    {}
func (Checkpointed) coordinatorEvent() {}
func (WorkerLeft) coordinatorEvent()   {}
func (WorkerJoined) coordinatorEvent() {}

func (EpochStarted) coordinatorAction() {}
func (Assign) coordinatorAction()       {}
func (Evaluate) coordinatorAction()     {}
func (Checkpoint) coordinatorAction()   {}
func (Finish) coordinatorAction()       {}

func (e EpochStarted) String() string {
	return fmt.Sprintf("EpochStarted epoch=%d batches=%d", e.Epoch, e.Batches)
}

func (a Assign) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Assign %s epoch=%d seqs=", a.Worker, a.Epoch)
	writeRanges(&b, a.Seqs)
	return b.String()
}

// writeRanges prints sorted ints compactly ("0-3,7"), keeping long
// assignments readable in logs and test scripts.
func writeRanges(b *strings.Builder, s []int) {
	for i := 0; i < len(s); {
		j := i
		for j+1 < len(s) && s[j+1] == s[j]+1 {
			j++
		}
		if i > 0 {
			b.WriteByte(',')
		}
		if j == i {
			fmt.Fprintf(b, "%d", s[i])
		} else {
			fmt.Fprintf(b, "%d-%d", s[i], s[j])
		}
		i = j + 1
	}
}

func (e Evaluate) String() string   { return fmt.Sprintf("Evaluate epoch=%d", e.Epoch) }
func (c Checkpoint) String() string { return fmt.Sprintf("Checkpoint epoch=%d", c.Epoch) }
func (Finish) String() string       { return "Finish" }

// Phase is where a Coordinator is in the epoch cycle.
type Phase int

const (
	// Idle: before Begin.
	Idle Phase = iota
	// Training: batches of the epoch are assigned and being trained on.
	Training
	// Evaluating: every batch is done; waiting for Evaluated.
	Evaluating
	// Checkpointing: waiting for Checkpointed.
	Checkpointing
	// Finished: the last epoch is checkpointed.
	Finished
)

func (p Phase) String() string {
	switch p {
	case Idle:
		return "idle"
	case Training:
		return "training"
	case Evaluating:
		return "evaluating"
	case Checkpointing:
		return "checkpointing"
	case Finished:
		return "finished"
	}
	return fmt.Sprintf("Phase(%d)", int(p))
}

// CoordinatorConfig configures a Coordinator.
type CoordinatorConfig struct {
	// Samples and BatchSize fix the batches of an epoch: ceil(Samples /
	// BatchSize), batch b holding positions [b·BatchSize, (b+1)·BatchSize) of
	// the epoch's sample order (the last one possibly shorter).
	Samples   int
	BatchSize int
	// Epochs is the epoch count of the whole job; training runs epochs
	// StartEpoch..Epochs-1, so a resumed job keeps its numbering.
	Epochs     int
	StartEpoch int
	// StartStep is the global step (batches done) at StartEpoch.
	StartStep int
	// Workers are live from the start.
	Workers []WorkerID
}

// Validate reports the first problem with the configuration.
func (c CoordinatorConfig) Validate() error {
	switch {
	case c.Samples < 1:
		return fmt.Errorf("core: CoordinatorConfig: samples %d, want ≥ 1: %w", c.Samples, ErrConfig)
	case c.BatchSize < 1:
		return fmt.Errorf("core: CoordinatorConfig: batch size %d, want ≥ 1: %w", c.BatchSize, ErrConfig)
	case c.StartEpoch < 0:
		return fmt.Errorf("core: CoordinatorConfig: start epoch %d, want ≥ 0: %w", c.StartEpoch, ErrConfig)
	case c.Epochs <= c.StartEpoch:
		return fmt.Errorf("core: CoordinatorConfig: epochs %d, want more than the start epoch %d: %w", c.Epochs, c.StartEpoch, ErrConfig)
	case c.StartStep < 0:
		return fmt.Errorf("core: CoordinatorConfig: start step %d, want ≥ 0: %w", c.StartStep, ErrConfig)
	}
	if err := checkWorkers(c.Workers); err != nil {
		return fmt.Errorf("core: CoordinatorConfig.Workers: %w", err)
	}
	return nil
}

// Progress is a snapshot of a Coordinator.
type Progress struct {
	Phase   Phase
	Epoch   int
	Batches int // per epoch
	Done    int // batches done in this epoch
	Step    int // global step: batches done since the job began
	// Orphaned counts unfinished batches with no live worker to take them.
	Orphaned int
	Live     []WorkerID
}

// Coordinator tracks epochs, steps and which worker owns which batch. At the
// start of an epoch it deals the batches round-robin to the live workers;
// when a worker leaves it deals that worker's unfinished batches to the
// others, so each batch is counted done exactly once per epoch whoever
// survives. When all are done it asks for Evaluate, then Checkpoint, then
// starts the next epoch or says Finish. A Coordinator is not safe for
// concurrent use.
type Coordinator struct {
	samples, batchSize int
	batches            int
	epochs             int
	epoch              int
	step               int
	phase              Phase

	live  roster
	known map[WorkerID]bool // ever a member: only they may report batches

	owner []WorkerID // per batch; "" while orphaned
	done  []bool
	nDone int
}

// NewCoordinator returns an idle Coordinator; step Begin to start.
func NewCoordinator(cfg CoordinatorConfig) (*Coordinator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := (cfg.Samples + cfg.BatchSize - 1) / cfg.BatchSize
	c := &Coordinator{
		samples: cfg.Samples, batchSize: cfg.BatchSize, batches: n,
		epochs: cfg.Epochs, epoch: cfg.StartEpoch, step: cfg.StartStep,
		known: make(map[WorkerID]bool, len(cfg.Workers)),
		owner: make([]WorkerID, n), done: make([]bool, n),
	}
	for _, w := range cfg.Workers {
		c.live.add(w)
		c.known[w] = true
	}
	return c, nil
}

// Batches is the number of batches per epoch.
func (c *Coordinator) Batches() int { return c.batches }

// BatchRange returns the positions [lo, hi) of the epoch's sample order that
// batch seq holds.
func (c *Coordinator) BatchRange(seq int) (lo, hi int, ok bool) {
	if seq < 0 || seq >= c.batches {
		return 0, 0, false
	}
	lo = seq * c.batchSize
	return lo, min(lo+c.batchSize, c.samples), true
}

// Owner returns the worker that batch seq of the current epoch is assigned
// to ("" while orphaned) and whether it is done.
func (c *Coordinator) Owner(seq int) (WorkerID, bool, bool) {
	if seq < 0 || seq >= c.batches {
		return "", false, false
	}
	return c.owner[seq], c.done[seq], true
}

// Progress returns a snapshot of the coordinator.
func (c *Coordinator) Progress() Progress {
	p := Progress{Phase: c.phase, Epoch: c.epoch, Batches: c.batches, Done: c.nDone, Step: c.step,
		Live: append([]WorkerID(nil), c.live.order...)}
	if c.phase == Training {
		for b, w := range c.owner {
			if w == "" && !c.done[b] {
				p.Orphaned++
			}
		}
	}
	return p
}

// Step feeds one event to the coordinator and returns the actions to perform,
// in order. Repeats of events already accounted for (a BatchDone for a done
// batch or a past epoch, Evaluated or Checkpointed for a past phase) return
// no actions and no error, so a shell may deliver at least once. On error the
// coordinator is unchanged.
func (c *Coordinator) Step(ev CoordinatorEvent) ([]CoordinatorAction, error) {
	switch e := ev.(type) {
	case Begin:
		if c.phase != Idle {
			return nil, fmt.Errorf("core: Coordinator: begin while %s: %w", c.phase, ErrDuplicate)
		}
		return c.startEpoch(), nil
	case BatchDone:
		return c.batchDone(e)
	case Evaluated:
		if now, err := c.current("evaluated", e.Epoch, Evaluating); !now {
			return nil, err
		}
		c.phase = Checkpointing
		return []CoordinatorAction{Checkpoint{Epoch: c.epoch}}, nil
	case Checkpointed:
		if now, err := c.current("checkpointed", e.Epoch, Checkpointing); !now {
			return nil, err
		}
		if c.epoch+1 == c.epochs {
			c.phase = Finished
			return []CoordinatorAction{Finish{}}, nil
		}
		c.epoch++
		return c.startEpoch(), nil
	case WorkerLeft:
		return c.leave(e.Worker), nil
	case WorkerJoined:
		return c.join(e.Worker)
	default:
		return nil, fmt.Errorf("core: Coordinator: unhandled event %T: %w", ev, ErrProtocol)
	}
}

// current tells whether a completion report is the one awaited now. One from
// the past is a repeat (false, nil); one from the future is an error.
func (c *Coordinator) current(what string, epoch int, want Phase) (bool, error) {
	if epoch == c.epoch && c.phase == want {
		return true, nil
	}
	if epoch < c.epoch || (epoch == c.epoch && c.phase > want) {
		return false, nil
	}
	return false, fmt.Errorf("core: Coordinator: %s for epoch %d while %s epoch %d: %w", what, epoch, c.phase, c.epoch, ErrProtocol)
}

func (c *Coordinator) startEpoch() []CoordinatorAction {
	c.phase = Training
	c.nDone = 0
	clear(c.done)
	clear(c.owner)
	all := make([]int, c.batches)
	for b := range all {
		all[b] = b
	}
	out := []CoordinatorAction{EpochStarted{Epoch: c.epoch, Batches: c.batches}}
	return c.deal(out, all)
}

// deal hands batches round-robin to the live workers, one Assign per worker
// in join order; with nobody live they stay orphaned until someone joins.
func (c *Coordinator) deal(out []CoordinatorAction, seqs []int) []CoordinatorAction {
	n := c.live.len()
	if n == 0 || len(seqs) == 0 {
		return out
	}
	per := make([][]int, n)
	for k, b := range seqs {
		w := k % n
		per[w] = append(per[w], b)
		c.owner[b] = c.live.order[w]
	}
	for i, s := range per {
		if len(s) > 0 {
			out = append(out, Assign{Worker: c.live.order[i], Epoch: c.epoch, Seqs: s})
		}
	}
	return out
}

// unfinished lists, in order, the open batches owned by w ("" for orphans).
func (c *Coordinator) unfinished(w WorkerID) []int {
	var s []int
	for b, o := range c.owner {
		if o == w && !c.done[b] {
			s = append(s, b)
		}
	}
	return s
}

func (c *Coordinator) leave(w WorkerID) []CoordinatorAction {
	if !c.live.has(w) {
		return nil
	}
	c.live.remove(w)
	if c.phase != Training {
		return nil
	}
	left := c.unfinished(w)
	for _, b := range left {
		c.owner[b] = ""
	}
	return c.deal(nil, left)
}

func (c *Coordinator) join(w WorkerID) ([]CoordinatorAction, error) {
	if w == "" {
		return nil, fmt.Errorf("core: Coordinator: join with an empty worker ID: %w", ErrProtocol)
	}
	if c.live.has(w) {
		return nil, nil
	}
	c.live.add(w)
	c.known[w] = true
	if c.phase != Training {
		return nil, nil
	}
	// Orphans exist only while nobody was live; a newcomer otherwise waits
	// for the next epoch rather than taking batches the loader may already
	// be producing for someone else.
	return c.deal(nil, c.unfinished("")), nil
}

func (c *Coordinator) batchDone(d BatchDone) ([]CoordinatorAction, error) {
	if !c.known[d.Worker] {
		return nil, fmt.Errorf("core: Coordinator: batch done by worker %q: %w", d.Worker, ErrUnknown)
	}
	if c.phase == Idle {
		return nil, fmt.Errorf("core: Coordinator: batch done before the first epoch began: %w", ErrProtocol)
	}
	if d.Epoch > c.epoch {
		return nil, fmt.Errorf("core: Coordinator: batch %d of epoch %d done during epoch %d: %w", d.Seq, d.Epoch, c.epoch, ErrProtocol)
	}
	if d.Seq < 0 || d.Seq >= c.batches {
		return nil, fmt.Errorf("core: Coordinator: batch done seq %d, want 0..%d: %w", d.Seq, c.batches-1, ErrProtocol)
	}
	if d.Epoch < c.epoch || c.phase != Training || c.done[d.Seq] {
		return nil, nil
	}
	// A batch may be reported by someone other than its owner: a worker
	// declared gone that was only slow. The work is done either way.
	c.done[d.Seq] = true
	c.nDone++
	c.step++
	if c.nDone < c.batches {
		return nil, nil
	}
	c.phase = Evaluating
	return []CoordinatorAction{Evaluate{Epoch: c.epoch}}, nil
}
