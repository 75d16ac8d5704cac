package actors

import (
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-ml/troupe/engine/augment"
	"github.com/troupe-ml/troupe/engine/tensor"
	"github.com/troupe-ml/troupe/messages"
)

// augmentBackoff is the wait before the first retry of a batch that crashed
// an augmenter; retry n waits n times as long.
const augmentBackoff = time.Millisecond

// augmenter applies the job's augmentation to whole batches and passes them
// on to the replica each is addressed to: the per-sample transforms, then
// the batch mix (mixup, cutmix) if the pipeline has one, which fills the
// batch's mix labels and weights. Randomness comes from (seed, epoch, sample
// ids), so the output does not depend on the pool's size or on which
// augmenter gets which batch. It holds no state worth keeping, so its
// supervisor restarts it after a crash and hands it the batch again.
type augmenter struct {
	p     *plan
	t     *topology
	name  string
	w     *augment.Worker
	mixes bool // the pipeline has a batch mix
	ids   []int
	m     meter
}

// retry carries a batch back to a restarted augmenter. Only a parent sends
// it to its child, which is always in the same process, so it is a Go
// value rather than a protobuf message.
type retry struct {
	batch   *messages.Batch
	attempt int // the attempt that failed
}

func newAugmenter(p *plan, t *topology, i int, g *depthGauge) *augmenter {
	a := &augmenter{p: p, t: t, name: augmenterName(i), w: p.pipe.NewWorker(p.job.Seed)}
	_, a.mixes = p.pipe.Mix()
	a.m.gauge = g
	return a
}

func (a *augmenter) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *messages.Batch:
		a.apply(ctx, m, 1)
	case *retry:
		time.Sleep(time.Duration(m.attempt) * augmentBackoff)
		a.apply(ctx, m.batch, m.attempt+1)
	case *messages.EpochEnd:
		ctx.Respond(a.m.report(a.name))
	}
}

// apply augments b and forwards it. A panic here (a fault in a transform)
// goes to the supervisor with b, or the retry holding it, as the failed
// message.
func (a *augmenter) apply(ctx actor.Context, b *messages.Batch, attempt int) {
	a.m.set(busy)
	defer a.m.set(idle)
	if f := a.p.hooks.augmentFault; f != nil {
		if err := f(b.GetEpoch(), b.GetSeq(), attempt); err != nil {
			panic(err)
		}
	}
	w := int(b.GetWorker())
	if w >= len(a.t.workers) {
		panic(fmt.Errorf("batch %d of epoch %d addressed to worker %d of %d", b.GetSeq(), b.GetEpoch(), w, len(a.t.workers)))
	}
	src, err := b.GetInputs().Float32()
	if err != nil {
		panic(fmt.Errorf("batch %d of epoch %d: inputs: %w", b.GetSeq(), b.GetEpoch(), err))
	}
	dims, err := b.GetInputs().Dims()
	if err != nil {
		panic(fmt.Errorf("batch %d of epoch %d: inputs: %w", b.GetSeq(), b.GetEpoch(), err))
	}
	// The copy becomes the new message's tensor; augmenting it in place
	// before sending leaves the incoming message untouched.
	t := messages.FromFloat32(src, dims)
	dst, err := t.Float32()
	if err != nil {
		panic(fmt.Errorf("batch %d of epoch %d: %w", b.GetSeq(), b.GetEpoch(), err))
	}
	a.ids = a.ids[:0]
	for _, id := range b.GetSampleIds() {
		a.ids = append(a.ids, int(id))
	}
	a.w.ApplyBatch(dst, dst, a.p.shape, b.GetEpoch(), a.ids)
	mix, lambda, err := a.mix(dst, b)
	if err != nil {
		panic(fmt.Errorf("batch %d of epoch %d: %w", b.GetSeq(), b.GetEpoch(), err))
	}
	a.m.samples += uint64(len(a.ids))
	ctx.Send(a.t.workers[w], &messages.Batch{
		Epoch: b.GetEpoch(), Seq: b.GetSeq(), SampleIds: b.GetSampleIds(), Inputs: t, Labels: b.GetLabels(),
		Task: b.GetTask(), Worker: b.GetWorker(), Weights: b.GetWeights(), LinkSeq: b.GetLinkSeq(),
		MixLabels: mix, MixLambda: lambda,
	})
}

// mix applies the pipeline's batch mix to x, the augmented inputs of b, and
// returns the partner classes and label weights for the outgoing message:
// nil when the pipeline has no mix or this batch's draw skips it. They are
// fresh slices because the message owns them once sent.
func (a *augmenter) mix(x []float32, b *messages.Batch) ([]int32, []float32, error) {
	if !a.mixes {
		return nil, nil, nil
	}
	mix, lambda := make([]int32, len(a.ids)), make([]float32, len(a.ids))
	mixed, err := a.w.MixBatch(x, a.p.shape, b.GetEpoch(), a.ids, b.GetLabels(), mix, lambda)
	if err != nil || !mixed {
		return nil, nil, err
	}
	return mix, lambda, nil
}

// mixTargets is the supervision of b for the loss: its labels and, when an
// augmenter mixed it, the partner classes and weights. An empty list means
// no mix, as on the wire. Per-sample loss weights are not read here.
func mixTargets(b *messages.Batch) tensor.Targets {
	tg := tensor.Targets{Labels: b.GetLabels()}
	if len(b.GetMixLabels()) > 0 || len(b.GetMixLambda()) > 0 {
		tg.Mix, tg.Lambda = b.GetMixLabels(), b.GetMixLambda()
	}
	return tg
}
