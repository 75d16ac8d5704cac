package core

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// SelectorConfig configures a Selector. Exactly one of Filter and Sampler
// is set: a Filter decides which samples of each batch get a backward pass
// once their losses are known; a Sampler composes the batches themselves
// from the losses of the whole data set.
type SelectorConfig struct {
	Samples int // data-set size N; sample ids are in [0, N)
	Batch   int // samples per batch B; an epoch has ⌈N/B⌉ batches
	// Round is how many batches a Sampler composes at a time (see Selector).
	Round int
	// Staleness is how many optimizer steps a stored loss may be old and
	// still be used. A Filter runs a forward pass for every sample whose
	// loss is older (0: for every sample); a Sampler refreshes the oldest
	// losses at a rate that keeps each within this bound, so it needs ≥ 1.
	Staleness int
	// StepsPerEpoch is how many optimizer steps an epoch's batches make
	// (fewer than batches when synchronous replicas average them).
	StepsPerEpoch int
	// FirstEpoch and Epochs bound the epochs a Sampler plans, numbered
	// from 1 as the loader numbers them.
	FirstEpoch, Epochs int
	// Fraction in (0, 1] is the share of each batch a Sampler draws:
	// ⌈Fraction·size⌉ samples get a backward pass per batch.
	Fraction float64
	// ScoreChunk is the least number of score-only samples a Sampler puts
	// in one batch (0: 1): a forward pass over a few samples costs nearly
	// as much as over many, so a round's refreshes go out in a few large
	// chunks, spread over its batches.
	ScoreChunk int
	// Seed makes every draw and decision reproducible.
	Seed uint64

	Filter  Policy
	Sampler Sampler
}

// Validate reports the first problem with the configuration.
func (c SelectorConfig) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("core: SelectorConfig: "+format+": %w", append(args, ErrConfig)...)
	}
	switch {
	case c.Samples < 1 || c.Samples > maxStoreSamples:
		return bad("samples %d, want 1 to %d", c.Samples, maxStoreSamples)
	case c.Batch < 1:
		return bad("batch %d, want ≥ 1", c.Batch)
	case (c.Filter == nil) == (c.Sampler == nil):
		return bad("want exactly one of Filter and Sampler")
	case c.Staleness < 0:
		return bad("staleness %d, want ≥ 0", c.Staleness)
	case c.ScoreChunk < 0:
		return bad("score chunk %d, want ≥ 0", c.ScoreChunk)
	case c.Sampler == nil:
		return nil
	case c.Round < 1:
		return bad("round %d, want ≥ 1", c.Round)
	case c.Staleness < 1:
		return bad("staleness %d with a Sampler, want ≥ 1", c.Staleness)
	case c.StepsPerEpoch < 1:
		return bad("steps per epoch %d, want ≥ 1", c.StepsPerEpoch)
	case c.FirstEpoch < 1 || c.Epochs < c.FirstEpoch:
		return bad("epochs %d to %d, want 1 ≤ first ≤ last", c.FirstEpoch, c.Epochs)
	case !(c.Fraction > 0 && c.Fraction <= 1):
		return bad("fraction %g, want in (0, 1]", c.Fraction)
	}
	return nil
}

// SelectorEvent is an input to Selector.Step.
type SelectorEvent interface{ selectorEvent() }

// SelectorAction is an output of Selector.Step.
type SelectorAction interface {
	selectorAction()
	String() string
}

// BeginSelection starts the selector; a Sampler answers with the plans of
// the first epoch's first two rounds.
type BeginSelection struct{}

// Ask is a replica's request for a decision on a batch (its sample ids,
// row by row) before any forward pass, made with parameters of step Step.
// A Filter with Staleness 0 does not need it: the replica sends Scored
// with Decide instead.
type Ask struct {
	Worker     int
	Epoch, Seq int
	IDs        []int
	Step       int64
}

// Scored carries losses a replica measured with the parameters of step
// Step. With Decide the replica waits for a Keep: the losses are those of
// the rows a ScoreFirst asked for, or of the whole batch if it asked
// nothing. Without Decide they only update the store; under a Sampler,
// every batch of the epoch sends exactly one such report (its trained and
// its score-only samples together).
type Scored struct {
	Worker     int
	Epoch, Seq int
	IDs        []int
	Losses     []float32
	Step       int64
	Decide     bool
}

// Keep answers a replica: train on these rows of the batch, in order, with
// these loss weights (nil: all 1).
type Keep struct {
	Worker     int
	Epoch, Seq int
	Rows       []int
	Weights    []float32
}

// ScoreFirst asks a replica for the losses of these rows of its batch.
type ScoreFirst struct {
	Worker     int
	Epoch, Seq int
	Rows       []int
}

// PlanBatch is a Sampler's composition of batch Seq of Epoch: the samples
// to train on (with their loss weights, nil for all 1) and the samples to
// score only.
type PlanBatch struct {
	Epoch, Seq int
	IDs        []int
	Weights    []float32
	Score      []int
}

func (BeginSelection) selectorEvent() {}
func (Ask) selectorEvent()            {}
func (Scored) selectorEvent()         {}
func (Keep) selectorAction()          {}
func (ScoreFirst) selectorAction()    {}
func (PlanBatch) selectorAction()     {}

func (k Keep) String() string {
	if k.Weights == nil {
		return fmt.Sprintf("keep worker=%d epoch=%d seq=%d rows=%v", k.Worker, k.Epoch, k.Seq, k.Rows)
	}
	return fmt.Sprintf("keep worker=%d epoch=%d seq=%d rows=%v weights=%v", k.Worker, k.Epoch, k.Seq, k.Rows, k.Weights)
}

func (s ScoreFirst) String() string {
	return fmt.Sprintf("score-first worker=%d epoch=%d seq=%d rows=%v", s.Worker, s.Epoch, s.Seq, s.Rows)
}

func (p PlanBatch) String() string {
	return fmt.Sprintf("plan epoch=%d seq=%d ids=%v weights=%v score=%v", p.Epoch, p.Seq, p.IDs, p.Weights, p.Score)
}

// Selector owns a data set's ScoreStore and a selection strategy, and
// answers the replicas and the loader.
//
// Under a Filter, a replica asks about each batch (Ask): rows whose stored
// loss is fresh enough are decided from it, the others are scored first
// (ScoreFirst, then Scored with Decide), and the answer is the rows to
// train on (Keep). The Filter sees the batch's losses and a uniform number
// per sample from SampleUniform(seed, epoch, id).
//
// Under a Sampler, the selector composes the batches. It works in rounds
// of Round batches: round r of an epoch is drawn once every score of the
// epoch's rounds before r−1 is in (rounds 0 and 1 from the state at the
// epoch's start), so a round's draw overlaps the training of the round
// before it, and the store it reads is the same whatever the order in
// which the replicas' reports arrive (they are applied in batch order).
// Each round also lists the ⌈N·steps/Staleness⌉ oldest losses, steps being
// the round's optimizer steps, to be scored along with its batches, which
// keeps every loss at most Staleness steps old (plus the two rounds of
// lag) when it is used.
type Selector struct {
	cfg     SelectorConfig
	batches int // per epoch
	rounds  int // per epoch
	store   *ScoreStore

	// Filter: the batch each replica is having scored, and scratch.
	pending  map[int]pendingBatch
	losses   []float32
	uniforms []float32
	keep     []bool

	// Sampler: the epoch being applied, how many of its leading batches
	// are in the store, which rounds are planned, and the reports that
	// arrived ahead of their turn.
	begun   bool
	epoch   int
	applied int
	planned int
	early   map[int]Scored
	pcg     rand.PCG
	rng     *rand.Rand
	ids     []int
	weights []float32
	refresh []int
	// busy counts, per sample, the planned rounds not yet applied that
	// will measure it (drawn or refreshed): it is not refreshed again
	// meanwhile, which would slow the refresh cycle down. flight lists
	// those rounds in order.
	busy   []int32
	flight []plannedRound
}

type plannedRound struct {
	end int // one past the round's last batch
	ids []int
}

type pendingBatch struct {
	epoch, seq int
	ids        []int
	need       []int // rows asked for, ascending
}

// NewSelector returns a selector with an empty store.
func NewSelector(cfg SelectorConfig) (*Selector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	store, err := NewScoreStore(cfg.Samples)
	if err != nil {
		return nil, err
	}
	s := &Selector{cfg: cfg, store: store, pending: map[int]pendingBatch{}, early: map[int]Scored{}}
	s.batches = (cfg.Samples + cfg.Batch - 1) / cfg.Batch
	if cfg.Round > 0 {
		s.rounds = (s.batches + cfg.Round - 1) / cfg.Round
	}
	s.epoch = cfg.FirstEpoch
	s.rng = rand.New(&s.pcg)
	if cfg.Sampler != nil {
		s.busy = make([]int32, cfg.Samples)
	}
	return s, nil
}

// Store returns the selector's score store, for reading.
func (s *Selector) Store() *ScoreStore { return s.store }

// Step feeds one event to the selector and returns the actions to perform,
// in order. On error the selector is unchanged.
func (s *Selector) Step(ev SelectorEvent) ([]SelectorAction, error) {
	switch e := ev.(type) {
	case BeginSelection:
		return s.begin()
	case Ask:
		return s.ask(e)
	case Scored:
		return s.scored(e)
	default:
		return nil, fmt.Errorf("core: Selector: unhandled event %T: %w", ev, ErrProtocol)
	}
}

func (s *Selector) begin() ([]SelectorAction, error) {
	if s.begun {
		return nil, fmt.Errorf("core: Selector: begun twice: %w", ErrProtocol)
	}
	s.begun = true
	if s.cfg.Sampler == nil {
		return nil, nil
	}
	return s.plan(nil), nil
}

// checkIDs validates a report's sample ids.
func (s *Selector) checkIDs(what string, worker, epoch, seq int, ids []int) error {
	if worker < 0 {
		return fmt.Errorf("core: Selector: %s from worker %d: %w", what, worker, ErrUnknown)
	}
	for i, id := range ids {
		if id < 0 || id >= s.cfg.Samples {
			return fmt.Errorf("core: Selector: %s for batch %d of epoch %d: row %d has sample %d, want in [0, %d): %w",
				what, seq, epoch, i, id, s.cfg.Samples, ErrProtocol)
		}
	}
	return nil
}

func (s *Selector) ask(a Ask) ([]SelectorAction, error) {
	if s.cfg.Filter == nil {
		return nil, fmt.Errorf("core: Selector: ask from worker %d, but the strategy composes batches at the loader: %w", a.Worker, ErrProtocol)
	}
	if err := s.checkIDs("ask", a.Worker, a.Epoch, a.Seq, a.IDs); err != nil {
		return nil, err
	}
	if p, ok := s.pending[a.Worker]; ok {
		return nil, fmt.Errorf("core: Selector: worker %d asks about batch %d of epoch %d while batch %d of epoch %d awaits its scores: %w",
			a.Worker, a.Seq, a.Epoch, p.seq, p.epoch, ErrProtocol)
	}
	var need []int
	for row, id := range a.IDs {
		if !s.store.Fresh(id, a.Step, s.cfg.Staleness) {
			need = append(need, row)
		}
	}
	if len(need) > 0 {
		s.pending[a.Worker] = pendingBatch{epoch: a.Epoch, seq: a.Seq, ids: append([]int(nil), a.IDs...), need: need}
		return []SelectorAction{ScoreFirst{Worker: a.Worker, Epoch: a.Epoch, Seq: a.Seq, Rows: need}}, nil
	}
	s.losses = resize(s.losses, len(a.IDs))
	for row, id := range a.IDs {
		s.losses[row], _ = s.store.Get(id)
	}
	return []SelectorAction{s.decide(a.Worker, a.Epoch, a.Seq, a.IDs)}, nil
}

func (s *Selector) scored(e Scored) ([]SelectorAction, error) {
	if err := s.checkIDs("scores", e.Worker, e.Epoch, e.Seq, e.IDs); err != nil {
		return nil, err
	}
	if len(e.Losses) != len(e.IDs) {
		return nil, fmt.Errorf("core: Selector: scores for batch %d of epoch %d: %d losses for %d samples: %w",
			e.Seq, e.Epoch, len(e.Losses), len(e.IDs), ErrProtocol)
	}
	if s.cfg.Sampler != nil {
		return s.sampled(e)
	}
	if !e.Decide {
		// The losses of a training step's forward pass, measured just
		// before it updated on these very samples: not reusable (see
		// decide).
		return nil, nil
	}
	p, ok := s.pending[e.Worker]
	if !ok {
		// No Ask: the whole batch was scored.
		s.record(e.IDs, e.Losses, e.Step)
		s.losses = append(s.losses[:0], e.Losses...)
		return []SelectorAction{s.decide(e.Worker, e.Epoch, e.Seq, e.IDs)}, nil
	}
	if p.epoch != e.Epoch || p.seq != e.Seq || len(e.IDs) != len(p.need) {
		return nil, fmt.Errorf("core: Selector: worker %d sent %d scores for batch %d of epoch %d, want %d for batch %d of epoch %d: %w",
			e.Worker, len(e.IDs), e.Seq, e.Epoch, len(p.need), p.seq, p.epoch, ErrProtocol)
	}
	for i, row := range p.need {
		if e.IDs[i] != p.ids[row] {
			return nil, fmt.Errorf("core: Selector: worker %d scored sample %d as row %d of batch %d of epoch %d, which holds sample %d: %w",
				e.Worker, e.IDs[i], row, e.Seq, e.Epoch, p.ids[row], ErrProtocol)
		}
	}
	delete(s.pending, e.Worker)
	s.record(e.IDs, e.Losses, e.Step)
	s.losses = resize(s.losses, len(p.ids))
	for row, id := range p.ids {
		s.losses[row], _ = s.store.Get(id)
	}
	// The fresh losses stand even where the store declined them (NaN):
	// the Filter decides what a NaN means.
	for i, row := range p.need {
		s.losses[row] = e.Losses[i]
	}
	return []SelectorAction{s.decide(e.Worker, e.Epoch, e.Seq, p.ids)}, nil
}

func (s *Selector) record(ids []int, losses []float32, step int64) {
	for i, id := range ids {
		s.store.Record(id, losses[i], step)
	}
}

// decide runs the Filter on s.losses, the losses of ids row by row.
func (s *Selector) decide(worker, epoch, seq int, ids []int) Keep {
	n := len(ids)
	s.uniforms = resize(s.uniforms, n)
	s.keep = resize(s.keep, n)
	for row, id := range ids {
		s.uniforms[row] = SampleUniform(s.cfg.Seed, epoch, id)
	}
	s.cfg.Filter.Decide(s.losses[:n], s.uniforms, s.keep)
	k := Keep{Worker: worker, Epoch: epoch, Seq: seq, Rows: []int{}}
	for row, kept := range s.keep {
		if kept {
			k.Rows = append(k.Rows, row)
			// The step about to train on the sample lowers its loss
			// most: reusing the loss from before it would keep the
			// sample again and again until the loss goes stale. Its next
			// decision scores it afresh, while a dropped sample's loss,
			// which only other samples' updates move, stays usable.
			s.store.Forget(ids[row])
		}
	}
	return k
}

// sampled takes one batch's report under a Sampler.
func (s *Selector) sampled(e Scored) ([]SelectorAction, error) {
	switch {
	case e.Decide:
		return nil, fmt.Errorf("core: Selector: worker %d asks for a decision, but the strategy composes batches at the loader: %w", e.Worker, ErrProtocol)
	case !s.begun:
		return nil, fmt.Errorf("core: Selector: scores before the selection began: %w", ErrProtocol)
	case e.Epoch != s.epoch || s.epoch > s.cfg.Epochs:
		return nil, fmt.Errorf("core: Selector: scores for epoch %d while applying epoch %d (of %d to %d): %w",
			e.Epoch, s.epoch, s.cfg.FirstEpoch, s.cfg.Epochs, ErrProtocol)
	case e.Seq < 0 || e.Seq >= s.batches:
		return nil, fmt.Errorf("core: Selector: scores for batch %d of epoch %d, which has %d: %w", e.Seq, e.Epoch, s.batches, ErrProtocol)
	}
	if _, ok := s.early[e.Seq]; ok || e.Seq < s.applied {
		return nil, fmt.Errorf("core: Selector: scores for batch %d of epoch %d again: %w", e.Seq, e.Epoch, ErrDuplicate)
	}
	e.IDs, e.Losses = append([]int(nil), e.IDs...), append([]float32(nil), e.Losses...)
	s.early[e.Seq] = e
	for {
		next, ok := s.early[s.applied]
		if !ok {
			break
		}
		delete(s.early, s.applied)
		s.record(next.IDs, next.Losses, next.Step)
		s.applied++
		for len(s.flight) > 0 && s.flight[0].end <= s.applied {
			for _, id := range s.flight[0].ids {
				s.busy[id]--
			}
			s.flight = s.flight[1:]
		}
	}
	if s.applied == s.batches {
		s.epoch, s.applied, s.planned = s.epoch+1, 0, 0
		if s.epoch > s.cfg.Epochs {
			return nil, nil
		}
	}
	return s.plan(nil), nil
}

// plan draws every round of the current epoch that may be drawn now: round
// r once the batches before round r−1 are applied.
func (s *Selector) plan(acts []SelectorAction) []SelectorAction {
	for s.planned < s.rounds && s.applied >= (s.planned-1)*s.cfg.Round {
		acts = s.planRound(acts, s.epoch, s.planned)
		s.planned++
	}
	return acts
}

func (s *Selector) planRound(acts []SelectorAction, epoch, round int) []SelectorAction {
	c := s.cfg
	first, end := round*c.Round, min((round+1)*c.Round, s.batches)
	draws := make([]int, 0, end-first)
	total := 0
	for seq := first; seq < end; seq++ {
		size := min(c.Batch, c.Samples-seq*c.Batch)
		d := min(max(int(math.Ceil(c.Fraction*float64(size))), 1), size)
		draws = append(draws, d)
		total += d
	}
	s.pcg.Seed(mix64(c.Seed^mix64(uint64(epoch))), uint64(round))
	progress := float64((epoch-1)*s.batches+first) / float64(c.Epochs*s.batches)
	s.ids, s.weights = c.Sampler.Draw(s.store, progress, s.rng, total, s.ids[:0], s.weights[:0])
	// The round's optimizer steps, and the losses to refresh so that a
	// full cycle through the data set takes at most Staleness steps.
	steps := float64(end-first) * float64(c.StepsPerEpoch) / float64(s.batches)
	k := min(int(math.Ceil(float64(c.Samples)*steps/float64(c.Staleness))), c.Samples)
	// Samples this round draws will be measured by their training.
	for _, id := range s.ids {
		s.busy[id]++
	}
	s.refresh = s.store.Oldest(k, s.refresh[:0], func(id int) bool { return s.busy[id] > 0 })
	for _, id := range s.refresh {
		s.busy[id]++
	}
	s.flight = append(s.flight, plannedRound{end: end, ids: append(append([]int(nil), s.ids...), s.refresh...)})
	// The refreshes go out in chunks of at least ScoreChunk, chunk j with
	// batch ⌊j·batches/chunks⌋.
	nb, nr := len(draws), len(s.refresh)
	chunks := min(nb, max(1, nr/max(c.ScoreChunk, 1)))
	at, chunk := 0, 0
	for i, d := range draws {
		p := PlanBatch{Epoch: epoch, Seq: first + i, IDs: append([]int(nil), s.ids[at:at+d]...), Score: []int{}}
		if len(s.weights) > 0 {
			p.Weights = append([]float32(nil), s.weights[at:at+d]...)
		}
		for chunk < chunks && chunk*nb/chunks == i {
			p.Score = append(p.Score, s.refresh[chunk*nr/chunks:(chunk+1)*nr/chunks]...)
			chunk++
		}
		acts = append(acts, p)
		at += d
	}
	return acts
}

func resize[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n)
}
