//go:build amd64 && !noasm

package kernels

// The wrappers check the bounds the assembly trusts. Without elements to
// load the source is never read, and dst stands in for it.

func windowCopyAVX512Slices(n int, src []float32, lds int, dst []float32, ldd, lead, w, total int) {
	if checkWindow(n, src, lds, dst, ldd, lead, w, total) {
		load, store := windowMasks(lead, w, total)
		windowCopyAVX512(n, windowSrc(src, w, dst), lds, &dst[0], ldd, lead, load, store)
	}
}

func windowCopyAVX2Slices(n int, src []float32, lds int, dst []float32, ldd, lead, w, total int) {
	if checkWindow(n, src, lds, dst, ldd, lead, w, total) {
		load, store := windowMasks(lead, w, total)
		windowCopyAVX2(n, windowSrc(src, w, dst), lds, &dst[0], ldd, lead, load, store)
	}
}

func windowAddAVX512Slices(n int, src []float32, lds int, dst []float32, ldd, w int) {
	if w > 0 && checkWindow(n, src, lds, dst, ldd, 0, w, w) {
		_, mask := windowMasks(0, w, w)
		windowAddAVX512(n, &src[0], lds, &dst[0], ldd, mask)
	}
}

func windowAddAVX2Slices(n int, src []float32, lds int, dst []float32, ldd, w int) {
	if w > 0 && checkWindow(n, src, lds, dst, ldd, 0, w, w) {
		_, mask := windowMasks(0, w, w)
		windowAddAVX2(n, &src[0], lds, &dst[0], ldd, mask)
	}
}

func windowSrc(src []float32, w int, dst []float32) *float32 {
	if w > 0 {
		return &src[0]
	}
	return &dst[0]
}

// col2imRowsAVX512Slices is col2imRowsAVX512 with its bounds checked; see
// col2imRowsGo for the arguments.
func col2imRowsAVX512Slices(n int, src []float32, lds, plane, ow, kw int, dst []float32, ldd, w, pad int) {
	if !checkCol2imRows(n, src, lds, plane, ow, kw, dst, ldd, w, pad) {
		return
	}
	var masks [maxRowsKW]uint32
	for kj := range kw {
		x0, x1 := col2imRowLanes(kj, pad, ow, w)
		if x0 < x1 {
			masks[kj] = uint32((uint64(1)<<x1 - 1) &^ (uint64(1)<<x0 - 1))
		}
	}
	_, dmask := windowMasks(0, w, w)
	col2imRowsAVX512(n, &src[0], lds, plane, kw, &dst[0], ldd, &masks[0], pad, dmask)
}

// im2colRowsAVX512Slices is im2colRowsAVX512 with its bounds checked; see
// im2colRowsGo for the arguments.
func im2colRowsAVX512Slices(n int, src []float32, lds, kw int, dst []float32, plane, ow, w, pad int) {
	if !checkIm2colRows(n, src, lds, kw, dst, plane, ow, w, pad) {
		return
	}
	var masks [maxRowsKW]uint32
	for kj := range kw {
		x0, x1 := validRange(ow, w, kj-pad, 1)
		if x0 < x1 {
			masks[kj] = uint32((uint64(1)<<x1 - 1) &^ (uint64(1)<<x0 - 1))
		}
	}
	_, dmask := windowMasks(0, ow, ow)
	im2colRowsAVX512(n, &src[0], lds, kw, &dst[0], plane, ow, &masks[0], pad, dmask)
}
