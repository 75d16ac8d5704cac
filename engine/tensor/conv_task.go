package tensor

import "github.com/troupe-ml/troupe/kernels"

// convTask is one pass of a convolution over a batch, forward or backward,
// split by image into parts that a kernels.CPU runs on its threads.
//
// On a CPU backend a stride-1 convolution with enough channels runs
// channels-last (conv_nhwc.go). Any other unfolds each image into columns
// (im2col) in a buffer of its part that stays in cache for the products;
// the backward pass unfolds the images again rather than keep every
// image's columns, which for a batch run to megabytes, written forward and
// read back from memory backward.
//
// Each part accumulates the weight and bias gradients of its images in
// buffers of its own, added to the tensors in part order afterwards, so
// the result depends on the thread count but is the same on every run
// with it.
type convTask struct {
	g                 *Graph
	cpu               *kernels.CPU // nil: serial, through the graph's backend
	backward          bool
	set               convSet
	x, w, bias, y     *Tensor
	stride, pad       int
	n, c, h, wd       int
	o, kh, kw, oh, ow int
	k, p              int
	scratch           []float32 // per part: see buffers
	// cl selects the channels-last formulation (see conv_nhwc.go), for
	// which wr holds the weights rearranged, and tw the transposes on the
	// way.
	cl     bool
	wr, tw []float32
}

// runConv runs the forward (y from x, w, bias) or backward pass of a
// convolution over the first n images of x and y: on the CPU backend's threads when it has several, else
// image after image on the calling goroutine, the NCHW formulation's
// products through the graph's backend.
func (g *Graph) runConv(backward bool, set convSet, n int, x, w, bias, y *Tensor, stride, pad int) {
	t := &g.conv
	*t = convTask{
		g: g, backward: backward, set: set, x: x, w: w, bias: bias, y: y, stride: stride, pad: pad,
		n: n, c: x.shape[1], h: x.shape[2], wd: x.shape[3],
		o: w.shape[0], kh: w.shape[2], kw: w.shape[3], oh: y.shape[2], ow: y.shape[3],
		scratch: t.scratch, wr: t.wr, tw: t.tw,
	}
	t.k, t.p = t.c*t.kh*t.kw, t.oh*t.ow
	parts := 1
	be, isCPU := g.be.(CPUBackend)
	if isCPU && be.K != nil {
		// At least one part, which for a batch without images does nothing.
		parts = max(1, min(be.K.Threads(), t.n))
		if parts > 1 {
			t.cpu = be.K
		}
	}
	t.cl = isCPU && t.channelsLast()
	switch {
	case t.cl:
		t.prepareCL()
	case !backward && bias != nil:
		t.prepareBias()
	}
	t.scratch = grow(t.scratch, parts*t.partLen())
	if parts > 1 {
		t.cpu.Run(parts, t)
	} else {
		t.RunPart(0, 1)
	}
	t.reduce(parts)
	// Drop the references to the tensors, which the arena reuses.
	g.conv = convTask{scratch: t.scratch, wr: t.wr, tw: t.tw}
}

// partLen is the scratch space of one part: the columns of an image with
// a row of ones, their gradient, and the part's weight gradient, [o, k] or
// transposed (see dwTransposed), and bias gradient.
func (t *convTask) partLen() int {
	if t.cl {
		return t.clPartLen()
	}
	return (2*t.k+1)*t.p + t.o*t.k + t.o
}

// buffers returns part's scratch space; col has k+1 rows.
func (t *convTask) buffers(part int) (col, dcol, dwt, db []float32) {
	s := t.scratch[part*t.partLen() : (part+1)*t.partLen()]
	kp := t.k * t.p
	s, col = s[kp+t.p:], s[:kp+t.p]
	return col, s[:kp], s[kp : kp+t.o*t.k], s[kp+t.o*t.k:]
}

// prepareBias puts the bias beside the weights, in t.wr [o, k+1], for the
// forward pass of the NCHW formulation: with a row of ones under the
// columns, the product adds it.
func (t *convTask) prepareBias() {
	k := t.k
	t.wr = grow(t.wr, t.o*(k+1))
	for j, b := range t.bias.Data {
		copy(t.wr[j*(k+1):j*(k+1)+k], t.w.Data[j*k:])
		t.wr[j*(k+1)+k] = b
	}
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
	switch {
	case t.cl && t.backward:
		t.backwardCL(part, lo, hi)
		return
	case t.cl:
		t.forwardCL(part, lo, hi)
		return
	}
	if t.backward {
		t.backwardImages(part, lo, hi)
	} else {
		t.forwardImages(part, lo, hi)
	}
}

func (t *convTask) forwardImages(part, lo, hi int) {
	o, k, p := t.o, t.k, t.p
	col, _, _, _ := t.buffers(part)
	w, kb := t.w.Data, k
	if t.bias != nil {
		// im2col writes the first k rows only.
		fill(col[k*p:], 1)
		w, kb = t.wr, k+1
	}
	for i := lo; i < hi; i++ {
		t.im2col(i, col)
		t.gemm(part, false, false, o, p, kb, w, kb, col, p, 0, t.y.Data[i*o*p:(i+1)*o*p], p)
	}
}

func (t *convTask) backwardImages(part, lo, hi int) {
	o, k, p := t.o, t.k, t.p
	col, dcol, dwt, db := t.buffers(part)
	wGrad, bGrad := t.w.requiresGrad, t.bias != nil && t.bias.requiresGrad
	clear(db)
	beta := float32(0)
	for i := lo; i < hi; i++ {
		dy := t.y.Grad[i*o*p : (i+1)*o*p]
		if wGrad {
			t.im2col(i, col)
			if t.dwTransposed() {
				t.gemm(part, false, true, k, o, p, col, p, dy, p, beta, dwt, o)
			} else {
				t.gemm(part, false, true, o, k, p, dy, p, col, p, beta, dwt, k)
			}
		}
		if bGrad {
			for j := range db {
				db[j] += kernels.Sum(dy[j*p : (j+1)*p])
			}
		}
		if t.x.requiresGrad { // dx += col2im(wᵀ · dy)
			t.gemm(part, true, false, k, p, o, t.w.Data, k, dy, p, 0, dcol, p)
			if t.set.x {
				// col2im only adds.
				clear(t.x.Grad[i*t.c*t.h*t.wd : (i+1)*t.c*t.h*t.wd])
			}
			t.col2im(i, dcol)
		}
		beta = 1
	}
}

// reduce adds the parts' weight and bias gradients, in part order, and
// the sums into the tensors.
func (t *convTask) reduce(parts int) {
	if !t.backward {
		return
	}
	if t.cl {
		t.reduceCL(parts)
		return
	}
	_, _, dwt, db := t.buffers(0)
	for part := 1; part < parts; part++ {
		_, _, dwp, dbp := t.buffers(part)
		if t.w.requiresGrad {
			kernels.Axpy(1, dwp, dwt)
		}
		kernels.Axpy(1, dbp, db)
	}
	if t.bias != nil && t.bias.requiresGrad {
		setOrAddAll(t.bias.Grad, db, t.set.bias)
	}
	switch {
	case !t.w.requiresGrad:
	case t.dwTransposed() && t.set.w:
		transposeBlocked(t.k, t.o, dwt, t.o, t.w.Grad, t.k)
	case t.dwTransposed():
		t.tw = grow(t.tw, t.o*t.k)
		transposeBlocked(t.k, t.o, dwt, t.o, t.tw, t.k)
		kernels.Axpy(1, t.tw, t.w.Grad)
	default:
		setOrAddAll(t.w.Grad, dwt, t.set.w)
	}
}

// setOrAddAll copies src to dst, or adds it there. Adding to zeros would
// give the same values, but read dst.
func setOrAddAll(dst, src []float32, set bool) {
	if set {
		copy(dst, src)
		return
	}
	kernels.Axpy(1, src, dst)
}

// dwTransposed reports whether the weight gradient is computed transposed,
// dwᵀ = col · dyᵀ, rather than dw = dy · colᵀ. Either way the product
// packs the transposed operand in rows of whole vectors, padding the few
// columns of the first layers' colᵀ (k = 9 or 25) with zeros: the channels
// of dy, at least a vector of them, pack with less padding, and the k rows
// of the columns then go along the micro-kernel's rows.
func (t *convTask) dwTransposed() bool { return t.o >= 16 }
