package active

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/troupe-ml/troupe/engine/augment"
	"github.com/troupe-ml/troupe/engine/data"
	"github.com/troupe-ml/troupe/engine/nn"
	"github.com/troupe-ml/troupe/engine/optim"
	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/tensor"
	"github.com/troupe-ml/troupe/engine/train"
)

// TrainConfig is how each round trains its model from scratch.
type TrainConfig struct {
	Epochs   int     // passes over the labelled set
	MinSteps int     // at least this many optimizer steps, however small the set
	MaxSteps int     // at most this many (0: no limit), however large
	Batch    int     // batch size
	LR       float64 // Adam learning rate
	// WeightDecay is an L2 penalty on every weight (not biases), or on
	// the linear layers' weights only when DenseDecay is set.
	WeightDecay float64
	// DenseDecay adds an L2 penalty of DenseDecay / N, N the number of
	// labels, on the weights of the linear layers, and exempts the other
	// layers: the data-size dependent prior of Gal et al., strong while
	// labels are few.
	DenseDecay float64
	// Augment is a data-augmentation pipeline applied to every training
	// batch, in the syntax of augment.Parse, such as "crop(pad=2)" for
	// random shifts of up to two pixels ("": none). A few hundred digits
	// are too few to learn translation invariance from.
	Augment string
}

// DefaultTrain is the recipe the benchmark of docs/selection.md uses:
// Adam at 1e-3 in batches of 32 for 50 epochs, within 150 to 250 steps
// (a flat cost per round once the set is large), Gal et al.'s prior of
// 3.5/N on the dense weights (DenseDecay 7: their Keras penalty λ‖w‖²
// is our ½·wd·‖w‖²), and small random rotations and shifts, without
// which a few hundred digits fit poorly.
func DefaultTrain() TrainConfig {
	return TrainConfig{Epochs: 50, MinSteps: 150, MaxSteps: 250, Batch: 32, LR: 1e-3,
		DenseDecay: 7, Augment: "affine(degrees=15,translate=0.1)"}
}

func (c TrainConfig) validate() error {
	switch {
	case c.Epochs < 1:
		return fmt.Errorf("active: training epochs %d, want ≥ 1", c.Epochs)
	case c.MinSteps < 0 || c.MaxSteps < 0:
		return fmt.Errorf("active: training min steps %d, max steps %d, want ≥ 0", c.MinSteps, c.MaxSteps)
	case c.Batch < 1:
		return fmt.Errorf("active: training batch %d, want ≥ 1", c.Batch)
	case !(c.LR > 0):
		return fmt.Errorf("active: learning rate %v, want > 0", c.LR)
	case !(c.WeightDecay >= 0):
		return fmt.Errorf("active: weight decay %v, want ≥ 0", c.WeightDecay)
	case !(c.DenseDecay >= 0):
		return fmt.Errorf("active: dense weight decay %v, want ≥ 0", c.DenseDecay)
	}
	if cfgs, err := augment.Parse(c.Augment); err != nil {
		return fmt.Errorf("active: training augmentation %q: %w", c.Augment, err)
	} else if p, err := augment.New(cfgs, 0); err != nil {
		return fmt.Errorf("active: training augmentation %q: %w", c.Augment, err)
	} else if m, ok := p.Mix(); ok {
		return fmt.Errorf("active: training augmentation %q: the batch mix %s is not supported in active learning (its trainer takes hard labels); use per-sample transforms", c.Augment, m.M.Name())
	}
	return nil
}

// steps is the number of optimizer steps for a labelled set of n samples.
func (c TrainConfig) steps(n int) int {
	perEpoch := (n + c.Batch - 1) / c.Batch
	s := max(c.Epochs*perEpoch, c.MinSteps)
	if c.MaxSteps > 0 {
		s = min(s, max(c.MaxSteps, c.MinSteps))
	}
	return s
}

// fit trains a fresh model, initialised from seed, on the labelled set.
func fit(ctx context.Context, model spec.Model, c TrainConfig, labelled *data.Dataset, seed uint64, be tensor.Backend) (*nn.Model, error) {
	job := spec.Default()
	job.Model, job.ModelSpec = "", &model
	job.Optimizer, job.LR = spec.Adam, c.LR
	job.Batch, job.Epochs, job.Seed = c.Batch, c.Epochs, seed
	loader, err := data.NewLoader(labelled, c.Batch, seed, true, false)
	if err != nil {
		return nil, fmt.Errorf("active: %w", err)
	}
	if err := job.Validate(); err != nil {
		return nil, fmt.Errorf("active: %w", err)
	}
	m, err := train.NewModel(job)
	if err != nil {
		return nil, fmt.Errorf("active: %w", err)
	}
	if want := m.InputShape(); tensor.Numel(want) != labelled.SampleSize() {
		return nil, fmt.Errorf("active: data set %s has samples of %d values, the model wants %v", labelled.Name, labelled.SampleSize(), want)
	}
	ps, decay, err := decayedParams(m, c, labelled.N)
	if err != nil {
		return nil, err
	}
	job.WeightDecay = decay
	opt, err := train.NewOptimizerFor(job, ps)
	if err != nil {
		return nil, fmt.Errorf("active: %w", err)
	}
	steps := c.steps(labelled.N)
	tr := train.NewTrainer(m, opt, optim.Constant(float32(c.LR)), train.Options{Backend: be}, rand.New(rand.NewPCG(seed, 2)))
	aug, err := newAugmenter(c.Augment, m.InputShape(), labelled, seed)
	if err != nil {
		return nil, err
	}
	x := make([]float32, c.Batch*labelled.SampleSize())
	y := make([]int32, c.Batch)
	for epoch := 1; tr.StepCount() < steps; epoch++ {
		loader.Epoch(epoch)
		for tr.StepCount() < steps {
			n, ok := loader.Next(x, y)
			if !ok {
				break
			}
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			xs := aug.apply(x[:n*labelled.SampleSize()], tr.StepCount())
			if _, err := tr.Step(xs, y[:n], nil); err != nil {
				return nil, fmt.Errorf("active: training on %d labels, step %d: %w", labelled.N, tr.StepCount()+1, err)
			}
		}
	}
	return m, nil
}

// decayedParams returns m's parameters for the optimizer and the decay
// coefficient to give it. With DenseDecay, only linear layers' weights
// decay, by WeightDecay + DenseDecay/n; otherwise every weight decays by
// WeightDecay.
func decayedParams(m *nn.Model, c TrainConfig, n int) ([]optim.Param, float64, error) {
	ps := train.OptimParams(m)
	if c.DenseDecay == 0 {
		return ps, c.WeightDecay, nil
	}
	layers := m.Spec().Layers
	for k := range ps {
		rest, _ := strings.CutPrefix(ps[k].Name, "layers.")
		idx, _, _ := strings.Cut(rest, ".")
		i, err := strconv.Atoi(idx)
		if err != nil || i < 0 || i >= len(layers) {
			return nil, 0, fmt.Errorf("active: parameter name %q is not layers.<index>.<field>", ps[k].Name)
		}
		if layers[i].Type != spec.Linear {
			ps[k].NoDecay = true
		}
	}
	return ps, c.WeightDecay + c.DenseDecay/float64(n), nil
}
