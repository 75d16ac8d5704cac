package active

import (
	"context"
	"fmt"

	"github.com/troupe-ml/troupe/engine/data"
	"github.com/troupe-ml/troupe/engine/nn"
	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/tensor"
	"github.com/troupe-ml/troupe/engine/train"
)

// TrainConfig is how each round trains its model from scratch.
type TrainConfig struct {
	Epochs      int     // passes over the labelled set
	MinSteps    int     // at least this many optimizer steps, however small the set
	MaxSteps    int     // at most this many (0: no limit), however large
	Batch       int     // batch size
	LR          float64 // Adam learning rate
	WeightDecay float64 // L2 weight decay
}

// DefaultTrain is the recipe the benchmark of docs/selection.md uses.
func DefaultTrain() TrainConfig {
	return TrainConfig{Epochs: 50, MinSteps: 150, MaxSteps: 250, Batch: 32, LR: 1e-3}
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
	}
	return nil
}

// fit trains a fresh model, initialised from seed, on the labelled set.
func fit(ctx context.Context, model spec.Model, c TrainConfig, labelled *data.Dataset, seed uint64, be tensor.Backend) (*nn.Model, error) {
	job := spec.Default()
	job.Model, job.ModelSpec = "", &model
	job.Optimizer, job.LR, job.WeightDecay = spec.Adam, c.LR, c.WeightDecay
	job.Schedule = spec.Constant
	job.Batch, job.Epochs, job.Seed = c.Batch, c.Epochs, seed
	loader, err := data.NewLoader(labelled, c.Batch, seed, true, false)
	if err != nil {
		return nil, fmt.Errorf("active: %w", err)
	}
	tr, err := train.Setup(job, loader.BatchesPerEpoch(), be)
	if err != nil {
		return nil, fmt.Errorf("active: %w", err)
	}
	if want := tr.Model().InputShape(); tensor.Numel(want) != labelled.SampleSize() {
		return nil, fmt.Errorf("active: data set %s has samples of %d values, the model wants %v", labelled.Name, labelled.SampleSize(), want)
	}
	steps := max(c.Epochs*loader.BatchesPerEpoch(), c.MinSteps)
	if c.MaxSteps > 0 {
		steps = min(steps, max(c.MaxSteps, c.MinSteps))
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
			if _, err := tr.Step(x[:n*labelled.SampleSize()], y[:n], nil); err != nil {
				return nil, fmt.Errorf("active: training on %d labels, step %d: %w", labelled.N, tr.StepCount()+1, err)
			}
		}
	}
	return tr.Model(), nil
}
