package tensor

import (
	"fmt"
	"math"
)

// Targets is a batch's supervision for SoftmaxCrossEntropyTargets.
type Targets struct {
	Labels  []int32   // class of each sample (required)
	Mix     []int32   // nil, or a second class per sample (mixup/cutmix)
	Lambda  []float32 // with Mix: weight of Labels; Mix gets 1−Lambda
	Weights []float32 // nil, or a weight per trained sample (importance sampling)
	// Train, when not 0, says that only the first Train samples make the
	// loss and its gradient: the others are scored only (see
	// SoftmaxCrossEntropyTargets).
	Train int
}

// SoftmaxCrossEntropyTargets generalises SoftmaxCrossEntropy to soft, mixed
// targets and weighted samples:
//
//	loss = (1/N) Σ_i w_i · [λ_i·CE(y_i) + (1−λ_i)·CE(m_i)]
//
// with y = t.Labels, m = t.Mix, λ = t.Lambda (λ_i = 1 when Mix is nil) and
// w = t.Weights (all 1 when nil). Label smoothing ε applies to both classes,
// so row i's target distribution is (1−ε)·(λ_i·onehot(y_i) +
// (1−λ_i)·onehot(m_i)) + ε/K. The mean divides by N, not by Σw, so that
// importance weights keep their scale. perSample, if non-nil (length N),
// receives each row's unweighted mixed loss.
//
// With Train = T > 0 only rows [0, T) make the loss: the sums run over
// them, N above is T and Weights has T entries, so the loss and every
// gradient are those of a batch of these T rows alone, bit for bit, while
// perSample still receives every row's loss (scored in the same pass, as
// data selection does for samples it does not train on). The backward pass
// then computes the gradients of the first T rows of each intermediate
// tensor only, the others' being zero (see Graph.Backward).
//
// With Mix and Weights nil it computes exactly what SoftmaxCrossEntropy does;
// with λ = 1 and all weights 1 it gives the same bits. Targets come from data,
// so a field of the wrong length, a class outside [0, K), a λ outside [0, 1]
// a negative or non-finite weight, or a Train outside [0, N] is recorded as
// the graph's error (see Err) rather than a panic.
func (g *Graph) SoftmaxCrossEntropyTargets(logits *Tensor, t Targets, smoothing float32, perSample []float32) *Tensor {
	return g.softmaxCE("SoftmaxCrossEntropyTargets", logits, t, smoothing, perSample)
}

// ceTargets is a validated view of Targets: mix and w are nil when absent or
// rejected, so the forward and backward loops need no further checks.
type ceTargets struct {
	labels []int32
	mix    []int32
	lambda []float32
	w      []float32
	train  int // rows that make the loss, in [0, len(labels)]
}

// checkTargets validates the lengths of t's optional fields against n rows
// and records the first problem on g under the name op.
func (g *Graph) checkTargets(op string, t Targets, n int) ceTargets {
	c := ceTargets{labels: t.Labels, train: n}
	switch {
	case t.Train < 0 || t.Train > n:
		g.fail(fmt.Errorf("tensor: %s: Train = %d outside [0, %d] (0 means all rows)", op, t.Train, n))
	case t.Train > 0:
		c.train = t.Train
	}
	switch {
	case t.Mix == nil && t.Lambda == nil:
	case t.Mix == nil:
		g.fail(fmt.Errorf("tensor: %s: Lambda has %d entries but Mix is nil; give both or neither", op, len(t.Lambda)))
	case len(t.Mix) != n:
		g.fail(fmt.Errorf("tensor: %s: Mix has %d entries, want %d (one per logits row)", op, len(t.Mix), n))
	case len(t.Lambda) != n:
		g.fail(fmt.Errorf("tensor: %s: Lambda has %d entries, want %d (one per Mix entry)", op, len(t.Lambda), n))
	default:
		c.mix, c.lambda = t.Mix, t.Lambda
	}
	if t.Weights != nil {
		if len(t.Weights) != c.train {
			g.fail(fmt.Errorf("tensor: %s: Weights has %d entries, want %d (one per trained logits row)", op, len(t.Weights), c.train))
		} else {
			c.w = t.Weights
		}
	}
	return c
}

// ceRow returns row i's classes, λ and weight (1 past the trained rows),
// recording the first bad value on g and replacing it by a harmless one so
// that the loops stay in bounds.
func (g *Graph) ceRow(op string, c ceTargets, i, k int) (y, m int, lam, w float32) {
	y, lam, w = int(c.labels[i]), 1, 1
	if y < 0 || y >= k {
		g.fail(fmt.Errorf("tensor: %s: target %d of row %d outside [0, %d)", op, y, i, k))
		y = 0
	}
	if c.mix != nil {
		m, lam = int(c.mix[i]), c.lambda[i]
		if m < 0 || m >= k {
			g.fail(fmt.Errorf("tensor: %s: Mix[%d] = %d outside [0, %d)", op, i, m, k))
			m = 0
		}
		if !(lam >= 0 && lam <= 1) {
			g.fail(fmt.Errorf("tensor: %s: Lambda[%d] = %g outside [0, 1]", op, i, lam))
			lam = 1
		}
	}
	if c.w != nil && i < len(c.w) {
		w = c.w[i]
		if !(w >= 0) || math.IsInf(float64(w), 1) {
			g.fail(fmt.Errorf("tensor: %s: Weights[%d] = %g, want a finite value ≥ 0", op, i, w))
			w = 0
		}
	}
	return y, m, lam, w
}
