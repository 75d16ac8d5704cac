package augment

import (
	"math"
	"testing"
)

func TestNoiseHasRequestedStdAndZeroMean(t *testing.T) {
	s := Shape{C: 2, H: 100, W: 100}
	src := randomImage(s, 10)
	dst := make([]float32, len(src))
	for _, std := range []float64{0.05, 1, 3} {
		(&Noise{Std: std}).Apply(dst, src, s, rngFor(11), nil)
		var sum, ss float64
		for i := range dst {
			d := float64(dst[i]) - float64(src[i])
			sum += d
			ss += d * d
		}
		n := float64(len(dst))
		mean := sum / n
		sd := math.Sqrt(ss/n - mean*mean)
		// Over 20000 values the mean has sd std/141 and the sample sd is
		// within about 0.5 % of std; the bounds are four of those.
		if math.Abs(mean) > 4*std/math.Sqrt(n) {
			t.Errorf("std %g: mean %g, want 0 ± %g", std, mean, 4*std/math.Sqrt(n))
		}
		if math.Abs(sd/std-1) > 0.02 {
			t.Errorf("std %g: measured %g, want within 2 %%", std, sd)
		}
	}
	(&Noise{}).Apply(dst, src, s, rngFor(12), nil)
	equalBits(t, "noise std=0", dst, src)
}
