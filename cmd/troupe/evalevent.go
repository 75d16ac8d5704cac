package main

import (
	"fmt"

	"github.com/troupe-ml/troupe/engine/train"
)

// evalEvent is the --json line of each evaluation --eval-every asks for
// (a stable contract): the passes and training time, evaluations left out,
// that it took to reach an accuracy.
type evalEvent struct {
	Event           string  `json:"event"`
	Epoch           int     `json:"epoch"`
	Step            int     `json:"step"`
	TestAccuracy    float64 `json:"test_accuracy"`
	TestLoss        float64 `json:"test_loss"`
	ForwardSamples  uint64  `json:"forward_samples"`
	BackwardSamples uint64  `json:"backward_samples"`
	Seconds         float64 `json:"seconds"`
	EvalSeconds     float64 `json:"eval_seconds"`
}

// Eval reports an evaluation. The first to reach the target accuracy ends
// the run, and its training time is the done event's seconds_to_target
// (the epoch report that follows it sees the target already reached).
func (r *reporter) Eval(e train.EvalReport) error {
	if r.bar != nil {
		r.bar.clear()
	}
	if r.job.TargetReached(e.TestAccuracy) && r.passes.toTarget == nil {
		s := e.Seconds
		r.passes.toTarget = &s
	}
	if err := r.emit(evalEvent{Event: "eval", Epoch: e.Epoch, Step: e.Step, TestAccuracy: e.TestAccuracy, TestLoss: e.TestLoss,
		ForwardSamples: e.ForwardSamples, BackwardSamples: e.BackwardSamples, Seconds: e.Seconds, EvalSeconds: e.EvalSeconds}); err != nil {
		return err
	}
	if !r.job.JSON {
		fmt.Fprintf(r.stdout, "step %6d  test accuracy %.2f%%  %d backward samples  %.1fs\n", e.Step, 100*e.TestAccuracy, e.BackwardSamples, e.Seconds)
	}
	return nil
}
