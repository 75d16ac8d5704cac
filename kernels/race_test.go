//go:build race

package kernels

// raceEnabled reports a build with the race detector, under which the
// suite runs about ten times slower; see shortMatrix.
const raceEnabled = true
