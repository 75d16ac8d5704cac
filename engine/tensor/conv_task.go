package tensor

import "github.com/troupe-ml/troupe/kernels"

// convTask is one pass of a convolution over a batch, forward or backward,
// split by image into parts that a kernels.CPU runs on its threads. Each
// image is unfolded into columns (im2col) in a buffer of its part that
// stays in cache for the products; the backward pass unfolds the images
// again rather than keep every image's columns, which for a batch run to
// megabytes, written forward and read back from memory backward.
//
// One part accumulates the weight and bias gradients straight into their
// tensors, image after image. Several accumulate into buffers of their
// own, added to the tensors in part order afterwards, so the result
// depends on the thread count but is the same on every run with it.
type convTask struct {
	g                 *Graph
	cpu               *kernels.CPU // nil: serial, through the graph's backend
	backward          bool
	x, w, bias, y     *Tensor
	stride, pad       int
	n, c, h, wd       int
	o, kh, kw, oh, ow int
	k, p              int
	scratch           []float32 // per part: see buffers
}

// runConv runs the forward (y from x, w, bias) or backward pass of a
// convolution: on the CPU backend's threads when it has several, else
// image after image through the graph's backend.
func (g *Graph) runConv(backward bool, x, w, bias, y *Tensor, stride, pad int) {
	t := &g.conv
	*t = convTask{
		g: g, backward: backward, x: x, w: w, bias: bias, y: y, stride: stride, pad: pad,
		n: x.shape[0], c: x.shape[1], h: x.shape[2], wd: x.shape[3],
		o: w.shape[0], kh: w.shape[2], kw: w.shape[3], oh: y.shape[2], ow: y.shape[3],
		scratch: t.scratch,
	}
	t.k, t.p = t.c*t.kh*t.kw, t.oh*t.ow
	parts := 1
	if be, ok := g.be.(CPUBackend); ok && be.K != nil {
		parts = min(be.K.Threads(), t.n)
		if parts > 1 {
			t.cpu = be.K
		}
	}
	t.scratch = grow(t.scratch, parts*t.partLen())
	if parts == 1 {
		t.RunPart(0, 1)
	} else {
		t.cpu.Run(parts, t)
		t.reduce(parts)
	}
	// Drop the references to the tensors, which the arena reuses.
	g.conv = convTask{scratch: t.scratch}
}

// partLen is the scratch space of one part: the columns of an image, their
// gradient, and the part's weight and bias gradients.
func (t *convTask) partLen() int { return 2*t.k*t.p + t.o*t.k + t.o }

// buffers returns part's scratch space.
func (t *convTask) buffers(part int) (col, dcol, dw, db []float32) {
	s := t.scratch[part*t.partLen() : (part+1)*t.partLen()]
	kp := t.k * t.p
	return s[:kp], s[kp : 2*kp], s[2*kp : 2*kp+t.o*t.k], s[2*kp+t.o*t.k:]
}

// gemm computes a product for part, on its thread's buffers when the task
// runs on a CPU's threads.
func (t *convTask) gemm(part int, transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if t.cpu != nil {
		t.cpu.SgemmPart(part, transA, transB, m, n, k, 1, a, lda, b, ldb, beta, c, ldc)
		return
	}
	t.g.be.Gemm(transA, transB, m, n, k, 1, a, lda, b, ldb, beta, c, ldc)
}

func (t *convTask) im2col(i int, col []float32) {
	img := t.x.Data[i*t.c*t.h*t.wd : (i+1)*t.c*t.h*t.wd]
	if t.cpu != nil {
		kernels.Im2col(img, t.c, t.h, t.wd, t.kh, t.kw, t.pad, t.pad, t.stride, t.stride, col)
		return
	}
	t.g.be.Im2col(img, t.c, t.h, t.wd, t.kh, t.kw, t.pad, t.pad, t.stride, t.stride, col)
}

func (t *convTask) col2im(i int, dcol []float32) {
	img := t.x.Grad[i*t.c*t.h*t.wd : (i+1)*t.c*t.h*t.wd]
	if t.cpu != nil {
		kernels.Col2im(dcol, t.c, t.h, t.wd, t.kh, t.kw, t.pad, t.pad, t.stride, t.stride, img)
		return
	}
	t.g.be.Col2im(dcol, t.c, t.h, t.wd, t.kh, t.kw, t.pad, t.pad, t.stride, t.stride, img)
}

// RunPart implements kernels.Task: images [n·part/parts, n·(part+1)/parts),
// at least one since there are no more parts than images.
func (t *convTask) RunPart(part, parts int) {
	lo, hi := t.n*part/parts, t.n*(part+1)/parts
	if t.backward {
		t.backwardImages(part, parts, lo, hi)
	} else {
		t.forwardImages(part, lo, hi)
	}
}

func (t *convTask) forwardImages(part, lo, hi int) {
	o, k, p := t.o, t.k, t.p
	col, _, _, _ := t.buffers(part)
	for i := lo; i < hi; i++ {
		t.im2col(i, col)
		yi := t.y.Data[i*o*p : (i+1)*o*p]
		beta := float32(0)
		if t.bias != nil {
			for j, b := range t.bias.Data {
				fill(yi[j*p:(j+1)*p], b)
			}
			beta = 1
		}
		t.gemm(part, false, false, o, p, k, t.w.Data, k, col, p, beta, yi, p)
	}
}

func (t *convTask) backwardImages(part, parts, lo, hi int) {
	o, k, p := t.o, t.k, t.p
	col, dcol, dw, db := t.buffers(part)
	wGrad, bGrad := t.w.requiresGrad, t.bias != nil && t.bias.requiresGrad
	// One part adds straight into the gradients; several start their own
	// from zero.
	beta := float32(0)
	if parts == 1 {
		beta = 1
		if wGrad {
			dw = t.w.Grad
		}
		if bGrad {
			db = t.bias.Grad
		}
	} else {
		clear(db)
	}
	for i := lo; i < hi; i++ {
		dy := t.y.Grad[i*o*p : (i+1)*o*p]
		if wGrad { // dw += dy · colᵀ
			t.im2col(i, col)
			t.gemm(part, false, true, o, k, p, dy, p, col, p, beta, dw, k)
		}
		if bGrad {
			for j := range db {
				db[j] += kernels.Sum(dy[j*p : (j+1)*p])
			}
		}
		if t.x.requiresGrad { // dx += col2im(wᵀ · dy)
			t.gemm(part, true, false, k, p, o, t.w.Data, k, dy, p, 0, dcol, p)
			t.col2im(i, dcol)
		}
		beta = 1
	}
}

// reduce adds the parts' weight and bias gradients into the tensors, in
// part order.
func (t *convTask) reduce(parts int) {
	if !t.backward {
		return
	}
	for part := range parts {
		_, _, dw, db := t.buffers(part)
		if t.w.requiresGrad {
			kernels.Axpy(1, dw, t.w.Grad)
		}
		if t.bias != nil && t.bias.requiresGrad {
			kernels.Axpy(1, db, t.bias.Grad)
		}
	}
}
