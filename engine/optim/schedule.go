package optim

import "math"

// Schedule maps an optimizer step, counted from 0, to a learning rate.
// Negative steps are treated as step 0.
type Schedule interface {
	LR(step int) float32
}

type constant float32

func (c constant) LR(int) float32 { return float32(c) }

// Constant returns lr at every step.
func Constant(lr float32) Schedule { return constant(lr) }

type stepDecay struct {
	lr       float64
	gamma    float64
	stepSize int
}

// StepDecay returns lr * gamma^floor(step/stepSize), as
// torch.optim.lr_scheduler.StepLR. A stepSize below 1 is taken as 1, so the
// rate decays every step rather than dividing by zero.
func StepDecay(lr float32, stepSize int, gamma float32) Schedule {
	return stepDecay{lr: float64(lr), gamma: float64(gamma), stepSize: max(stepSize, 1)}
}

func (s stepDecay) LR(step int) float32 {
	k := max(step, 0) / s.stepSize
	return float32(s.lr * math.Pow(s.gamma, float64(k)))
}

type warmupCosine struct {
	lr, minLR     float64
	warmup, total int
}

// WarmupCosine ramps linearly over the first warmupSteps steps, from
// lr/warmupSteps at step 0 to lr at step warmupSteps-1, then follows a half
// cosine from lr at step warmupSteps down to minLR at step totalSteps, and
// stays at minLR afterwards. The peak is therefore used twice, at
// warmupSteps-1 and warmupSteps: starting the ramp at lr/warmupSteps avoids
// a wasted step at rate 0, and the cosine stays anchored at the end of the
// warm-up as in Hugging Face's get_cosine_schedule_with_warmup.
// warmupSteps <= 0 means no warm-up; totalSteps <= warmupSteps means minLR
// right after the warm-up.
func WarmupCosine(lr, minLR float32, warmupSteps, totalSteps int) Schedule {
	return warmupCosine{lr: float64(lr), minLR: float64(minLR), warmup: max(warmupSteps, 0), total: totalSteps}
}

func (s warmupCosine) LR(step int) float32 {
	step = max(step, 0)
	switch {
	case step < s.warmup:
		return float32(s.lr * float64(step+1) / float64(s.warmup))
	case step >= s.total:
		return float32(s.minLR)
	}
	progress := float64(step-s.warmup) / float64(s.total-s.warmup)
	return float32(s.minLR + 0.5*(s.lr-s.minLR)*(1+math.Cos(math.Pi*progress)))
}
