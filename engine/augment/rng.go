package augment

import "math/rand/v2"

// golden is the SplitMix64 increment, 2^64 divided by the golden ratio.
const golden = 0x9e3779b97f4a7c15

// mix is the SplitMix64 output function. It is a bijection of uint64, so
// chaining it over (seed, epoch, id) gives distinct keys to distinct ids.
func mix(x uint64) uint64 {
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// SampleKey is the 64-bit key all randomness of one sample derives from. It
// depends on seed, epoch and id only, never on which worker handles the sample
// or in what order.
func SampleKey(seed, epoch, id uint64) uint64 {
	k := mix(seed + golden)
	k = mix((k ^ epoch) + golden)
	return mix((k ^ id) + golden)
}

// word returns word i of the SplitMix64 sequence seeded by key.
func word(key uint64, i uint64) uint64 { return mix(key + (i+1)*golden) }

// SampleRNG returns a generator for sample id of an epoch: the PCG seeded by
// the first two words of the SplitMix64 sequence of SampleKey(seed, epoch, id).
// It allocates; a Worker reseeds one generator per sample instead.
func SampleRNG(seed, epoch, id uint64) *rand.Rand {
	k := SampleKey(seed, epoch, id)
	return rand.New(rand.NewPCG(word(k, 0), word(k, 1)))
}

// stepStreams gives step i of a pipeline its own three words of the sample's
// sequence: two seed the step's PCG, the third decides whether the step runs.
// Steps therefore draw independently: changing one step's parameters or
// probability does not change what the others do to the same sample.
func stepStreams(key uint64, step int) (s0, s1, decide uint64) {
	b := 3 * uint64(step)
	return word(key, b), word(key, b+1), word(key, b+2)
}

// unit maps a uniform word to a float64 uniform in [0, 1).
func unit(u uint64) float64 { return float64(u>>11) * 0x1p-53 }

// uniform draws from U(-r, r); r = 0 gives exactly 0.
func uniform(rng *rand.Rand, r float64) float64 { return (2*rng.Float64() - 1) * r }

// between draws from U(lo, hi); lo = hi gives exactly lo.
func between(rng *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*rng.Float64() }
