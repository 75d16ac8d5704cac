package augment

import (
	"math"
	"math/rand/v2"
)

// betaDraw draws from Beta(a, b) as G_a / (G_a + G_b) for independent Gamma
// variates. It works with their logarithms: for the small shapes mixup uses
// (α = 0.2 puts most of the mass near 0 and 1) both Gamma draws can
// underflow to 0, and the plain ratio would be 0/0.
func betaDraw(rng *rand.Rand, a, b float64) float64 {
	la, lb := logGammaDraw(rng, a), logGammaDraw(rng, b)
	d := lb - la
	if math.IsNaN(d) {
		// Both logarithms overflowed to −∞, which takes a shape near the
		// smallest float64: Beta(α, α) then tends to a fair coin on {0, 1}.
		return float64(rng.Uint64() & 1)
	}
	return 1 / (1 + math.Exp(d))
}

// logGammaDraw returns the logarithm of a Gamma(shape, 1) variate, by the
// method of Marsaglia and Tsang (2000) for shape ≥ 1 and, below, their boost
// G(a) = G(a+1)·U^(1/a) taken in logs.
func logGammaDraw(rng *rand.Rand, shape float64) float64 {
	if shape < 1 {
		u := 1 - rng.Float64() // in (0, 1], so its logarithm is finite
		return logGammaDraw(rng, shape+1) + math.Log(u)/shape
	}
	d := shape - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := rng.Float64()
		if u < 1-0.0331*x*x*x*x || math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return math.Log(d) + math.Log(v)
		}
	}
}
