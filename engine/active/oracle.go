package active

import (
	"context"
	"fmt"
	"math/rand/v2"
)

// Oracle answers label queries for pool indices, one label per index in
// order. Label may block until the answers exist (a person labelling, a
// file being filled in) and should give up with ctx.Err() when ctx ends.
type Oracle interface {
	Label(ctx context.Context, idx []int) ([]int32, error)
}

// OracleFunc adapts a function, such as a callback into a labelling
// tool, to Oracle.
type OracleFunc func(ctx context.Context, idx []int) ([]int32, error)

// Label implements Oracle.
func (f OracleFunc) Label(ctx context.Context, idx []int) ([]int32, error) { return f(ctx, idx) }

// HeldLabels is the oracle of a benchmark: it reveals labels held back
// from the learner, such as MNIST's.
func HeldLabels(labels []int32) Oracle {
	return OracleFunc(func(ctx context.Context, idx []int) ([]int32, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		out := make([]int32, len(idx))
		for k, i := range idx {
			if i < 0 || i >= len(labels) {
				return nil, fmt.Errorf("active: oracle asked for sample %d of %d", i, len(labels))
			}
			out[k] = labels[i]
		}
		return out, nil
	})
}

// BalancedInitial draws perClass samples of each of classes classes at
// random from labels: the class-balanced starting set of Gal et al.'s
// benchmark, which peeks at the held labels to choose it. A labelling
// source without held labels starts from a random set instead.
func BalancedInitial(labels []int32, classes, perClass int, rng *rand.Rand) ([]int, error) {
	if classes < 1 || perClass < 0 {
		return nil, fmt.Errorf("active: initial set of %d per class of %d classes", perClass, classes)
	}
	byClass := make([][]int, classes)
	for _, i := range rng.Perm(len(labels)) {
		c := labels[i]
		if c < 0 || int(c) >= classes {
			return nil, fmt.Errorf("active: label %d of sample %d outside 0..%d", c, i, classes-1)
		}
		if len(byClass[c]) < perClass {
			byClass[c] = append(byClass[c], i)
		}
	}
	var out []int
	for c, is := range byClass {
		if len(is) < perClass {
			return nil, fmt.Errorf("active: class %d has %d samples, the initial set wants %d", c, len(is), perClass)
		}
		out = append(out, is...)
	}
	return out, nil
}
