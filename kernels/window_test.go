package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/troupe-ml/troupe/kernels/kerneltest"
)

// TestIm2colImpls runs the Im2col suite against each implementation's
// window loops.
func TestIm2colImpls(t *testing.T) {
	for _, impl := range availableImpls(t) {
		t.Run(impl.String(), func(t *testing.T) {
			k := streamsOf(impl)
			kerneltest.TestIm2col(t,
				func(src []float32, c, h, w, kh, kw, ph, pw, sh, sw int, dst []float32) {
					im2col(k, src, c, h, w, kh, kw, ph, pw, sh, sw, dst)
				},
				func(src []float32, c, h, w, kh, kw, ph, pw, sh, sw int, dst []float32) {
					col2im(k, src, c, h, w, kh, kw, ph, pw, sh, sw, dst)
				})
		})
	}
}

// TestWindowImpls checks each implementation's window loops against
// windowCopyGo and a naive sum on every lead, width and total up to
// maxWindow, with strides both minimal and larger, guards around dst, and
// NaN guards in src around each row's run, which a masked load must skip.
func TestWindowImpls(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	guard := float32(math.NaN())
	for _, impl := range availableImpls(t) {
		k := streamsOf(impl)
		for total := 1; total <= maxWindow; total++ {
			for lead := 0; lead <= total; lead++ {
				w := rng.IntN(total - lead + 1)
				n := 1 + rng.IntN(4)
				lds, ldd := w+rng.IntN(3), total+rng.IntN(3)
				what := fmt.Sprintf("%v n=%d lead=%d w=%d total=%d lds=%d ldd=%d", impl, n, lead, w, total, lds, ldd)
				// src starts after 32 guards, so loads before a row's
				// run would find NaN.
				srcBuf := make([]float32, 32+n*lds+32)
				for i := range srcBuf {
					srcBuf[i] = guard
				}
				src := srcBuf[32 : 32+(n-1)*lds+w]
				for i := range n {
					for j := range w {
						src[i*lds+j] = rng.Float32()
					}
				}
				dstBuf := make([]float32, (n-1)*ldd+total+8)
				for i := range dstBuf {
					dstBuf[i] = 7
				}
				dst := dstBuf[:(n-1)*ldd+total]
				want := append([]float32(nil), dstBuf...)
				windowCopyGo(n, src, lds, want, ldd, lead, w, total)
				k.windowCopy(n, src, lds, dst, ldd, lead, w, total)
				for i := range dstBuf {
					if math.Float32bits(dstBuf[i]) != math.Float32bits(want[i]) {
						t.Fatalf("windowCopy %s: dst[%d] = %v, want %v", what, i, dstBuf[i], want[i])
					}
				}
				// windowAdd adds the same runs; the guards before and
				// after them must not be read.
				aw := w
				if aw == 0 {
					continue
				}
				want = append([]float32(nil), dstBuf...)
				for i := range n {
					for j := range aw {
						want[i*ldd+j] += src[i*lds+j]
					}
				}
				k.windowAdd(n, src, lds, dst, ldd, aw)
				for i := range dstBuf {
					if math.Float32bits(dstBuf[i]) != math.Float32bits(want[i]) {
						t.Fatalf("windowAdd %s: dst[%d] = %v, want %v", what, i, dstBuf[i], want[i])
					}
				}
			}
		}
	}
}

func TestWindowPanics(t *testing.T) {
	a := make([]float32, 64)
	for _, impl := range availableImpls(t) {
		k := streamsOf(impl)
		cases := map[string]func(){
			"total over 32":  func() { k.windowCopy(1, a, 33, a, 33, 0, 33, 33) },
			"lead+w > total": func() { k.windowCopy(1, a, 8, a, 8, 2, 7, 8) },
			"short dst":      func() { k.windowCopy(3, a, 8, a[:20], 8, 0, 8, 8) },
			"short src":      func() { k.windowAdd(3, a[:20], 8, a, 8, 8) },
		}
		for name, call := range cases {
			t.Run(fmt.Sprintf("%v/%s", impl, name), func(t *testing.T) {
				defer func() {
					if got := recover(); got != errWindow {
						t.Fatalf("panic = %v, want %q", got, errWindow)
					}
				}()
				call()
			})
		}
	}
}
