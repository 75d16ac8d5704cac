package actors

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-ml/troupe/actors/core"
	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/train"
	"github.com/troupe-ml/troupe/messages"
)

// trainedRec is one batch as a replica trained on it.
type trainedRec struct {
	worker  int
	ids     []int64
	weights []float32
	score   int // trailing score-only samples
}

// batchLog keeps, per batch, every training of it, and the batch whose
// replica was lost while training it.
type batchLog struct {
	mu       sync.Mutex
	done     map[planKey][]trainedRec
	lost     *trainedRec
	lostKey  planKey
	lateLost int // batches the lost replica trained after its loss
}

func (l *batchLog) add(w int, b *messages.Batch, lost bool) {
	r := trainedRec{worker: w, ids: slices.Clone(b.GetSampleIds()), weights: slices.Clone(b.GetWeights()), score: int(b.GetScoreOnly())}
	key := planKey{b.GetEpoch(), b.GetSeq()}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case lost:
		l.lost, l.lostKey = &r, key
	case l.lost != nil && l.lost.worker == w:
		l.lateLost++
	default:
		l.done[key] = append(l.done[key], r)
	}
}

// perWorker sums the passes replica w ran in epoch e by the log:
// backward on the trained samples, forward on those and the score-only.
func (l *batchLog) perWorker(w int, e uint64) (fwd, bwd, scored uint64) {
	for k, rs := range l.done {
		for _, r := range rs {
			if k.epoch == e && r.worker == w {
				fwd += uint64(len(r.ids))
				bwd += uint64(len(r.ids) - r.score)
				scored += uint64(r.score)
			}
		}
	}
	return fwd, bwd, scored
}

// epochStages keeps the replicas' stage metrics of every epoch.
type epochStages struct{ workers [][]Stage }

func (e *epochStages) Progress(train.Progress)       {}
func (e *epochStages) Epoch(train.EpochReport) error { return nil }
func (e *epochStages) EpochMetrics(_ int, m Metrics) {
	e.workers = append(e.workers, slices.Clone(m.Workers))
}

// A replica lost under loss-rank or importance selection does not fail the
// job: the batches it had not acknowledged are made again from their plans
// for the others, and every planned batch of every epoch is trained once,
// by a replica alive at the time, on the samples, loss weights and
// score-only rows the selector planned. The selector keeps drawing rounds
// (with batch 8 an epoch has three), and takes one report per batch
// although the lost replica reported its last batch before it went.
func TestLostWorkerUnderSelection(t *testing.T) {
	const (
		samples = 1280
		epochs  = 3
	)
	pick := rand.New(rand.NewPCG(20, 26)) // the random loss points
	type tc struct {
		sel       spec.Selection
		workers   int
		sync      core.Consistency
		staleness int
		// where the loss comes: the lost replica's nth batch of epoch, or
		// with last whoever trains the epoch's last batch.
		worker, epoch, nth int
		last               bool
	}
	random := func(sel spec.Selection, workers int, sync core.Consistency, staleness int) tc {
		per := (samples/8 + workers - 1) / workers
		return tc{sel: sel, workers: workers, sync: sync, staleness: staleness,
			worker: pick.IntN(workers), epoch: 1 + pick.IntN(epochs), nth: 2 + pick.IntN(per-4)}
	}
	cases := []tc{
		random(spec.LossRank, 3, core.BSP, 0),
		random(spec.Importance, 2, core.SSP, 1),
		random(spec.Importance, 3, core.Async, 0),
		{sel: spec.LossRank, workers: 2, sync: core.Async, epoch: 1, last: true},
		{sel: spec.Importance, workers: 3, sync: core.BSP, epoch: 1, last: true},
		{sel: spec.LossRank, workers: 3, sync: core.SSP, staleness: 1, worker: 2, epoch: 2, nth: 1},
	}
	for _, c := range cases {
		where := fmt.Sprintf("w%d-e%d-n%d", c.worker, c.epoch, c.nth)
		if c.last {
			where = fmt.Sprintf("last-of-e%d", c.epoch)
		}
		t.Run(fmt.Sprintf("%s/%dx%v/%s", c.sel, c.workers, c.sync, where), func(t *testing.T) {
			noLeak(t)
			trainSet, testSet := synth(samples, 1), synth(200, 2)
			job := tinyJob(epochs)
			job.Batch = 8
			job.Select, job.ScoreStaleness = c.sel, 30
			job.SelectFraction, job.SelectPressure, job.SelectPressureEnd = 0.5, 50, 5
			if c.sel == spec.Importance {
				job.SelectSmoothing = 0.5
			}
			batches := (samples + job.Batch - 1) / job.Batch
			cfg := Config{Job: job, Workers: c.workers, PSShards: 2, Sync: c.sync, Staleness: c.staleness, Prefetch: 2}
			cfg.hooks.failover = true
			var stages epochStages
			cfg.Observer = &stages
			log := &batchLog{done: map[planKey][]trainedRec{}}
			var n atomic.Int32
			var lost atomic.Bool
			cfg.hooks.trainedBatch = func(w int, b *messages.Batch) {
				hit := int(b.GetEpoch()) == c.epoch && !lost.Load()
				if c.last {
					hit = hit && int(b.GetSeq()) == batches-1
				} else {
					hit = hit && w == c.worker && n.Add(1) == int32(c.nth)
				}
				if hit && lost.CompareAndSwap(false, true) {
					log.add(w, b, true)
					panic(errInjected)
				}
				log.add(w, b, false)
			}
			// A stall would otherwise hang until the test binary's timeout.
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
			defer cancel()
			res, _, err := Run(ctx, cfg, trainSet, testSet)
			if err != nil {
				t.Fatal(err)
			}
			if !lost.Load() {
				t.Fatal("no replica was lost")
			}
			log.mu.Lock()
			defer log.mu.Unlock()
			gone := log.lost.worker
			t.Logf("replica %d lost on batch %d of epoch %d", gone, log.lostKey.seq, log.lostKey.epoch)
			if log.lateLost > 0 {
				t.Errorf("the lost replica trained %d batches after its loss", log.lateLost)
			}
			if len(res.Epochs) != epochs {
				t.Errorf("%d epoch reports, want %d", len(res.Epochs), epochs)
			}
			want := drawnPerEpoch(samples, job.Batch, job.SelectFraction)
			for e := uint64(1); e <= epochs; e++ {
				var trained uint64
				for seq := range uint64(batches) {
					rs := log.done[planKey{e, seq}]
					if len(rs) != 1 {
						t.Errorf("batch %d of epoch %d trained %d times, want once", seq, e, len(rs))
						continue
					}
					trained += uint64(len(rs[0].ids) - rs[0].score)
				}
				if trained != want {
					t.Errorf("epoch %d: %d samples trained, want %d", e, trained, want)
				}
			}
			// The batch lost with its replica went to another, made from
			// the same plan.
			if again := log.done[log.lostKey]; len(again) == 1 {
				a, l := again[0], log.lost
				if a.worker == gone || !slices.Equal(a.ids, l.ids) || !slices.Equal(a.weights, l.weights) || a.score != l.score {
					t.Errorf("lost batch sent again to replica %d as %v (weights %v, %d to score), want another replica and %v (%v, %d)",
						a.worker, a.ids, a.weights, a.score, l.ids, l.weights, l.score)
				}
			}
			// Each survivor's pass counts are those of the batches it
			// trained; the lost replica reports none for the epoch it was
			// lost in, nor after.
			if len(stages.workers) != epochs {
				t.Fatalf("stage metrics of %d epochs, want %d", len(stages.workers), epochs)
			}
			for i, ws := range stages.workers {
				e := uint64(i + 1)
				for w, st := range ws {
					fwd, bwd, scored := log.perWorker(w, e)
					if w == gone && e >= log.lostKey.epoch {
						fwd, bwd, scored = 0, 0, 0
					}
					if st.ForwardSamples != fwd || st.BackwardSamples != bwd || st.Forwarded != bwd || st.Dropped != scored {
						t.Errorf("epoch %d, replica %d: forward %d, backward %d, kept %d, dropped %d; want %d, %d, %d, %d",
							e, w, st.ForwardSamples, st.BackwardSamples, st.Forwarded, st.Dropped, fwd, bwd, bwd, scored)
					}
				}
			}
			acc := res.Epochs[len(res.Epochs)-1].TestAccuracy
			t.Logf("test accuracy %.3f", acc)
			if acc < 0.9 {
				t.Errorf("test accuracy %.3f, want ≥ 0.9 on an easy task", acc)
			}
		})
	}
}

// Under failover with a composing strategy the selector takes a batch's
// first report and drops the others, in its epoch or after it; without
// failover, or under a filter, every report goes to the selector, which
// fails a run on a duplicate.
func TestReportLogDropsRepeats(t *testing.T) {
	p := &plan{failover: true, batches: 2, first: 2}
	p.job.Select = spec.LossRank
	var r reportLog
	report := func(epoch, seq uint64) *messages.Scores { return &messages.Scores{Epoch: epoch, Seq: seq} }
	steps := []struct {
		epoch, seq uint64
		again      bool
	}{
		{2, 1, false}, {2, 1, true}, {2, 0, false}, // epoch 2 in full
		{2, 0, true}, {2, 1, true}, {3, 0, false}, {3, 0, true}, {3, 1, false}, {3, 1, true}, {4, 0, false},
	}
	for i, s := range steps {
		m := report(s.epoch, s.seq)
		if got := r.again(p, m); got != s.again {
			t.Fatalf("step %d: report of batch %d of epoch %d again = %v, want %v", i, s.seq, s.epoch, got, s.again)
		}
		if !s.again {
			r.took(p, m)
		}
	}
	for _, q := range []*plan{
		{batches: 2, first: 1, job: spec.Job{Select: spec.LossRank}},
		{failover: true, batches: 2, first: 1, job: spec.Job{Select: spec.SelectiveBackprop}},
	} {
		var r reportLog
		for range 2 {
			if r.again(q, report(1, 0)) {
				t.Errorf("failover %v, select %s: a repeated report dropped, want it to the selector", q.failover, q.job.Select)
			}
			r.took(q, report(1, 0))
		}
	}
}
