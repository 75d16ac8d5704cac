package optim

import "math"

// clipEps is the constant torch.nn.utils.clip_grad_norm_ adds to the norm
// before dividing, so a norm just above maxNorm never scales by more than 1.
const clipEps = 1e-6

// ClipGradNorm scales all gradients together so that their global L2 norm
// is at most maxNorm, as torch.nn.utils.clip_grad_norm_, and returns the
// norm before clipping. The norm is accumulated in float64. Following
// PyTorch, gradients are multiplied by maxNorm/(norm+1e-6) whenever that
// factor is below 1.
//
// A maxNorm that is not positive disables clipping, the usual trainer
// convention for "no clipping". A non-finite norm leaves the gradients
// untouched; the caller should check the returned norm and skip the step.
// It allocates nothing.
func ClipGradNorm(params []Param, maxNorm float32) (norm float32) {
	n := math.Sqrt(GradSquaredNorm(params))
	if s := ClipScale(n, maxNorm); s != 1 {
		ScaleGrads(params, s)
	}
	return float32(n)
}

// GradSquaredNorm returns the sum of squares of all gradients, in float64.
// Shards that each hold part of the gradients add their sums and take the
// square root to get the global norm for ClipScale.
func GradSquaredNorm(params []Param) float64 {
	var s float64
	for _, p := range params {
		for _, g := range p.Grad {
			s += float64(g) * float64(g)
		}
	}
	return s
}

// ClipScale returns the factor ClipGradNorm multiplies gradients by for a
// global norm: maxNorm/(norm+1e-6) when that is below 1, otherwise 1. It
// returns 1 when maxNorm is not positive or norm is not finite.
func ClipScale(norm float64, maxNorm float32) float32 {
	if !(maxNorm > 0) || math.IsNaN(norm) || math.IsInf(norm, 0) {
		return 1
	}
	c := float64(maxNorm) / (norm + clipEps)
	if c < 1 {
		return float32(c)
	}
	return 1
}

// ScaleGrads multiplies every gradient by s.
func ScaleGrads(params []Param, s float32) {
	for _, p := range params {
		for i := range p.Grad {
			p.Grad[i] *= s
		}
	}
}
