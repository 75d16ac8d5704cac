// Package datatest makes small, learnable, MNIST-shaped data sets for tests:
// every class lights up its own band of image rows over uniform noise, so a
// model that learns anything at all reaches high accuracy within an epoch or
// two, and tests of the training machinery run in milliseconds.
package datatest

import (
	"math/rand/v2"

	"github.com/troupe-ml/troupe/engine/data"
)

// MNISTLike returns n 1×28×28 samples of 10 classes drawn from seed, with
// MNIST's normalisation constants.
func MNISTLike(n int, seed uint64) *data.Dataset {
	r := rand.New(rand.NewPCG(seed, 3))
	ds := &data.Dataset{Name: "synth", N: n, C: 1, H: 28, W: 28, Classes: 10, Mean: data.MNISTMean, Std: data.MNISTStd}
	ds.Pixels = make([]uint8, 0, n*784)
	ds.Labels = make([]int32, 0, n)
	for range n {
		c := r.IntN(10)
		ds.Labels = append(ds.Labels, int32(c))
		for p := range 784 {
			v := r.IntN(60)
			if row := p / 28; row >= 2*c+4 && row < 2*c+7 {
				v += 180
			}
			ds.Pixels = append(ds.Pixels, uint8(v))
		}
	}
	return ds
}
