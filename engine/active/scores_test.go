package active

import (
	"math"
	"slices"
	"testing"
)

const tol = 1e-9

// Uniform probabilities have the largest entropy, log k; a one-hot row
// has none.
func TestEntropyPicksUniform(t *testing.T) {
	probs := []float32{
		1, 0, 0, 0,
		0.25, 0.25, 0.25, 0.25,
		0.7, 0.1, 0.1, 0.1,
	}
	s := EntropyScores(probs, 4)
	if math.Abs(s[1]-math.Log(4)) > 1e-6 || math.Abs(s[0]) > tol {
		t.Errorf("entropies %v, want log 4 = %v for the uniform row and 0 for the one-hot row", s, math.Log(4))
	}
	if got := SelectTop(s, 1, nil, nil); !slices.Equal(got, []int{1}) {
		t.Errorf("max entropy picked %v, want [1]", got)
	}
}

// Margin picks the row whose two largest probabilities are closest, even
// when another row has a lower top probability.
func TestMarginPicksClosestTopTwo(t *testing.T) {
	probs := []float32{
		0.6, 0.3, 0.1,
		0.45, 0.44, 0.11, // gap 0.01
		0.4, 0.3, 0.3, // lower top, gap 0.1
	}
	s := MarginScores(probs, 3)
	if got := SelectTop(s, 1, nil, nil); !slices.Equal(got, []int{1}) {
		t.Errorf("margin picked %v (scores %v), want [1]", got, s)
	}
	if math.Abs(s[1]+0.01) > 1e-6 {
		t.Errorf("margin score %v, want -0.01", s[1])
	}
	lc := LeastConfidenceScores(probs, 3)
	if got := SelectTop(lc, 1, nil, nil); !slices.Equal(got, []int{2}) {
		t.Errorf("least confidence picked %v (scores %v), want [2], the lowest top probability", got, lc)
	}
	if math.Abs(lc[2]-0.6) > 1e-6 {
		t.Errorf("least-confidence score %v, want 0.6", lc[2])
	}
}

// BALD is zero when all samples agree, however uncertain each is, and
// log 2 when two equally weighted samples are confident of different
// classes.
func TestBALD(t *testing.T) {
	agree := []float32{0.5, 0.5, 0.2, 0.8}
	samples := [][]float32{
		slices.Concat(agree, []float32{1, 0}),
		slices.Concat(agree, []float32{0, 1}),
	}
	s := BALDScores(samples, 2)
	if math.Abs(s[0]) > 1e-7 || math.Abs(s[1]) > 1e-7 {
		t.Errorf("BALD of agreeing samples %v, want 0", s[:2])
	}
	if math.Abs(s[2]-math.Log(2)) > 1e-6 {
		t.Errorf("BALD of disagreeing confident samples %v, want log 2 = %v", s[2], math.Log(2))
	}
	if got := SelectTop(s, 1, nil, nil); !slices.Equal(got, []int{2}) {
		t.Errorf("BALD picked %v, want [2]", got)
	}
	// Max entropy of the mean cannot tell row 0 (aleatoric) from row 2
	// (epistemic); BALD can.
	h := EntropyScores(MeanProbs(samples, 2), 2)
	if math.Abs(h[0]-h[2]) > 1e-6 {
		t.Errorf("mean entropies %v and %v, want equal", h[0], h[2])
	}
}

// Variation ratio: 1 − (votes of the mode)/T.
func TestVarRatios(t *testing.T) {
	samples := [][]float32{
		{0.9, 0.1, 0.6, 0.4},
		{0.8, 0.2, 0.3, 0.7},
		{0.7, 0.3, 0.2, 0.8},
		{0.6, 0.4, 0.1, 0.9},
	}
	s := VarRatioScores(samples, 2)
	if math.Abs(s[0]) > tol || math.Abs(s[1]-0.25) > tol {
		t.Errorf("variation ratios %v, want [0 0.25]", s)
	}
}

// K-center greedy first takes the candidate farthest from the labelled
// centres, then the one farthest from those and its first pick.
func TestKCenterGreedyPicksFarthest(t *testing.T) {
	cands := []float32{
		0, 1,
		10, 0,
		0, 2,
		-6, 0,
	}
	centres := []float32{0, 0}
	got := KCenterGreedy(cands, centres, 2, 2)
	if !slices.Equal(got, []int{1, 3}) {
		t.Errorf("k-center picked %v, want [1 3]", got)
	}
	if got := KCenterGreedy(cands, nil, 2, 9); len(got) != 4 || got[0] != 0 || got[1] != 1 {
		t.Errorf("k-center without centres picked %v, want 4 picks starting 0, 1", got)
	}
}

// A near-duplicate of a pick is passed over for the next candidate, and
// used only when nothing else is left.
func TestSelectTopSkipsNearDuplicates(t *testing.T) {
	pixels := []uint8{
		200, 0, 0, 0,
		198, 3, 0, 0, // near-copy of 0
		0, 0, 200, 0,
		0, 100, 0, 100,
	}
	dup := CosineDuplicates(pixels, 4, 0.95)
	scores := []float64{0.9, 0.8, 0.7, 0.1}
	if got := SelectTop(scores, 2, nil, dup); !slices.Equal(got, []int{0, 2}) {
		t.Errorf("picked %v, want [0 2]", got)
	}
	if got := SelectTop(scores, 2, nil, nil); !slices.Equal(got, []int{0, 1}) {
		t.Errorf("without the rule picked %v, want [0 1]", got)
	}
	if got := SelectTop(scores, 4, nil, dup); !slices.Equal(got, []int{0, 2, 3, 1}) {
		t.Errorf("picked %v, want the duplicate last: [0 2 3 1]", got)
	}
	// Ties go to the lower tie rank.
	if got := SelectTop([]float64{1, 1, 1}, 1, []int{2, 0, 1}, nil); !slices.Equal(got, []int{1}) {
		t.Errorf("tie broken to %v, want [1]", got)
	}
}

func TestParseStrategy(t *testing.T) {
	for _, s := range Strategies() {
		if got, err := ParseStrategy(string(s)); err != nil || got != s {
			t.Errorf("ParseStrategy(%q) = %q, %v", s, got, err)
		}
	}
	if got, _ := ParseStrategy("Max-Entropy"); got != Entropy {
		t.Errorf("alias max-entropy gave %q", got)
	}
	if _, err := ParseStrategy("bold"); err == nil {
		t.Error("unknown name accepted")
	}
}
