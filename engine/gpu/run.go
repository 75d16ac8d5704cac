package gpu

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"time"

	"github.com/troupe-ml/troupe/engine/data"
	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/train"
	"github.com/troupe-ml/troupe/kernels/cuda"
)

// DeviceSet is a data set held on the device as bytes, with its
// normalisation table: batches are gathered from it by index on the device,
// so only the visiting order crosses from the host each epoch.
type DeviceSet struct {
	Name        string
	N, Sample   int
	px, ys, lut cuda.Ptr
	order       cuda.Ptr // 0..N-1, for evaluation
	bufs        []*cuda.Buffer
}

// UploadSet copies ds to the device.
func UploadSet(s *cuda.Stream, ds *data.Dataset) (set *DeviceSet, err error) {
	if err := ds.Validate(); err != nil {
		return nil, err
	}
	d := s.Device()
	set = &DeviceSet{Name: ds.Name, N: ds.N, Sample: ds.SampleSize()}
	defer func() {
		if err != nil {
			set.Close()
			set = nil
		}
	}()
	alloc := func(bytes int) (cuda.Ptr, error) {
		b, err := d.Alloc(bytes)
		if err != nil {
			return 0, fmt.Errorf("gpu: data set %s: %w", ds.Name, err)
		}
		set.bufs = append(set.bufs, b)
		return b.Ptr(), nil
	}
	if set.px, err = alloc(len(ds.Pixels)); err != nil {
		return nil, err
	}
	if set.ys, err = alloc(4 * ds.N); err != nil {
		return nil, err
	}
	if set.lut, err = alloc(4 * 256); err != nil {
		return nil, err
	}
	if set.order, err = alloc(4 * ds.N); err != nil {
		return nil, err
	}
	// The same table as data.Dataset.Fill, so inputs are bit-identical.
	lut := make([]float32, 256)
	for p := range lut {
		lut[p] = (float32(p)/255 - ds.Mean) / ds.Std
	}
	order := make([]int32, ds.N)
	for i := range order {
		order[i] = int32(i)
	}
	err = errors.Join(s.UploadBytes(set.px, ds.Pixels), s.UploadI32(set.ys, ds.Labels), s.Upload(set.lut, lut), s.UploadI32(set.order, order))
	if err == nil {
		err = s.Sync()
	}
	if err != nil {
		return nil, fmt.Errorf("gpu: uploading %s: %w", ds.Name, err)
	}
	return set, nil
}

// Bytes is the device memory the set takes.
func (d *DeviceSet) Bytes() int { return d.N*d.Sample + 8*d.N + 1024 }

// Close frees the set's device memory.
func (d *DeviceSet) Close() error {
	var errs []error
	for _, b := range d.bufs {
		errs = append(errs, b.Free())
	}
	d.bufs = nil
	return errors.Join(errs...)
}

// Evaluate runs the model over every sample of ds in batches of batch (at
// most MaxBatch) and returns the mean loss and the accuracy. It waits for
// the device.
func (t *Trainer) Evaluate(ds *DeviceSet, batch int) (train.Eval, error) {
	var res train.Eval
	if ds.N == 0 {
		return res, fmt.Errorf("gpu: data set %s is empty", ds.Name)
	}
	if ds.Sample != numel(t.model.InputShape()) {
		return res, fmt.Errorf("gpu: data set %s has samples of %d values, model wants %v", ds.Name, ds.Sample, t.model.InputShape())
	}
	batch = min(batch, t.maxBatch)
	if batch < 1 {
		return res, fmt.Errorf("gpu: evaluation batch must be ≥ 1")
	}
	s := t.s
	lossSum, correct := t.scratch, t.scratch.F32(1)
	if err := s.Zero(t.scratch, 2); err != nil {
		return res, err
	}
	classes := numel(t.stages[len(t.stages)-1].out)
	for start := 0; start < ds.N; start += batch {
		n := min(batch, ds.N-start)
		if err := s.GatherU8(t.xBuf, t.yBuf, ds.px, ds.ys, ds.order.F32(start), ds.lut, n, ds.Sample); err != nil {
			return res, fmt.Errorf("gpu: evaluating %s: %w", ds.Name, err)
		}
		logits, err := t.forward(t.xBuf, n, false)
		if err != nil {
			return res, err
		}
		if err := s.SoftmaxXent(cuda.XentArgs{Logits: logits, Labels: t.yBuf, N: n, K: classes, LossSum: lossSum, Correct: correct}); err != nil {
			return res, fmt.Errorf("gpu: evaluating %s: %w", ds.Name, err)
		}
	}
	var sums [1]float32
	var hits [1]int32
	if err := errors.Join(s.Download(sums[:], lossSum), s.DownloadI32(hits[:], correct)); err != nil {
		return res, fmt.Errorf("gpu: evaluating %s: %w", ds.Name, err)
	}
	return train.Eval{Accuracy: float64(hits[0]) / float64(ds.N), Loss: float64(sums[0]) / float64(ds.N), Samples: ds.N}, nil
}

// RunOptions tune Run.
type RunOptions struct {
	Options
	// Stream feeds training batches from the host loader through pinned
	// buffers (two in flight) instead of keeping the training set on the
	// device. Run also streams when the set would take more than a quarter
	// of the free device memory.
	Stream bool
}

// lossEvery is how often (in steps) Run copies a step's loss back for
// progress reports, without waiting for it.
const lossEvery = 8

// Run trains job on the device as train.Run does on the CPU: the same
// model initialisation, batch order, optimizer and schedule, evaluation on
// testSet after each epoch and a checkpoint in job.Out (model and optimizer
// state, readable by the CPU path). Throughput counts the time until the
// device has finished each epoch's steps. ctx cancels between steps.
func Run(ctx context.Context, dev *cuda.Device, job spec.Job, trainSet, testSet *data.Dataset, obs train.Observer, o RunOptions) (res train.Result, err error) {
	if err := job.Validate(); err != nil {
		return res, err
	}
	loader, err := data.NewLoader(trainSet, job.Batch, job.Seed, true, false)
	if err != nil {
		return res, fmt.Errorf("gpu: %w", err)
	}
	tr, err := New(dev, job, loader.BatchesPerEpoch(), o.Options)
	if err != nil {
		return res, err
	}
	defer func() { err = errors.Join(err, tr.Close()) }()
	if tr.maxBatch < job.Batch {
		return res, fmt.Errorf("gpu: MaxBatch %d is below the job's batch %d", tr.maxBatch, job.Batch)
	}
	if want := numel(tr.model.InputShape()); want != trainSet.SampleSize() || want != testSet.SampleSize() {
		return res, fmt.Errorf("gpu: data sets %s/%s have samples %v, model wants %v", trainSet.Name, testSet.Name, []int{trainSet.C, trainSet.H, trainSet.W}, tr.model.InputShape())
	}
	s := tr.s
	testDev, err := UploadSet(s, testSet)
	if err != nil {
		return res, err
	}
	defer func() { err = errors.Join(err, testDev.Close()) }()
	feed, err := newFeeder(tr, loader, o.Stream)
	if err != nil {
		return res, err
	}
	defer func() { err = errors.Join(err, feed.close()) }()

	batches := loader.BatchesPerEpoch()
	lossesBuf, err := dev.AllocF32(batches)
	if err != nil {
		return res, fmt.Errorf("gpu: %w", err)
	}
	defer lossesBuf.Free()
	losses := lossesBuf.Ptr()
	lossHost, err := dev.AllocPinned(4 * batches)
	if err != nil {
		return res, fmt.Errorf("gpu: %w", err)
	}
	defer lossHost.Free()
	lh := lossHost.F32()

	// One-time kernel loading stays out of the epochs' timing: warm up the
	// full batch, the epoch's last (smaller) batch and the evaluation batch.
	if err := tr.Warmup(job.Batch, trainSet.N%job.Batch, min(job.EvalBatch, testSet.N), testSet.N%job.EvalBatch); err != nil {
		return res, fmt.Errorf("gpu: warm-up: %w", err)
	}
	var totalSamples int
	var totalTime time.Duration
	for epoch := 1; epoch <= job.Epochs; epoch++ {
		start := time.Now()
		loader.Epoch(epoch)
		if err := s.Zero(losses, batches); err != nil {
			return res, fmt.Errorf("gpu: %w", err)
		}
		for i := range lh {
			lh[i] = float32(math.NaN())
		}
		if err := feed.epoch(); err != nil {
			return res, err
		}
		var samples int
		var lr float32
		lastLoss, reported := float32(math.NaN()), -1
		for b := range batches {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			x, y, n, err := feed.next(b)
			if err != nil {
				return res, fmt.Errorf("epoch %d batch %d: %w", epoch, b+1, err)
			}
			if lr, err = tr.Step(x, y, n, losses.F32(b)); err != nil {
				return res, fmt.Errorf("epoch %d batch %d: %w", epoch, b+1, err)
			}
			samples += n
			if b%lossEvery == 0 {
				if err := s.DownloadPinned(lossHost, 4*b, losses.F32(b), 4); err != nil {
					return res, fmt.Errorf("gpu: %w", err)
				}
			}
			// Report the newest loss the device has sent back.
			for r := b - b%lossEvery; r > reported; r -= lossEvery {
				if v := lh[r]; !math.IsNaN(float64(v)) {
					lastLoss, reported = v/float32(min(job.Batch, trainSet.N-r*job.Batch)), r
					break
				}
			}
			if obs != nil {
				obs.Progress(train.Progress{Epoch: epoch, Batch: b + 1, Batches: batches, Loss: lastLoss, LR: lr, Samples: samples, Elapsed: time.Since(start)})
			}
		}
		if err := s.Sync(); err != nil {
			return res, fmt.Errorf("gpu: epoch %d: %w", epoch, err)
		}
		trainTime := time.Since(start)
		totalSamples += samples
		totalTime += trainTime
		stepLosses := make([]float32, batches)
		if err := s.Download(stepLosses, losses); err != nil {
			return res, fmt.Errorf("gpu: %w", err)
		}
		var lossSum float64
		for _, l := range stepLosses {
			lossSum += float64(l)
		}
		evalStart := time.Now()
		ev, err := tr.Evaluate(testDev, job.EvalBatch)
		if err != nil {
			return res, err
		}
		rep := train.EpochReport{
			Epoch: epoch, Step: tr.StepCount(), TrainLoss: lossSum / float64(max(samples, 1)),
			TestLoss: ev.Loss, TestAccuracy: ev.Accuracy, LR: float64(lr),
			SamplesPerSec: float64(samples) / trainTime.Seconds(), TrainSeconds: trainTime.Seconds(),
			EvalSeconds: time.Since(evalStart).Seconds(),
		}
		res.Epochs = append(res.Epochs, rep)
		res.SamplesPerSec = float64(totalSamples) / totalTime.Seconds()
		if job.Out != "" {
			path := filepath.Join(job.Out, train.CheckpointName)
			if err := tr.SyncToHost(); err != nil {
				return res, err
			}
			opt, err := tr.OptimizerState()
			if err != nil {
				return res, err
			}
			st := train.State{Job: job, Epoch: epoch, Step: tr.StepCount(), TestAccuracy: ev.Accuracy, TrainLoss: rep.TrainLoss}
			if err := train.SaveCheckpointState(path, tr.Model(), opt, st); err != nil {
				return res, fmt.Errorf("gpu: epoch %d: %w", epoch, err)
			}
			res.Checkpoint = path
		}
		if obs != nil {
			if err := obs.Epoch(rep); err != nil {
				return res, err
			}
		}
		if job.TargetReached(rep.TestAccuracy) {
			break
		}
	}
	return res, nil
}

// feeder delivers each step's batch on the device: gathered from a resident
// copy of the training set, or streamed from the host loader through two
// pinned buffers so the host fills one while the device uses the other.
type feeder struct {
	tr     *Trainer
	loader *data.Loader
	set    *DeviceSet // resident mode
	perm   *cuda.Buffer
	permH  *cuda.Pinned

	// streaming mode
	hostX  [2]*cuda.Pinned
	hostY  [2]*cuda.Pinned
	devX   [2]*cuda.Buffer
	devY   [2]*cuda.Buffer
	copied [2]*cuda.Event
	used   [2]bool
}

func newFeeder(tr *Trainer, loader *data.Loader, stream bool) (f *feeder, err error) {
	f = &feeder{tr: tr, loader: loader}
	defer func() {
		if err != nil {
			f.close()
			f = nil
		}
	}()
	ds := loader.Dataset()
	d := tr.dev
	if !stream {
		free, _, err := d.MemInfo()
		if err != nil {
			return nil, fmt.Errorf("gpu: %w", err)
		}
		stream = int64(len(ds.Pixels)) > free/4
	}
	if !stream {
		if f.set, err = UploadSet(tr.s, ds); err != nil {
			return nil, err
		}
		if f.perm, err = d.AllocF32(ds.N); err != nil {
			return nil, fmt.Errorf("gpu: %w", err)
		}
		if f.permH, err = d.AllocPinned(4 * max(ds.N, 1)); err != nil {
			return nil, fmt.Errorf("gpu: %w", err)
		}
		return f, nil
	}
	per, batch := ds.SampleSize(), loader.BatchSize()
	for k := range 2 {
		if f.hostX[k], err = d.AllocPinned(4 * batch * per); err != nil {
			return nil, fmt.Errorf("gpu: %w", err)
		}
		if f.hostY[k], err = d.AllocPinned(4 * batch); err != nil {
			return nil, fmt.Errorf("gpu: %w", err)
		}
		if f.devX[k], err = d.AllocF32(batch * per); err != nil {
			return nil, fmt.Errorf("gpu: %w", err)
		}
		if f.devY[k], err = d.AllocF32(batch); err != nil {
			return nil, fmt.Errorf("gpu: %w", err)
		}
		if f.copied[k], err = d.NewEvent(false); err != nil {
			return nil, fmt.Errorf("gpu: %w", err)
		}
	}
	return f, nil
}

// epoch sends the epoch's visiting order (resident mode).
func (f *feeder) epoch() error {
	if f.set == nil {
		return nil
	}
	// The previous epoch's gathers are done (Run waits at each epoch's
	// end), so the pinned order and its device copy can be rewritten.
	order, ph := f.loader.Order(), f.permH.I32()
	for i, v := range order {
		ph[i] = int32(v)
	}
	if err := f.tr.s.UploadPinned(f.perm.Ptr(), f.permH, 0, 4*len(order)); err != nil {
		return fmt.Errorf("gpu: %w", err)
	}
	return nil
}

// next returns batch b on the device.
func (f *feeder) next(b int) (x, y cuda.Ptr, n int, err error) {
	tr := f.tr
	if f.set != nil {
		batch := f.loader.BatchSize()
		n = min(batch, f.set.N-b*batch)
		err = tr.s.GatherU8(tr.xBuf, tr.yBuf, f.set.px, f.set.ys, f.perm.Ptr().F32(b*batch), f.set.lut, n, f.set.Sample)
		return tr.xBuf, tr.yBuf, n, err
	}
	k := b % 2
	if f.used[k] {
		// The copy out of this pinned pair, queued two steps ago, must be
		// done before the loader overwrites it.
		if err := f.copied[k].Wait(); err != nil {
			return 0, 0, 0, fmt.Errorf("gpu: %w", err)
		}
	}
	hx, hy := f.hostX[k].F32(), f.hostY[k].I32()
	n, ok := f.loader.Next(hx, hy)
	if !ok {
		return 0, 0, 0, fmt.Errorf("gpu: the loader ran out of batches")
	}
	per := f.loader.Dataset().SampleSize()
	s := tr.s
	if err := errors.Join(s.UploadPinned(f.devX[k].Ptr(), f.hostX[k], 0, 4*n*per), s.UploadPinned(f.devY[k].Ptr(), f.hostY[k], 0, 4*n)); err != nil {
		return 0, 0, 0, fmt.Errorf("gpu: %w", err)
	}
	if err := f.copied[k].Record(s); err != nil {
		return 0, 0, 0, fmt.Errorf("gpu: %w", err)
	}
	f.used[k] = true
	return f.devX[k].Ptr(), f.devY[k].Ptr(), n, nil
}

func (f *feeder) close() error {
	var errs []error
	if f.set != nil {
		errs = append(errs, f.set.Close())
	}
	errs = append(errs, f.perm.Free(), f.permH.Free())
	for k := range 2 {
		errs = append(errs, f.hostX[k].Free(), f.hostY[k].Free(), f.devX[k].Free(), f.devY[k].Free(), f.copied[k].Close())
	}
	return errors.Join(errs...)
}
