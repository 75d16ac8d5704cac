package cuda

import "fmt"

// Act is an activation function fused into the kernels' epilogues.
type Act int32

// The activations, numbered as in the CUDA sources.
const (
	ActNone Act = iota
	ActReLU
	ActGELU // exact, x·Φ(x)
	ActTanh
	ActSigmoid
)

// NeedsPreActivation reports whether the activation's gradient needs its
// input (GELU) rather than only its output.
func (a Act) NeedsPreActivation() bool { return a == ActGELU }

// All kernel wrappers below queue work on the stream and return at once.
// Pointers are device addresses; a zero Ptr means "no such output" where the
// documentation says a pointer is optional. Sizes are element counts.

// Fill sets n floats at x to v.
func (s *Stream) Fill(x Ptr, v float32, n int) error {
	if n == 0 {
		return nil
	}
	return s.ptr(x).f32(v).i32(n).launch("fill_f32", s.d.k.fill, s.blocks1D(n), threads(256), 0)
}

// Scale sets x = a·x over n floats (zeros when a is 0).
func (s *Stream) Scale(x Ptr, a float32, n int) error {
	if n == 0 {
		return nil
	}
	return s.ptr(x).f32(a).i32(n).launch("scale_f32", s.d.k.scale, s.blocks1D(n), threads(256), 0)
}

// ScaleMatrix sets the rows×cols window of a row-major matrix with leading
// dimension ld to a times itself (zeros when a is 0).
func (s *Stream) ScaleMatrix(x Ptr, a float32, rows, cols, ld int) error {
	if rows == 0 || cols == 0 {
		return nil
	}
	return s.ptr(x).f32(a).i32(rows).i32(cols).i32(ld).launch("scale_mat", s.d.k.scaleMat, s.blocks1D(rows*cols), threads(256), 0)
}

// Mul sets out = a ⊙ b over n floats.
func (s *Stream) Mul(out, a, b Ptr, n int) error {
	if n == 0 {
		return nil
	}
	return s.ptr(out).ptr(a).ptr(b).i32(n).launch("mul_f32", s.d.k.mul, s.blocks1D(n), threads(256), 0)
}

// BiasActRows applies y = act(y + bias[col]) in place to a row-major
// [rows, cols] matrix; bias is optional, and z (optional) receives the
// pre-activation.
func (s *Stream) BiasActRows(y, z, bias Ptr, rows, cols int, act Act) error {
	if rows*cols == 0 {
		return nil
	}
	return s.ptr(y).ptr(z).ptr(bias).i32(rows).i32(cols).i32(int(act)).
		launch("bias_act_rows", s.d.k.biasActRows, s.blocks1D(rows*cols), threads(256), 0)
}

// BiasActChan is BiasActRows for channel-major [C, plane] activations with
// one bias per channel.
func (s *Stream) BiasActChan(y, z, bias Ptr, c, plane int, act Act) error {
	if c*plane == 0 {
		return nil
	}
	return s.ptr(y).ptr(z).ptr(bias).i32(c).i32(plane).i32(int(act)).
		launch("bias_act_chan", s.d.k.biasActChan, s.blocks1D(c*plane), threads(256), 0)
}

// ActGrad sets dz = dy · act'(z, y) over n floats; z is needed for GELU
// only.
func (s *Stream) ActGrad(dz, dy, z, y Ptr, n int, act Act) error {
	if n == 0 {
		return nil
	}
	return s.ptr(dz).ptr(dy).ptr(z).ptr(y).i32(n).i32(int(act)).
		launch("act_grad_f32", s.d.k.actGrad, s.blocks1D(n), threads(256), 0)
}

// ColSumActGrad is the backward of BiasActRows: dz = dy · act'(z, y)
// (written when dz is set; it may equal dy) and db = Σ_rows dz (when db is
// set), deterministically.
func (s *Stream) ColSumActGrad(dz, dy, z, y, db Ptr, rows, cols int, act Act) error {
	if cols == 0 {
		return nil
	}
	grid := [3]uint32{uint32((cols + 31) / 32), 1, 1}
	return s.ptr(dz).ptr(dy).ptr(z).ptr(y).ptr(db).i32(rows).i32(cols).i32(int(act)).
		launch("colsum_act_grad", s.d.k.colsumActGrad, grid, [3]uint32{32, 8, 1}, 0)
}

// ChanSplits is the number of partial sums per channel ChanActGrad uses for
// a plane of the given size; its workspace holds c·ChanSplits(plane) floats.
func ChanSplits(plane int) int { return max(1, min(64, (plane+4095)/4096)) }

// ChanActGrad is the backward of BiasActChan: dz = dy · act'(z, y) and,
// when db is set, db = Σ_plane dz through the workspace partial (c ·
// ChanSplits(plane) floats), deterministically.
func (s *Stream) ChanActGrad(dz, dy, z, y, db, partial Ptr, c, plane int, act Act) error {
	if c*plane == 0 {
		return nil
	}
	splits := ChanSplits(plane)
	if db == 0 {
		partial = 0
	}
	grid := [3]uint32{uint32(splits), uint32(c), 1}
	if err := s.ptr(dz).ptr(dy).ptr(z).ptr(y).ptr(partial).i32(c).i32(plane).i32(int(act)).
		launch("chan_act_grad", s.d.k.chanActGrad, grid, threads(256), 0); err != nil {
		return err
	}
	if db == 0 {
		return nil
	}
	return s.ptr(partial).ptr(db).i32(c).i32(splits).launch("sum_partials", s.d.k.sumPartials, s.blocks1D(c), threads(256), 0)
}

// Dropout sets y = x · mask with mask 0 (probability p) or 1/(1-p), drawn
// from (seed, step, index) alone.
func (s *Stream) Dropout(y, mask, x Ptr, n int, p float32, seed, step uint32) error {
	if n == 0 {
		return nil
	}
	if !(p >= 0 && p < 1) {
		return fmt.Errorf("cuda: Dropout: p = %v outside [0, 1)", p)
	}
	return s.ptr(y).ptr(mask).ptr(x).i32(n).f32(p).u32(seed).u32(step).
		launch("dropout_fwd", s.d.k.dropout, s.blocks1D(n), threads(256), 0)
}

// ToBF16 converts n floats to bfloat16 (round to nearest even).
func (s *Stream) ToBF16(dst, src Ptr, n int) error {
	if n == 0 {
		return nil
	}
	return s.ptr(dst).ptr(src).i32(n).launch("f32_to_bf16", s.d.k.toBF16, s.blocks1D(n), threads(256), 0)
}

// FromBF16 converts n bfloat16 values to float.
func (s *Stream) FromBF16(dst, src Ptr, n int) error {
	if n == 0 {
		return nil
	}
	return s.ptr(dst).ptr(src).i32(n).launch("bf16_to_f32", s.d.k.fromBF16, s.blocks1D(n), threads(256), 0)
}

// Conv describes a 2-D convolution or pooling window over channel-major
// activations [C, N, H, W]. Pooling uses a square KH×KH window with
// stride StrideH and no padding.
type Conv struct {
	C, N, H, W       int
	KH, KW           int
	PadH, PadW       int
	StrideH, StrideW int
}

// Out returns the output height and width.
func (c Conv) Out() (oh, ow int) {
	return (c.H+2*c.PadH-c.KH)/c.StrideH + 1, (c.W+2*c.PadW-c.KW)/c.StrideW + 1
}

// Im2col fills col [C·KH·KW, N·OH·OW] from x [C, N, H, W].
func (s *Stream) Im2col(x, col Ptr, c Conv) error {
	oh, ow := c.Out()
	n := c.C * c.KH * c.KW * c.N * oh * ow
	if n == 0 {
		return nil
	}
	return s.ptr(x).ptr(col).i32(c.C).i32(c.N).i32(c.H).i32(c.W).i32(c.KH).i32(c.KW).
		i32(c.PadH).i32(c.PadW).i32(c.StrideH).i32(c.StrideW).i32(oh).i32(ow).
		launch("im2col_cnhw", s.d.k.im2col, s.blocks1D(n), threads(256), 0)
}

// Col2im sets x [C, N, H, W] to the adjoint of Im2col applied to col, or
// adds it to x when accumulate is set.
func (s *Stream) Col2im(col, x Ptr, c Conv, accumulate bool) error {
	oh, ow := c.Out()
	n := c.C * c.N * c.H * c.W
	if n == 0 {
		return nil
	}
	acc := 0
	if accumulate {
		acc = 1
	}
	return s.ptr(col).ptr(x).i32(c.C).i32(c.N).i32(c.H).i32(c.W).i32(c.KH).i32(c.KW).
		i32(c.PadH).i32(c.PadW).i32(c.StrideH).i32(c.StrideW).i32(oh).i32(ow).i32(acc).
		launch("col2im_cnhw", s.d.k.col2im, s.blocks1D(n), threads(256), 0)
}

// MaxPool pools the C·N planes of x with a KH×KH window (KW is ignored;
// Pad must be 0) into y, recording argmax indices (int32) for MaxPoolGrad.
func (s *Stream) MaxPool(x, y, arg Ptr, c Conv) error {
	oh, ow := c.Out()
	p := c.C * c.N
	if p*oh*ow == 0 {
		return nil
	}
	return s.ptr(x).ptr(y).ptr(arg).i32(p).i32(c.H).i32(c.W).i32(c.KH).i32(c.StrideH).i32(oh).i32(ow).
		launch("maxpool_fwd", s.d.k.maxpoolFwd, s.blocks1D(p*oh*ow), threads(256), 0)
}

// MaxPoolGrad sets dx to the gradient of MaxPool given dy and its argmax.
func (s *Stream) MaxPoolGrad(dy, arg, dx Ptr, c Conv) error {
	oh, ow := c.Out()
	p := c.C * c.N
	if p*c.H*c.W == 0 {
		return nil
	}
	return s.ptr(dy).ptr(arg).ptr(dx).i32(p).i32(c.H).i32(c.W).i32(c.KH).i32(c.StrideH).i32(oh).i32(ow).
		launch("maxpool_bwd", s.d.k.maxpoolBwd, s.blocks1D(p*c.H*c.W), threads(256), 0)
}

// ToCNHW copies src [N, C, HW] into dst [C, N, HW].
func (s *Stream) ToCNHW(dst, src Ptr, n, c, hw int) error {
	if n*c*hw == 0 {
		return nil
	}
	return s.ptr(dst).ptr(src).i32(n).i32(c).i32(hw).launch("nchw_to_cnhw", s.d.k.toCNHW, s.blocks1D(n*c*hw), threads(256), 0)
}

// ToNCHW copies src [C, N, HW] into dst [N, C, HW].
func (s *Stream) ToNCHW(dst, src Ptr, n, c, hw int) error {
	if n*c*hw == 0 {
		return nil
	}
	return s.ptr(dst).ptr(src).i32(n).i32(c).i32(hw).launch("cnhw_to_nchw", s.d.k.toNCHW, s.blocks1D(n*c*hw), threads(256), 0)
}

// XentArgs are the inputs and optional outputs of SoftmaxXent.
type XentArgs struct {
	Logits Ptr // [N, K]
	Labels Ptr // [N] int32
	N, K   int
	// Smoothing is the label-smoothing ε; GradScale multiplies the gradient
	// (1/N for a mean loss).
	Smoothing, GradScale float32
	DLogits              Ptr // [N, K] gradient, optional
	LossSum              Ptr // float accumulator the batch's summed loss is added to, optional
	PerSample            Ptr // [N] per-sample losses, optional
	Correct              Ptr // int32 counter of rows whose argmax is the label, optional
}

// SoftmaxXent runs the fused softmax cross-entropy forward and backward.
func (s *Stream) SoftmaxXent(a XentArgs) error {
	if a.N == 0 {
		return nil
	}
	grid := [3]uint32{uint32((a.N + 7) / 8), 1, 1}
	return s.ptr(a.Logits).ptr(a.Labels).ptr(a.DLogits).ptr(a.LossSum).ptr(a.PerSample).ptr(a.Correct).
		i32(a.N).i32(a.K).f32(a.Smoothing).f32(a.GradScale).
		launch("softmax_xent", s.d.k.softmaxXent, grid, threads(256), 0)
}

// LayerNorm normalises rows×d over the last dimension: y = xhat·gamma +
// beta (beta optional), saving xhat [rows, d] and rstd [rows].
func (s *Stream) LayerNorm(x, y, xhat, rstd, gamma, beta Ptr, rows, d int, eps float32) error {
	if rows == 0 {
		return nil
	}
	grid := [3]uint32{uint32((rows + 7) / 8), 1, 1}
	return s.ptr(x).ptr(y).ptr(xhat).ptr(rstd).ptr(gamma).ptr(beta).i32(rows).i32(d).f32(eps).
		launch("layernorm_fwd", s.d.k.lnFwd, grid, threads(256), 0)
}

// LayerNormGrad computes dx and, when set, dgamma and dbeta.
func (s *Stream) LayerNormGrad(dy, xhat, rstd, gamma, dx, dgamma, dbeta Ptr, rows, d int) error {
	if rows == 0 {
		return nil
	}
	if dx != 0 {
		grid := [3]uint32{uint32((rows + 7) / 8), 1, 1}
		if err := s.ptr(dy).ptr(xhat).ptr(rstd).ptr(gamma).ptr(dx).i32(rows).i32(d).
			launch("layernorm_bwd", s.d.k.lnBwd, grid, threads(256), 0); err != nil {
			return err
		}
	}
	if dgamma == 0 && dbeta == 0 {
		return nil
	}
	grid := [3]uint32{uint32((d + 31) / 32), 1, 1}
	return s.ptr(dy).ptr(xhat).ptr(dgamma).ptr(dbeta).i32(rows).i32(d).
		launch("layernorm_params_grad", s.d.k.lnParamsGrad, grid, [3]uint32{32, 8, 1}, 0)
}

// Gather copies samples idx[0..n) (int32, device) of a resident data set
// (xs: samples of `sample` floats; ys: int32 labels) into x and y.
func (s *Stream) Gather(x, y, xs, ys, idx Ptr, n, sample int) error {
	if n*sample == 0 {
		return nil
	}
	return s.ptr(x).ptr(y).ptr(xs).ptr(ys).ptr(idx).i32(n).i32(sample).
		launch("gather_batch", s.d.k.gather, s.blocks1D(n*sample), threads(256), 0)
}

// GatherU8 is Gather for a data set stored as bytes (px), each mapped
// through the 256-float table lut.
func (s *Stream) GatherU8(x, y, px, ys, idx, lut Ptr, n, sample int) error {
	if n*sample == 0 {
		return nil
	}
	return s.ptr(x).ptr(y).ptr(px).ptr(ys).ptr(idx).ptr(lut).i32(n).i32(sample).
		launch("gather_u8", s.d.k.gatherU8, s.blocks1D(n*sample), threads(256), 0)
}

// SGDArgs describe one fused SGD update over a flat parameter buffer.
type SGDArgs struct {
	Params, Grads, Momentum  Ptr // Momentum optional (plain SGD)
	N, NDecay                int // elements; the first NDecay get weight decay
	LR, WeightDecay          float32
	Mom, BufScale, GradScale float32
	Nesterov                 bool
	Clip                     Ptr // device float clipping factor, optional
}

// SGDStep queues the update.
func (s *Stream) SGDStep(a SGDArgs) error {
	if a.N == 0 {
		return nil
	}
	nest := 0
	if a.Nesterov {
		nest = 1
	}
	return s.ptr(a.Params).ptr(a.Grads).ptr(a.Momentum).i32(a.N).i32(a.NDecay).f32(a.LR).f32(a.WeightDecay).
		f32(a.Mom).f32(a.BufScale).f32(a.GradScale).i32(nest).ptr(a.Clip).
		launch("sgd_step", s.d.k.sgd, s.blocks1D(a.N), threads(256), 0)
}

// AdamArgs describe one fused Adam/AdamW update; the scalars are those of
// the CPU optimizer (see engine/optim).
type AdamArgs struct {
	Params, Grads, M, V                Ptr
	N, NDecay                          int
	Beta1, Beta2, OneMinus1, OneMinus2 float32
	StepSize, BC2Sqrt, Eps, Shrink, L2 float32
	Clip                               Ptr
}

// AdamStep queues the update.
func (s *Stream) AdamStep(a AdamArgs) error {
	if a.N == 0 {
		return nil
	}
	return s.ptr(a.Params).ptr(a.Grads).ptr(a.M).ptr(a.V).i32(a.N).i32(a.NDecay).
		f32(a.Beta1).f32(a.Beta2).f32(a.OneMinus1).f32(a.OneMinus2).f32(a.StepSize).f32(a.BC2Sqrt).
		f32(a.Eps).f32(a.Shrink).f32(a.L2).ptr(a.Clip).
		launch("adam_step", s.d.k.adam, s.blocks1D(a.N), threads(256), 0)
}

// ClipParts is the number of float64 partial sums ClipScale's workspace
// holds.
const ClipParts = 256

// ClipScale computes the global norm of n gradient values and the
// clipping factor for maxNorm into device floats scale and norm (norm
// optional), through partial (ClipParts float64 values).
func (s *Stream) ClipScale(grads Ptr, n int, partial Ptr, maxNorm float32, scale, norm Ptr) error {
	if err := s.ptr(grads).i32(n).ptr(partial).
		launch("sumsq_partial", s.d.k.sumsqPartial, [3]uint32{ClipParts, 1, 1}, threads(256), 0); err != nil {
		return err
	}
	return s.ptr(partial).i32(ClipParts).f32(maxNorm).ptr(scale).ptr(norm).
		launch("clip_scale", s.d.k.clipScale, [3]uint32{1, 1, 1}, threads(256), 0)
}
