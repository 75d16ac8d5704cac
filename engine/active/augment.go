package active

import (
	"fmt"

	"github.com/troupe-ml/troupe/engine/augment"
	"github.com/troupe-ml/troupe/engine/data"
)

// augmenter runs the training augmentation on batches.
type augmenter struct {
	w     *augment.Worker // nil: no augmentation
	shape augment.Shape
	out   []float32
}

func newAugmenter(spec string, in []int, ds *data.Dataset, seed uint64) (*augmenter, error) {
	cfgs, err := augment.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("active: training augmentation %q: %w", spec, err)
	}
	if len(cfgs) == 0 {
		return &augmenter{}, nil
	}
	if len(in) != 3 {
		return nil, fmt.Errorf("active: training augmentation %q needs image input, the model takes %v", spec, in)
	}
	// What moves in from outside the image is a black pixel, normalised.
	p, err := augment.New(cfgs, -ds.Mean/ds.Std)
	if err != nil {
		return nil, fmt.Errorf("active: training augmentation %q: %w", spec, err)
	}
	return &augmenter{w: p.NewWorker(seed), shape: augment.Shape{C: in[0], H: in[1], W: in[2]}}, nil
}

// apply returns the batch x of step augmented, or x itself without
// augmentation.
func (a *augmenter) apply(x []float32, step int) []float32 {
	if a.w == nil {
		return x
	}
	if cap(a.out) < len(x) {
		a.out = make([]float32, len(x))
	}
	out := a.out[:len(x)]
	size := a.shape.Len()
	for k := 0; (k+1)*size <= len(x); k++ {
		a.w.Apply(out[k*size:(k+1)*size], x[k*size:(k+1)*size], a.shape, uint64(step), uint64(k))
	}
	return out
}
