package tensor

import "github.com/troupe-ml/troupe/kernels"

// The channels-last formulation of a stride-1 convolution turns each of its
// three products into a few whose rows are output positions and whose
// columns are channels, read straight from a padded channels-last copy of
// the image: under kernel row ki the kw·c inputs of output position
// q = y·wp+x, in a row of padded width wp, are the kw·c consecutive
// elements from (q+ki·wp)·c on, so the patches of all positions form a
// matrix of row stride c that kernels.SgemmOverlap reads in place, with no
// unfolding (im2col) and no packing. Positions x in [ow, wp) fall on the
// padding between rows: they are computed and dropped, pad/wp of the work
// (3.4% at 28×28, 6.7% at 14×14), less than unfolding would cost.
//
// Per image (NCHW) im2col gives products of O rows, too few to fill the
// micro-kernel's tiles, over a whole image's columns, megabytes to unfold
// and pack; here a block of rows, with the weights, stays in cache across
// the kernel rows, and the channels fill the 32 columns of a tile. The
// images are transposed to channels-last and back on the way in and out,
// a pass over the activations, small next to the products.
//
//   - forward: Y[q, o] = Σ_ki X_ki[q, (kj,c)] · Wr_ki[(kj,c), o], plus the
//     bias;
//   - weight gradient: dWr_ki[(kj,c), o] += X_kiᵀ · dY, over the part's
//     images, with dY zero at the dropped positions;
//   - input gradient: the correlation of dY, padded by k-1-pad, with the
//     kernel flipped and its channels swapped:
//     dX[q, c] = Σ_ki dY_ki[q, (kj,o)] · Wf_ki[(kj,o), c].
//
// The split between threads is by image, as in the NCHW formulation, so
// results depend on the thread count but not on the scheduling.

// minChannelsLast is the fewest output channels for which the
// channels-last formulation pays: it spreads them over the 32 columns of
// the micro-kernel's tile, where NCHW puts them in its 12 rows.
const minChannelsLast = 24

// minRowLen is the shortest kernel row, kw·c elements, for which it pays:
// each product is as deep as a kernel row, and shallower ones spend more
// time loading and storing C than multiplying.
const minRowLen = 16

// blockLen is the most output positions computed at a time, which keeps
// a block of the result and the inputs under it in cache across the
// products of the kernel rows.
const blockLen = 128

// channelsLast reports whether the pass runs channels-last: stride 1, so
// that the patches of neighbouring positions overlap and the input
// gradient is a correlation, a padding the correlation can mirror, and
// enough output channels and kernel row length.
func (t *convTask) channelsLast() bool {
	return t.stride == 1 && t.pad <= t.kh-1 && t.pad <= t.kw-1 &&
		t.o >= minChannelsLast && t.kw*t.c >= minRowLen
}

// clGeom is the channels-last layout of a pass: the input padded by pad,
// dY padded by kh-1-pad and kw-1-pad, both in rows of the same width wp
// (see padded). Position q = y·wp+x of the output, or of the input
// gradient, reads its patch under kernel row ki from pixel q+ki·wp of the
// padded image on, for x < ow (x < w); nq and ndq count the positions up
// to the last valid one, and rows and drows output rows make a block.
type clGeom struct {
	x, dy       padded
	xLen, dyLen int // buffer lengths, with slack
	nq, ndq     int
	rows, drows int
}

func (t *convTask) clGeom() clGeom {
	var g clGeom
	wp := t.wd + t.pad
	dpadH, dpadW := t.kh-1-t.pad, t.kw-1-t.pad
	g.x = padded{w: t.wd, top: t.pad, lead: t.pad, wp: wp}
	g.dy = padded{w: t.ow, top: dpadH, lead: dpadW, wp: wp}
	// The micro-kernel reads whole groups of rows; the slack past the
	// bottom rows lets it read the last group in place.
	slack := t.kw + 8
	g.xLen = (t.pad + (t.h+2*t.pad)*wp + slack) * t.c
	g.dyLen = (dpadW + (t.oh+2*dpadH)*wp + slack) * t.o
	g.nq = (t.oh-1)*wp + t.ow
	g.ndq = (t.h-1)*wp + t.wd
	g.rows, g.drows = max(1, blockLen/wp), max(1, blockLen/wp)
	return g
}

// prepareCL rearranges the weights for the pass into t.wr: Wr forward,
// [(ki,kj,c), o], and Wf backward when the input needs a gradient,
// [(ki,kj,o), c], flipped. Both go through W transposed to
// [(ki,kj), (o,c)] in t.tw, by vector transposes and block copies, where
// a loop over the elements would scatter its writes.
func (t *convTask) prepareCL() {
	o, c, kk := t.o, t.c, t.kh*t.kw
	if t.backward && !t.x.requiresGrad {
		return
	}
	t.tw = grow(t.tw, kk*o*c)
	transposeBlocked(o*c, kk, t.w.Data, kk, t.tw, o*c)
	t.wr = grow(t.wr, kk*o*c)
	for k := range kk {
		if t.backward {
			copy(t.wr[k*o*c:(k+1)*o*c], t.tw[(kk-1-k)*o*c:])
			continue
		}
		transposeBlocked(o, c, t.tw[k*o*c:], c, t.wr[k*c*o:], o)
	}
}

// clBuffers is a part's scratch space in the channels-last formulation.
type clBuffers struct {
	xp  []float32 // the input, padded
	yt  []float32 // forward: a block of Y, [rows·wp, o]
	ytt []float32 // and transposed, [o, rows·wp]
	one []float32 // a single 1, which puts the bias in Y
	dyp []float32 // backward: dY, padded
	dxt []float32 // a block of dX, [drows·wp, c]
	dx  []float32 // dX of the image, [c, h·w]
	dw  []float32 // the part's weight gradient, [(ki,kj,c), o]
	db  []float32 // and its bias gradient
}

// clSizes returns the lengths of the fields of clBuffers, in order.
func (t *convTask) clSizes() [9]int {
	g := t.clGeom()
	var s [9]int
	if !t.backward {
		s[0], s[1], s[2], s[8] = g.xLen, g.rows*g.x.wp*t.o, g.rows*g.x.wp*t.o, 1
		return s
	}
	if t.w.requiresGrad {
		s[0] = g.xLen
	}
	s[3] = g.dyLen
	if t.x.requiresGrad {
		s[4], s[5] = g.drows*g.x.wp*t.c, t.c*t.h*t.wd
	}
	s[6], s[7] = t.k*t.o, t.o
	return s
}

func (t *convTask) clPartLen() int {
	n := 0
	for _, l := range t.clSizes() {
		n += l
	}
	return n
}

func (t *convTask) clBuffers(part int) clBuffers {
	s := t.scratch[part*t.partLen():]
	var f [9][]float32
	for i, l := range t.clSizes() {
		f[i], s = s[:l:l], s[l:]
	}
	return clBuffers{xp: f[0], yt: f[1], ytt: f[2], dyp: f[3], dxt: f[4], dx: f[5], dw: f[6], db: f[7], one: f[8]}
}

func (t *convTask) forwardCL(part, lo, hi int) {
	g := t.clGeom()
	c, o, p, hw, wp := t.c, t.o, t.p, t.h*t.wd, g.x.wp
	seg := t.kw * c
	b := t.clBuffers(part)
	b.one[0] = 1
	for i := lo; i < hi; i++ {
		padNHWC(t.x.Data[i*c*hw:(i+1)*c*hw], c, t.h, g.x, b.xp)
		yi := t.y.Data[i*o*p : (i+1)*o*p]
		for y0 := 0; y0 < t.oh; y0 += g.rows {
			y1 := min(t.oh, y0+g.rows)
			q0, n := y0*wp, (y1-1-y0)*wp+t.ow
			beta := float32(0)
			if t.bias != nil {
				// A product one deep, with every row of its first
				// operand the same one, puts the bias in every row.
				kernels.SgemmOverlap(false, n, o, 1, b.one, 0, t.bias.Data, o, 0, b.yt, o)
				beta = 1
			}
			for ki := range t.kh {
				kernels.SgemmOverlap(false, n, o, seg, b.xp[(q0+ki*wp)*c:], c, t.wr[ki*seg*o:], o, beta, b.yt, o)
				beta = 1
			}
			// Transposed whole, into rows of the block's positions, the
			// channels' rows of the output are copied out in runs of ow.
			transposeBlocked(n, o, b.yt, o, b.ytt, n)
			for j := range o {
				for y := y0; y < y1; y++ {
					copy(yi[j*p+y*t.ow:j*p+(y+1)*t.ow], b.ytt[j*n+(y-y0)*wp:])
				}
			}
		}
	}
}

func (t *convTask) backwardCL(part, lo, hi int) {
	g := t.clGeom()
	c, o, p, hw := t.c, t.o, t.p, t.h*t.wd
	b := t.clBuffers(part)
	clear(b.dw)
	clear(b.db)
	bGrad := t.bias != nil && t.bias.requiresGrad
	for i := lo; i < hi; i++ {
		dy := t.y.Grad[i*o*p : (i+1)*o*p]
		if bGrad {
			for j := range b.db {
				b.db[j] += kernels.Sum(dy[j*p : (j+1)*p])
			}
		}
		if !t.w.requiresGrad && !t.x.requiresGrad {
			continue
		}
		padNHWC(dy, o, t.oh, g.dy, b.dyp)
		if t.w.requiresGrad {
			padNHWC(t.x.Data[i*c*hw:(i+1)*c*hw], c, t.h, g.x, b.xp)
			// dY at position q of the output, in rows of wp, and zero
			// past ow in each row, where the padding lies.
			dyw := b.dyp[(g.dy.lead+g.dy.top*g.dy.wp)*o:]
			t.weightGradCL(g, b.xp, dyw, b.dw)
		}
		if t.x.requiresGrad {
			t.inputGradCL(g, b)
			setOrAddAll(t.x.Grad[i*c*hw:(i+1)*c*hw], b.dx, t.set.x)
		}
	}
}

// weightGradCL adds one image's weight gradient into dw, a block of
// positions at a time.
func (t *convTask) weightGradCL(g clGeom, xp, dyw, dw []float32) {
	c, o, wp := t.c, t.o, g.x.wp
	seg := t.kw * c
	step := g.rows * wp
	for q0 := 0; q0 < g.nq; q0 += step {
		n := min(step, g.nq-q0)
		for ki := range t.kh {
			kernels.SgemmOverlap(true, seg, o, n, xp[(q0+ki*wp)*c:], c, dyw[q0*o:], o, 1, dw[ki*seg*o:], o)
		}
	}
}

// inputGradCL computes one image's input gradient into b.dx, from dY
// padded in b.dyp.
func (t *convTask) inputGradCL(g clGeom, b clBuffers) {
	c, o, hw, wp := t.c, t.o, t.h*t.wd, g.dy.wp
	seg := t.kw * o
	for y0 := 0; y0 < t.h; y0 += g.drows {
		y1 := min(t.h, y0+g.drows)
		q0, n := y0*wp, (y1-1-y0)*wp+t.wd
		for ki := range t.kh {
			beta := float32(min(ki, 1))
			kernels.SgemmOverlap(false, n, c, seg, b.dyp[(q0+ki*wp)*o:], o, t.wr[ki*seg*c:], c, beta, b.dxt, c)
		}
		for y := y0; y < y1; y++ {
			transposeBlocked(t.wd, c, b.dxt[(y-y0)*wp*c:], c, b.dx[y*t.wd:], hw)
		}
	}
}

// reduceCL adds the parts' weight and bias gradients, in part order, and
// then the sum, back in the weight's [o, c, kh, kw] order, into the
// tensors.
func (t *convTask) reduceCL(parts int) {
	sum := t.clBuffers(0)
	for part := 1; part < parts; part++ {
		b := t.clBuffers(part)
		if t.w.requiresGrad {
			kernels.Axpy(1, b.dw, sum.dw)
		}
		kernels.Axpy(1, b.db, sum.db)
	}
	if t.bias != nil && t.bias.requiresGrad {
		setOrAddAll(t.bias.Grad, sum.db, t.set.bias)
	}
	if !t.w.requiresGrad {
		return
	}
	// [(ki,kj), c, o] to [(ki,kj), (o,c)] to [(o,c), (ki,kj)].
	o, c, kk := t.o, t.c, t.kh*t.kw
	t.tw = grow(t.tw, 2*kk*o*c)
	tw, tw2 := t.tw[:kk*o*c], t.tw[kk*o*c:]
	for k := range kk {
		transposeBlocked(c, o, sum.dw[k*c*o:], o, tw[k*o*c:], c)
	}
	if t.set.w {
		transposeBlocked(kk, o*c, tw, o*c, t.w.Grad, kk)
		return
	}
	transposeBlocked(kk, o*c, tw, o*c, tw2, kk)
	kernels.Axpy(1, tw2, t.w.Grad)
}
