package kerneltest

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// recorder stands in for *testing.T so the suite can be run against broken
// kernels and be seen to fail.
type recorder struct{ msgs []string }

func (*recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}

func TestRefSgemmPasses(t *testing.T) {
	TestSgemm(t, RefSgemm)
}

func TestRefIm2colPasses(t *testing.T) {
	TestIm2col(t, RefIm2col, RefCol2im)
}

func TestRefSgemmSmall(t *testing.T) {
	// [1 2; 3 4] * [5 6; 7 8] = [19 22; 43 50], then 2*that - 1*C.
	a := []float32{1, 2, 3, 4}
	b := []float32{5, 6, 7, 8}
	c := []float32{1, 1, 1, 1}
	RefSgemm(false, false, 2, 2, 2, 2, a, 2, b, 2, -1, c, 2)
	want := []float32{37, 43, 85, 99}
	for i := range want {
		if c[i] != want[i] {
			t.Fatalf("RefSgemm: c = %v, want %v", c, want)
		}
	}
	// Aᵀ * Bᵀ with the stored matrices above: [1 3; 2 4] * [5 7; 6 8].
	RefSgemm(true, true, 2, 2, 2, 1, a, 2, b, 2, 0, c, 2)
	want = []float32{23, 31, 34, 46}
	for i := range want {
		if c[i] != want[i] {
			t.Fatalf("RefSgemm transposed: c = %v, want %v", c, want)
		}
	}
}

func TestRefIm2colSmall(t *testing.T) {
	// 1×2×3 image, 2×2 kernel, pad 1 in w only, stride 1: oh=1, ow=4.
	src := []float32{1, 2, 3, 4, 5, 6}
	dst := make([]float32, 4*4)
	RefIm2col(src, 1, 2, 3, 2, 2, 0, 1, 1, 1, dst)
	want := []float32{
		0, 1, 2, 3, // ki=0 kj=0
		1, 2, 3, 0, // ki=0 kj=1
		0, 4, 5, 6, // ki=1 kj=0
		4, 5, 6, 0, // ki=1 kj=1
	}
	for i := range want {
		if dst[i] != want[i] {
			t.Fatalf("RefIm2col = %v, want %v", dst, want)
		}
	}
	img := make([]float32, 6)
	RefCol2im(want, 1, 2, 3, 2, 2, 0, 1, 1, 1, img)
	wantImg := []float32{2, 4, 6, 8, 10, 12} // every pixel is used twice
	for i := range wantImg {
		if img[i] != wantImg[i] {
			t.Fatalf("RefCol2im = %v, want %v", img, wantImg)
		}
	}
}

// TestSgemmCatchesBugs runs the suite against kernels with one typical bug
// each; every one must be reported, and the suite must stop early.
func TestSgemmCatchesBugs(t *testing.T) {
	ref := RefSgemm
	broken := map[string]GemmFunc{
		"beta ignored": func(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			ref(tA, tB, m, n, k, alpha, a, lda, b, ldb, 0, c, ldc)
		},
		"beta*C read when beta is 0": func(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			tmp := make([]float32, len(c))
			ref(tA, tB, m, n, k, alpha, a, lda, b, ldb, 0, tmp, ldc)
			for i := range m {
				for j := range n {
					c[i*ldc+j] = tmp[i*ldc+j] + beta*c[i*ldc+j]
				}
			}
		},
		"last k skipped": func(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			ref(tA, tB, m, n, max(k-1, 0), alpha, a, lda, b, ldb, beta, c, ldc)
		},
		"transB ignored": func(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			// Reading a transposed B as stored may also run off its end;
			// the suite reports that panic as a failure too.
			ref(tA, false, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		},
		"row padding of C cleared": func(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			ref(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
			for i := 0; i+1 < m; i++ {
				clear(c[i*ldc+n : (i+1)*ldc])
			}
		},
		"write past the end of C": func(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			ref(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
			if len(c) < cap(c) {
				c[:len(c)+1][len(c)] = 0
			}
		},
		"relative error 1e-4": func(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			ref(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
			for i := range m {
				for j := range n {
					c[i*ldc+j] *= 1 + 1e-4
				}
			}
		},
		"A read when alpha is 0": func(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			ref(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
			if alpha == 0 && k > 0 && m > 0 && n > 0 {
				c[0] += 0 * a[0]
			}
		},
		"panics on k == 0": func(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			if k == 0 {
				panic("k == 0")
			}
			ref(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		},
		"last column skipped in thin products past 64 columns": func(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			if k > 16 || n <= 64 {
				ref(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
				return
			}
			ref(tA, tB, m, n-1, k, alpha, a, lda, b, ldb, beta, c, ldc)
		},
		"modifies A": func(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			ref(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
			if len(a) > 0 {
				a[0] = 42
			}
		},
	}
	for name, gemm := range broken {
		t.Run(name, func(t *testing.T) {
			var r recorder
			checkSgemm(&r, gemm)
			if len(r.msgs) == 0 {
				t.Fatalf("suite passed a kernel with bug %q", name)
			}
			if len(r.msgs) > maxFailures+1 {
				t.Errorf("suite reported %d messages, want at most %d", len(r.msgs), maxFailures+1)
			}
			t.Logf("first report: %s", r.msgs[0])
		})
	}
}

func TestIm2colCatchesBugs(t *testing.T) {
	type pair struct{ im2col, col2im Im2colFunc }
	broken := map[string]pair{
		"im2col assumes cleared dst": {
			func(src []float32, c, h, w, kh, kw, ph, pw, sh, sw int, dst []float32) {
				tmp := make([]float32, len(dst))
				RefIm2col(src, c, h, w, kh, kw, ph, pw, sh, sw, tmp)
				for i, v := range tmp {
					if v != 0 {
						dst[i] = v
					}
				}
			}, RefCol2im,
		},
		"col2im overwrites dst": {
			RefIm2col, func(src []float32, c, h, w, kh, kw, ph, pw, sh, sw int, dst []float32) {
				clear(dst)
				RefCol2im(src, c, h, w, kh, kw, ph, pw, sh, sw, dst)
			},
		},
		"padH and padW swapped": {
			func(src []float32, c, h, w, kh, kw, ph, pw, sh, sw int, dst []float32) {
				RefIm2col(src, c, h, w, kh, kw, pw, ph, sh, sw, dst)
			}, RefCol2im,
		},
		"col2im stride ignored": {
			RefIm2col, func(src []float32, c, h, w, kh, kw, ph, pw, sh, sw int, dst []float32) {
				if sh == 1 && sw == 1 {
					RefCol2im(src, c, h, w, kh, kw, ph, pw, sh, sw, dst)
				}
			},
		},
		"im2col writes past dst": {
			func(src []float32, c, h, w, kh, kw, ph, pw, sh, sw int, dst []float32) {
				RefIm2col(src, c, h, w, kh, kw, ph, pw, sh, sw, dst)
				if len(dst) < cap(dst) {
					dst[:len(dst)+1][len(dst)] = 0
				}
			}, RefCol2im,
		},
	}
	for name, p := range broken {
		t.Run(name, func(t *testing.T) {
			var r recorder
			checkIm2col(&r, p.im2col, p.col2im)
			if len(r.msgs) == 0 {
				t.Fatalf("suite passed kernels with bug %q", name)
			}
			t.Logf("first report: %s", r.msgs[0])
		})
	}
}

func TestGuardsDetectWrites(t *testing.T) {
	m := newMatrix(nil, 2, 3, 5, true)
	if i, ok := m.guardsIntact(); !ok {
		t.Fatalf("fresh matrix: guard broken at %d", i)
	}
	m.data()[3] = 1 // row padding of row 0
	if _, ok := m.guardsIntact(); ok {
		t.Fatal("write into row padding not detected")
	}
	if !math.IsNaN(float64(m.at(1, 2))) {
		t.Fatalf("poisoned matrix: at(1,2) = %v, want NaN", m.at(1, 2))
	}
	if got := len(m.data()); got != 8 {
		t.Fatalf("len(data) = %d, want (rows-1)*ld+cols = 8", got)
	}
	if !strings.Contains(gemmCase{m: 1}.String(), "m=1") {
		t.Fatal("gemmCase.String does not name m")
	}
}

func TestRefSGDPasses(t *testing.T) {
	TestSGD(t, RefSGD)
}

func TestRefSGDSmall(t *testing.T) {
	// p = 1, g = 1, wd = 0.5: g' = 1.5; buf = 0.5*2 + 2*1.5 = 4; Nesterov
	// step 1.5 + 0.25*4 = 2.5, p = 1 - 0.1*2.5 = 0.75.
	p, g, buf := []float32{1}, []float32{1}, []float32{2}
	RefSGD(SGDStep{LR: 0.1, WeightDecay: 0.5, BufScale: 0.5, GradScale: 2, Nesterov: true, Momentum: 0.25}, p, g, buf)
	if p[0] != 0.75 || buf[0] != 4 || g[0] != 1 {
		t.Fatalf("RefSGD: p, g, buf = %v, %v, %v; want 0.75, 1, 4", p[0], g[0], buf[0])
	}
	// Without a buffer: p = 1 - 0.1*1.5.
	p = []float32{1}
	RefSGD(SGDStep{LR: 0.1, WeightDecay: 0.5}, p, g, nil)
	if p[0] != float32(0.85) {
		t.Fatalf("RefSGD without buffer: p = %v, want 0.85", p[0])
	}
}

func TestSGDCatchesBugs(t *testing.T) {
	broken := map[string]SGDFunc{
		"weight decay ignored": func(s SGDStep, p, g, buf []float32) {
			s.WeightDecay = 0
			RefSGD(s, p, g, buf)
		},
		"Nesterov ignored": func(s SGDStep, p, g, buf []float32) {
			s.Nesterov = false
			RefSGD(s, p, g, buf)
		},
		"last element skipped": func(s SGDStep, p, g, buf []float32) {
			if len(p) > 0 {
				p = p[:len(p)-1]
			}
			RefSGD(s, p, g, buf)
		},
		"buffer not stored": func(s SGDStep, p, g, buf []float32) {
			RefSGD(s, p, g, slices.Clone(buf))
		},
		"gradient modified": func(s SGDStep, p, g, buf []float32) {
			RefSGD(s, p, g, buf)
			if len(g) > 0 {
				g[0] = 0
			}
		},
		"write past the end of p": func(s SGDStep, p, g, buf []float32) {
			RefSGD(s, p, g, buf)
			if len(p) < cap(p) {
				p[:len(p)+1][len(p)] = 0
			}
		},
		"relative error 1e-5": func(s SGDStep, p, g, buf []float32) {
			RefSGD(s, p, g, buf)
			for i := range p {
				p[i] *= 1 + 1e-5
			}
		},
	}
	for name, sgd := range broken {
		t.Run(name, func(t *testing.T) {
			var r recorder
			checkSGD(&r, sgd)
			if len(r.msgs) == 0 {
				t.Fatalf("suite passed a kernel with bug %q", name)
			}
			t.Logf("first report: %s", r.msgs[0])
		})
	}
}

func TestRefReLUPasses(t *testing.T) {
	TestReLU(t, RefReLU, RefReLUBackward)
}

func TestReLUCatchesBugs(t *testing.T) {
	type pair struct {
		relu     ReLUFunc
		backward ReLUBackwardFunc
	}
	broken := map[string]pair{
		"NaN dropped": {func(x, y []float32) {
			for i, v := range x {
				y[i] = 0
				if v > 0 {
					y[i] = v
				}
			}
		}, RefReLUBackward},
		"last element skipped": {func(x, y []float32) {
			if len(x) > 0 {
				RefReLU(x[:len(x)-1], y)
			}
		}, RefReLUBackward},
		"gradient at zero": {RefReLU, func(x, dy, dx []float32) {
			for i, v := range x {
				if v >= 0 {
					dx[i] += dy[i]
				}
			}
		}},
		"gradient overwritten": {RefReLU, func(x, dy, dx []float32) {
			clear(dx)
			RefReLUBackward(x, dy, dx)
		}},
		"write past the end of y": {func(x, y []float32) {
			RefReLU(x, y)
			if len(y) < cap(y) {
				y[:len(y)+1][len(y)] = 0
			}
		}, RefReLUBackward},
	}
	for name, p := range broken {
		t.Run(name, func(t *testing.T) {
			var r recorder
			checkReLU(&r, p.relu, p.backward)
			if len(r.msgs) == 0 {
				t.Fatalf("suite passed kernels with bug %q", name)
			}
			t.Logf("first report: %s", r.msgs[0])
		})
	}
}

func TestRefMaxPoolPasses(t *testing.T) {
	TestMaxPool(t, RefMaxPool)
}

func TestMaxPoolCatchesBugs(t *testing.T) {
	broken := map[string]MaxPoolFunc{
		"last maximum kept": func(x []float32, planes, h, w, size, stride int, y []float32, arg []int32) {
			oh, ow := convOut(h, size, 0, stride), convOut(w, size, 0, stride)
			for p := range planes {
				for i := range oh {
					for j := range ow {
						o := (p*oh+i)*ow + j
						best := p*h*w + i*stride*w + j*stride
						for di := range size {
							for dj := range size {
								e := p*h*w + (i*stride+di)*w + j*stride + dj
								if x[e] >= x[best] {
									best = e
								}
							}
						}
						y[o] = x[best]
						if arg != nil {
							arg[o] = int32(best)
						}
					}
				}
			}
		},
		"stride ignored": func(x []float32, planes, h, w, size, stride int, y []float32, arg []int32) {
			if stride == size {
				RefMaxPool(x, planes, h, w, size, stride, y, arg)
			}
		},
		"arg off by one": func(x []float32, planes, h, w, size, stride int, y []float32, arg []int32) {
			RefMaxPool(x, planes, h, w, size, stride, y, arg)
			for i := range arg {
				arg[i]++
			}
		},
	}
	for name, mp := range broken {
		t.Run(name, func(t *testing.T) {
			var r recorder
			checkMaxPool(&r, mp)
			if len(r.msgs) == 0 {
				t.Fatalf("suite passed a kernel with bug %q", name)
			}
			t.Logf("first report: %s", r.msgs[0])
		})
	}
}
