package actors

import (
	"fmt"
	"slices"

	"github.com/troupe-ml/troupe/actors/core"
	"github.com/troupe-ml/troupe/engine/augment"
	"github.com/troupe-ml/troupe/engine/data"
	"github.com/troupe-ml/troupe/engine/nn"
	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/tensor"
	"github.com/troupe-ml/troupe/engine/train"
	"github.com/troupe-ml/troupe/kernels"
)

// Defaults of the Config fields whose zero value is not meaningful.
const (
	defaultPrefetch   = 2
	defaultAugmenters = 2
)

// plan is a validated Config with everything derived from it that the
// actors share. It is immutable once built, so actors on any goroutine may
// read it.
type plan struct {
	job        spec.Job
	workers    int
	shards     int
	sync       core.Consistency
	staleness  int
	augmenters int // 0 when augmentation is off
	prefetch   int
	pipe       *augment.Pipeline
	// parts[k] is the slice of the flattened parameters shard k owns.
	parts [][]segment
	// batches per epoch, and optimizer steps per epoch for the schedule.
	batches       int
	stepsPerEpoch int
	shape         augment.Shape
	trainSet      *data.Dataset
	testSet       *data.Dataset
	backend       tensor.Backend
	observer      train.Observer
	hooks         hooks
	// from is the checkpoint a resumed job continues (nil: a new job);
	// base is the optimizer steps taken before it, which the shards' and
	// the coordinator's step numbers (counted from 0 in every run) are
	// offset by, and first the first epoch to train.
	from  *train.Loaded
	base  int
	first int
	// failover makes a lost replica's batches go to the others instead of
	// failing the run (failover.go): set for runs placed on nodes, whose
	// replicas can be lost.
	failover bool
}

func newPlan(cfg Config, trainSet, testSet *data.Dataset) (*plan, error) {
	job := cfg.Job
	if err := job.Validate(); err != nil {
		return nil, fmt.Errorf("actors: %w", err)
	}
	p := &plan{
		job: job, workers: cfg.Workers, shards: cfg.PSShards, sync: cfg.Sync, staleness: cfg.Staleness,
		prefetch: cfg.Prefetch, trainSet: trainSet, testSet: testSet,
		backend: cfg.Backend, observer: cfg.Observer, hooks: cfg.hooks,
		first: 1,
	}
	if p.workers == 0 {
		p.workers = 1
	}
	if p.shards == 0 {
		p.shards = 1
	}
	if p.sync == 0 {
		p.sync = core.BSP
	}
	if p.prefetch == 0 {
		p.prefetch = defaultPrefetch
	}
	switch {
	case p.workers < 1:
		return nil, fmt.Errorf("actors: Config.Workers %d, want ≥ 1", cfg.Workers)
	case p.shards < 1:
		return nil, fmt.Errorf("actors: Config.PSShards %d, want ≥ 1", cfg.PSShards)
	case p.prefetch < 1:
		return nil, fmt.Errorf("actors: Config.Prefetch %d, want ≥ 1", cfg.Prefetch)
	case cfg.Augmenters < 0:
		return nil, fmt.Errorf("actors: Config.Augmenters %d, want ≥ 0", cfg.Augmenters)
	}
	if err := (core.ClockConfig{Mode: p.sync, Staleness: p.staleness}).Validate(); err != nil {
		return nil, fmt.Errorf("actors: Config.Sync/Staleness: %w", err)
	}
	if err := p.data(trainSet, testSet); err != nil {
		return nil, err
	}
	if err := p.augmentation(cfg); err != nil {
		return nil, err
	}
	model, err := train.NewModel(job)
	if err != nil {
		return nil, fmt.Errorf("actors: %w", err)
	}
	if got, want := trainSet.SampleSize(), tensor.Numel(model.InputShape()); got != want {
		return nil, fmt.Errorf("actors: data set %s has samples of %d values (%dx%dx%d), model wants %v",
			trainSet.Name, got, trainSet.C, trainSet.H, trainSet.W, model.InputShape())
	}
	if p.parts, err = partition(model.Params(), p.shards); err != nil {
		return nil, err
	}
	p.batches = (trainSet.N + job.Batch - 1) / job.Batch
	p.stepsPerEpoch = p.batches
	if p.sync == core.BSP {
		// Every BSP step averages one batch from each replica.
		p.stepsPerEpoch = (p.batches + p.workers - 1) / p.workers
	}
	if err := p.resume(cfg.From, model); err != nil {
		return nil, err
	}
	if err := p.checkSelection(); err != nil { // selector.go
		return nil, err
	}
	p.failover = cfg.Placement != nil || cfg.hooks.failover
	return p, nil
}

func (p *plan) data(trainSet, testSet *data.Dataset) error {
	for _, d := range []struct {
		name string
		ds   *data.Dataset
	}{{"training", trainSet}, {"test", testSet}} {
		if d.ds == nil {
			return fmt.Errorf("actors: no %s data set", d.name)
		}
		if err := d.ds.Validate(); err != nil {
			return fmt.Errorf("actors: %s data set: %w", d.name, err)
		}
		if d.ds.N == 0 {
			return fmt.Errorf("actors: %s data set %s is empty", d.name, d.ds.Name)
		}
	}
	p.shape = augment.Shape{C: trainSet.C, H: trainSet.H, W: trainSet.W}
	return nil
}

func (p *plan) augmentation(cfg Config) error {
	cfgs, err := augment.Parse(cfg.Augment)
	if err != nil {
		return fmt.Errorf("actors: Config.Augment: %w", err)
	}
	if len(cfgs) == 0 {
		return nil
	}
	// Pixels outside the image take the normalised value of black.
	background := -p.trainSet.Mean / p.trainSet.Std
	if p.pipe, err = augment.New(cfgs, background); err != nil {
		return fmt.Errorf("actors: Config.Augment: %w", err)
	}
	p.augmenters = cfg.Augmenters
	if p.augmenters == 0 {
		p.augmenters = defaultAugmenters
	}
	return nil
}

// resume checks that the checkpoint from fits the job's model and that the
// job has epochs left after it.
func (p *plan) resume(from *train.Loaded, model *nn.Model) error {
	if from == nil {
		return nil
	}
	have, want := model.Params(), from.Model.Params()
	if len(have) != len(want) {
		return fmt.Errorf("actors: resume: the checkpoint has %d parameter tensors, the job's model %d", len(want), len(have))
	}
	for i, h := range have {
		if h.Name != want[i].Name || !slices.Equal(h.T.Shape(), want[i].T.Shape()) {
			return fmt.Errorf("actors: resume: parameter %s %v does not match the checkpoint's %s %v", h.Name, h.T.Shape(), want[i].Name, want[i].T.Shape())
		}
	}
	if from.State.Epoch >= p.job.Epochs {
		return fmt.Errorf("actors: resume: the checkpoint is at epoch %d and the job has %d epochs: nothing to do (raise epochs)", from.State.Epoch, p.job.Epochs)
	}
	if from.State.Epoch < 0 {
		return fmt.Errorf("actors: resume: the checkpoint's epoch %d is negative", from.State.Epoch)
	}
	// The schedule resumes at the epoch boundary counted in this
	// topology's steps: the same as the checkpoint's step count when the
	// topology is unchanged, and the right place in the schedule when the
	// number of workers (and so of BSP steps per epoch) changed.
	p.from, p.base, p.first = from, from.State.Epoch*p.stepsPerEpoch, from.State.Epoch+1
	return nil
}

// cpu returns the CPU of the replicas' backend, whose threads a shard's
// optimizer splits long parameters across, or nil when the replicas do not
// compute on one (several replicas in one process, a GPU). In one process
// the shards update while their replicas wait for the new parameters, so
// the threads are free; the CPU serialises its calls when they are not.
func (p *plan) cpu() *kernels.CPU {
	if b, ok := p.backend.(tensor.CPUBackend); ok {
		return b.K
	}
	return nil
}
