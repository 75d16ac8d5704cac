package train

import (
	"fmt"
	"math/rand/v2"

	"github.com/troupe-ml/troupe/engine/nn"
	"github.com/troupe-ml/troupe/engine/optim"
	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/tensor"
	"github.com/troupe-ml/troupe/kernels"
)

// ModelSpec returns the architecture a job asks for: its model_spec, or the
// preset it names.
func ModelSpec(job spec.Job) (spec.Model, error) {
	if job.ModelSpec != nil {
		return *job.ModelSpec, nil
	}
	m, err := nn.Preset(job.Model)
	if err != nil {
		return spec.Model{}, fmt.Errorf("model: %w", err)
	}
	return m, nil
}

// Streams of the job's random source, so that adding a consumer of one never
// shifts another.
const (
	streamInit    = 1
	streamDropout = 2
	// streamReplica + r drives the dropout of data-parallel replica r > 0;
	// far above the other streams so that adding one never collides.
	streamReplica = 1 << 32
)

// NewModel builds and initialises the job's model from its seed.
func NewModel(job spec.Job) (*nn.Model, error) {
	ms, err := ModelSpec(job)
	if err != nil {
		return nil, err
	}
	return nn.Build(ms, rand.New(rand.NewPCG(job.Seed, streamInit)))
}

// NewOptimizer makes the job's optimizer over the model's parameters.
func NewOptimizer(job spec.Job, m *nn.Model) (optim.Optimizer, error) {
	return NewOptimizerFor(job, OptimParams(m))
}

// NewOptimizerFor makes the job's optimizer over any parameters, such as the
// slices of the model a parameter-server shard owns. The optimizers are
// elementwise, so an optimizer over slices updates each element exactly as
// one over whole tensors would.
func NewOptimizerFor(job spec.Job, ps []optim.Param) (optim.Optimizer, error) {
	return newOptimizer(job, ps, nil)
}

// NewOptimizerOn is NewOptimizerFor with a CPU whose threads SGD splits
// long parameters across, as the plain loop's optimizer does (nil: the
// calling goroutine alone). The result is the same bit for bit either way.
func NewOptimizerOn(job spec.Job, ps []optim.Param, cpu *kernels.CPU) (optim.Optimizer, error) {
	return newOptimizer(job, ps, cpu)
}

// newOptimizer is NewOptimizerFor with the CPU pool SGD may split large
// parameters across (nil: the calling goroutine); results are the same
// either way.
func newOptimizer(job spec.Job, ps []optim.Param, cpu *kernels.CPU) (optim.Optimizer, error) {
	switch job.Optimizer {
	case spec.SGD:
		return optim.NewSGD(ps, optim.SGDConfig{Momentum: float32(job.Momentum), Nesterov: job.Nesterov, WeightDecay: float32(job.WeightDecay), CPU: cpu})
	case spec.Adam, spec.AdamW:
		c := optim.AdamConfig{Beta1: float32(job.Beta1), Beta2: float32(job.Beta2), Eps: float32(job.Eps), WeightDecay: float32(job.WeightDecay)}
		if job.Optimizer == spec.Adam {
			return optim.NewAdam(ps, c)
		}
		return optim.NewAdamW(ps, c)
	}
	return nil, fmt.Errorf("optimizer: unknown %q", job.Optimizer)
}

// NewSchedule makes the job's learning-rate schedule for a run of
// stepsPerEpoch optimizer steps per epoch.
func NewSchedule(job spec.Job, stepsPerEpoch int) (optim.Schedule, error) {
	lr := float32(job.LR)
	switch job.Schedule {
	case spec.Constant:
		return optim.Constant(lr), nil
	case spec.Step:
		every := job.StepEpochs
		if every < 1 {
			every = max(1, job.Epochs/3)
		}
		return optim.StepDecay(lr, every*stepsPerEpoch, float32(job.Gamma)), nil
	case spec.Cosine:
		warm := int(job.WarmupEpochs * float64(stepsPerEpoch))
		return optim.WarmupCosine(lr, float32(job.MinLR), warm, job.Epochs*stepsPerEpoch), nil
	}
	return nil, fmt.Errorf("schedule: unknown %q", job.Schedule)
}

// Setup builds the trainer a job describes: model, optimizer, schedule and
// step options, all seeded from the job.
func Setup(job spec.Job, stepsPerEpoch int, be tensor.Backend) (*Trainer, error) {
	if err := job.Validate(); err != nil {
		return nil, err
	}
	m, err := NewModel(job)
	if err != nil {
		return nil, err
	}
	var cpu *kernels.CPU
	if b, ok := be.(tensor.CPUBackend); ok {
		cpu = b.K
	}
	opt, err := newOptimizer(job, OptimParams(m), cpu)
	if err != nil {
		return nil, err
	}
	sched, err := NewSchedule(job, stepsPerEpoch)
	if err != nil {
		return nil, err
	}
	opts := Options{ClipNorm: float32(job.ClipNorm), LabelSmoothing: float32(job.LabelSmoothing), Backend: be}
	return NewTrainer(m, opt, sched, opts, rand.New(rand.NewPCG(job.Seed, streamDropout))), nil
}

// NewReplica builds the job's model, initialised from the seed as Setup
// does, inside a trainer without optimizer: a data-parallel replica whose
// updates happen elsewhere (see Trainer.Gradients). Replica 0 draws dropout
// masks from the stream Setup's trainer uses, so a lone replica computes
// exactly the gradients of the plain loop; other replicas get streams of
// their own. Clipping is the caller's: Gradients never clips.
func NewReplica(job spec.Job, replica int, be tensor.Backend) (*Trainer, error) {
	if err := job.Validate(); err != nil {
		return nil, err
	}
	if replica < 0 {
		return nil, fmt.Errorf("train: replica %d, want ≥ 0", replica)
	}
	m, err := NewModel(job)
	if err != nil {
		return nil, err
	}
	stream := uint64(streamDropout)
	if replica > 0 {
		stream = streamReplica + uint64(replica)
	}
	opts := Options{ClipNorm: float32(job.ClipNorm), LabelSmoothing: float32(job.LabelSmoothing), Backend: be}
	return NewTrainer(m, nil, nil, opts, rand.New(rand.NewPCG(job.Seed, stream))), nil
}
