package actors

import (
	"errors"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-ml/troupe/actors/core"
	"github.com/troupe-ml/troupe/messages"
)

// planKey names a batch: its epoch and position in the epoch.
type planKey struct{ epoch, seq uint64 }

// errAwaitPlan stops the loader's actions at a batch whose plan has not
// come yet; the plan's arrival carries on from there.
var errAwaitPlan = errors.New("actors: the batch's plan has not come yet")

// takePlan keeps a batch plan from the selector and makes the batch if it
// was waiting for it.
func (l *loader) takePlan(ctx actor.Context, m *messages.Plan) error {
	if l.plans == nil {
		l.plans = map[planKey]*messages.Plan{}
	}
	l.plans[planKey{m.GetEpoch(), m.GetSeq()}] = m
	if err := l.do(ctx); err != nil {
		return err
	}
	l.failures.Store(0)
	return nil
}

// producePlanned makes batch pos of the epoch from its plan: the samples to
// train on, with their loss weights, then the samples to score only.
func (l *loader) producePlanned(c core.ConsumerID) error {
	key := planKey{uint64(l.epoch), uint64(l.pos)}
	pl, ok := l.plans[key]
	if !ok {
		return errAwaitPlan
	}
	l.m.set(busy)
	defer l.m.set(idle)
	ds := l.p.trainSet
	ids := append(append([]int64(nil), pl.GetSampleIds()...), pl.GetScoreIds()...)
	idx := make([]int, len(ids))
	for i, id := range ids {
		if id < 0 || id >= int64(ds.N) {
			return fmt.Errorf("plan for batch %d of epoch %d names sample %d of %d: %w", l.pos, l.epoch, id, ds.N, core.ErrProtocol)
		}
		idx[i] = int(id)
	}
	if len(pl.GetSampleIds()) == 0 || (len(pl.GetWeights()) != 0 && len(pl.GetWeights()) != len(pl.GetSampleIds())) {
		return fmt.Errorf("plan for batch %d of epoch %d: %d samples to train on with %d weights: %w",
			l.pos, l.epoch, len(pl.GetSampleIds()), len(pl.GetWeights()), core.ErrProtocol)
	}
	n := len(ids)
	if l.madeX == nil {
		l.madeX = l.inputsFor(n * l.per)
	}
	x, y := l.madeX[:n*l.per], make([]int32, n)
	ds.Fill(idx, x, y)
	l.made = &messages.Batch{
		Epoch:     uint64(l.epoch),
		Seq:       uint64(l.pos),
		SampleIds: ids,
		Inputs:    messages.ViewFloat32(x, []int{n, ds.C, ds.H, ds.W}),
		Labels:    y,
		Worker:    uint32(l.links[c]),
		Weights:   pl.GetWeights(),
		ScoreOnly: uint32(len(pl.GetScoreIds())),
	}
	delete(l.plans, key)
	l.pos++
	l.m.samples += uint64(n)
	return nil
}

// inputsFor returns a free inputs buffer of at least size values: a
// planned batch carries its score-only samples on top of the batch size.
func (l *loader) inputsFor(size int) []float32 {
	for i := len(l.free) - 1; i >= 0; i-- {
		if x := l.free[i]; len(x) >= size {
			l.free = append(l.free[:i], l.free[i+1:]...)
			return x
		}
	}
	return make([]float32, max(size, l.p.job.Batch*l.per))
}
