package kerneltest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// SGDStep mirrors kernels.SGDStep, which this package must not import: the
// coefficients of one SGD update of p with gradient g and, when it is not
// nil, momentum buffer buf:
//
//	g' = g + WeightDecay*p
//	without a buffer:  p -= LR*g'
//	with a buffer:     buf = BufScale*buf + GradScale*g'
//	                   p -= LR*buf                  (heavy ball)
//	                   p -= LR*(g' + Momentum*buf)  (Nesterov)
type SGDStep struct {
	LR, WeightDecay     float32
	BufScale, GradScale float32
	Nesterov            bool
	Momentum            float32
}

func (s SGDStep) String() string {
	return fmt.Sprintf("lr=%g wd=%g bufScale=%g gradScale=%g nesterov=%t momentum=%g",
		s.LR, s.WeightDecay, s.BufScale, s.GradScale, s.Nesterov, s.Momentum)
}

// SGDFunc is the signature of an SGD update with kernels.SGD's contract.
type SGDFunc func(s SGDStep, p, g, buf []float32)

// TestSGD checks sgd against RefSGD for every length 0..67 and a few long
// ones (past any unrolling and any split between threads), with and
// without a buffer, heavy-ball and Nesterov, on the first step (the buffer
// takes the gradient) and later ones, with and without weight decay. The
// gradient must not change and nothing may be written outside p and buf.
func TestSGD(t *testing.T, sgd SGDFunc) {
	t.Helper()
	checkSGD(t, sgd)
}

// RefSGD is a naive reference for SGDFunc in float64, rounding each result
// once.
func RefSGD(s SGDStep, p, g, buf []float32) {
	for i := range p {
		pv, gv, _, _ := refSGD(s, p[i], g[i], bufAt(buf, i), buf != nil)
		p[i] = float32(pv)
		if buf != nil {
			buf[i] = float32(gv)
		}
	}
}

func bufAt(buf []float32, i int) float32 {
	if buf == nil {
		return 0
	}
	return buf[i]
}

// refSGD returns the updated parameter and buffer of one element in
// float64, and bounds on the magnitudes of the terms summed into each,
// which scale their rounding errors.
func refSGD(s SGDStep, p, g, b float32, hasBuf bool) (pNew, bNew, pMag, bMag float64) {
	lr, wd := float64(s.LR), float64(s.WeightDecay)
	pv, gv, bv := float64(p), float64(g), float64(b)
	gi := gv + wd*pv
	giMag := math.Abs(gv) + math.Abs(wd*pv)
	step, stepMag := gi, giMag
	if hasBuf {
		bNew = float64(s.BufScale)*bv + float64(s.GradScale)*gi
		bMag = math.Abs(float64(s.BufScale)*bv) + math.Abs(float64(s.GradScale))*giMag
		step, stepMag = bNew, bMag
		if s.Nesterov {
			step = gi + float64(s.Momentum)*bNew
			stepMag = giMag + math.Abs(float64(s.Momentum))*bMag
		}
	}
	return pv - lr*step, bNew, math.Abs(pv) + math.Abs(lr)*stepMag, bMag
}

func checkSGD(r reporter, sgd SGDFunc) {
	r.Helper()
	steps := []SGDStep{
		{LR: 0.01, BufScale: 0, GradScale: 1},
		{LR: 0.01, WeightDecay: 5e-4, BufScale: 0.9, GradScale: 1},
		{LR: 0.5, WeightDecay: 0.1, BufScale: 0.9, GradScale: 0.7},
		{LR: 0.05, BufScale: 0, GradScale: 1, Nesterov: true, Momentum: 0.9},
		{LR: 0.05, WeightDecay: 0.01, BufScale: 0.8, GradScale: 1, Nesterov: true, Momentum: 0.8},
		{LR: 1, WeightDecay: 2, BufScale: 1.5, GradScale: -0.5, Nesterov: true, Momentum: -0.25},
	}
	lengths := []int{}
	for n := range 68 {
		lengths = append(lengths, n)
	}
	lengths = append(lengths, 255, 256, 1000, 4099, 70001)
	rng := rand.New(rand.NewPCG(3, 4))
	f := &failures{r: r}
	idx := 0
	for _, n := range lengths {
		for _, withBuf := range []bool{false, true} {
			// Long vectors get one step each; short ones all of them.
			cases := steps
			if n > 67 {
				cases = steps[idx%len(steps) : idx%len(steps)+1]
				idx++
			}
			for _, s := range cases {
				if !withBuf && (s.Nesterov || s.BufScale != 0) {
					continue // the buffer's coefficients mean nothing without one
				}
				if !sgdCheckCase(f, rng, sgd, s, n, withBuf) {
					return
				}
			}
		}
	}
}

// sgdCheckCase runs one case and reports whether checking should go on.
func sgdCheckCase(f *failures, rng *rand.Rand, sgd SGDFunc, s SGDStep, n int, withBuf bool) bool {
	f.r.Helper()
	ld := max(1, n)
	p, g, b := newMatrix(rng, 1, n, ld, false), newMatrix(rng, 1, n, ld, false), newMatrix(rng, 1, n, ld, false)
	p0, g0, b0 := p.clone(), g.clone(), b.clone()
	var buf []float32
	if withBuf {
		buf = b.data()
	}
	what := fmt.Sprintf("SGD n=%d buf=%t %v", n, withBuf, s)
	if err := call(func() { sgd(s, p.data(), g.data(), buf) }); err != nil {
		return f.fail("%s: %v", what, err)
	}
	if i, ok := g.unchanged(g0); !ok {
		return f.fail("%s: modified g at buffer index %d", what, i)
	}
	if i, ok := p.guardsIntact(); !ok {
		return f.fail("%s: wrote outside p at buffer index %d", what, i)
	}
	if i, ok := b.guardsIntact(); !ok {
		return f.fail("%s: wrote outside buf at buffer index %d", what, i)
	}
	if !withBuf {
		if i, ok := b.unchanged(b0); !ok {
			return f.fail("%s: wrote buffer index %d of an unused buffer", what, i)
		}
	}
	for i := range n {
		wantP, wantB, pMag, bMag := refSGD(s, p0.at(0, i), g0.at(0, i), b0.at(0, i), withBuf)
		// A handful of roundings each: the products, the sums and
		// the result.
		if got := float64(p.at(0, i)); !(math.Abs(got-wantP) <= 8*eps32*pMag) {
			return f.fail("%s: p[%d] = %v, want %v (tolerance %.3g)", what, i, got, wantP, 8*eps32*pMag)
		}
		if !withBuf {
			continue
		}
		if got := float64(b.at(0, i)); !(math.Abs(got-wantB) <= 8*eps32*bMag) {
			return f.fail("%s: buf[%d] = %v, want %v (tolerance %.3g)", what, i, got, wantB, 8*eps32*bMag)
		}
	}
	return true
}
