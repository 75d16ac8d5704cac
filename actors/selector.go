package actors

import (
	"errors"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-ml/troupe/actors/core"
	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/messages"
)

// selectorName is the data selector's actor name, under the job actor.
const selectorName = "selector"

// Selective-backprop's history (Jiang et al. 2019): a loss is ranked among
// the last 1024.
const selectHistory = 1024

// selectRound is the least number of batches a loader-side strategy draws
// at a time. Each round sorts or sums over the whole data set, so rounds
// much shorter than this cost more than they gain in freshness.
const selectRound = 64

// selectScoreChunk is the least number of samples a batch carries to be
// scored only: a forward pass has a fixed cost that a handful of samples
// does not amortise (on the mlp, scoring 20 samples took a third of the
// time of a training step on 64, as much per sample), so refreshes travel
// in chunks.
const selectScoreChunk = 256

// selector is the data selector: it owns the score store and the selection
// strategy (a core.Selector) and answers the replicas' Scores, with a
// Selection for those that wait for one, and sends the loader a Plan per
// batch when the strategy composes the batches (loss-rank, importance).
// It exists only when the job selects (select other than uniform).
type selector struct {
	p   *plan
	t   *topology
	out *outcome
	sel *core.Selector
	// reports drops the second report of a batch sent again after its
	// replica was lost (failover.go).
	reports reportLog
}

func (s *selector) Receive(ctx actor.Context) {
	if s.out.ended() {
		return
	}
	var err error
	switch m := ctx.Message().(type) {
	case *actor.Started:
		var cfg core.SelectorConfig
		if cfg, err = s.p.selectorConfig(); err == nil {
			if s.sel, err = core.NewSelector(cfg); err == nil {
				err = s.step(ctx, core.BeginSelection{})
			}
		}
	case *messages.Scores:
		if s.reports.again(s.p, m) {
			return
		}
		if err = s.step(ctx, scoresEvent(m)); err == nil {
			s.reports.took(s.p, m)
		}
	}
	if err != nil {
		s.out.fail(fmt.Errorf("actors: %s: %w", selectorName, err))
	}
}

// scoresEvent decodes a replica's Scores: with decide and no losses it asks
// for a decision, otherwise it reports losses.
func scoresEvent(m *messages.Scores) core.SelectorEvent {
	ids := make([]int, len(m.GetSampleIds()))
	for i, id := range m.GetSampleIds() {
		ids[i] = int(id)
	}
	w, e, q, v := int(m.GetWorker()), int(m.GetEpoch()), int(m.GetSeq()), int64(m.GetParamVersion())
	if m.GetDecide() && len(m.GetLosses()) == 0 {
		return core.Ask{Worker: w, Epoch: e, Seq: q, IDs: ids, Step: v}
	}
	return core.Scored{Worker: w, Epoch: e, Seq: q, IDs: ids, Losses: m.GetLosses(), Step: v, Decide: m.GetDecide()}
}

func (s *selector) step(ctx actor.Context, ev core.SelectorEvent) error {
	acts, err := s.sel.Step(ev)
	if err != nil {
		return err
	}
	for _, a := range acts {
		switch a := a.(type) {
		case core.Keep:
			ctx.Send(s.t.workers[a.Worker], &messages.Selection{Epoch: uint64(a.Epoch), Seq: uint64(a.Seq),
				Worker: uint32(a.Worker), Rows: rows32(a.Rows), Weights: a.Weights})
		case core.ScoreFirst:
			ctx.Send(s.t.workers[a.Worker], &messages.Selection{Epoch: uint64(a.Epoch), Seq: uint64(a.Seq),
				Worker: uint32(a.Worker), Score: rows32(a.Rows)})
		case core.PlanBatch:
			ctx.Send(s.t.loader, &messages.Plan{Epoch: uint64(a.Epoch), Seq: uint64(a.Seq),
				SampleIds: ids64(a.IDs), Weights: a.Weights, ScoreIds: ids64(a.Score)})
		}
	}
	return nil
}

func rows32(rows []int) []uint32 {
	out := make([]uint32, len(rows))
	for i, r := range rows {
		out[i] = uint32(r)
	}
	return out
}

func ids64(ids []int) []int64 {
	out := make([]int64, len(ids))
	for i, id := range ids {
		out[i] = int64(id)
	}
	return out
}

// selects reports whether the job selects data, and so has a selector.
func (p *plan) selects() bool { return p.job.Select != spec.Uniform }

// composes reports whether the selector composes the batches at the loader
// (loss-rank, importance) rather than filtering each batch at the replica.
func (p *plan) composes() bool {
	return p.job.Select == spec.LossRank || p.job.Select == spec.Importance
}

// checkSelection checks the selector's configuration, and rejects what
// selection does not combine with yet: a batch mix blends samples and
// labels across a batch, while selection scores and picks samples one by
// one.
func (p *plan) checkSelection() error {
	if !p.selects() {
		return nil
	}
	if p.pipe != nil {
		if _, mixes := p.pipe.Mix(); mixes {
			return fmt.Errorf("actors: select %s with a batch mix (mixup, cutmix) in augment: %w", p.job.Select, errSelectMix)
		}
	}
	cfg, err := p.selectorConfig()
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		return fmt.Errorf("actors: select %s: %w", p.job.Select, err)
	}
	return nil
}

var errSelectMix = errors.New("data selection does not combine with batch mixes yet")

// selectRoundFor is how many batches a loader-side strategy draws at a
// time. The loader waits for a round's plans, and a round is drawn once
// every report of the round before the previous one is in; so that waiting
// can never stall the replicas, a round must outlast what they can hold or
// run ahead by: each replica's window, twice, and the SSP bound.
func (p *plan) selectRoundFor() int {
	return max(selectRound, p.workers*(2*p.prefetch+p.staleness+2))
}

// selectorConfig is the core.Selector configuration for the job.
func (p *plan) selectorConfig() (core.SelectorConfig, error) {
	j := p.job
	cfg := core.SelectorConfig{
		Samples: p.trainSet.N, Batch: j.Batch, Round: p.selectRoundFor(), Staleness: j.ScoreStaleness,
		StepsPerEpoch: p.stepsPerEpoch, FirstEpoch: p.first, Epochs: j.Epochs, Fraction: j.SelectFraction, Seed: j.Seed,
		ScoreChunk: selectScoreChunk,
	}
	var err error
	switch j.Select {
	case spec.SelectiveBackprop:
		cfg.Filter, err = core.NewSelectiveBackprop(core.SelectiveConfig{History: selectHistory, Beta: j.SelectBeta})
	case spec.LossRank:
		cfg.Sampler, err = core.NewLossRank(core.LossRankConfig{Pressure: j.SelectPressure, PressureEnd: j.SelectPressureEnd})
	case spec.Importance:
		cfg.Sampler, err = core.NewImportance(core.ImportanceConfig{Smoothing: j.SelectSmoothing})
	}
	return cfg, err
}
