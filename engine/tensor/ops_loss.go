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
// recorded as the graph's error. It is SoftmaxCrossEntropyTargets with
// labels only.
func (g *Graph) SoftmaxCrossEntropy(logits *Tensor, targets []int32, smoothing float32, perSample []float32) *Tensor {
	return g.softmaxCE("SoftmaxCrossEntropy", logits, Targets{Labels: targets}, smoothing, perSample)
}

// softmaxCE is the fused loss behind both entry points; op names the caller
// in messages. The tape node keeps the validated classes in idx (labels, then
// the mix classes) and, after the probabilities in aux, λ and the weights of
// the trained rows; ia[0] and ia[1] say whether those two are present, ia[2]
// how many rows are trained.
func (g *Graph) softmaxCE(op string, logits *Tensor, t Targets, smoothing float32, perSample []float32) *Tensor {
	if logits.Rank() != 2 || logits.shape[0] != len(t.Labels) {
		panic(fmt.Sprintf("tensor: %s: logits %v do not match %d targets", op, logits.shape, len(t.Labels)))
	}
	if perSample != nil && len(perSample) != len(t.Labels) {
		panic(fmt.Sprintf("tensor: %s: perSample has %d entries, want %d", op, len(perSample), len(t.Labels)))
	}
	n, k := logits.shape[0], logits.shape[1]
	c := g.checkTargets(op, t, n)
	hasMix, hasW, tr := c.mix != nil, c.w != nil, c.train
	grad := g.wants(logits)
	out := g.alloc(grad, 1)
	var prob, lams, ws []float32
	var ys, ms []int32
	if grad {
		nd := g.record(opSoftmaxCE, out, logits, nil, nil)
		nd.f = smoothing
		nd.ia[2] = tr
		size, nidx := n*k, n
		if hasMix {
			nd.ia[0] = 1
			size += n
			nidx += n
		}
		if hasW {
			nd.ia[1] = 1
			size += tr
		}
		nd.aux = grow(nd.aux, size)
		nd.idx = growInt32(nd.idx, nidx)
		prob, ys = nd.aux[:n*k], nd.idx[:n]
		rest := nd.aux[n*k:]
		if hasMix {
			lams, rest, ms = rest[:n], rest[n:], nd.idx[n:]
		}
		if hasW {
			ws = rest[:tr]
		}
	} else {
		prob = g.temp(n * k)
	}
	var total float64
	for i := 0; i < n; i++ {
		row := logits.Data[i*k : (i+1)*k]
		pr := prob[i*k : (i+1)*k]
		y, m, lam, w := g.ceRow(op, c, i, k)
		if ys != nil {
			ys[i] = int32(y)
		}
		if ms != nil {
			ms[i], lams[i] = int32(m), lam
		}
		if i < len(ws) {
			ws[i] = w
		}
		mx := row[0]
		for _, v := range row {
			mx = max(mx, v)
		}
		var z float64
		for j, v := range row {
			e := math.Exp(float64(v - mx))
			pr[j] = float32(e)
			z += e
		}
		logZ := math.Log(z)
		// loss = −Σ q_j log p_j with log p_j = (x_j − max) − log Z.
		var meanLogP float64
		for j, v := range row {
			lp := float64(v-mx) - logZ
			meanLogP += lp
			pr[j] = float32(float64(pr[j]) / z)
		}
		meanLogP /= float64(k)
		lpt := float64(row[y]-mx) - logZ
		if hasMix {
			// With λ = 1 the second term is an exact zero, so this gives
			// the unmixed loss bit for bit.
			lpm := float64(row[m]-mx) - logZ
			lpt = float64(lam)*lpt + float64(1-lam)*lpm
		}
		loss := -(1-float64(smoothing))*lpt - float64(smoothing)*meanLogP
		if perSample != nil {
			perSample[i] = float32(loss)
		}
		if i >= tr {
			continue // scored only
		}
		if hasW {
			loss *= float64(w)
		}
		total += loss
	}
	out.Data[0] = float32(total / float64(tr))
	return out
}

func (g *Graph) softmaxCEBackward(nd *node) {
	x := nd.a
	if !x.requiresGrad {
		return
	}
	// Rows past the trained ones are not part of the loss: their
	// gradient is zero, left unwritten (see live_rows.go).
	n, k, tr := x.shape[0], x.shape[1], nd.ia[2]
	set := g.firstRows(x, tr)
	hasMix, hasW := nd.ia[0] == 1, nd.ia[1] == 1
	scale := nd.out.Grad[0] / float32(tr)
	eps := nd.f
	uniform := eps / float32(k)
	rest := nd.aux[n*k:]
	var lams, ws []float32
	if hasMix {
		lams, rest = rest[:n], rest[n:]
	}
	if hasW {
		ws = rest[:tr]
	}
	for i := 0; i < tr; i++ {
		// Classes were validated in the forward pass.
		t := int(nd.idx[i])
		pr := nd.aux[i*k : (i+1)*k]
		gx := x.Grad[i*k : (i+1)*k]
		s := scale
		if hasW {
			s *= ws[i]
		}
		if !hasMix {
			for j, p := range pr {
				q := uniform
				if j == t {
					q += 1 - eps
				}
				setOrAdd(gx, j, s*(p-q), set)
			}
			continue
		}
		// The mixed target is (1−ε)·(λ·onehot(t) + (1−λ)·onehot(m)) + ε/K.
		m, lam := int(nd.idx[n+i]), lams[i]
		for j, p := range pr {
			q := uniform
			if j == t {
				q += (1 - eps) * lam
			}
			if j == m {
				q += (1 - eps) * (1 - lam)
			}
			setOrAdd(gx, j, s*(p-q), set)
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

func (g *Graph) mseBackward(nd *node) {
	p, t := nd.a, nd.b
	scale := 2 * nd.out.Grad[0] / float32(p.Len())
	// With pred and target the same tensor, the second writer adds.
	pSet := p.requiresGrad && g.first(p)
	tSet := t.requiresGrad && g.first(t)
	for i, pv := range p.Data {
		d := scale * (pv - t.Data[i])
		if p.requiresGrad {
			setOrAdd(p.Grad, i, d, pSet)
		}
		if t.requiresGrad {
			setOrAdd(t.Grad, i, -d, tSet)
		}
	}
}
