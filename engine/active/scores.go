package active

import (
	"fmt"
	"math"

	"github.com/troupe-ml/troupe/engine/train"
)

// The scores below read probabilities in rows of k classes, one row per
// candidate, and return one score per candidate: the higher, the more the
// candidate's label is worth asking for.

// EntropyScores is the entropy of each row, in nats.
func EntropyScores(probs []float32, k int) []float64 {
	out := make([]float64, rows(probs, k))
	for i := range out {
		out[i] = entropy(probs[i*k : (i+1)*k])
	}
	return out
}

// MarginScores is minus the gap between each row's two largest
// probabilities: the candidate whose top two classes are closest scores
// highest.
func MarginScores(probs []float32, k int) []float64 {
	out := make([]float64, rows(probs, k))
	for i := range out {
		a, b := top2(probs[i*k : (i+1)*k])
		out[i] = -(a - b)
	}
	return out
}

// LeastConfidenceScores is one minus each row's largest probability.
func LeastConfidenceScores(probs []float32, k int) []float64 {
	out := make([]float64, rows(probs, k))
	for i := range out {
		a, _ := top2(probs[i*k : (i+1)*k])
		out[i] = 1 - a
	}
	return out
}

// BALDScores is the mutual information between a candidate's label and the
// model's weights, estimated from T Monte Carlo dropout samples (each an
// array of rows of k probabilities over the same candidates): the entropy
// of the mean prediction minus the mean entropy of the samples. It is zero
// when every sample predicts the same distribution.
func BALDScores(samples [][]float32, k int) []float64 {
	n := mcRows(samples, k)
	out := make([]float64, n)
	mean := make([]float32, k)
	for i := range out {
		clear(mean)
		var condEnt float64
		for _, s := range samples {
			row := s[i*k : (i+1)*k]
			condEnt += entropy(row)
			for c, p := range row {
				mean[c] += p
			}
		}
		for c := range mean {
			mean[c] /= float32(len(samples))
		}
		// Rounding can leave a tiny negative value where the samples agree.
		out[i] = max(0, entropy(mean)-condEnt/float64(len(samples)))
	}
	return out
}

// VarRatioScores is each candidate's variation ratio over T Monte Carlo
// dropout samples: one minus the fraction of samples whose top class is
// the most frequent top class. It is zero when every sample votes alike.
func VarRatioScores(samples [][]float32, k int) []float64 {
	n := mcRows(samples, k)
	out := make([]float64, n)
	votes := make([]int, k)
	for i := range out {
		clear(votes)
		for _, s := range samples {
			votes[train.Argmax(s[i*k:(i+1)*k])]++
		}
		best := 0
		for _, v := range votes {
			best = max(best, v)
		}
		out[i] = 1 - float64(best)/float64(len(samples))
	}
	return out
}

// MeanProbs averages Monte Carlo samples into one array of rows.
func MeanProbs(samples [][]float32, k int) []float32 {
	n := mcRows(samples, k)
	out := make([]float32, n*k)
	for _, s := range samples {
		for j, p := range s {
			out[j] += p
		}
	}
	for j := range out {
		out[j] /= float32(len(samples))
	}
	return out
}

func entropy(p []float32) float64 {
	var h float64
	for _, v := range p {
		if v > 0 {
			h -= float64(v) * math.Log(float64(v))
		}
	}
	return h
}

func top2(p []float32) (a, b float64) {
	a, b = math.Inf(-1), math.Inf(-1)
	for _, v := range p {
		switch x := float64(v); {
		case x > a:
			a, b = x, a
		case x > b:
			b = x
		}
	}
	if len(p) == 1 {
		b = 0
	}
	return a, b
}

// rows checks the layout; a mismatch is a programmer error.
func rows(probs []float32, k int) int {
	if k < 1 || len(probs)%k != 0 {
		panic(fmt.Sprintf("active: %d probabilities do not form rows of %d classes", len(probs), k))
	}
	return len(probs) / k
}

func mcRows(samples [][]float32, k int) int {
	if len(samples) == 0 {
		panic("active: no Monte Carlo samples")
	}
	n := rows(samples[0], k)
	for t, s := range samples {
		if len(s) != len(samples[0]) {
			panic(fmt.Sprintf("active: Monte Carlo sample %d has %d values, sample 0 has %d", t, len(s), len(samples[0])))
		}
	}
	return n
}
