package kernels

const (
	errIm2colGeom = "kernels: Im2col: negative size, or non-positive kernel or stride"
	errIm2colSrc  = "kernels: Im2col: len(src) too small"
	errIm2colDst  = "kernels: Im2col: len(dst) too small"
	errCol2imGeom = "kernels: Col2im: negative size, or non-positive kernel or stride"
	errCol2imSrc  = "kernels: Col2im: len(src) too small"
	errCol2imDst  = "kernels: Col2im: len(dst) too small"
)

// ConvOut returns the output size of a convolution/pool dimension:
// (in+2*pad-k)/stride+1. It returns 0 when no window fits, including for a
// non-positive k or stride or a negative in or pad, so callers need a single
// "ConvOut(...) <= 0" check to reject a geometry.
func ConvOut(in, k, pad, stride int) int {
	if in < 0 || k <= 0 || pad < 0 || stride <= 0 {
		return 0
	}
	// Checked before dividing: Go truncates toward zero, which would turn a
	// small negative span into one phantom output.
	span := in + 2*pad - k
	if span < 0 {
		return 0
	}
	return span/stride + 1
}

// Im2col unfolds one image src [c,h,w] into dst [c*kh*kw, oh*ow] (zero padding).
//
// Row (ci*kh+ki)*kw+kj of dst holds, for every output position (oy, ox), the
// input pixel src[ci, oy*strideH-padH+ki, ox*strideW-padW+kj], or 0 where
// that falls in the padding; oh and ow are given by ConvOut. Every element
// of the dst window is written, so dst need not be cleared. A geometry with
// no output position leaves dst untouched.
func Im2col(src []float32, c, h, w, kh, kw, padH, padW, strideH, strideW int, dst []float32) {
	im2col(streamsOf(ImplAuto.Resolve()), src, c, h, w, kh, kw, padH, padW, strideH, strideW, dst)
}

func im2col(k streams, src []float32, c, h, w, kh, kw, padH, padW, strideH, strideW int, dst []float32) {
	oh, ow := convGeom(c, h, w, kh, kw, padH, padW, strideH, strideW, errIm2colGeom)
	if len(src) < c*h*w {
		panic(errIm2colSrc)
	}
	if len(dst) < c*kh*kw*oh*ow {
		panic(errIm2colDst)
	}
	if oh == 0 || ow == 0 {
		return
	}
	plane := oh * ow
	// Rows of a window are ow long, and with stride 1 each is one run
	// of the image; up to maxWindow they are copied by the window loop,
	// one call per kernel position, rather than one copy each.
	windows := strideW == 1 && ow <= maxWindow
	// A whole kernel row at a time where the implementation can.
	rows := windows && kw <= maxRowsKW && k.im2colRows != nil
	row := 0
	for ci := range c {
		img := src[ci*h*w : (ci+1)*h*w]
		for ki := range kh {
			y0, y1 := validRange(oh, h, ki-padH, strideH)
			if rows {
				out := dst[row*plane : (row+kw)*plane]
				for kj := range kw {
					// Output rows whose input row lies in the padding.
					if y0 > 0 {
						clear(out[kj*plane : kj*plane+y0*ow])
					}
					if y1 < oh {
						clear(out[kj*plane+y1*ow : (kj+1)*plane])
					}
				}
				if y0 < y1 {
					iy0 := y0*strideH - padH + ki
					k.im2colRows(y1-y0, img[iy0*w:], strideH*w, kw, out[y0*ow:], plane, ow, w, padW)
				}
				row += kw
				continue
			}
			for kj := range kw {
				out := dst[row*plane : (row+1)*plane]
				row++
				off := kj - padW
				x0, x1 := validRange(ow, w, off, strideW)
				// Output rows whose input row lies in the padding.
				clear(out[:y0*ow])
				clear(out[y1*ow:])
				if y0 == y1 {
					continue
				}
				iy0 := y0*strideH - padH + ki
				if windows {
					var in []float32
					if x0 < x1 {
						in = img[iy0*w+x0+off:]
					}
					k.windowCopy(y1-y0, in, strideH*w, out[y0*ow:], ow, x0, x1-x0, ow)
					continue
				}
				for oy := y0; oy < y1; oy++ {
					o := out[oy*ow : (oy+1)*ow]
					iy := iy0 + (oy-y0)*strideH
					in := img[iy*w : (iy+1)*w]
					clear(o[:x0])
					clear(o[x1:])
					if strideW == 1 {
						// x0 == x1 when this kernel column lies wholly in the padding.
						if x0 < x1 {
							copy(o[x0:x1], in[x0+off:x1+off])
						}
						continue
					}
					for ox := x0; ox < x1; ox++ {
						o[ox] = in[ox*strideW+off]
					}
				}
			}
		}
	}
}

// Col2im is Im2col's adjoint: it ADDS the columns back into dst [c,h,w].
//
// src has Im2col's output layout [c*kh*kw, oh*ow]; every column entry is
// added to the input pixel it was read from, and entries that Im2col took
// from the padding are dropped. dst is accumulated into, not overwritten, so
// callers clear it first when they want the plain adjoint.
func Col2im(src []float32, c, h, w, kh, kw, padH, padW, strideH, strideW int, dst []float32) {
	col2im(streamsOf(ImplAuto.Resolve()), src, c, h, w, kh, kw, padH, padW, strideH, strideW, dst)
}

func col2im(k streams, src []float32, c, h, w, kh, kw, padH, padW, strideH, strideW int, dst []float32) {
	oh, ow := convGeom(c, h, w, kh, kw, padH, padW, strideH, strideW, errCol2imGeom)
	if len(src) < c*kh*kw*oh*ow {
		panic(errCol2imSrc)
	}
	if len(dst) < c*h*w {
		panic(errCol2imDst)
	}
	if oh == 0 || ow == 0 {
		return
	}
	plane := oh * ow
	windows := strideW == 1 && ow <= maxWindow
	// With the image rows short too, a kernel row's columns are summed
	// into each image row at once.
	rows := windows && w <= maxWindow && kw <= maxRowsKW && k.col2imRows != nil
	row := 0
	for ci := range c {
		img := dst[ci*h*w : (ci+1)*h*w]
		for ki := range kh {
			y0, y1 := validRange(oh, h, ki-padH, strideH)
			if rows {
				if y0 < y1 {
					iy0 := y0*strideH - padH + ki
					k.col2imRows(y1-y0, src[row*plane+y0*ow:], ow, plane, ow, kw, img[iy0*w:], strideH*w, w, padW)
				}
				row += kw
				continue
			}
			for kj := range kw {
				col := src[row*plane : (row+1)*plane]
				row++
				off := kj - padW
				x0, x1 := validRange(ow, w, off, strideW)
				if y0 == y1 || x0 == x1 {
					continue
				}
				iy0 := y0*strideH - padH + ki
				if windows {
					k.windowAdd(y1-y0, col[y0*ow+x0:], ow, img[iy0*w+x0+off:], strideH*w, x1-x0)
					continue
				}
				for oy := y0; oy < y1; oy++ {
					iy := iy0 + (oy-y0)*strideH
					o := col[oy*ow : (oy+1)*ow]
					out := img[iy*w : (iy+1)*w]
					if strideW == 1 {
						Axpy(1, o[x0:x1], out[x0+off:x1+off])
						continue
					}
					for ox := x0; ox < x1; ox++ {
						out[ox*strideW+off] += o[ox]
					}
				}
			}
		}
	}
}

// convGeom validates an im2col geometry and returns the output size.
func convGeom(c, h, w, kh, kw, padH, padW, strideH, strideW int, errGeom string) (oh, ow int) {
	if c < 0 || h < 0 || w < 0 || kh <= 0 || kw <= 0 || padH < 0 || padW < 0 || strideH <= 0 || strideW <= 0 {
		panic(errGeom)
	}
	return ConvOut(h, kh, padH, strideH), ConvOut(w, kw, padW, strideW)
}

// validRange returns the half-open range [x0, x1) of output columns ox in
// [0, ow) whose input column ox*stride+off lies inside [0, w), so the inner
// loops run without per-element bounds tests. x0 <= x1 always holds.
func validRange(ow, w, off, stride int) (x0, x1 int) {
	if stride == 1 {
		// The common case, without the divisions, which cost more than
		// a short row's copy.
		x0, x1 = max(0, -off), min(ow, w-off)
		x0 = min(x0, x1)
		return max(x0, 0), max(x1, 0)
	}
	if off < 0 {
		x0 = (-off + stride - 1) / stride
	}
	if last := w - 1 - off; last >= 0 {
		x1 = last/stride + 1
	}
	x1 = min(x1, ow)
	x0 = min(x0, x1)
	return x0, x1
}
