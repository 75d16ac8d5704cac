package train

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/troupe-ml/troupe/engine/nn"
	"github.com/troupe-ml/troupe/engine/tensor"
)

// Predictor runs forward passes only, never recording gradients: the model
// outputs that acquisition functions and evaluations read. A stochastic pass
// keeps dropout on, as Monte Carlo dropout needs. A Predictor keeps its
// buffers between calls and is not safe for concurrent use; give each
// goroutine its own.
type Predictor struct {
	g     *tensor.Graph
	shape []int
}

// NewPredictor returns a predictor computing on be (nil: the CPU on the
// calling goroutine); rng draws the dropout masks of stochastic passes.
func NewPredictor(be tensor.Backend, rng *rand.Rand) *Predictor {
	if rng == nil {
		rng = rand.New(rand.NewPCG(0, 0))
	}
	return &Predictor{g: tensor.NewGraph(be, rng)}
}

// Forward runs model on the n samples in x (n times the model's input
// size) and copies the outputs, n times the output size, into out. With
// stochastic set, dropout layers drop as in training.
func (p *Predictor) Forward(model *nn.Model, x []float32, n int, stochastic bool, out []float32) (err error) {
	defer recoverTo(&err, "forward pass")
	in := model.InputShape()
	if n < 1 {
		return fmt.Errorf("train: forward pass of %d samples, want ≥ 1", n)
	}
	if want := n * tensor.Numel(in); len(x) != want {
		return fmt.Errorf("train: forward pass: input has %d values, %d samples of %v need %d", len(x), n, in, want)
	}
	if want := n * tensor.Numel(model.OutputShape()); len(out) != want {
		return fmt.Errorf("train: forward pass: output buffer has %d values, %d samples of %v need %d", len(out), n, model.OutputShape(), want)
	}
	g := p.g
	g.Reset()
	g.SetTraining(stochastic)
	g.SetNoGrad(true)
	p.shape = append(append(p.shape[:0], n), in...)
	// The graph reads x, not a copy, and is done with it once out is filled.
	y := model.Forward(g, g.InputView(x, p.shape...))
	if err := g.Err(); err != nil {
		return fmt.Errorf("train: forward pass: %w", err)
	}
	copy(out, y.Data)
	return nil
}

// Softmax turns rows of k logits in place into probabilities, subtracting
// each row's maximum first so that large logits cannot overflow.
func Softmax(logits []float32, k int) {
	if k < 1 || len(logits)%k != 0 {
		panic(fmt.Sprintf("train: Softmax of %d values in rows of %d", len(logits), k))
	}
	for r := 0; r < len(logits); r += k {
		row := logits[r : r+k]
		m := row[0]
		for _, v := range row {
			m = max(m, v)
		}
		var sum float64
		for i, v := range row {
			e := math.Exp(float64(v - m))
			row[i] = float32(e)
			sum += e
		}
		for i := range row {
			row[i] = float32(float64(row[i]) / sum)
		}
	}
}
