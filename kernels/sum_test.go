package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSumImpls checks each implementation's sum against a float64 sum on
// every length 0..67 and a few long ones, from unaligned starts.
func TestSumImpls(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	lengths := []int{1000, 4099}
	for n := range 68 {
		lengths = append(lengths, n)
	}
	for _, impl := range availableImpls(t) {
		k := streamsOf(impl)
		for _, n := range lengths {
			for _, off := range []int{0, 1, 3} {
				x := randVec(rng, off+n)[off:]
				var want, mag float64
				for _, v := range x {
					want += float64(v)
					mag += math.Abs(float64(v))
				}
				// One rounding per term in any order, plus one.
				if got, tol := float64(k.sum(x)), float64(n+1)*0x1p-23*mag; math.Abs(got-want) > tol {
					t.Fatalf("%v: sum n=%d off=%d = %v, want %v (tolerance %.3g)", impl, n, off, got, want, tol)
				}
			}
		}
	}
}
