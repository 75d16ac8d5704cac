package core

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// keepAbove keeps the samples whose loss exceeds a threshold: a Filter
// whose answers are known in advance.
type keepAbove float32

func (k keepAbove) Decide(losses, _ []float32, keep []bool) {
	for i, l := range losses {
		keep[i] = l > float32(k)
	}
}

func mustSelector(t testing.TB, cfg SelectorConfig) *Selector {
	t.Helper()
	s, err := NewSelector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Step(BeginSelection{}); err != nil {
		t.Fatal(err)
	}
	return s
}

func step(t testing.TB, s *Selector, ev SelectorEvent) []SelectorAction {
	t.Helper()
	acts, err := s.Step(ev)
	if err != nil {
		t.Fatalf("Step(%+v): %v", ev, err)
	}
	return acts
}

func wantActs(t testing.TB, got []SelectorAction, want ...string) {
	t.Helper()
	var g []string
	for _, a := range got {
		g = append(g, a.String())
	}
	if !slices.Equal(g, want) {
		t.Fatalf("actions\n  %s\nwant\n  %s", strings.Join(g, "\n  "), strings.Join(want, "\n  "))
	}
}

func filterConfig(staleness int) SelectorConfig {
	return SelectorConfig{Samples: 10, Batch: 3, Staleness: staleness, Seed: 1, Filter: keepAbove(1)}
}

func TestSelectorFilterScoresEveryBatch(t *testing.T) {
	s := mustSelector(t, filterConfig(0))
	acts := step(t, s, Scored{Worker: 2, Epoch: 1, Seq: 0, IDs: []int{4, 5, 6}, Losses: []float32{0.5, 2, 3}, Step: 7, Decide: true})
	wantActs(t, acts, "keep worker=2 epoch=1 seq=0 rows=[1 2]")
	// The store took the dropped sample's loss and forgot the kept ones'.
	if l, at := s.Store().Get(4); l != 0.5 || at != 7 {
		t.Errorf("store has sample 4 at %v (step %d), want 0.5 at step 7", l, at)
	}
	if _, at := s.Store().Get(5); at != NeverScored {
		t.Errorf("store has kept sample 5 at step %d, want it forgotten", at)
	}
	// A training step's losses, from before its update, decide nothing
	// and are not kept either.
	wantActs(t, step(t, s, Scored{Worker: 2, Epoch: 1, Seq: 0, IDs: []int{5}, Losses: []float32{1.5}, Step: 7}))
	if _, at := s.Store().Get(5); at != NeverScored {
		t.Errorf("store has trained sample 5 at step %d, want it forgotten", at)
	}
}

func TestSelectorFilterReusesFreshLosses(t *testing.T) {
	s := mustSelector(t, filterConfig(5))
	// Nothing is known: every row must be scored first.
	wantActs(t, step(t, s, Ask{Worker: 0, Epoch: 1, Seq: 0, IDs: []int{0, 1, 2}, Step: 1}),
		"score-first worker=0 epoch=1 seq=0 rows=[0 1 2]")
	wantActs(t, step(t, s, Scored{Worker: 0, Epoch: 1, Seq: 0, IDs: []int{0, 1, 2}, Losses: []float32{3, 0.5, 2}, Step: 1, Decide: true}),
		"keep worker=0 epoch=1 seq=0 rows=[0 2]")
	// At step 6 sample 1 is 5 steps old, still fresh; 9 is new, and 0
	// and 2 were trained on since their losses were measured.
	wantActs(t, step(t, s, Ask{Worker: 0, Epoch: 1, Seq: 1, IDs: []int{2, 9, 1, 0}, Step: 6}),
		"score-first worker=0 epoch=1 seq=1 rows=[0 1 3]")
	wantActs(t, step(t, s, Scored{Worker: 0, Epoch: 1, Seq: 1, IDs: []int{2, 9, 0}, Losses: []float32{0.8, 0.1, 1.2}, Step: 6, Decide: true}),
		"keep worker=0 epoch=1 seq=1 rows=[3]")
	// Every loss fresh: decided without a forward pass.
	wantActs(t, step(t, s, Ask{Worker: 0, Epoch: 1, Seq: 2, IDs: []int{9, 1, 2}, Step: 6}),
		"keep worker=0 epoch=1 seq=2 rows=[]")
	// At step 7 samples 1 is too old; 9 and 2 are not.
	wantActs(t, step(t, s, Ask{Worker: 0, Epoch: 1, Seq: 3, IDs: []int{9, 1, 2}, Step: 7}),
		"score-first worker=0 epoch=1 seq=3 rows=[1]")
}

func TestSelectorFilterNaNGoesToTheFilter(t *testing.T) {
	sb := mustSelective(t, SelectiveConfig{History: 4, Beta: 1})
	s := mustSelector(t, SelectorConfig{Samples: 4, Batch: 2, Seed: 1, Filter: sb})
	acts := step(t, s, Scored{Worker: 0, Epoch: 1, Seq: 0, IDs: []int{0, 1}, Losses: []float32{float32(math.NaN()), 0}, Decide: true})
	// Selective backprop keeps a NaN (so the step reports it); the store
	// does not take it.
	if k := acts[0].(Keep); !slices.Contains(k.Rows, 0) {
		t.Errorf("NaN row dropped: %v", k)
	}
	if _, at := s.Store().Get(0); at != NeverScored {
		t.Errorf("store took a NaN (step %d)", at)
	}
}

func TestSelectorFilterProtocolErrors(t *testing.T) {
	s := mustSelector(t, filterConfig(5))
	step(t, s, Ask{Worker: 0, Epoch: 1, Seq: 0, IDs: []int{0, 1, 2}, Step: 1})
	bad := []struct {
		ev   SelectorEvent
		want error
	}{
		{Ask{Worker: 0, Epoch: 1, Seq: 1, IDs: []int{3}, Step: 1}, ErrProtocol},                                     // one batch at a time
		{Scored{Worker: 0, Epoch: 1, Seq: 0, IDs: []int{0, 1}, Losses: []float32{1, 1}, Decide: true}, ErrProtocol}, // too few
		{Scored{Worker: 0, Epoch: 1, Seq: 0, IDs: []int{0, 2, 1}, Losses: []float32{1, 1, 1}, Decide: true}, ErrProtocol},
		{Scored{Worker: 0, Epoch: 1, Seq: 1, IDs: []int{0, 1, 2}, Losses: []float32{1, 1, 1}, Decide: true}, ErrProtocol},
		{Scored{Worker: 1, Epoch: 1, Seq: 0, IDs: []int{10}, Losses: []float32{1}}, ErrProtocol},   // id out of range
		{Scored{Worker: 1, Epoch: 1, Seq: 0, IDs: []int{1}, Losses: []float32{1, 2}}, ErrProtocol}, // lengths
		{Scored{Worker: -1, Epoch: 1, Seq: 0, IDs: []int{1}, Losses: []float32{1}}, ErrUnknown},    // worker
		{BeginSelection{}, ErrProtocol},
	}
	for _, b := range bad {
		if _, err := s.Step(b.ev); !errors.Is(err, b.want) {
			t.Errorf("Step(%+v) = %v, want %v", b.ev, err, b.want)
		}
	}
	// The errors changed nothing: the right scores still settle it.
	wantActs(t, step(t, s, Scored{Worker: 0, Epoch: 1, Seq: 0, IDs: []int{0, 1, 2}, Losses: []float32{1, 2, 3}, Step: 1, Decide: true}),
		"keep worker=0 epoch=1 seq=0 rows=[1 2]")
	if l, at := s.Store().Get(0); l != 1 || at != 1 {
		t.Errorf("sample 0 stored as %v at step %d, want 1 at step 1 (an erroneous event wrote to the store)", l, at)
	}
}

func samplerConfig(sm Sampler) SelectorConfig {
	// 10 samples in batches of 3: sizes 3, 3, 3, 1.
	return SelectorConfig{Samples: 10, Batch: 3, Round: 1, Staleness: 5, StepsPerEpoch: 4,
		FirstEpoch: 1, Epochs: 2, Fraction: 1, Seed: 3, Sampler: sm}
}

// plans returns the (epoch, seq) of each PlanBatch, and checks its sizes.
func plans(t *testing.T, acts []SelectorAction, sizes map[int]int) []string {
	t.Helper()
	var out []string
	for _, a := range acts {
		p, ok := a.(PlanBatch)
		if !ok {
			t.Fatalf("unexpected action %v", a)
		}
		if n := sizes[p.Seq]; len(p.IDs) != n {
			t.Errorf("plan %d/%d draws %d samples, want %d", p.Epoch, p.Seq, len(p.IDs), n)
		}
		out = append(out, fmt.Sprintf("%d/%d", p.Epoch, p.Seq))
	}
	return out
}

func TestSelectorSamplerRounds(t *testing.T) {
	s, err := NewSelector(samplerConfig(mustLossRank(t, 10, 10)))
	if err != nil {
		t.Fatal(err)
	}
	sizes := map[int]int{0: 3, 1: 3, 2: 3, 3: 1}
	if got := plans(t, step(t, s, BeginSelection{}), sizes); !slices.Equal(got, []string{"1/0", "1/1"}) {
		t.Fatalf("begin plans %v, want rounds 0 and 1 of epoch 1", got)
	}
	report := func(epoch, seq int) []string {
		return plans(t, step(t, s, Scored{Epoch: epoch, Seq: seq, IDs: []int{seq}, Losses: []float32{1}, Step: int64(seq)}), sizes)
	}
	// Batch 1's report waits for batch 0's; then batches 0 and 1 are in,
	// and rounds 2 and 3 may be drawn.
	if got := report(1, 1); got != nil {
		t.Fatalf("a report ahead of its turn planned %v", got)
	}
	if got := report(1, 0); !slices.Equal(got, []string{"1/2", "1/3"}) {
		t.Fatalf("plans %v, want 1/2 and 1/3", got)
	}
	if _, err := s.Step(Scored{Epoch: 1, Seq: 1, IDs: []int{1}, Losses: []float32{1}}); !errors.Is(err, ErrDuplicate) {
		t.Errorf("repeated report: %v, want ErrDuplicate", err)
	}
	report(1, 3)
	if got := report(1, 2); !slices.Equal(got, []string{"2/0", "2/1"}) {
		t.Fatalf("end of epoch 1 planned %v, want 2/0 and 2/1", got)
	}
	for seq := range 4 {
		report(2, seq)
	}
	if _, err := s.Step(Scored{Epoch: 3, Seq: 0, IDs: []int{1}, Losses: []float32{1}}); !errors.Is(err, ErrProtocol) {
		t.Errorf("report past the last epoch: %v, want ErrProtocol", err)
	}
}

func TestSelectorSamplerFractionAndRefresh(t *testing.T) {
	cfg := samplerConfig(mustImportance(t, 0.5))
	cfg.Fraction = 0.5
	cfg.Round = 2
	s, err := NewSelector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	acts := step(t, s, BeginSelection{})
	// Rounds 0 (batches 0, 1) and 1 (batches 2, 3): ⌈0.5·3⌉ = 2 and
	// ⌈0.5·1⌉ = 1 draws. A round of 2 batches makes 2 steps, so
	// ⌈10·2/5⌉ = 4 losses are refreshed per round, two per batch: the
	// oldest (here all unscored: the lowest ids) among the samples that no
	// planned round measures already, by drawing or refreshing them.
	sizes := map[int]int{0: 2, 1: 2, 2: 2, 3: 1}
	plans(t, acts, sizes)
	busy := map[int]bool{}
	for r := range 2 {
		a, b := acts[2*r].(PlanBatch), acts[2*r+1].(PlanBatch)
		for _, id := range slices.Concat(a.IDs, b.IDs) {
			busy[id] = true
		}
		// Round 1 finds only three samples left to refresh.
		var want []int
		for id := 0; id < 10 && len(want) < 4; id++ {
			if !busy[id] {
				want = append(want, id)
			}
		}
		if got := slices.Concat(a.Score, b.Score); len(a.Score) != len(want)/2 || !slices.Equal(got, want) {
			t.Errorf("round %d refreshes %v and %v, want %v split in two", r, a.Score, b.Score, want)
		}
		for _, id := range want {
			busy[id] = true
		}
		for _, p := range []PlanBatch{a, b} {
			if len(p.Weights) != len(p.IDs) {
				t.Errorf("plan %d: %d weights for %d samples", p.Seq, len(p.Weights), len(p.IDs))
			}
		}
	}
}

func TestSelectorSamplerChunksRefreshes(t *testing.T) {
	cfg := samplerConfig(mustLossRank(t, 1, 1))
	cfg.Samples, cfg.Batch, cfg.Round, cfg.StepsPerEpoch, cfg.Staleness = 100, 10, 5, 10, 10
	cfg.ScoreChunk = 20
	s, err := NewSelector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// A round of 5 steps refreshes ⌈100·5/10⌉ = 50 losses: two chunks of
	// 25 (at least 20 each), with the round's batches 0 and 2.
	acts := step(t, s, BeginSelection{})
	var sizes []int
	for _, a := range acts[:5] {
		sizes = append(sizes, len(a.(PlanBatch).Score))
	}
	if !slices.Equal(sizes, []int{25, 0, 25, 0, 0}) {
		t.Errorf("refreshes per batch %v, want [25 0 25 0 0]", sizes)
	}
}

// simulate runs one replica training every planned batch in order, each
// batch's samples measured at the step it trains at with loss f(id, step),
// delivering each round's reports in the order perm gives; it returns every
// plan and the largest age of any stored loss when a batch trains, once the
// first refresh cycle is through.
func simulate(t *testing.T, cfg SelectorConfig, perm func(n int) []int) (map[string]PlanBatch, int64) {
	t.Helper()
	s, err := NewSelector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]PlanBatch{}
	take := func(acts []SelectorAction) {
		for _, a := range acts {
			p := a.(PlanBatch)
			got[fmt.Sprintf("%d/%d", p.Epoch, p.Seq)] = p
		}
	}
	take(step(t, s, BeginSelection{}))
	batches := (cfg.Samples + cfg.Batch - 1) / cfg.Batch
	var worst int64
	for epoch := cfg.FirstEpoch; epoch <= cfg.Epochs; epoch++ {
		for first := 0; first < batches; first += cfg.Round {
			n := min(cfg.Round, batches-first)
			var reports []Scored
			for seq := first; seq < first+n; seq++ {
				p, ok := got[fmt.Sprintf("%d/%d", epoch, seq)]
				if !ok {
					t.Fatalf("batch %d of epoch %d trains with no plan", seq, epoch)
				}
				now := int64((epoch-1)*batches + seq)
				if now > int64(cfg.Staleness+3*cfg.Round) {
					for id := range cfg.Samples {
						_, at := s.Store().Get(id)
						worst = max(worst, now-at)
					}
				}
				ids := append(append([]int(nil), p.IDs...), p.Score...)
				losses := make([]float32, len(ids))
				for i, id := range ids {
					losses[i] = float32(math.Mod(float64(id*7919+int(now)*31), 97)) / 10
				}
				reports = append(reports, Scored{Epoch: epoch, Seq: seq, IDs: ids, Losses: losses, Step: now})
			}
			for _, i := range perm(n) {
				take(step(t, s, reports[i]))
			}
		}
	}
	return got, worst
}

func TestSelectorSamplerIsDeterministicAndFresh(t *testing.T) {
	for _, sm := range []func() Sampler{
		func() Sampler { return mustLossRank(t, 100, 2) },
		func() Sampler { return mustImportance(t, 0.3) },
	} {
		cfg := SelectorConfig{Samples: 300, Batch: 8, Round: 4, Staleness: 20, StepsPerEpoch: 38,
			FirstEpoch: 1, Epochs: 3, Fraction: 0.75, Seed: 11, Sampler: sm()}
		inOrder := func(n int) []int {
			p := make([]int, n)
			for i := range p {
				p[i] = i
			}
			return p
		}
		want, worst := simulate(t, cfg, inOrder)
		cfg.Sampler = sm()
		rng := rand.New(rand.NewPCG(5, 5))
		got, _ := simulate(t, cfg, rng.Perm)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%T: reports in another order changed the plans", cfg.Sampler)
		}
		// Each loss is refreshed within Staleness steps, and a draw reads
		// the store up to two rounds before its batch trains.
		t.Logf("%T: oldest stored loss: %d steps", cfg.Sampler, worst)
		if bound := int64(cfg.Staleness + 2*cfg.Round); worst > bound {
			t.Errorf("%T: a stored loss was %d steps old, want ≤ %d", cfg.Sampler, worst, bound)
		}
	}
}

func TestSelectorConfigErrors(t *testing.T) {
	base := samplerConfig(mustLossRank(t, 1, 1))
	cases := []func(c *SelectorConfig){
		func(c *SelectorConfig) { c.Samples = 0 },
		func(c *SelectorConfig) { c.Batch = 0 },
		func(c *SelectorConfig) { c.Sampler = nil },
		func(c *SelectorConfig) { c.Filter = keepAbove(0) },
		func(c *SelectorConfig) { c.Staleness = 0 },
		func(c *SelectorConfig) { c.Round = 0 },
		func(c *SelectorConfig) { c.StepsPerEpoch = 0 },
		func(c *SelectorConfig) { c.FirstEpoch = 0 },
		func(c *SelectorConfig) { c.Epochs = 0 },
		func(c *SelectorConfig) { c.Fraction = 0 },
		func(c *SelectorConfig) { c.Fraction = math.NaN() },
	}
	for i, edit := range cases {
		c := base
		edit(&c)
		if _, err := NewSelector(c); !errors.Is(err, ErrConfig) {
			t.Errorf("case %d: NewSelector(%+v) = %v, want ErrConfig", i, c, err)
		}
	}
	if _, err := NewSelector(filterConfig(0)); err != nil {
		t.Errorf("a Filter needs no rounds: %v", err)
	}
}
