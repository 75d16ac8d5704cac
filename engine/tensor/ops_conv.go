package tensor

import (
	"fmt"

	"github.com/troupe-ml/troupe/kernels"
)

// Conv2D is PyTorch's nn.Conv2d: x [N, C, H, W], w [O, C, KH, KW], bias [O] or
// nil, square stride and zero padding; the result is [N, O, OH, OW].
//
// On a CPU backend a stride-1 convolution with enough channels (see
// convTask.channelsLast) is computed channels-last, reading the patches of
// each image in place; any other unfolds each image into columns (im2col)
// and multiplies them by the weight viewed as [O, C·KH·KW]. With a CPU backend
// of several threads the images are split between them (see convTask).
func (g *Graph) Conv2D(x, w, bias *Tensor, stride, pad int) *Tensor {
	if x.Rank() != 4 || w.Rank() != 4 || x.shape[1] != w.shape[1] {
		panic(fmt.Sprintf("tensor: Conv2D: input %v does not match weight %v", x.shape, w.shape))
	}
	if bias != nil && (bias.Rank() != 1 || bias.shape[0] != w.shape[0]) {
		panic(fmt.Sprintf("tensor: Conv2D: bias %v does not match weight %v", bias.shape, w.shape))
	}
	n, h, wd := x.shape[0], x.shape[2], x.shape[3]
	o, kh, kw := w.shape[0], w.shape[2], w.shape[3]
	oh, ow := kernels.ConvOut(h, kh, pad, stride), kernels.ConvOut(wd, kw, pad, stride)
	if stride < 1 || pad < 0 || oh < 1 || ow < 1 {
		panic(fmt.Sprintf("tensor: Conv2D: kernel %dx%d, stride %d, pad %d do not fit input %v", kh, kw, stride, pad, x.shape))
	}
	grad := g.wants(x, w, bias)
	y := g.alloc(grad, n, o, oh, ow)
	if grad {
		nd := g.record(opConv2D, y, x, w, bias)
		nd.ia = [8]int{stride, pad}
	}
	g.runConv(false, convSet{}, n, x, w, bias, y, stride, pad)
	return y
}

// fill sets every element of s to v by doubling copies, which run as wide
// moves, where a plain loop stores one element at a time.
func fill(s []float32, v float32) {
	if len(s) == 0 {
		return
	}
	s[0] = v
	for done := 1; done < len(s); done *= 2 {
		copy(s[done:], s[:done])
	}
}

func (g *Graph) conv2DBackward(nd *node) {
	x, w, bias := nd.a, nd.b, nd.c
	// Only the live images (see live_rows.go): the others' gradients
	// are zero and add nothing.
	n := live(nd.out)
	if n == 0 {
		// No image, no contribution, and no part to compute one.
		if x.requiresGrad {
			g.firstRows(x, 0)
		}
		if w.requiresGrad {
			g.ready(w)
		}
		if bias != nil && bias.requiresGrad {
			g.ready(bias)
		}
		return
	}
	var set convSet
	set.x = x.requiresGrad && g.firstRows(x, n)
	set.w = w.requiresGrad && g.first(w)
	set.bias = bias != nil && bias.requiresGrad && g.first(bias)
	g.runConv(true, set, n, x, w, bias, nd.out, nd.ia[0], nd.ia[1])
}

// convSet says which gradients a backward pass of a convolution
// overwrites rather than adds to (see Graph.first).
type convSet struct {
	x, w, bias bool
}
