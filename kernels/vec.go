package kernels

const (
	errAxpyLen = "kernels: Axpy: len(x) != len(y)"
	errDotLen  = "kernels: Dot: len(x) != len(y)"
)

// Axpy computes y += alpha*x. x and y must have the same length; a
// mismatch is a programmer error and panics rather than silently
// truncating. They must not overlap unless they are the same slice.
func Axpy(alpha float32, x, y []float32) {
	if len(x) != len(y) {
		panic(errAxpyLen)
	}
	if len(x) == 0 || alpha == 0 {
		return
	}
	impl().axpy(alpha, x, y)
}

// Scale computes x *= alpha. Scale(0, x) zeroes x even where it holds NaN
// or Inf, matching Sgemm's beta == 0 rule, so it can reset buffers.
func Scale(alpha float32, x []float32) {
	switch {
	case len(x) == 0 || alpha == 1:
		return
	case alpha == 0:
		clear(x)
		return
	}
	impl().scale(alpha, x)
}

// Dot returns the inner product of x and y, which must have the same length.
// It accumulates in float32 in an implementation-defined order, so results
// may differ from a sequential loop in the last bits.
func Dot(x, y []float32) float32 {
	if len(x) != len(y) {
		panic(errDotLen)
	}
	if len(x) == 0 {
		return 0
	}
	return impl().dot(x, y)
}

// Sum returns the sum of the elements of x, accumulated in float32 in an
// implementation-defined order: vector lanes of partial sums with AVX-512
// or AVX2, eight scalar ones otherwise.
func Sum(x []float32) float32 {
	return streamsOf(ImplAuto.Resolve()).sum(x)
}
