// Package kerneltest is the conformance suite for implementations of the
// kernels API, in the style of gonum's blas/testblas: a backend's test file
// runs the whole suite with one call, for example
//
//	func TestSgemm(t *testing.T) { kerneltest.TestSgemm(t, mygemm) }
//
// The suite compares against naive float64-accumulating references, with
// tolerances derived from float32 rounding error bounds, and surrounds every
// output with NaN guard values that must survive unchanged. Padding between
// rows of the inputs is also NaN, so reading outside a matrix shows up as NaN
// in the result.
//
// It does not benchmark or test performance, and it does not import the
// kernels package, so kernels' own tests can use it without a cycle.
package kerneltest
