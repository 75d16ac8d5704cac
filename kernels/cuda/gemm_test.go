package cuda

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/troupe-ml/troupe/kernels/kerneltest"
)

// hostGemm runs the device GEMM on host slices: each is copied whole (guard
// values included) to the device and C is copied back whole, so writes
// outside the window show up as damaged guards.
func hostGemm(t *testing.T, s *Stream, prec Precision) kerneltest.GemmFunc {
	return func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
		buf := func(x []float32) (*Buffer, Ptr) {
			bb, err := s.d.AllocF32(len(x))
			if err != nil {
				panic(err)
			}
			if err := s.Upload(bb.Ptr(), x); err != nil {
				panic(err)
			}
			return bb, bb.Ptr()
		}
		ab, ap := buf(a)
		bb, bp := buf(b)
		cb, cp := buf(c)
		defer ab.Free()
		defer bb.Free()
		defer cb.Free()
		if err := s.Gemm(transA, transB, m, n, k, alpha, ap, lda, bp, ldb, beta, cp, ldc, prec); err != nil {
			panic(err)
		}
		if err := s.Download(c, cp); err != nil {
			panic(err)
		}
	}
}

// TestGemmConformance runs the CPU kernels' conformance suite on cuBLAS in
// fp32.
func TestGemmConformance(t *testing.T) {
	s := testStream(t)
	kerneltest.TestSgemm(t, hostGemm(t, s, FP32))
}

// TestGemmReducedPrecision checks TF32 and bf16 products against a float64
// reference by relative Frobenius error.
func TestGemmReducedPrecision(t *testing.T) {
	s := testStream(t)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, sh := range [][3]int{{257, 190, 333}, {64, 300, 784}, {1000, 10, 100}, {33, 65, 17}} {
		m, n, k := sh[0], sh[1], sh[2]
		for tr := range 4 {
			ta, tb := tr&1 != 0, tr&2 != 0
			a, b := randn(rng, m*k), randn(rng, k*n)
			lda, ldb := k, n
			if ta {
				lda = m
			}
			if tb {
				ldb = k
			}
			want := make([]float64, m*n)
			for i := range m {
				for j := range n {
					var d float64
					for p := range k {
						var av, bv float32
						if ta {
							av = a[p*lda+i]
						} else {
							av = a[i*lda+p]
						}
						if tb {
							bv = b[j*ldb+p]
						} else {
							bv = b[p*ldb+j]
						}
						d += float64(av) * float64(bv)
					}
					want[i*n+j] = d
				}
			}
			name := fmt.Sprintf("%dx%dx%d ta=%v tb=%v", m, n, k, ta, tb)
			da, db := upload(t, s, a), upload(t, s, b)
			c := poisoned(t, s, m*n)
			must(t, s.Gemm(ta, tb, m, n, k, 1, da.p(), lda, db.p(), ldb, 0, c.p(), n, TF32))
			if e := relErr(c.get(t, s), want); !(e < 2e-3) {
				t.Errorf("tf32 %s: relative error %.3g, want < 2e-3", name, e)
			}
			// bf16 inputs, fp32 output.
			a16, b16 := poisoned(t, s, (m*k+1)/2), poisoned(t, s, (k*n+1)/2)
			must(t, s.ToBF16(a16.p(), da.p(), m*k))
			must(t, s.ToBF16(b16.p(), db.p(), k*n))
			c = poisoned(t, s, m*n)
			must(t, s.GemmEx(ta, tb, m, n, k, 1, a16.p(), BF16, lda, b16.p(), BF16, ldb, 0, c.p(), F32, n))
			if e := relErr(c.get(t, s), want); !(e < 1e-2) {
				t.Errorf("bf16 %s: relative error %.3g, want < 1e-2", name, e)
			}
		}
	}
}

func TestGemmRejectsBadShapes(t *testing.T) {
	s := testStream(t)
	if err := s.Gemm(false, false, 2, 3, 4, 1, 0, 3, 0, 3, 0, 0, 3, FP32); err == nil {
		t.Fatal("lda 3 < k 4 accepted")
	}
	if err := s.Gemm(false, false, -1, 3, 4, 1, 0, 4, 0, 3, 0, 0, 3, FP32); err == nil {
		t.Fatal("negative m accepted")
	}
}

// TestIm2colConformance runs the CPU suite on single images (N = 1, where
// the channel-major layout is the image's own).
func TestIm2colConformance(t *testing.T) {
	s := testStream(t)
	run := func(col2im bool) kerneltest.Im2colFunc {
		return func(src []float32, c, h, w, kh, kw, padH, padW, strideH, strideW int, dst []float32) {
			cv := Conv{C: c, N: 1, H: h, W: w, KH: kh, KW: kw, PadH: padH, PadW: padW, StrideH: strideH, StrideW: strideW}
			sb, err := s.d.AllocF32(len(src))
			if err != nil {
				panic(err)
			}
			defer sb.Free()
			db, err := s.d.AllocF32(len(dst))
			if err != nil {
				panic(err)
			}
			defer db.Free()
			if err := s.Upload(sb.Ptr(), src); err != nil {
				panic(err)
			}
			if err := s.Upload(db.Ptr(), dst); err != nil {
				panic(err)
			}
			if col2im {
				err = s.Col2im(sb.Ptr(), db.Ptr(), cv, true)
			} else {
				err = s.Im2col(sb.Ptr(), db.Ptr(), cv)
			}
			if err != nil {
				panic(err)
			}
			if err := s.Download(dst, db.Ptr()); err != nil {
				panic(err)
			}
		}
	}
	kerneltest.TestIm2col(t, run(false), run(true))
}

// TestIm2colBatched checks the batch (N > 1) indexing against the per-image
// reference.
func TestIm2colBatched(t *testing.T) {
	s := testStream(t)
	rng := rand.New(rand.NewPCG(5, 6))
	for _, cv := range []Conv{
		{C: 3, N: 5, H: 11, W: 9, KH: 3, KW: 3, PadH: 1, PadW: 1, StrideH: 1, StrideW: 1},
		{C: 2, N: 4, H: 28, W: 28, KH: 5, KW: 5, PadH: 2, PadW: 2, StrideH: 1, StrideW: 1},
		{C: 6, N: 3, H: 14, W: 13, KH: 5, KW: 4, PadH: 0, PadW: 1, StrideH: 2, StrideW: 3},
	} {
		oh, ow := cv.Out()
		ohw, kk := oh*ow, cv.C*cv.KH*cv.KW
		x := randn(rng, cv.C*cv.N*cv.H*cv.W)
		dx := upload(t, s, x)
		col := poisoned(t, s, kk*cv.N*ohw)
		must(t, s.Im2col(dx.p(), col.p(), cv))
		got := col.get(t, s)
		// Per image: gather sample n's planes, run the reference.
		want := make([]float64, len(got))
		img := make([]float32, cv.C*cv.H*cv.W)
		ref := make([]float32, kk*ohw)
		for n := range cv.N {
			for c := range cv.C {
				copy(img[c*cv.H*cv.W:(c+1)*cv.H*cv.W], x[(c*cv.N+n)*cv.H*cv.W:])
			}
			kerneltest.RefIm2col(img, cv.C, cv.H, cv.W, cv.KH, cv.KW, cv.PadH, cv.PadW, cv.StrideH, cv.StrideW, ref)
			for r := range kk {
				for p := range ohw {
					want[r*cv.N*ohw+n*ohw+p] = float64(ref[r*ohw+p])
				}
			}
		}
		checkAll(t, fmt.Sprintf("im2col %+v", cv), got, want, 0)
		// Col2im is im2col's adjoint: <im2col(x), y> = <x, col2im(y)>.
		y := randn(rng, len(got))
		dxb := poisoned(t, s, len(x))
		must(t, s.Col2im(upload(t, s, y).p(), dxb.p(), cv, false))
		back := dxb.get(t, s)
		var l, r float64
		for i := range got {
			l += float64(got[i]) * float64(y[i])
		}
		for i := range x {
			r += float64(x[i]) * float64(back[i])
		}
		if !closeTo(float32(l), r, 1e-4) {
			t.Errorf("col2im %+v: <im2col(x), y> = %v, <x, col2im(y)> = %v", cv, l, r)
		}
	}
}
