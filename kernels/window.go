package kernels

// maxWindow is the widest row the window loops handle; wider rows are
// long enough for copy and Axpy, whose per-call cost they amortise.
const maxWindow = 32

const errWindow = "kernels: window: bad geometry or slice too short"

// checkWindow panics unless n rows of a window, each of total elements of
// dst at stride ldd made of lead zeros, w elements of src at stride lds and
// zeros, fit their slices. It reports whether there is anything to do.
func checkWindow(n int, src []float32, lds int, dst []float32, ldd, lead, w, total int) bool {
	if n <= 0 || total == 0 {
		return false
	}
	if lead < 0 || w < 0 || lead+w > total || total > maxWindow || lds < 0 || ldd < 0 ||
		(w > 0 && len(src) < (n-1)*lds+w) || len(dst) < (n-1)*ldd+total {
		panic(errWindow)
	}
	return true
}

// windowCopyGo is the portable windowCopy: row i of dst, at stride ldd,
// becomes lead zeros, w elements of row i of src, at stride lds, and zeros
// up to total.
func windowCopyGo(n int, src []float32, lds int, dst []float32, ldd, lead, w, total int) {
	if !checkWindow(n, src, lds, dst, ldd, lead, w, total) {
		return
	}
	for i := range n {
		d := dst[i*ldd : i*ldd+total]
		clear(d[:lead])
		if w > 0 {
			copy(d[lead:lead+w], src[i*lds:i*lds+w])
		}
		clear(d[lead+w:])
	}
}

// windowAddGo is the portable windowAdd: row i of dst, at stride ldd, gets
// w elements of row i of src, at stride lds, added.
func windowAddGo(n int, src []float32, lds int, dst []float32, ldd, w int) {
	if !checkWindow(n, src, lds, dst, ldd, 0, w, w) {
		return
	}
	for i := range n {
		d := dst[i*ldd : i*ldd+w]
		for j, v := range src[i*lds : i*lds+w] {
			d[j] += v
		}
	}
}

// windowMasks returns the lanes windowCopy loads and stores, one bit per
// element of a row.
func windowMasks(lead, w, total int) (load, store uint32) {
	return uint32((uint64(1)<<(lead+w) - 1) &^ (uint64(1)<<lead - 1)), uint32(uint64(1)<<total - 1)
}
