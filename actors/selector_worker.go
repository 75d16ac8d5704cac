package actors

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-ml/troupe/actors/core"
	"github.com/troupe-ml/troupe/engine/optim"
	"github.com/troupe-ml/troupe/engine/tensor"
	"github.com/troupe-ml/troupe/messages"
)

// passCounts counts, over a replica's epoch, the samples it ran forward
// and backward passes on, and under data selection how many it trained on
// (kept) and how many it only scored or skipped (dropped).
type passCounts struct {
	forward, backward uint64
	kept, dropped     uint64
}

func (c *passCounts) add(forward, backward int) {
	c.forward += uint64(forward)
	c.backward += uint64(backward)
}

func (c passCounts) report(r *messages.Metrics) {
	r.ForwardSamples, r.BackwardSamples, r.Forwarded, r.Dropped = c.forward, c.backward, c.kept, c.dropped
}

// selStep is a replica's step under data selection: whether it waits for
// the selector, which rows of the batch have a loss measured in this step
// (in worker.losses), and reused gather buffers.
type selStep struct {
	waiting  bool
	measured []bool
	rows     []uint32
	x        []float32
	y        []int32
}

// selectStep runs batch b's step under data selection. When the selector
// composed the batch (loss-rank, importance) the replica trains on it at
// once; otherwise (selective backprop) it asks the selector which samples
// to train on, sending the losses of a forward pass unless stored ones may
// do, and the step goes on in selected.
func (w *worker) selectStep(ctx actor.Context, b *messages.Batch, x []float32, n int) error {
	w.sel.waiting = false
	w.sel.measured = resize(w.sel.measured, n)
	clear(w.sel.measured)
	if w.p.composes() {
		return w.trainPlanned(ctx, b, x, n)
	}
	if w.p.job.ScoreStaleness > 0 {
		w.sel.waiting = true
		w.sendScores(ctx, &messages.Scores{Epoch: b.GetEpoch(), Seq: b.GetSeq(), SampleIds: b.GetSampleIds(),
			Worker: uint32(w.i), ParamVersion: w.versions[0], Decide: true})
		return nil
	}
	w.sel.rows = resize(w.sel.rows, n)
	for i := range w.sel.rows {
		w.sel.rows[i] = uint32(i)
	}
	return w.score(ctx, b, x, w.sel.rows)
}

// sendScores sends m to the selector; the send is where a test loses a
// replica that asked and has no answer yet (hooks.scoresSent).
func (w *worker) sendScores(ctx actor.Context, m *messages.Scores) {
	ctx.Send(w.t.selector, m)
	if f := w.p.hooks.scoresSent; f != nil {
		f(w.i, m)
	}
}

// gather copies rows of batch b (inputs x) into the step's buffers and
// returns their sample ids.
func (w *worker) gather(b *messages.Batch, x []float32, rows []uint32) ([]int64, error) {
	n := len(b.GetLabels())
	per := len(x) / n
	ids := make([]int64, len(rows))
	w.sel.x, w.sel.y = w.sel.x[:0], w.sel.y[:0]
	for i, r := range rows {
		if int(r) >= n {
			return nil, fmt.Errorf("selection names row %d of a batch of %d: %w", r, n, core.ErrProtocol)
		}
		w.sel.x = append(w.sel.x, x[int(r)*per:(int(r)+1)*per]...)
		w.sel.y = append(w.sel.y, b.GetLabels()[r])
		ids[i] = b.GetSampleIds()[r]
	}
	return ids, nil
}

// score runs a forward pass on rows of the batch and sends their losses to
// the selector, which answers with a Selection.
func (w *worker) score(ctx actor.Context, b *messages.Batch, x []float32, rows []uint32) error {
	ids, err := w.gather(b, x, rows)
	if err != nil {
		return err
	}
	losses := make([]float32, len(rows)) // the message keeps it
	if err := w.tr.Losses(w.sel.x, w.sel.y, losses); err != nil {
		return fmt.Errorf("batch %d of epoch %d: scoring: %w", b.GetSeq(), b.GetEpoch(), err)
	}
	for i, r := range rows {
		w.losses[r], w.sel.measured[r] = losses[i], true
	}
	w.selStats.add(len(rows), 0)
	w.sel.waiting = true
	w.sendScores(ctx, &messages.Scores{Epoch: b.GetEpoch(), Seq: b.GetSeq(), SampleIds: ids, Losses: losses,
		Worker: uint32(w.i), ParamVersion: w.versions[0], Decide: true})
	return nil
}

// selected takes the selector's answer for the step in progress: rows to
// score first, or the rows to train on.
func (w *worker) selected(ctx actor.Context, m *messages.Selection) error {
	b := w.cur
	if b == nil || !w.sel.waiting || m.GetEpoch() != b.GetEpoch() || m.GetSeq() != b.GetSeq() {
		return fmt.Errorf("selection for batch %d of epoch %d, which the replica is not waiting for: %w", m.GetSeq(), m.GetEpoch(), core.ErrProtocol)
	}
	w.sel.waiting = false
	x, err := b.GetInputs().Float32()
	if err != nil {
		return fmt.Errorf("batch %d of epoch %d: inputs: %w", b.GetSeq(), b.GetEpoch(), err)
	}
	if rows := m.GetScore(); len(rows) > 0 {
		return w.score(ctx, b, x, rows)
	}
	rows, weights := m.GetRows(), m.GetWeights()
	if len(weights) != 0 && len(weights) != len(rows) {
		return fmt.Errorf("selection for batch %d of epoch %d: %d weights for %d rows: %w", b.GetSeq(), b.GetEpoch(), len(weights), len(rows), core.ErrProtocol)
	}
	ids, err := w.gather(b, x, rows)
	if err != nil {
		return err
	}
	n := len(b.GetLabels())
	w.selStats.kept += uint64(len(rows))
	w.selStats.dropped += uint64(max(n-len(rows), 0))
	if len(rows) == 0 {
		// Nothing kept: a zero gradient still counts as this replica's
		// push for the step.
		optim.ZeroGrad(w.params)
		return w.finishSelected(ctx, b, n)
	}
	losses := make([]float32, len(rows))
	tg := tensor.Targets{Labels: w.sel.y}
	if len(weights) > 0 {
		tg.Weights = weights
	}
	if _, err := w.tr.GradientsTargets(w.sel.x, tg, losses); err != nil {
		return fmt.Errorf("batch %d of epoch %d: %w", b.GetSeq(), b.GetEpoch(), err)
	}
	w.selStats.add(len(rows), len(rows))
	// Rows decided from stored losses were measured by this forward pass:
	// the selector's store takes them.
	var freshIDs []int64
	var fresh []float32
	for i, r := range rows {
		if !w.sel.measured[r] {
			w.losses[r], w.sel.measured[r] = losses[i], true
			freshIDs, fresh = append(freshIDs, ids[i]), append(fresh, losses[i])
		}
	}
	if len(fresh) > 0 {
		w.sendScores(ctx, &messages.Scores{Epoch: b.GetEpoch(), Seq: b.GetSeq(), SampleIds: freshIDs, Losses: fresh,
			Worker: uint32(w.i), ParamVersion: w.versions[0]})
	}
	return w.finishSelected(ctx, b, n)
}

// finishSelected ends a filtered step, reporting the mean of the losses
// measured in it.
func (w *worker) finishSelected(ctx actor.Context, b *messages.Batch, n int) error {
	var sum float64
	scored := 0
	for r, ok := range w.sel.measured {
		if ok {
			sum += float64(w.losses[r])
			scored++
		}
	}
	loss := float32(0)
	if scored > 0 {
		loss = float32(sum / float64(scored))
	}
	return w.finish(ctx, b, n, scored, loss)
}

// trainPlanned trains on a batch the selector composed: its leading
// samples, with the plan's loss weights, and then scores the trailing
// score-only ones. Every loss goes back to the selector's store.
func (w *worker) trainPlanned(ctx actor.Context, b *messages.Batch, x []float32, n int) error {
	score := int(b.GetScoreOnly())
	nt := n - score
	weights := b.GetWeights()
	switch {
	case nt < 1:
		return fmt.Errorf("batch %d of epoch %d: %d samples, %d of them score-only, want one to train on: %w", b.GetSeq(), b.GetEpoch(), n, score, core.ErrProtocol)
	case len(weights) != 0 && len(weights) != nt:
		return fmt.Errorf("batch %d of epoch %d: %d weights for %d trained samples: %w", b.GetSeq(), b.GetEpoch(), len(weights), nt, core.ErrProtocol)
	}
	per := len(x) / n
	y := b.GetLabels()
	var tw []float32
	if len(weights) > 0 {
		tw = weights
	}
	if score > 0 && w.tr.ScoresInTrainingPass() {
		// One forward pass trains and scores, the backward pass runs over
		// the trained rows, and every result is that of the two calls
		// below bit for bit: the scoring pass would read every weight
		// again, much of a small batch's step.
		if _, err := w.tr.GradientsScored(x, tensor.Targets{Labels: y, Weights: tw}, nt, w.losses); err != nil {
			return fmt.Errorf("batch %d of epoch %d: %w", b.GetSeq(), b.GetEpoch(), err)
		}
	} else {
		if _, err := w.tr.GradientsTargets(x[:nt*per], tensor.Targets{Labels: y[:nt], Weights: tw}, w.losses[:nt]); err != nil {
			return fmt.Errorf("batch %d of epoch %d: %w", b.GetSeq(), b.GetEpoch(), err)
		}
		if score > 0 {
			if err := w.tr.Losses(x[nt*per:], y[nt:], w.losses[nt:]); err != nil {
				return fmt.Errorf("batch %d of epoch %d: scoring: %w", b.GetSeq(), b.GetEpoch(), err)
			}
		}
	}
	w.selStats.add(n, nt)
	w.selStats.kept += uint64(nt)
	w.selStats.dropped += uint64(score)
	w.sendScores(ctx, &messages.Scores{Epoch: b.GetEpoch(), Seq: b.GetSeq(), SampleIds: b.GetSampleIds(),
		Losses: append([]float32(nil), w.losses...), Worker: uint32(w.i), ParamVersion: w.versions[0]})
	var sum float64
	for _, l := range w.losses[:nt] {
		sum += float64(l)
	}
	return w.finish(ctx, b, nt, nt, float32(sum/float64(nt)))
}
