package train

import (
	"fmt"
	"math/rand/v2"

	"github.com/troupe-ml/troupe/engine/data"
	"github.com/troupe-ml/troupe/engine/nn"
	"github.com/troupe-ml/troupe/engine/tensor"
)

// Eval summarises a model's performance on a data set.
type Eval struct {
	Accuracy float64 // fraction of samples whose arg-max prediction is the label
	Loss     float64 // mean cross-entropy
	Samples  int
}

// Evaluator computes predictions without recording gradients. It keeps its
// buffers between calls.
type Evaluator struct {
	g     *tensor.Graph
	x     []float32
	y     []int32
	idx   []int
	shape []int
}

// NewEvaluator returns an evaluator computing on be (nil: the CPU).
func NewEvaluator(be tensor.Backend) *Evaluator {
	return &Evaluator{g: tensor.NewGraph(be, rand.New(rand.NewPCG(0, 0)))}
}

// Evaluate runs model over every sample of ds in batches of batch.
func (e *Evaluator) Evaluate(model *nn.Model, ds *data.Dataset, batch int) (res Eval, err error) {
	defer recoverTo(&err, "evaluation")
	if batch < 1 {
		return res, fmt.Errorf("train: evaluation batch must be ≥ 1, got %d", batch)
	}
	if want := model.InputShape(); tensor.Numel(want) != ds.SampleSize() {
		return res, fmt.Errorf("train: data set %s has samples %v, model wants %v", ds.Name, []int{ds.C, ds.H, ds.W}, want)
	}
	per := ds.C * ds.H * ds.W
	e.x = growF(e.x, batch*per)
	e.y = growI(e.y, batch)
	g := e.g
	g.SetTraining(false)
	g.SetNoGrad(true)
	var correct int
	var lossSum float64
	for start := 0; start < ds.N; start += batch {
		n := min(batch, ds.N-start)
		e.idx = e.idx[:0]
		for i := start; i < start+n; i++ {
			e.idx = append(e.idx, i)
		}
		// The graph reads e.x, not a copy, until it is reset.
		g.Reset()
		ds.Fill(e.idx, e.x[:n*per], e.y[:n])
		e.shape = append(append(e.shape[:0], n), model.InputShape()...)
		logits := model.Forward(g, g.InputView(e.x[:n*per], e.shape...))
		loss := g.SoftmaxCrossEntropy(logits, e.y[:n], 0, nil)
		if err := g.Err(); err != nil {
			return res, fmt.Errorf("train: evaluating %s: %w", ds.Name, err)
		}
		lossSum += float64(loss.Item()) * float64(n)
		k := logits.Dim(1)
		for i := 0; i < n; i++ {
			if Argmax(logits.Data[i*k:(i+1)*k]) == int(e.y[i]) {
				correct++
			}
		}
	}
	if ds.N == 0 {
		return res, fmt.Errorf("train: data set %s is empty", ds.Name)
	}
	return Eval{Accuracy: float64(correct) / float64(ds.N), Loss: lossSum / float64(ds.N), Samples: ds.N}, nil
}

// Argmax returns the index of v's first largest value (0 for an empty v):
// the predicted class of a row of logits or probabilities.
func Argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

func growF(s []float32, n int) []float32 {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]float32, n)
}

func growI(s []int32, n int) []int32 {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]int32, n)
}
