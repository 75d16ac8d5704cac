package kernels

// The kernel-row loops of Im2col and Col2im with stride 1: one call covers
// every kernel column of a kernel row, so the image row stays in registers
// (Col2im) and the per-call work is kw times larger. AVX-512 has them in
// assembly, with a mask register per kernel column, and the generic
// implementation in Go; AVX2 goes a kernel column at a time through its
// window loops.

// maxRowsKW is the widest kernel the kernel-row loops take, for their
// arrays of masks.
const maxRowsKW = 32

const errCol2imRows = "kernels: col2imRows: bad geometry or slice too short"

// checkCol2imRows panics unless a col2imRows call fits its slices; see
// col2imRowsGo for the arguments. It reports whether there is anything to
// do.
func checkCol2imRows(n int, src []float32, lds, plane, ow, kw int, dst []float32, ldd, w, pad int) bool {
	if n <= 0 || kw <= 0 || w <= 0 {
		return false
	}
	if w > maxWindow || ow > maxWindow || kw > maxRowsKW || pad < 0 || lds < 0 || plane < 0 || ldd < 0 ||
		len(src) < (kw-1)*plane+(n-1)*lds+ow || len(dst) < (n-1)*ldd+w {
		panic(errCol2imRows)
	}
	return true
}

// col2imRowLanes returns the elements x of an image row of w that kernel
// column kj reaches: x = ox+kj-pad for ox in [0, ow).
func col2imRowLanes(kj, pad, ow, w int) (x0, x1 int) {
	shift := kj - pad
	return max(0, shift), max(0, min(w, ow+shift))
}

// col2imRowsGo adds into each of n image rows, at stride ldd, of w
// elements, the rows of kw kernel columns of one kernel row of Im2col's
// output: column kj's row r starts at src[kj*plane+r*lds], holds ow
// elements, and lands kj-pad elements to the right. The kernel columns
// are added in order, as Col2im adds them one at a time.
func col2imRowsGo(n int, src []float32, lds, plane, ow, kw int, dst []float32, ldd, w, pad int) {
	if !checkCol2imRows(n, src, lds, plane, ow, kw, dst, ldd, w, pad) {
		return
	}
	for r := range n {
		d := dst[r*ldd : r*ldd+w]
		for kj := range kw {
			x0, x1 := col2imRowLanes(kj, pad, ow, w)
			if x0 >= x1 {
				continue
			}
			s := src[kj*plane+r*lds+x0-kj+pad : kj*plane+r*lds+x1-kj+pad]
			for i, v := range s {
				d[x0+i] += v
			}
		}
	}
}

const errIm2colRows = "kernels: im2colRows: bad geometry or slice too short"

// checkIm2colRows panics unless an im2colRows call fits its slices; see
// im2colRowsGo for the arguments. It reports whether there is anything to
// do.
func checkIm2colRows(n int, src []float32, lds, kw int, dst []float32, plane, ow, w, pad int) bool {
	if n <= 0 || kw <= 0 || ow <= 0 {
		return false
	}
	if ow > maxWindow || kw > maxRowsKW || w <= 0 || pad < 0 || lds < 0 || plane < 0 ||
		len(src) < (n-1)*lds+w || len(dst) < (kw-1)*plane+n*ow {
		panic(errIm2colRows)
	}
	return true
}

// im2colRowsGo unfolds n output rows of one kernel row for each of kw
// kernel columns: row r of kernel column kj, at dst[kj*plane+r*ow:], gets
// the ow elements of image row r, at src[r*lds:], of width w, from column
// kj-pad on, zero where that falls outside the row.
func im2colRowsGo(n int, src []float32, lds, kw int, dst []float32, plane, ow, w, pad int) {
	if !checkIm2colRows(n, src, lds, kw, dst, plane, ow, w, pad) {
		return
	}
	for kj := range kw {
		off := kj - pad
		x0, x1 := validRange(ow, w, off, 1)
		for r := range n {
			d := dst[kj*plane+r*ow : kj*plane+(r+1)*ow]
			clear(d[:x0])
			if x0 < x1 {
				copy(d[x0:x1], src[r*lds+x0+off:r*lds+x1+off])
			}
			clear(d[x1:])
		}
	}
}
