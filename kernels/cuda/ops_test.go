package cuda

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func actRef(z float64, a Act) float64 {
	switch a {
	case ActReLU:
		return math.Max(z, 0)
	case ActGELU:
		return 0.5 * z * (1 + math.Erf(z/math.Sqrt2))
	case ActTanh:
		return math.Tanh(z)
	case ActSigmoid:
		return 1 / (1 + math.Exp(-z))
	}
	return z
}

func actGradRef(z float64, a Act) float64 {
	switch a {
	case ActReLU:
		if z > 0 {
			return 1
		}
		return 0
	case ActGELU:
		return 0.5*(1+math.Erf(z/math.Sqrt2)) + z*math.Exp(-z*z/2)/math.Sqrt(2*math.Pi)
	case ActTanh:
		t := math.Tanh(z)
		return 1 - t*t
	case ActSigmoid:
		g := 1 / (1 + math.Exp(-z))
		return g * (1 - g)
	}
	return 1
}

// TestBiasActRows checks the Linear epilogue and its fused backward for
// every activation on odd shapes, in both layouts.
func TestBiasAct(t *testing.T) {
	s := testStream(t)
	rng := rand.New(rand.NewPCG(7, 8))
	for _, sh := range [][2]int{{1, 1}, {7, 33}, {64, 300}, {129, 10}, {3, 1000}} {
		rows, cols := sh[0], sh[1]
		for _, act := range []Act{ActNone, ActReLU, ActGELU, ActTanh, ActSigmoid} {
			for _, chanMajor := range []bool{false, true} {
				name := fmt.Sprintf("%dx%d act=%d chan=%v", rows, cols, act, chanMajor)
				x, nb := randn(rng, rows*cols), cols
				if chanMajor {
					nb = rows // channel-major: rows are channels
				}
				bias, dy := randn(rng, nb), randn(rng, rows*cols)
				biasOf := func(i int) float64 {
					if chanMajor {
						return float64(bias[i/cols])
					}
					return float64(bias[i%cols])
				}
				y, z := upload(t, s, x), poisoned(t, s, rows*cols)
				db := upload(t, s, bias)
				if chanMajor {
					must(t, s.BiasActChan(y.p(), z.p(), db.p(), rows, cols, act))
				} else {
					must(t, s.BiasActRows(y.p(), z.p(), db.p(), rows, cols, act))
				}
				wantZ, wantY := make([]float64, len(x)), make([]float64, len(x))
				for i := range x {
					wantZ[i] = float64(x[i]) + biasOf(i)
					wantY[i] = actRef(wantZ[i], act)
				}
				zv, yv := z.get(t, s), y.get(t, s)
				checkAll(t, name+" z", zv, wantZ, 1e-6)
				checkAll(t, name+" y", yv, wantY, 2e-6)
				// Backward from the kernel's own z and y.
				ddy := upload(t, s, dy)
				dz, gb := poisoned(t, s, rows*cols), poisoned(t, s, nb)
				partial := poisoned(t, s, rows*ChanSplits(cols))
				if chanMajor {
					must(t, s.ChanActGrad(dz.p(), ddy.p(), z.p(), y.p(), gb.p(), partial.p(), rows, cols, act))
				} else {
					must(t, s.ColSumActGrad(dz.p(), ddy.p(), z.p(), y.p(), gb.p(), rows, cols, act))
				}
				wantDZ, wantDB := make([]float64, len(x)), make([]float64, nb)
				for i := range x {
					var g float64
					switch act {
					case ActReLU:
						g = 0
						if yv[i] > 0 {
							g = 1
						}
					case ActTanh:
						g = 1 - float64(yv[i])*float64(yv[i])
					case ActSigmoid:
						g = float64(yv[i]) * (1 - float64(yv[i]))
					default:
						g = actGradRef(float64(zv[i]), act)
					}
					wantDZ[i] = float64(dy[i]) * g
					if chanMajor {
						wantDB[i/cols] += wantDZ[i]
					} else {
						wantDB[i%cols] += wantDZ[i]
					}
				}
				checkAll(t, name+" dz", dz.get(t, s), wantDZ, 1e-5)
				checkAll(t, name+" db", gb.get(t, s), wantDB, 1e-4)
				// The plain elementwise gradient agrees.
				dz2 := poisoned(t, s, rows*cols)
				must(t, s.ActGrad(dz2.p(), ddy.p(), z.p(), y.p(), rows*cols, act))
				checkAll(t, name+" ActGrad", dz2.get(t, s), wantDZ, 1e-5)
			}
		}
	}
}

func TestMaxPool(t *testing.T) {
	s := testStream(t)
	rng := rand.New(rand.NewPCG(9, 10))
	for _, cv := range []Conv{
		{C: 6, N: 5, H: 28, W: 28, KH: 2, StrideH: 2},
		{C: 3, N: 2, H: 9, W: 11, KH: 3, StrideH: 2}, // overlapping windows
		{C: 1, N: 1, H: 5, W: 5, KH: 5, StrideH: 1},
	} {
		cv.KW, cv.StrideW = cv.KH, cv.StrideH
		oh, ow := cv.Out()
		p := cv.C * cv.N
		x := randn(rng, p*cv.H*cv.W)
		dx := upload(t, s, x)
		y, arg := poisoned(t, s, p*oh*ow), poisoned(t, s, p*oh*ow)
		must(t, s.MaxPool(dx.p(), y.p(), arg.p(), cv))
		want := make([]float64, p*oh*ow)
		wantArg := make([]int, len(want))
		for q := range p {
			for i := range oh {
				for j := range ow {
					best, bi := math.Inf(-1), -1
					for a := range cv.KH {
						for b := range cv.KH {
							h, w := i*cv.StrideH+a, j*cv.StrideH+b
							if v := float64(x[(q*cv.H+h)*cv.W+w]); v > best {
								best, bi = v, h*cv.W+w
							}
						}
					}
					want[(q*oh+i)*ow+j], wantArg[(q*oh+i)*ow+j] = best, bi
				}
			}
		}
		name := fmt.Sprintf("maxpool %+v", cv)
		checkAll(t, name, y.get(t, s), want, 0)
		args := arg.getI32(t, s)
		for i := range args {
			if int(args[i]) != wantArg[i] {
				t.Fatalf("%s: arg[%d] = %d, want %d", name, i, args[i], wantArg[i])
			}
		}
		dy := randn(rng, len(want))
		g := poisoned(t, s, len(x))
		must(t, s.MaxPoolGrad(upload(t, s, dy).p(), arg.p(), g.p(), cv))
		wantG := make([]float64, len(x))
		for q := range p {
			for i := range oh * ow {
				wantG[q*cv.H*cv.W+wantArg[q*oh*ow+i]] += float64(dy[q*oh*ow+i])
			}
		}
		checkAll(t, name+" grad", g.get(t, s), wantG, 1e-6)
	}
}

func TestLayouts(t *testing.T) {
	s := testStream(t)
	rng := rand.New(rand.NewPCG(11, 12))
	n, c, hw := 5, 3, 7*9
	x := randn(rng, n*c*hw)
	dx := upload(t, s, x)
	cn, back := poisoned(t, s, len(x)), poisoned(t, s, len(x))
	must(t, s.ToCNHW(cn.p(), dx.p(), n, c, hw))
	must(t, s.ToNCHW(back.p(), cn.p(), n, c, hw))
	want, same := make([]float64, len(x)), make([]float64, len(x))
	for i := range n {
		for j := range c {
			for p := range hw {
				want[(j*n+i)*hw+p] = float64(x[(i*c+j)*hw+p])
			}
		}
	}
	for i, v := range x {
		same[i] = float64(v)
	}
	checkAll(t, "ToCNHW", cn.get(t, s), want, 0)
	checkAll(t, "ToNCHW", back.get(t, s), same, 0)
}

func TestSoftmaxXent(t *testing.T) {
	s := testStream(t)
	rng := rand.New(rand.NewPCG(13, 14))
	for _, sh := range [][2]int{{1, 10}, {64, 10}, {37, 37}, {9, 100}, {300, 3}} {
		for _, eps := range []float32{0, 0.1} {
			n, k := sh[0], sh[1]
			name := fmt.Sprintf("xent N=%d K=%d eps=%v", n, k, eps)
			z := randn(rng, n*k)
			for i := range z {
				z[i] *= 3
			}
			labels := make([]int32, n)
			for i := range labels {
				labels[i] = int32(rng.IntN(k))
			}
			if n > 1 {
				// Make one row's argmax its label for sure.
				z[k+int(labels[1])] = 50
			}
			dz := poisoned(t, s, n*k)
			loss, per := upload(t, s, []float32{0}), poisoned(t, s, n)
			correct := uploadI32(t, s, []int32{0})
			gscale := 1 / float32(n)
			must(t, s.SoftmaxXent(XentArgs{Logits: upload(t, s, z).p(), Labels: uploadI32(t, s, labels).p(), N: n, K: k,
				Smoothing: eps, GradScale: gscale, DLogits: dz.p(), LossSum: loss.p(), PerSample: per.p(), Correct: correct.p()}))
			wantPer, wantGrad := make([]float64, n), make([]float64, n*k)
			var sum float64
			wantCorrect := 0
			for i := range n {
				row := z[i*k : (i+1)*k]
				m, arg := math.Inf(-1), 0
				for j, v := range row {
					if float64(v) > m {
						m, arg = float64(v), j
					}
				}
				var se, zs float64
				for _, v := range row {
					se += math.Exp(float64(v) - m)
					zs += float64(v)
				}
				lse := m + math.Log(se)
				y := int(labels[i])
				l := (1-float64(eps))*(lse-float64(row[y])) + float64(eps)*(lse-zs/float64(k))
				wantPer[i], sum = l, sum+l
				if arg == y {
					wantCorrect++
				}
				for j, v := range row {
					tj := float64(eps) / float64(k)
					if j == y {
						tj += 1 - float64(eps)
					}
					wantGrad[i*k+j] = (math.Exp(float64(v)-lse) - tj) * float64(gscale)
				}
			}
			checkAll(t, name+" per-sample", per.get(t, s), wantPer, 1e-5)
			checkAll(t, name+" grad", dz.get(t, s), wantGrad, 1e-5)
			checkAll(t, name+" sum", loss.get(t, s), []float64{sum}, 1e-5)
			if got := correct.getI32(t, s)[0]; int(got) != wantCorrect {
				t.Errorf("%s: correct = %d, want %d", name, got, wantCorrect)
			}
		}
	}
}

func TestLayerNorm(t *testing.T) {
	s := testStream(t)
	rng := rand.New(rand.NewPCG(15, 16))
	for _, sh := range [][2]int{{1, 5}, {13, 64}, {7, 129}} {
		rows, d := sh[0], sh[1]
		x, gamma, beta, dy := randn(rng, rows*d), randn(rng, d), randn(rng, d), randn(rng, rows*d)
		y, xhat, rstd := poisoned(t, s, rows*d), poisoned(t, s, rows*d), poisoned(t, s, rows)
		dg := upload(t, s, gamma)
		must(t, s.LayerNorm(upload(t, s, x).p(), y.p(), xhat.p(), rstd.p(), dg.p(), upload(t, s, beta).p(), rows, d, 1e-5))
		wantY, wantDX := make([]float64, rows*d), make([]float64, rows*d)
		wantDG, wantDB := make([]float64, d), make([]float64, d)
		for r := range rows {
			row := x[r*d : (r+1)*d]
			var mean, v float64
			for _, e := range row {
				mean += float64(e)
			}
			mean /= float64(d)
			for _, e := range row {
				v += (float64(e) - mean) * (float64(e) - mean)
			}
			rs := 1 / math.Sqrt(v/float64(d)+1e-5)
			var a, b float64
			h := make([]float64, d)
			for j, e := range row {
				h[j] = (float64(e) - mean) * rs
				wantY[r*d+j] = h[j]*float64(gamma[j]) + float64(beta[j])
				g := float64(dy[r*d+j]) * float64(gamma[j])
				a += g
				b += g * h[j]
				wantDG[j] += float64(dy[r*d+j]) * h[j]
				wantDB[j] += float64(dy[r*d+j])
			}
			a /= float64(d)
			b /= float64(d)
			for j := range row {
				g := float64(dy[r*d+j]) * float64(gamma[j])
				wantDX[r*d+j] = rs * (g - a - h[j]*b)
			}
		}
		name := fmt.Sprintf("layernorm %dx%d", rows, d)
		checkAll(t, name+" y", y.get(t, s), wantY, 1e-5)
		dx, dgam, dbet := poisoned(t, s, rows*d), poisoned(t, s, d), poisoned(t, s, d)
		must(t, s.LayerNormGrad(upload(t, s, dy).p(), xhat.p(), rstd.p(), dg.p(), dx.p(), dgam.p(), dbet.p(), rows, d))
		checkAll(t, name+" dx", dx.get(t, s), wantDX, 1e-4)
		checkAll(t, name+" dgamma", dgam.get(t, s), wantDG, 1e-4)
		checkAll(t, name+" dbeta", dbet.get(t, s), wantDB, 1e-5)
	}
}

func TestGather(t *testing.T) {
	s := testStream(t)
	rng := rand.New(rand.NewPCG(17, 18))
	count, sample, n := 50, 13, 17
	xs := randn(rng, count*sample)
	ys := make([]int32, count)
	for i := range ys {
		ys[i] = int32(rng.IntN(10))
	}
	idx := make([]int32, n)
	for i := range idx {
		idx[i] = int32(rng.IntN(count))
	}
	x, y := poisoned(t, s, n*sample), poisoned(t, s, n)
	must(t, s.Gather(x.p(), y.p(), upload(t, s, xs).p(), uploadI32(t, s, ys).p(), uploadI32(t, s, idx).p(), n, sample))
	want := make([]float64, n*sample)
	for r, i := range idx {
		for j := range sample {
			want[r*sample+j] = float64(xs[int(i)*sample+j])
		}
	}
	checkAll(t, "gather x", x.get(t, s), want, 0)
	for r, v := range y.getI32(t, s) {
		if v != ys[idx[r]] {
			t.Fatalf("gather y[%d] = %d, want %d", r, v, ys[idx[r]])
		}
	}
}

func TestSGDStep(t *testing.T) {
	s := testStream(t)
	rng := rand.New(rand.NewPCG(19, 20))
	n, ndecay := 1001, 700
	for _, c := range []struct {
		momentum       bool
		nesterov, clip bool
	}{{false, false, false}, {true, false, false}, {true, true, false}, {true, true, true}} {
		name := fmt.Sprintf("sgd %+v", c)
		p, g, buf := randn(rng, n), randn(rng, n), randn(rng, n)
		dp, dbuf := upload(t, s, p), upload(t, s, buf)
		args := SGDArgs{Params: dp.p(), Grads: upload(t, s, g).p(), N: n, NDecay: ndecay, LR: 0.05, WeightDecay: 5e-4,
			Mom: 0.9, BufScale: 0.9, GradScale: 1, Nesterov: c.nesterov}
		if c.momentum {
			args.Momentum = dbuf.p()
		}
		scale := 1.0
		if c.clip {
			scale = 0.25
			args.Clip = upload(t, s, []float32{0.25}).p()
		}
		must(t, s.SGDStep(args))
		wantP, wantB := make([]float64, n), make([]float64, n)
		for i := range n {
			wd := 0.0
			if i < ndecay {
				wd = 5e-4
			}
			gi := float64(g[i])*scale + wd*float64(p[i])
			u, b := gi, float64(buf[i])
			if c.momentum {
				b = 0.9*b + gi
				u = b
				if c.nesterov {
					u = gi + 0.9*b
				}
			}
			wantP[i], wantB[i] = float64(p[i])-0.05*u, b
		}
		checkAll(t, name+" params", dp.get(t, s), wantP, 1e-6)
		checkAll(t, name+" momentum", dbuf.get(t, s), wantB, 1e-6)
	}
}

func TestAdamStep(t *testing.T) {
	s := testStream(t)
	rng := rand.New(rand.NewPCG(21, 22))
	n, ndecay := 777, 500
	p, g, m := randn(rng, n), randn(rng, n), randn(rng, n)
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.Float64())
	}
	dp, dm, dv := upload(t, s, p), upload(t, s, m), upload(t, s, v)
	a := AdamArgs{Params: dp.p(), Grads: upload(t, s, g).p(), M: dm.p(), V: dv.p(), N: n, NDecay: ndecay,
		Beta1: 0.9, Beta2: 0.999, OneMinus1: 0.1, OneMinus2: 0.001, StepSize: 0.002, BC2Sqrt: 0.3, Eps: 1e-8, Shrink: 0.999, L2: 0.01}
	must(t, s.AdamStep(a))
	wantP, wantM, wantV := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range n {
		pi, l2 := float64(p[i]), 0.0
		if i < ndecay {
			pi *= 0.999
			l2 = 0.01
		}
		gi := float64(g[i]) + l2*pi
		mi := 0.9*float64(m[i]) + 0.1*gi
		vi := 0.999*float64(v[i]) + 0.001*gi*gi
		wantM[i], wantV[i] = mi, vi
		wantP[i] = pi - 0.002*mi/(math.Sqrt(vi)/0.3+1e-8)
	}
	checkAll(t, "adam params", dp.get(t, s), wantP, 1e-5)
	checkAll(t, "adam m", dm.get(t, s), wantM, 1e-6)
	checkAll(t, "adam v", dv.get(t, s), wantV, 1e-6)
}

func TestClipScale(t *testing.T) {
	s := testStream(t)
	rng := rand.New(rand.NewPCG(23, 24))
	g := randn(rng, 100003)
	var ss float64
	for _, v := range g {
		ss += float64(v) * float64(v)
	}
	norm := math.Sqrt(ss)
	for _, maxNorm := range []float32{0, 1, float32(norm * 2)} {
		scale, nrm := poisoned(t, s, 1), poisoned(t, s, 1)
		must(t, s.ClipScale(upload(t, s, g).p(), len(g), poisoned(t, s, 2*ClipParts).p(), maxNorm, scale.p(), nrm.p()))
		want := 1.0
		if maxNorm > 0 && float64(maxNorm)/(norm+1e-6) < 1 {
			want = float64(maxNorm) / (norm + 1e-6)
		}
		checkAll(t, fmt.Sprintf("clip scale max %v", maxNorm), scale.get(t, s), []float64{want}, 1e-6)
		checkAll(t, "clip norm", nrm.get(t, s), []float64{norm}, 1e-6)
	}
}

func TestDropout(t *testing.T) {
	s := testStream(t)
	rng := rand.New(rand.NewPCG(25, 26))
	n, p := 100000, float32(0.3)
	x := randn(rng, n)
	dx := upload(t, s, x)
	y, mask, y2, mask2 := poisoned(t, s, n), poisoned(t, s, n), poisoned(t, s, n), poisoned(t, s, n)
	must(t, s.Dropout(y.p(), mask.p(), dx.p(), n, p, 7, 1))
	must(t, s.Dropout(y2.p(), mask2.p(), dx.p(), n, p, 7, 2))
	yv, mv, m2 := y.get(t, s), mask.get(t, s), mask2.get(t, s)
	zeros, same := 0, 0
	keep := 1 / (1 - p)
	for i := range n {
		switch mv[i] {
		case 0:
			zeros++
		case keep:
		default:
			t.Fatalf("mask[%d] = %v, want 0 or %v", i, mv[i], keep)
		}
		if yv[i] != x[i]*mv[i] {
			t.Fatalf("y[%d] = %v, want %v", i, yv[i], x[i]*mv[i])
		}
		if mv[i] == m2[i] {
			same++
		}
	}
	// Binomial(n, p): 4 standard deviations.
	sd := math.Sqrt(float64(n) * float64(p) * float64(1-p))
	if d := math.Abs(float64(zeros) - float64(n)*float64(p)); d > 4*sd {
		t.Errorf("dropped %d of %d, want about %v", zeros, n, float64(n)*float64(p))
	}
	// Independent masks agree with probability p² + (1-p)² = 0.58.
	if f := float64(same) / float64(n); math.Abs(f-0.58) > 0.01 {
		t.Errorf("masks of two steps agree on %.3f of elements, want about 0.58", f)
	}
	must(t, s.Dropout(y2.p(), mask2.p(), dx.p(), n, p, 7, 1))
	for i, v := range mask2.get(t, s) {
		if v != mv[i] {
			t.Fatalf("same seed and step, mask[%d] differs: %v vs %v", i, v, mv[i])
		}
	}
}

func TestBF16RoundTrip(t *testing.T) {
	s := testStream(t)
	rng := rand.New(rand.NewPCG(27, 28))
	x := randn(rng, 4097)
	x[0], x[1] = float32(math.Inf(1)), 0
	h, back := poisoned(t, s, (len(x)+1)/2), poisoned(t, s, len(x))
	must(t, s.ToBF16(h.p(), upload(t, s, x).p(), len(x)))
	must(t, s.FromBF16(back.p(), h.p(), len(x)))
	want := make([]float64, len(x))
	for i, v := range x {
		u := math.Float32bits(v)
		u += 0x7fff + (u>>16)&1
		want[i] = float64(math.Float32frombits(u &^ 0xffff))
	}
	got := back.get(t, s)
	for i := range got {
		if float64(got[i]) != want[i] {
			t.Fatalf("bf16 round trip of %v = %v, want %v", x[i], got[i], want[i])
		}
	}
}

func TestAllocator(t *testing.T) {
	s := testStream(t)
	d := s.Device()
	a, err := d.Alloc(1000)
	must(t, err)
	p := a.Ptr()
	must(t, a.Free())
	if err := a.Free(); err == nil {
		t.Fatal("second Free succeeded")
	}
	b, err := d.Alloc(900) // same size class: the cached block comes back
	must(t, err)
	if b.Ptr() != p {
		t.Errorf("Alloc after Free got %#x, want the cached %#x", b.Ptr(), p)
	}
	must(t, b.Free())
	if _, err := d.Alloc(-1); err == nil {
		t.Fatal("negative size accepted")
	}
}

// TestGraphReplay captures a small sequence and replays it.
func TestGraphReplay(t *testing.T) {
	s := testStream(t)
	x := poisoned(t, s, 1000)
	must(t, s.Fill(x.p(), 1, 1000))
	must(t, s.BeginCapture())
	must(t, s.Scale(x.p(), 3, 1000))
	g, err := s.EndCapture()
	must(t, err)
	defer g.Close()
	must(t, g.Launch(s))
	must(t, g.Launch(s))
	want := make([]float64, 1000)
	for i := range want {
		want[i] = 9
	}
	checkAll(t, "graph", x.get(t, s), want, 0)
}

func TestEvents(t *testing.T) {
	s := testStream(t)
	a, err := s.Device().NewEvent(true)
	must(t, err)
	defer a.Close()
	b, err := s.Device().NewEvent(true)
	must(t, err)
	defer b.Close()
	x := poisoned(t, s, 1<<20)
	must(t, a.Record(s))
	must(t, s.Fill(x.p(), 2, 1<<20))
	must(t, b.Record(s))
	must(t, b.Wait())
	done, err := b.Done()
	must(t, err)
	if !done {
		t.Fatal("event not done after Wait")
	}
	ms, err := Milliseconds(a, b)
	must(t, err)
	if !(ms >= 0) {
		t.Fatalf("elapsed %v ms", ms)
	}
}
