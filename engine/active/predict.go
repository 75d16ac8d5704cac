package active

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/troupe-ml/troupe/engine/data"
	"github.com/troupe-ml/troupe/engine/nn"
	"github.com/troupe-ml/troupe/engine/train"
)

// Outputs holds a model's predictions on candidates, one row each.
type Outputs struct {
	N, K  int
	Probs []float32   // N×K class probabilities, dropout off
	MC    [][]float32 // T arrays of N×K probabilities, dropout on; nil unless asked
	Embed []float32   // N×D penultimate activations; nil unless asked
	D     int
}

// PredictOptions say what Predict computes and how.
type PredictOptions struct {
	MCSamples int  // T Monte Carlo dropout passes (0: none)
	Embed     bool // keep the penultimate activations
	// Workers is how many goroutines share the work, each with its own
	// copy of the model (0: GOMAXPROCS).
	Workers int
	// Seed draws the dropout masks. Each block of candidates reseeds from
	// (Seed, block), so results do not depend on Workers.
	Seed uint64
}

// predictBlock is the number of candidates a worker takes at a time.
const predictBlock = 64

// Predict runs model on the samples idx of ds. It returns when every
// worker goroutine has finished, also on error or cancellation.
func Predict(ctx context.Context, model *nn.Model, ds *data.Dataset, idx []int, opt PredictOptions) (*Outputs, error) {
	if opt.MCSamples < 0 {
		return nil, fmt.Errorf("active: %d Monte Carlo samples, want ≥ 0", opt.MCSamples)
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if want := model.InputShape(); len(want) == 0 || ds.SampleSize() != prod(want) {
		return nil, fmt.Errorf("active: data set %s has samples of %d values, the model wants %v", ds.Name, ds.SampleSize(), want)
	}
	for _, i := range idx {
		if i < 0 || i >= ds.N {
			return nil, fmt.Errorf("active: sample %d out of range 0..%d of %s", i, ds.N-1, ds.Name)
		}
	}
	probe, err := splitModel(model)
	if err != nil {
		return nil, err
	}
	n, k := len(idx), probe.classes
	out := &Outputs{N: n, K: k, Probs: make([]float32, n*k)}
	if opt.Embed {
		out.D = probe.embed
		out.Embed = make([]float32, n*out.D)
	}
	for range opt.MCSamples {
		out.MC = append(out.MC, make([]float32, n*k))
	}
	blocks := (n + predictBlock - 1) / predictBlock
	workers = min(workers, blocks)
	var next atomic.Int64
	errs := make([]error, workers)
	var wg sync.WaitGroup
	// Each worker owns a copy of the model: layers keep buffers of their
	// own. All are built before any goroutine starts, so that an error
	// leaves none running.
	copies := []*stages{probe}
	for len(copies) < workers {
		st, err := splitModel(model)
		if err != nil {
			return nil, err
		}
		copies = append(copies, st)
	}
	for w, st := range copies {
		wg.Go(func() {
			pw := newPredictWorker(st, ds.SampleSize(), opt.Seed)
			for {
				b := int(next.Add(1)) - 1
				if b >= blocks {
					return
				}
				if err := ctx.Err(); err != nil {
					errs[w] = err
					return
				}
				lo, hi := b*predictBlock, min(n, (b+1)*predictBlock)
				if err := pw.run(ds, idx[lo:hi], b, lo, out); err != nil {
					errs[w] = err
					next.Store(int64(blocks)) // stop the others early
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

type predictWorker struct {
	st         *stages
	pcg        *rand.PCG
	p          *train.Predictor
	seed       uint64
	x, h, e, z []float32
	y          []int32
}

func newPredictWorker(st *stages, size int, seed uint64) *predictWorker {
	pcg := rand.NewPCG(seed, 0)
	return &predictWorker{
		st: st, pcg: pcg, seed: seed,
		p: train.NewPredictor(nil, rand.New(pcg)),
		x: make([]float32, predictBlock*size),
		h: make([]float32, predictBlock*st.hidden),
		e: make([]float32, predictBlock*st.embed),
		z: make([]float32, predictBlock*st.classes),
		y: make([]int32, predictBlock),
	}
}

// run predicts block b, the samples idx, writing rows from row lo on.
func (w *predictWorker) run(ds *data.Dataset, idx []int, b, lo int, out *Outputs) error {
	st, m := w.st, len(idx)
	x, h, e, z := w.x[:m*ds.SampleSize()], w.h[:m*st.hidden], w.e[:m*st.embed], w.z[:m*st.classes]
	ds.Fill(idx, x, w.y)
	if err := w.p.Forward(st.trunk, x, m, false, h); err != nil {
		return err
	}
	head := func(stochastic bool, dst []float32) error {
		emb := h
		if st.mid != nil {
			if err := w.p.Forward(st.mid, h, m, stochastic, e); err != nil {
				return err
			}
			emb = e
		}
		if err := w.p.Forward(st.last, emb, m, stochastic, z); err != nil {
			return err
		}
		train.Softmax(z, st.classes)
		copy(dst[lo*st.classes:], z)
		return nil
	}
	if err := head(false, out.Probs); err != nil {
		return err
	}
	if out.Embed != nil {
		src := h
		if st.mid != nil {
			src = e
		}
		copy(out.Embed[lo*st.embed:], src)
	}
	w.pcg.Seed(w.seed, uint64(b)+1)
	for _, s := range out.MC {
		if err := head(true, s); err != nil {
			return err
		}
	}
	return nil
}

// TestError returns the fraction of rows whose most probable class is not
// the label.
func TestError(probs []float32, k int, labels []int32) float64 {
	n := rows(probs, k)
	if n != len(labels) || n == 0 {
		panic(fmt.Sprintf("active: %d rows of predictions for %d labels", n, len(labels)))
	}
	wrong := 0
	for i, y := range labels {
		if train.Argmax(probs[i*k:(i+1)*k]) != int(y) {
			wrong++
		}
	}
	return float64(wrong) / float64(n)
}

func prod(s []int) int {
	p := 1
	for _, d := range s {
		p *= d
	}
	return p
}
