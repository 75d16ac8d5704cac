package tensor

import (
	"fmt"

	"github.com/troupe-ml/troupe/kernels"
)

// MaxPool2D takes the maximum over size×size windows moved by stride, without
// padding: x [N, C, H, W] → [N, C, OH, OW].
func (g *Graph) MaxPool2D(x *Tensor, size, stride int) *Tensor {
	if x.Rank() != 4 {
		panic(fmt.Sprintf("tensor: MaxPool2D: input %v is not [N, C, H, W]", x.shape))
	}
	n, c, h, w := x.shape[0], x.shape[1], x.shape[2], x.shape[3]
	oh, ow := kernels.ConvOut(h, size, 0, stride), kernels.ConvOut(w, size, 0, stride)
	if size < 1 || stride < 1 || oh < 1 || ow < 1 {
		panic(fmt.Sprintf("tensor: MaxPool2D: window %d, stride %d do not fit input %v", size, stride, x.shape))
	}
	grad := g.wants(x)
	y := g.alloc(grad, n, c, oh, ow)
	var arg []int32
	if grad {
		nd := g.record(opMaxPool2D, y, x, nil, nil)
		nd.idx = growInt32(nd.idx, y.Len())
		arg = nd.idx
	}
	kernels.MaxPool(x.Data, n*c, h, w, size, stride, y.Data, arg)
	return y
}

func (g *Graph) maxPool2DBackward(nd *node) {
	if !nd.a.requiresGrad {
		return
	}
	// Scattered, and overlapping windows add up: start from zero. The
	// windows of an image lie in it, so the live images of the output
	// (see live_rows.go) write those of the input only.
	r := live(nd.out)
	_, per := leadRows(nd.out)
	g.readyRows(nd.a, r)
	d := nd.out.Grad[:r*per]
	gx, idx := nd.a.Grad, nd.idx[:len(d)]
	for i, v := range d {
		gx[idx[i]] += v
	}
}
