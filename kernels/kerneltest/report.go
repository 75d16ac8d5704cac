package kerneltest

import (
	"fmt"
	"math"
)

// reporter is the part of *testing.T the checks use; it lets the suite's own
// tests run the checks against deliberately broken kernels and observe that
// they are caught.
type reporter interface {
	Helper()
	Errorf(format string, args ...any)
}

// maxFailures bounds the reports of one check: a broken kernel usually fails
// every case, and the first few say all there is to say.
const maxFailures = 8

// failures counts reported failures and tells the check when to stop.
type failures struct {
	r reporter
	n int
}

// fail reports one failure and returns false once the check should stop.
func (f *failures) fail(format string, args ...any) bool {
	f.r.Helper()
	f.n++
	f.r.Errorf(format, args...)
	if f.n >= maxFailures {
		f.r.Errorf("stopping after %d failures", f.n)
		return false
	}
	return true
}

// guardBits is the NaN written around and between the regions a kernel may
// touch. A distinctive payload makes it tell-tale in a failure message and
// distinguishes it from a NaN a kernel might compute.
const guardBits = 0x7fc0beef

func guard() float32 { return math.Float32frombits(guardBits) }

func isGuard(v float32) bool { return math.Float32bits(v) == guardBits }

// eps32 is the float32 machine epsilon, 2⁻²³; tolerances use it rather than
// the unit roundoff 2⁻²⁴ to leave a factor of two of slack for a backend's
// summation order.
const eps32 = 0x1p-23

// call runs f and turns a panic into an error, so that a kernel that panics
// on one case is reported with the case instead of aborting the test binary.
func call(f func()) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	f()
	return nil
}
