package kernels

import "math"

const (
	errReLULen         = "kernels: ReLU: len(y) != len(x)"
	errReLUBackwardLen = "kernels: ReLUBackward: len(dy) or len(dx) != len(x)"
)

// ReLU sets y[i] = max(x[i], 0) as Go's max does: NaN stays NaN and -0
// becomes +0. x and y must have the same length, and may be the same
// slice.
func ReLU(x, y []float32) {
	if len(y) != len(x) {
		panic(errReLULen)
	}
	streamsOf(ImplAuto.Resolve()).relu(x, y)
}

// ReLUBackward adds dy[i] to dx[i] wherever x[i] > 0, the gradient of
// ReLU with respect to its input x. The slices must have the same length.
func ReLUBackward(x, dy, dx []float32) {
	if len(dy) != len(x) || len(dx) != len(x) {
		panic(errReLUBackwardLen)
	}
	streamsOf(ImplAuto.Resolve()).reluBackward(x, dy, dx)
}

func reluGo(x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = max(v, 0)
	}
}

// reluBackwardGo selects with a conditional move rather than a branch,
// which the sign of a ReLU's input, close to random, would mispredict
// half the time: it adds +0 where x[i] <= 0, which changes no value.
func reluBackwardGo(x, dy, dx []float32) {
	dy, dx = dy[:len(x)], dx[:len(x)]
	for i, v := range x {
		b := math.Float32bits(dy[i])
		if !(v > 0) {
			b = 0
		}
		dx[i] += math.Float32frombits(b)
	}
}
