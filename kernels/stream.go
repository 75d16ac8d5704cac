package kernels

// streams is one implementation of the loops outside Sgemm. The
// elementwise ones, SGD's updates, Sum and the rectifier, take slices of equal
// length, checked by the exported function that calls them, and treat
// every element alike, so an element's result does not depend on where
// the slices start or end. The windows are the short strided row copies
// of Im2col and Col2im; see window.go.
type streams struct {
	sgdPlain     func(p, g []float32, negLR, wd float32)
	sgdMomentum  func(p, g, buf []float32, negLR, wd, bufScale, gradScale float32)
	sgdNesterov  func(p, g, buf []float32, negLR, wd, bufScale, gradScale, momentum float32)
	sum          func(x []float32) float32
	relu         func(x, y []float32)
	reluBackward func(x, dy, dx []float32)
	windowCopy   func(n int, src []float32, lds int, dst []float32, ldd, lead, w, total int)
	windowAdd    func(n int, src []float32, lds int, dst []float32, ldd, w int)
	// im2colRows, when not nil, unfolds a whole kernel row at a time for
	// Im2col; see im2colRowsGo.
	im2colRows func(n int, src []float32, lds, kw int, dst []float32, plane, ow, w, pad int)
	// col2imRows, when not nil, adds a whole kernel row at a time for
	// Col2im; see col2imRowsGo.
	col2imRows func(n int, src []float32, lds, plane, ow, kw int, dst []float32, ldd, w, pad int)
	// maxPool2x2 is MaxPool's 2×2, stride 2 case over one plane; see
	// maxPool2x2Go.
	maxPool2x2 func(rows int, x []float32, w, base int, y []float32, arg []int32)
}

// genericStreams is the portable implementation.
func genericStreams() streams {
	return streams{
		sgdPlain:     sgdPlainGo,
		sgdMomentum:  sgdMomentumGo,
		sgdNesterov:  sgdNesterovGo,
		sum:          sumGo,
		relu:         reluGo,
		reluBackward: reluBackwardGo,
		windowCopy:   windowCopyGo,
		windowAdd:    windowAddGo,
		im2colRows:   im2colRowsGo,
		col2imRows:   col2imRowsGo,
		maxPool2x2:   maxPool2x2Go,
	}
}

// sumGo is goBackend's sum as a plain function: a method value would be a
// closure, allocated on every call of genericStreams.
func sumGo(x []float32) float32 { return goBackend{}.sum(x) }
