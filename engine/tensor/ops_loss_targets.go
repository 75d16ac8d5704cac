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
	Weights []float32 // nil, or a per-sample weight of the loss (importance sampling)
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
// With Mix and Weights nil it computes exactly what SoftmaxCrossEntropy does;
// with λ = 1 and all weights 1 it gives the same bits. Targets come from data,
// so a field of the wrong length, a class outside [0, K), a λ outside [0, 1]
// or a negative or non-finite weight is recorded as the graph's error (see
// Err) rather than a panic.
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
}

// checkTargets validates the lengths of t's optional fields against n rows
// and records the first problem on g under the name op.
func (g *Graph) checkTargets(op string, t Targets, n int) ceTargets {
	c := ceTargets{labels: t.Labels}
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
		if len(t.Weights) != n {
			g.fail(fmt.Errorf("tensor: %s: Weights has %d entries, want %d (one per logits row)", op, len(t.Weights), n))
		} else {
			c.w = t.Weights
		}
	}
	return c
}

// ceRow returns row i's classes, λ and weight, recording the first bad value on
// g and replacing it by a harmless one so that the loops stay in bounds.
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
	if c.w != nil {
		w = c.w[i]
		if !(w >= 0) || math.IsInf(float64(w), 1) {
			g.fail(fmt.Errorf("tensor: %s: Weights[%d] = %g, want a finite value ≥ 0", op, i, w))
			w = 0
		}
	}
	return y, m, lam, w
}
