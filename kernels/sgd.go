package kernels

const (
	errSGDLen = "kernels: SGD: len(g) or len(buf) != len(p)"
)

// SGDStep holds the coefficients of one step of stochastic gradient descent
// (torch.optim.SGD's single-tensor update):
//
//	g' = g + WeightDecay*p
//	without a buffer:  p -= LR*g'
//	with a buffer:     buf = BufScale*buf + GradScale*g'
//	                   p -= LR*buf                  (heavy ball)
//	                   p -= LR*(g' + Momentum*buf)  (Nesterov)
//
// The optimizer chooses BufScale and GradScale per step: PyTorch's first
// step copies the gradient into the buffer (0 and 1), later steps use the
// momentum and one minus the dampening.
type SGDStep struct {
	LR, WeightDecay     float32
	BufScale, GradScale float32
	// Nesterov selects Nesterov momentum, with coefficient Momentum.
	Nesterov bool
	Momentum float32
}

// SGD applies one update s to the parameters p, with gradient g and, unless
// buf is nil, momentum buffer buf, all of the same length; see SGDStep. It
// runs on the calling goroutine with the fastest implementation.
//
// The arithmetic is elementwise, with fused multiply-adds where the
// implementation has them, so for a given implementation an element's
// result does not depend on the length of the slices or on how a CPU
// splits them; it may differ in the last bit between implementations.
func SGD(s SGDStep, p, g, buf []float32) {
	checkSGD(p, g, buf)
	streamsOf(ImplAuto.Resolve()).sgd(s, p, g, buf)
}

func checkSGD(p, g, buf []float32) {
	if len(g) != len(p) || (buf != nil && len(buf) != len(p)) {
		panic(errSGDLen)
	}
}

// sgd applies s to slices whose lengths have been checked.
func (k streams) sgd(s SGDStep, p, g, buf []float32) {
	if len(p) == 0 {
		return
	}
	switch {
	case buf == nil:
		k.sgdPlain(p, g, -s.LR, s.WeightDecay)
	case s.Nesterov:
		k.sgdNesterov(p, g, buf, -s.LR, s.WeightDecay, s.BufScale, s.GradScale, s.Momentum)
	default:
		k.sgdMomentum(p, g, buf, -s.LR, s.WeightDecay, s.BufScale, s.GradScale)
	}
}

// The Go loops are written as the assembly's, without the fusing: Go
// rounds each product unless the build targets a CPU with FMA.

func sgdPlainGo(p, g []float32, negLR, wd float32) {
	g = g[:len(p)]
	for i, v := range p {
		p[i] = v + negLR*(g[i]+wd*v)
	}
}

func sgdMomentumGo(p, g, buf []float32, negLR, wd, bufScale, gradScale float32) {
	g, buf = g[:len(p)], buf[:len(p)]
	for i, v := range p {
		b := bufScale*buf[i] + gradScale*(g[i]+wd*v)
		buf[i] = b
		p[i] = v + negLR*b
	}
}

func sgdNesterovGo(p, g, buf []float32, negLR, wd, bufScale, gradScale, momentum float32) {
	g, buf = g[:len(p)], buf[:len(p)]
	for i, v := range p {
		gi := g[i] + wd*v
		b := bufScale*buf[i] + gradScale*gi
		buf[i] = b
		p[i] = v + negLR*(gi+momentum*b)
	}
}
