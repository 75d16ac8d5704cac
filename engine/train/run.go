package train

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/troupe-ml/troupe/engine/data"
	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/tensor"
	"github.com/troupe-ml/troupe/kernels"
)

// Progress is reported during an epoch, after every step.
type Progress struct {
	Epoch, Batch, Batches int
	Loss                  float32 // the step's loss
	LR                    float32
	Samples               int           // samples trained so far this epoch
	Elapsed               time.Duration // training time so far this epoch
}

// EpochReport is reported after each epoch's evaluation.
type EpochReport struct {
	Epoch         int     `json:"epoch"`
	Step          int     `json:"step"`
	TrainLoss     float64 `json:"train_loss"`
	TestLoss      float64 `json:"test_loss"`
	TestAccuracy  float64 `json:"test_accuracy"`
	LR            float64 `json:"lr"`
	SamplesPerSec float64 `json:"samples_per_sec"` // training throughput, evaluation excluded
	TrainSeconds  float64 `json:"train_seconds"`
	EvalSeconds   float64 `json:"eval_seconds"`
}

// Observer receives a run's events. Both calls happen on the training
// goroutine, so they should be quick. An error from Epoch stops the run.
type Observer interface {
	Progress(Progress)
	Epoch(EpochReport) error
}

// Result summarises a finished run.
type Result struct {
	Epochs        []EpochReport
	SamplesPerSec float64 // over all epochs
	Checkpoint    string  // path of the final checkpoint, "" when none was written
	Trainer       *Trainer
}

// CheckpointName is the file a run writes into its output directory.
const CheckpointName = "model.safetensors"

// Run trains job on trainSet for job.Epochs epochs, evaluating on testSet after
// each. A nil be runs on the CPU with job.Threads threads (0: all cores). If job.Out is non-empty, the checkpoint in it is replaced after every
// epoch. ctx cancels between steps.
func Run(ctx context.Context, job spec.Job, trainSet, testSet *data.Dataset, be tensor.Backend, obs Observer) (Result, error) {
	return RunFrom(ctx, job, trainSet, testSet, be, obs, nil)
}

// RunFrom is Run continuing from a checkpoint: the model's weights, the
// optimizer state (when saved) and the step count come from from, and
// training starts at the epoch after from.State.Epoch, so a job stopped
// between epochs and resumed trains exactly as if it had not stopped
// (dropout masks aside: their generator starts afresh). A nil from is Run.
func RunFrom(ctx context.Context, job spec.Job, trainSet, testSet *data.Dataset, be tensor.Backend, obs Observer, from *Loaded) (Result, error) {
	var res Result
	if err := job.Validate(); err != nil {
		return res, err
	}
	if be == nil {
		cpu, err := kernels.NewCPU(job.Threads, kernels.ImplAuto)
		if err != nil {
			return res, fmt.Errorf("train: %w", err)
		}
		defer cpu.Close()
		be = tensor.CPUBackend{K: cpu}
	}
	loader, err := data.NewLoader(trainSet, job.Batch, job.Seed, true, false)
	if err != nil {
		return res, fmt.Errorf("train: %w", err)
	}
	tr, err := Setup(job, loader.BatchesPerEpoch(), be)
	if err != nil {
		return res, err
	}
	res.Trainer = tr
	first := 1
	if from != nil {
		if err := resumeTrainer(tr, from); err != nil {
			return res, err
		}
		first = from.State.Epoch + 1
		if first > job.Epochs {
			return res, fmt.Errorf("train: the checkpoint is at epoch %d and the job has %d epochs: nothing to do (raise epochs)", from.State.Epoch, job.Epochs)
		}
	}
	if want := tr.Model().InputShape(); tensor.Numel(want) != trainSet.SampleSize() {
		return res, fmt.Errorf("train: data set %s has samples %v, model wants %v", trainSet.Name, []int{trainSet.C, trainSet.H, trainSet.W}, want)
	}
	per := trainSet.SampleSize()
	x := make([]float32, job.Batch*per)
	y := make([]int32, job.Batch)
	eval := NewEvaluator(be)
	var totalSamples int
	var totalTime time.Duration
	for epoch := first; epoch <= job.Epochs; epoch++ {
		loader.Epoch(epoch)
		start := time.Now()
		var lossSum float64
		var samples, batch int
		var lr float32
		var reached *Eval // a mid-epoch evaluation that reached the target
		for {
			n, ok := loader.Next(x, y)
			if !ok {
				break
			}
			if err := ctx.Err(); err != nil {
				return res, err
			}
			st, err := tr.Step(x[:n*per], y[:n], nil)
			if err != nil {
				return res, fmt.Errorf("epoch %d batch %d: %w", epoch, batch+1, err)
			}
			batch++
			samples += n
			lossSum += float64(st.Loss) * float64(n)
			lr = st.LR
			if obs != nil {
				obs.Progress(Progress{Epoch: epoch, Batch: batch, Batches: loader.BatchesPerEpoch(), Loss: st.Loss, LR: st.LR, Samples: samples, Elapsed: time.Since(start)})
			}
			if batch < loader.BatchesPerEpoch() && EvalDue(job, tr.StepCount()) {
				n := uint64(totalSamples + samples)
				ev, took, err := midEval(eval, tr.Model(), testSet, job, obs, EvalReport{Epoch: epoch, Step: tr.StepCount(),
					ForwardSamples: n, BackwardSamples: n, Seconds: (totalTime + time.Since(start)).Seconds()})
				if err != nil {
					return res, err
				}
				start = start.Add(took) // evaluation is not training time
				if job.TargetReached(ev.Accuracy) {
					// The target ends the epoch, and the run, early.
					reached = &ev
					break
				}
			}
		}
		trainTime := time.Since(start)
		totalSamples += samples
		totalTime += trainTime
		evalStart := time.Now()
		var ev Eval
		if reached != nil {
			ev = *reached
		} else if ev, err = eval.Evaluate(tr.Model(), testSet, job.EvalBatch); err != nil {
			return res, err
		}
		rep := EpochReport{
			Epoch: epoch, Step: tr.StepCount(), TrainLoss: lossSum / float64(max(samples, 1)),
			TestLoss: ev.Loss, TestAccuracy: ev.Accuracy, LR: float64(lr),
			SamplesPerSec: float64(samples) / trainTime.Seconds(), TrainSeconds: trainTime.Seconds(),
			EvalSeconds: time.Since(evalStart).Seconds(),
		}
		res.Epochs = append(res.Epochs, rep)
		res.SamplesPerSec = float64(totalSamples) / totalTime.Seconds()
		if job.EvalEvery > 0 && reached == nil {
			n := uint64(totalSamples)
			if err := reportEval(obs, EvalReport{Epoch: epoch, Step: rep.Step, TestLoss: ev.Loss, TestAccuracy: ev.Accuracy,
				ForwardSamples: n, BackwardSamples: n, Seconds: totalTime.Seconds(), EvalSeconds: rep.EvalSeconds}); err != nil {
				return res, err
			}
		}
		// An epoch cut short by the target is not checkpointed: resuming
		// from it would skip the rest of the epoch.
		if job.Out != "" && reached == nil {
			path := filepath.Join(job.Out, CheckpointName)
			st := State{Job: job, Epoch: epoch, Step: tr.StepCount(), TestAccuracy: ev.Accuracy, TrainLoss: rep.TrainLoss}
			if err := SaveCheckpoint(path, tr, st); err != nil {
				return res, fmt.Errorf("train: epoch %d: %w", epoch, err)
			}
			res.Checkpoint = path
		}
		if obs != nil {
			if err := obs.Epoch(rep); err != nil {
				return res, err
			}
		}
		if job.TargetReached(rep.TestAccuracy) {
			break
		}
	}
	return res, nil
}

// resumeTrainer loads a checkpoint's weights, optimizer state and step count
// into a freshly set-up trainer of the same architecture.
func resumeTrainer(tr *Trainer, from *Loaded) error {
	have, want := tr.Model().Params(), from.Model.Params()
	if len(have) != len(want) {
		return fmt.Errorf("train: resume: the checkpoint has %d parameter tensors, the job's model %d", len(want), len(have))
	}
	for i, p := range have {
		if p.Name != want[i].Name || !slices.Equal(p.T.Shape(), want[i].T.Shape()) {
			return fmt.Errorf("train: resume: parameter %s %v does not match the checkpoint's %s %v", p.Name, p.T.Shape(), want[i].Name, want[i].T.Shape())
		}
		copy(p.T.Data, want[i].T.Data)
	}
	if len(from.Optimizer) > 0 {
		if err := tr.Optimizer().LoadState(from.Optimizer); err != nil {
			return fmt.Errorf("train: resume: %w", err)
		}
	}
	tr.SetStepCount(from.State.Step)
	return nil
}
