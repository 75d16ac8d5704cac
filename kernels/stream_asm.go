//go:build amd64 && !noasm

package kernels

// streamsOf returns impl's loops; impl must be available.
func streamsOf(impl Impl) streams {
	switch impl {
	case ImplAVX512:
		return streams{
			sgdPlain:     sgdPlainAVX512Slices,
			sgdMomentum:  sgdMomentumAVX512Slices,
			sgdNesterov:  sgdNesterovAVX512Slices,
			sum:          sumAVX512Slice,
			relu:         reluAVX512Slices,
			reluBackward: reluBackwardAVX512Slices,
			windowCopy:   windowCopyAVX512Slices,
			windowAdd:    windowAddAVX512Slices,
			im2colRows:   im2colRowsAVX512Slices,
			col2imRows:   col2imRowsAVX512Slices,
			maxPool2x2:   maxPool2x2AVX512Slices,
		}
	case ImplAVX2:
		return streams{
			sgdPlain:     sgdPlainAVX2Slices,
			sgdMomentum:  sgdMomentumAVX2Slices,
			sgdNesterov:  sgdNesterovAVX2Slices,
			sum:          sumAVX2Slice,
			relu:         reluAVX2Slices,
			reluBackward: reluBackwardAVX2Slices,
			// AVX2 has no mask registers to hold a mask per kernel
			// column, so Im2col and Col2im go a kernel column at a
			// time.
			windowCopy: windowCopyAVX2Slices,
			windowAdd:  windowAddAVX2Slices,
			// Without AVX-512's masks and two-table permutes the Go
			// loop's conditional moves serve.
			maxPool2x2: maxPool2x2Go,
		}
	}
	return genericStreams()
}
