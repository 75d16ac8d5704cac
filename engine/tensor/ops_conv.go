package tensor

import (
	"fmt"

	"github.com/troupe-ml/troupe/kernels"
)

// Conv2D is PyTorch's nn.Conv2d: x [N, C, H, W], w [O, C, KH, KW], bias [O] or
// nil, square stride and zero padding; the result is [N, O, OH, OW].
//
// Each image is unfolded into columns (im2col) and multiplied by the weight
// viewed as [O, C·KH·KW]; the columns are kept for the backward pass.
func (g *Graph) Conv2D(x, w, bias *Tensor, stride, pad int) *Tensor {
	if x.Rank() != 4 || w.Rank() != 4 || x.shape[1] != w.shape[1] {
		panic(fmt.Sprintf("tensor: Conv2D: input %v does not match weight %v", x.shape, w.shape))
	}
	if bias != nil && (bias.Rank() != 1 || bias.shape[0] != w.shape[0]) {
		panic(fmt.Sprintf("tensor: Conv2D: bias %v does not match weight %v", bias.shape, w.shape))
	}
	n, c, h, wd := x.shape[0], x.shape[1], x.shape[2], x.shape[3]
	o, kh, kw := w.shape[0], w.shape[2], w.shape[3]
	oh, ow := kernels.ConvOut(h, kh, pad, stride), kernels.ConvOut(wd, kw, pad, stride)
	if stride < 1 || pad < 0 || oh < 1 || ow < 1 {
		panic(fmt.Sprintf("tensor: Conv2D: kernel %dx%d, stride %d, pad %d do not fit input %v", kh, kw, stride, pad, x.shape))
	}
	grad := g.wants(x, w, bias)
	y := g.alloc(grad, n, o, oh, ow)
	k, p := c*kh*kw, oh*ow
	var cols []float32
	var nd *node
	if grad {
		nd = g.record(opConv2D, y, x, w, bias)
		nd.ia = [8]int{stride, pad}
		nd.aux = grow(nd.aux, n*k*p)
		cols = nd.aux
	} else {
		cols = g.temp(k * p)
	}
	for i := 0; i < n; i++ {
		col := cols[:k*p]
		if grad {
			col = cols[i*k*p : (i+1)*k*p]
		}
		g.be.Im2col(x.Data[i*c*h*wd:(i+1)*c*h*wd], c, h, wd, kh, kw, pad, pad, stride, stride, col)
		yi := y.Data[i*o*p : (i+1)*o*p]
		beta := float32(0)
		if bias != nil {
			for j := 0; j < o; j++ {
				row := yi[j*p : (j+1)*p]
				for q := range row {
					row[q] = bias.Data[j]
				}
			}
			beta = 1
		}
		g.be.Gemm(false, false, o, p, k, 1, w.Data, k, col, p, beta, yi, p)
	}
	return y
}

func (g *Graph) conv2DBackward(nd *node) {
	x, w, bias, y := nd.a, nd.b, nd.c, nd.out
	stride, pad := nd.ia[0], nd.ia[1]
	n, c, h, wd := x.shape[0], x.shape[1], x.shape[2], x.shape[3]
	o, kh, kw := w.shape[0], w.shape[2], w.shape[3]
	oh, ow := y.shape[2], y.shape[3]
	k, p := c*kh*kw, oh*ow
	var dcol []float32
	if x.requiresGrad {
		dcol = g.temp(k * p)
	}
	for i := 0; i < n; i++ {
		dy := y.Grad[i*o*p : (i+1)*o*p]
		col := nd.aux[i*k*p : (i+1)*k*p]
		if w.requiresGrad { // dw += dy · colᵀ
			g.be.Gemm(false, true, o, k, p, 1, dy, p, col, p, 1, w.Grad, k)
		}
		if bias != nil && bias.requiresGrad {
			for j := 0; j < o; j++ {
				var s float32
				for _, v := range dy[j*p : (j+1)*p] {
					s += v
				}
				bias.Grad[j] += s
			}
		}
		if x.requiresGrad { // dx += col2im(wᵀ · dy)
			g.be.Gemm(true, false, k, p, o, 1, w.Data, k, dy, p, 0, dcol, p)
			g.be.Col2im(dcol, c, h, wd, kh, kw, pad, pad, stride, stride, x.Grad[i*c*h*wd:(i+1)*c*h*wd])
		}
	}
}

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
	o := 0
	for plane := 0; plane < n*c; plane++ {
		base := plane * h * w
		for i := 0; i < oh; i++ {
			for j := 0; j < ow; j++ {
				best := base + i*stride*w + j*stride
				bv := x.Data[best]
				for di := 0; di < size; di++ {
					row := base + (i*stride+di)*w + j*stride
					for dj := 0; dj < size; dj++ {
						if v := x.Data[row+dj]; v > bv {
							bv, best = v, row+dj
						}
					}
				}
				y.Data[o] = bv
				if arg != nil {
					arg[o] = int32(best)
				}
				o++
			}
		}
	}
	return y
}

func maxPool2DBackward(nd *node) {
	if !nd.a.requiresGrad {
		return
	}
	for i, d := range nd.out.Grad {
		nd.a.Grad[nd.idx[i]] += d
	}
}
