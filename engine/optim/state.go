package optim

import (
	"errors"
	"fmt"
	"math"
)

// ErrState is wrapped by every error LoadState returns.
var ErrState = errors.New("optimizer state mismatch")

// stepName is the state tensor holding the step count. Param state names
// always carry a dotted suffix, so no parameter name can collide with it.
const stepName = "step"

// stepLowBits is how many bits of the step count go into the first float32
// of the "step" tensor; float32 represents every integer below 2^24.
const stepLowBits = 24

// slot is one state buffer with its checkpoint name.
type slot struct {
	name string
	data []float32
	// nonNeg marks buffers that must never hold negative values, such as
	// second moments, whose square root the update takes.
	nonNeg bool
}

func stepTensor(step int) StateTensor {
	const mask = 1<<stepLowBits - 1
	return StateTensor{Name: stepName, Data: []float32{
		float32(step & mask),
		float32(step >> stepLowBits),
	}}
}

func decodeStep(data []float32) (int, error) {
	if len(data) != 2 {
		return 0, fmt.Errorf("optim: state %q: length %d, want 2: %w", stepName, len(data), ErrState)
	}
	const limit = 1 << stepLowBits
	lo, hi := data[0], data[1]
	for i, v := range data {
		if !(v >= 0 && v < limit) || v != float32(math.Trunc(float64(v))) {
			return 0, fmt.Errorf("optim: state %q[%d] = %v: want an integer in [0, 2^24): %w",
				stepName, i, v, ErrState)
		}
	}
	return int(hi)<<stepLowBits | int(lo), nil
}

// snapshot copies the step count and every slot.
func snapshot(step int, slots []slot) []StateTensor {
	out := make([]StateTensor, 0, 1+len(slots))
	out = append(out, stepTensor(step))
	for _, s := range slots {
		out = append(out, StateTensor{Name: s.name, Data: append([]float32(nil), s.data...)})
	}
	return out
}

// restore checks that ts holds exactly the step count and every slot, with
// matching lengths and finite values, and only then copies them in. On error
// nothing has been written.
func restore(ts []StateTensor, slots []slot) (step int, err error) {
	index := make(map[string]int, len(slots))
	for i, s := range slots {
		index[s.name] = i
	}
	seen := make([]bool, len(slots))
	src := make([][]float32, len(slots))
	haveStep := false
	for _, t := range ts {
		if t.Name == stepName {
			if haveStep {
				return 0, fmt.Errorf("optim: state %q given twice: %w", t.Name, ErrState)
			}
			haveStep = true
			if step, err = decodeStep(t.Data); err != nil {
				return 0, err
			}
			continue
		}
		i, ok := index[t.Name]
		if !ok {
			return 0, fmt.Errorf("optim: state %q: no such tensor in this optimizer: %w", t.Name, ErrState)
		}
		if seen[i] {
			return 0, fmt.Errorf("optim: state %q given twice: %w", t.Name, ErrState)
		}
		seen[i] = true
		if len(t.Data) != len(slots[i].data) {
			return 0, fmt.Errorf("optim: state %q: length %d, want %d: %w",
				t.Name, len(t.Data), len(slots[i].data), ErrState)
		}
		if err := checkValues(t, slots[i].nonNeg); err != nil {
			return 0, err
		}
		src[i] = t.Data
	}
	if !haveStep {
		return 0, fmt.Errorf("optim: state %q missing: %w", stepName, ErrState)
	}
	for i, ok := range seen {
		if !ok {
			return 0, fmt.Errorf("optim: state %q missing: %w", slots[i].name, ErrState)
		}
	}
	for i, s := range slots {
		copy(s.data, src[i])
	}
	return step, nil
}

// checkValues rejects non-finite values: a checkpoint holding them is either
// corrupt or from a diverged run, and resuming from it would only spread NaN.
func checkValues(t StateTensor, nonNeg bool) error {
	for j, v := range t.Data {
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("optim: state %q[%d] = %v: not finite: %w", t.Name, j, v, ErrState)
		}
		if nonNeg && v < 0 {
			return fmt.Errorf("optim: state %q[%d] = %v: must be >= 0: %w", t.Name, j, v, ErrState)
		}
	}
	return nil
}

// StepState returns the "step" tensor the optimizers' State starts with,
// for optimizers kept elsewhere (e.g. on a GPU) that write the same format.
func StepState(step int) StateTensor { return stepTensor(step) }
