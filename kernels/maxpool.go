package kernels

import "math"

const (
	errMaxPoolGeom = "kernels: MaxPool: negative size, or non-positive window or stride"
	errMaxPoolX    = "kernels: MaxPool: len(x) too small"
	errMaxPoolY    = "kernels: MaxPool: len(y) or len(arg) too small"
)

// MaxPool takes the maximum over size×size windows moved by stride,
// without padding, in each of planes planes of h×w elements of x, writing
// planes planes of oh×ow to y, with oh and ow given by ConvOut. Each
// window keeps its first maximum in row-major order: a later element
// replaces it only if greater, so a NaN wins only as a window's first
// element. arg, unless nil, receives the index in x of each maximum, for
// the gradient.
func MaxPool(x []float32, planes, h, w, size, stride int, y []float32, arg []int32) {
	maxPool(streamsOf(ImplAuto.Resolve()), x, planes, h, w, size, stride, y, arg)
}

func maxPool(k streams, x []float32, planes, h, w, size, stride int, y []float32, arg []int32) {
	if planes < 0 || h < 0 || w < 0 || size <= 0 || stride <= 0 {
		panic(errMaxPoolGeom)
	}
	oh, ow := ConvOut(h, size, 0, stride), ConvOut(w, size, 0, stride)
	if len(x) < planes*h*w {
		panic(errMaxPoolX)
	}
	n := planes * oh * ow
	if len(y) < n || (arg != nil && len(arg) < n) {
		panic(errMaxPoolY)
	}
	if n == 0 {
		return
	}
	if size == 2 && stride == 2 {
		for plane := range planes {
			x0, o := plane*h*w, plane*oh*ow
			var a []int32
			if arg != nil {
				a = arg[o : o+oh*ow]
			}
			k.maxPool2x2(oh, x[x0:x0+(2*oh-1)*w+2*ow], w, x0, y[o:o+oh*ow], a)
		}
		return
	}
	o := 0
	for plane := range planes {
		base := plane * h * w
		for i := range oh {
			for j := range ow {
				best := base + i*stride*w + j*stride
				bv := x[best]
				for di := range size {
					row := base + (i*stride+di)*w + j*stride
					for dj, v := range x[row : row+size] {
						if v > bv {
							bv, best = v, row+dj
						}
					}
				}
				y[o] = bv
				if arg != nil {
					arg[o] = int32(best)
				}
				o++
			}
		}
	}
}

// maxPool2x2Go computes rows output rows of 2×2 pooling with stride 2
// from the planes' rows of w elements in x, output row r from input rows
// 2r and 2r+1: y holds the outputs, len(y)/rows to a row, arg (which may be
// nil) their indices, base being the index of x[0] in the whole input.
// Selecting on the bits lets the compiler use conditional moves rather
// than branches, which the comparisons of activations would mispredict
// about once per window.
func maxPool2x2Go(rows int, x []float32, w, base int, y []float32, arg []int32) {
	if rows <= 0 || len(y) == 0 {
		return
	}
	n := len(y) / rows
	for r := range rows {
		t0 := 2 * r * w
		top, bot := x[t0:t0+2*n], x[t0+w:t0+w+2*n]
		out := y[r*n : (r+1)*n]
		for j := range out {
			bv, bi := pickGreater(top[2*j], t0+2*j, top[2*j+1], t0+2*j+1)
			bv, bi = pickGreater(bv, bi, bot[2*j], t0+w+2*j)
			bv, bi = pickGreater(bv, bi, bot[2*j+1], t0+w+2*j+1)
			out[j] = bv
			if arg != nil {
				arg[r*n+j] = int32(base + bi)
			}
		}
	}
}

// pickGreater returns (b, ib) if b > a and (a, ia) otherwise.
func pickGreater(a float32, ia int, b float32, ib int) (float32, int) {
	ba, bb := math.Float32bits(a), math.Float32bits(b)
	gt := b > a
	if gt {
		ba = bb
	}
	if gt {
		ia = ib
	}
	return math.Float32frombits(ba), ia
}
