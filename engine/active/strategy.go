package active

import (
	"fmt"
	"strings"
)

// Strategy names an acquisition function.
type Strategy string

// The acquisition functions.
const (
	Random          Strategy = "random"
	Entropy         Strategy = "entropy"          // maximum predictive entropy
	Margin          Strategy = "margin"           // smallest gap between the top two classes
	LeastConfidence Strategy = "least-confidence" // smallest top-class probability
	BALD            Strategy = "bald"             // mutual information between label and weights (MC dropout)
	VarRatios       Strategy = "var-ratios"       // variation ratio of the MC dropout votes
	Coreset         Strategy = "coreset"          // k-center greedy on penultimate activations
)

// Strategies lists every acquisition function.
func Strategies() []Strategy {
	return []Strategy{Random, Entropy, Margin, LeastConfidence, BALD, VarRatios, Coreset}
}

// ParseStrategy reads a strategy name; "max-entropy" and "varratios" are
// accepted as aliases.
func ParseStrategy(s string) (Strategy, error) {
	switch v := Strategy(strings.ToLower(strings.TrimSpace(s))); v {
	case "max-entropy":
		return Entropy, nil
	case "varratios", "var-ratio":
		return VarRatios, nil
	default:
		for _, k := range Strategies() {
			if v == k {
				return k, nil
			}
		}
	}
	names := make([]string, 0, 7)
	for _, k := range Strategies() {
		names = append(names, string(k))
	}
	return "", fmt.Errorf("unknown acquisition function %q (want %s)", s, strings.Join(names, ", "))
}

// needsMC reports whether the strategy reads Monte Carlo dropout samples.
func (s Strategy) needsMC() bool { return s == BALD || s == VarRatios }
