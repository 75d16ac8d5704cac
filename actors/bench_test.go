package actors

import (
	"slices"
	"testing"

	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/train"
)

// benchEpochJob is the recipe of the pipeline benchmark of the command
// line: mlp, batch 64, SGD with momentum at a constant rate, one epoch.
func benchEpochJob() spec.Job {
	j := spec.Default()
	j.Nesterov, j.WeightDecay, j.Schedule, j.LR, j.Epochs, j.Out = false, 0, spec.Constant, 0.01, 1, ""
	j.EvalBatch = 100
	return j
}

// BenchmarkPipelineOverhead trains one epoch with the plain loop and one
// with the pipeline (1 worker, 1 shard, BSP) per iteration and reports the
// pipeline's overhead, 1 − pipeline/loop throughput, as the command line's
// bench pipeline does: the median over iterations, and the quartiles. Pairs
// of short runs side by side keep a shared machine's changing load out of
// the ratio better than one long run of each.
func BenchmarkPipelineOverhead(b *testing.B) {
	trainSet, testSet := synth(6400, 1), synth(100, 2)
	job := benchEpochJob()
	var overheads []float64
	for b.Loop() {
		loop, err := train.Run(b.Context(), job, trainSet, testSet, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		pipe, _, err := Run(b.Context(), Config{Job: job, Workers: 1}, trainSet, testSet)
		if err != nil {
			b.Fatal(err)
		}
		overheads = append(overheads, 1-pipe.SamplesPerSec/loop.SamplesPerSec)
	}
	slices.Sort(overheads)
	q := func(f float64) float64 { return overheads[int(f*float64(len(overheads)-1)+0.5)] }
	b.ReportMetric(q(0.5), "overhead")
	b.ReportMetric(q(0.25), "overhead-p25")
	b.ReportMetric(q(0.75), "overhead-p75")
}

// BenchmarkPipelineEpoch trains one epoch with the pipeline per iteration,
// for profiles of the pipeline alone.
func BenchmarkPipelineEpoch(b *testing.B) {
	trainSet, testSet := synth(6400, 1), synth(100, 2)
	job := benchEpochJob()
	var rate float64
	for b.Loop() {
		pipe, _, err := Run(b.Context(), Config{Job: job, Workers: 1}, trainSet, testSet)
		if err != nil {
			b.Fatal(err)
		}
		rate += pipe.SamplesPerSec
	}
	b.ReportMetric(rate/float64(b.N), "samples/s")
}

// BenchmarkLoopEpoch is BenchmarkPipelineEpoch's plain-loop counterpart.
func BenchmarkLoopEpoch(b *testing.B) {
	trainSet, testSet := synth(6400, 1), synth(100, 2)
	job := benchEpochJob()
	var rate float64
	for b.Loop() {
		res, err := train.Run(b.Context(), job, trainSet, testSet, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		rate += res.SamplesPerSec
	}
	b.ReportMetric(rate/float64(b.N), "samples/s")
}

// BenchmarkSelectEpoch trains one epoch of the bench select recipe (mlp,
// SGD with Nesterov momentum and weight decay, constant rate 0.01, 30 % of
// each batch trained) per iteration and strategy, for profiles of a
// selection step's fixed costs.
func BenchmarkSelectEpoch(b *testing.B) {
	trainSet, testSet := synth(12800, 1), synth(100, 2)
	for _, sel := range []spec.Selection{spec.Uniform, spec.Importance} {
		b.Run(string(sel), func(b *testing.B) {
			job := spec.Default()
			job.Schedule, job.LR, job.Epochs, job.Out, job.EvalBatch = spec.Constant, 0.01, 1, "", 100
			job.Select, job.SelectFraction = sel, 0.3
			cfg, err := ConfigFromJob(job)
			if err != nil {
				b.Fatal(err)
			}
			var rate float64
			for b.Loop() {
				pipe, _, err := Run(b.Context(), cfg, trainSet, testSet)
				if err != nil {
					b.Fatal(err)
				}
				rate += pipe.SamplesPerSec
			}
			b.ReportMetric(rate/float64(b.N), "samples/s")
		})
	}
}
