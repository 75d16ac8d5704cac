package tensor

import (
	"fmt"
	"math"
)

// SoftmaxCrossEntropy returns the mean over rows of the cross-entropy between
// softmax(logits) [N, K] and targets (class indices), as one fused, stable op
// (PyTorch's F.cross_entropy). With smoothing ε the target distribution is
// (1−ε)·onehot + ε/K. When perSample is non-nil (length N) it receives each
// row's loss, for data-selection strategies. A target outside [0, K) is
// recorded as the graph's error.
func (g *Graph) SoftmaxCrossEntropy(logits *Tensor, targets []int32, smoothing float32, perSample []float32) *Tensor {
	if logits.Rank() != 2 || logits.shape[0] != len(targets) {
		panic(fmt.Sprintf("tensor: SoftmaxCrossEntropy: logits %v do not match %d targets", logits.shape, len(targets)))
	}
	if perSample != nil && len(perSample) != len(targets) {
		panic(fmt.Sprintf("tensor: SoftmaxCrossEntropy: perSample has %d entries, want %d", len(perSample), len(targets)))
	}
	n, k := logits.shape[0], logits.shape[1]
	grad := g.wants(logits)
	out := g.alloc(grad, 1)
	var prob []float32
	if grad {
		nd := g.record(opSoftmaxCE, out, logits, nil, nil)
		nd.f = smoothing
		nd.aux = grow(nd.aux, n*k)
		nd.idx = append(nd.idx[:0], targets...)
		prob = nd.aux
	} else {
		prob = g.temp(n * k)
	}
	var total float64
	for i := 0; i < n; i++ {
		row := logits.Data[i*k : (i+1)*k]
		pr := prob[i*k : (i+1)*k]
		t := int(targets[i])
		if t < 0 || t >= k {
			g.fail(fmt.Errorf("tensor: SoftmaxCrossEntropy: target %d of row %d outside [0, %d)", t, i, k))
			t = 0
		}
		m := row[0]
		for _, v := range row {
			m = max(m, v)
		}
		var z float64
		for j, v := range row {
			e := math.Exp(float64(v - m))
			pr[j] = float32(e)
			z += e
		}
		logZ := math.Log(z)
		// loss = −Σ q_j log p_j with log p_j = (x_j − m) − log Z.
		var loss, meanLogP float64
		for j, v := range row {
			lp := float64(v-m) - logZ
			meanLogP += lp
			pr[j] = float32(float64(pr[j]) / z)
		}
		meanLogP /= float64(k)
		lpt := float64(row[t]-m) - logZ
		loss = -(1-float64(smoothing))*lpt - float64(smoothing)*meanLogP
		if perSample != nil {
			perSample[i] = float32(loss)
		}
		total += loss
	}
	out.Data[0] = float32(total / float64(n))
	return out
}

func softmaxCEBackward(nd *node) {
	x := nd.a
	if !x.requiresGrad {
		return
	}
	n, k := x.shape[0], x.shape[1]
	scale := nd.out.Grad[0] / float32(n)
	eps := nd.f
	uniform := eps / float32(k)
	for i := 0; i < n; i++ {
		t := int(nd.idx[i])
		if t < 0 || t >= k {
			t = 0
		}
		pr := nd.aux[i*k : (i+1)*k]
		gx := x.Grad[i*k : (i+1)*k]
		for j, p := range pr {
			q := uniform
			if j == t {
				q += 1 - eps
			}
			gx[j] += scale * (p - q)
		}
	}
}

// MSE returns the mean squared error between pred and target of equal shape.
func (g *Graph) MSE(pred, target *Tensor) *Tensor {
	if !SameShape(pred.shape, target.shape) {
		panic(fmt.Sprintf("tensor: MSE: shapes %v and %v differ", pred.shape, target.shape))
	}
	grad := g.wants(pred, target)
	out := g.alloc(grad, 1)
	var s float64
	for i, p := range pred.Data {
		d := float64(p - target.Data[i])
		s += d * d
	}
	out.Data[0] = float32(s / float64(pred.Len()))
	if grad {
		g.record(opMSE, out, pred, target, nil)
	}
	return out
}

func mseBackward(nd *node) {
	p, t := nd.a, nd.b
	scale := 2 * nd.out.Grad[0] / float32(p.Len())
	for i, pv := range p.Data {
		d := scale * (pv - t.Data[i])
		if p.requiresGrad {
			p.Grad[i] += d
		}
		if t.requiresGrad {
			t.Grad[i] -= d
		}
	}
}
