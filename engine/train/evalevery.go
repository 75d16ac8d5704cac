package train

import (
	"time"

	"github.com/troupe-ml/troupe/engine/data"
	"github.com/troupe-ml/troupe/engine/nn"
	"github.com/troupe-ml/troupe/engine/spec"
)

// EvalReport is one test-set evaluation of a job with EvalEvery above 0:
// every EvalEvery optimizer steps and at each epoch's end. It is what data
// selection is compared by: the passes and the training time a run needed
// to reach an accuracy.
type EvalReport struct {
	Epoch        int
	Step         int // optimizer steps taken, the resumed ones included
	TestLoss     float64
	TestAccuracy float64
	// ForwardSamples and BackwardSamples count the samples trained (and,
	// under data selection, only scored) since the run started.
	ForwardSamples, BackwardSamples uint64
	// Seconds is the training time since the run started: evaluations,
	// which pause training, and the work between epochs are left out, so
	// that how often a run evaluates does not change it.
	Seconds     float64
	EvalSeconds float64
}

// EvalObserver is an Observer that also receives the evaluations a job's
// EvalEvery asks for, on the training goroutine. An error from Eval stops
// the run.
type EvalObserver interface {
	Observer
	Eval(EvalReport) error
}

// EvalDue reports whether a job evaluates after optimizer step step (counted
// from the start of the job, resumed steps included) in the middle of an
// epoch; epoch ends are evaluated anyway.
func EvalDue(job spec.Job, step int) bool {
	return job.EvalEvery > 0 && step > 0 && step%job.EvalEvery == 0
}

// midEval evaluates model during an epoch of the plain loop, hands the
// result to obs if it takes evaluations, and returns it with the time it
// took, which the caller leaves out of the training time.
func midEval(e *Evaluator, model *nn.Model, testSet *data.Dataset, job spec.Job, obs Observer, rep EvalReport) (Eval, time.Duration, error) {
	start := time.Now()
	ev, err := e.Evaluate(model, testSet, job.EvalBatch)
	if err != nil {
		return ev, 0, err
	}
	took := time.Since(start)
	rep.TestLoss, rep.TestAccuracy, rep.EvalSeconds = ev.Loss, ev.Accuracy, took.Seconds()
	return ev, took, reportEval(obs, rep)
}

// reportEval hands rep to obs if it takes evaluations.
func reportEval(obs Observer, rep EvalReport) error {
	if eo, ok := obs.(EvalObserver); ok {
		return eo.Eval(rep)
	}
	return nil
}
