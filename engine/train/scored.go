package train

import (
	"fmt"

	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/tensor"
)

// GradientsScored trains on the first train samples of the batch x and
// scores the rest, in one training-mode forward pass over all
// len(tg.Labels) samples: the forward pass reads each weight once for both,
// where GradientsTargets on the trained samples and Losses on the others
// read it twice, and the backward pass runs over the trained rows only
// (tensor.Targets.Train). The gradients and StepResult.Loss are those of
// GradientsTargets on the first train samples; tg.Weights, if set, holds
// one weight per trained sample, while tg.Mix and tg.Lambda, if set, cover
// every sample. perSample, if non-nil, receives every sample's
// (unweighted) loss, len(tg.Labels) of them.
//
// Those losses of the scored samples are computed in training mode; they
// equal what Losses gives, bit for bit, only when ScoresInTrainingPass
// reports so. A model with dropout scores them under dropout, and draws
// the dropout masks of the trained samples at other positions of its
// random stream than GradientsTargets would.
func (t *Trainer) GradientsScored(x []float32, tg tensor.Targets, train int, perSample []float32) (res StepResult, err error) {
	defer recoverTo(&err, "train step")
	n := len(tg.Labels)
	per := tensor.Numel(t.model.InputShape())
	switch {
	case n == 0:
		return res, fmt.Errorf("train: empty batch")
	case train < 1 || train > n:
		return res, fmt.Errorf("train: GradientsScored: train = %d outside [1, %d], the batch's samples", train, n)
	case tg.Train != 0 && tg.Train != train:
		return res, fmt.Errorf("train: GradientsScored: Targets.Train = %d differs from train = %d", tg.Train, train)
	case tg.Weights != nil && len(tg.Weights) != train:
		return res, fmt.Errorf("train: GradientsScored: Targets.Weights has %d entries, want %d (one per trained sample)", len(tg.Weights), train)
	case perSample != nil && len(perSample) != n:
		return res, fmt.Errorf("train: GradientsScored: perSample has %d entries, want %d (one per sample)", len(perSample), n)
	case len(x) != n*per:
		return res, fmt.Errorf("train: GradientsScored: batch has %d values, want %d (%d samples of %d)", len(x), n*per, n, per)
	}
	tg.Train = train
	return t.gradients(x, tg, perSample)
}

// ScoresInTrainingPass reports whether GradientsScored computes exactly
// what GradientsTargets on the trained samples followed by Losses on the
// others does, bit for bit: the model computes each sample alone and the
// same way in training and evaluation (no dropout), and the backend is the
// CPU, whose products compute each row by the same chain of operations
// whatever the batch size. Otherwise GradientsScored still gives the
// trained samples' gradients, but the scores and the random stream differ.
func (t *Trainer) ScoresInTrainingPass() bool {
	return t.sameRows && t.g.Backend().Device() == tensor.CPU
}

// samplesAlone reports whether every layer of m computes each sample on
// its own and the same in training and evaluation. Layer types it does
// not know are assumed not to.
func samplesAlone(m spec.Model) bool {
	for _, l := range m.Layers {
		switch l.Type {
		case spec.Linear, spec.Conv2D, spec.MaxPool2D, spec.ReLU, spec.GELU, spec.Tanh,
			spec.Sigmoid, spec.LayerNorm, spec.Flatten, spec.Embedding:
		case spec.Dropout:
			if l.P != 0 {
				return false
			}
		default:
			return false
		}
	}
	return true
}
