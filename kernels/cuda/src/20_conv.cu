// Convolution and pooling on channel-major activations: a tensor [C, N, H, W]
// keeps each channel's planes for the whole batch together, so im2col gives
// one [C*KH*KW, N*OH*OW] matrix and the convolution is one GEMM whose output
// [Cout, N*OH*OW] is again channel-major, with no transposes in between.

extern "C" __global__ void im2col_cnhw(const float *x, float *col, int C, int N, int H, int W,
                                       int KH, int KW, int padH, int padW, int strideH, int strideW,
                                       int OH, int OW) {
	const int ohw = OH * OW, ncols = N * ohw, total = C * KH * KW * ncols;
	GRID_STRIDE(i, total) {
		int row = i / ncols, cidx = i - row * ncols;
		int c = row / (KH * KW), rem = row - c * KH * KW;
		int ki = rem / KW, kj = rem - ki * KW;
		int n = cidx / ohw, p = cidx - n * ohw;
		int oh = p / OW, ow = p - oh * OW;
		int h = oh * strideH - padH + ki, w = ow * strideW - padW + kj;
		float v = 0.f;
		if (h >= 0 && h < H && w >= 0 && w < W) v = x[((c * N + n) * H + h) * W + w];
		col[i] = v;
	}
}

// col2im_cnhw is the adjoint of im2col_cnhw: each input element gathers the
// column entries it was copied to, in a fixed order (no atomics), and
// stores the sum (or adds it, with accumulate set).
extern "C" __global__ void col2im_cnhw(const float *col, float *x, int C, int N, int H, int W,
                                       int KH, int KW, int padH, int padW, int strideH, int strideW,
                                       int OH, int OW, int accumulate) {
	const int ohw = OH * OW, ncols = N * ohw, total = C * N * H * W;
	GRID_STRIDE(i, total) {
		int w = i % W, t = i / W;
		int h = t % H; t /= H;
		int n = t % N, c = t / N;
		float s = 0.f;
		for (int ki = 0; ki < KH; ki++) {
			int hh = h + padH - ki;
			if (hh < 0 || hh % strideH != 0) continue;
			int oh = hh / strideH;
			if (oh >= OH) continue;
			for (int kj = 0; kj < KW; kj++) {
				int ww = w + padW - kj;
				if (ww < 0 || ww % strideW != 0) continue;
				int ow = ww / strideW;
				if (ow >= OW) continue;
				s += col[((c * KH + ki) * KW + kj) * ncols + n * ohw + oh * OW + ow];
			}
		}
		x[i] = accumulate ? x[i] + s : s;
	}
}

// maxpool_fwd pools P planes of H×W; arg receives the index (h*W + w) of
// each window's first maximum.
extern "C" __global__ void maxpool_fwd(const float *x, float *y, int *arg, int P, int H, int W,
                                       int K, int stride, int OH, int OW) {
	GRID_STRIDE(i, P * OH * OW) {
		int ow = i % OW, t = i / OW;
		int oh = t % OH, p = t / OH;
		const float *plane = x + p * H * W;
		int h0 = oh * stride, w0 = ow * stride;
		int best = h0 * W + w0;
		float m = plane[best];
		for (int a = 0; a < K; a++) {
			for (int b = 0; b < K; b++) {
				int j = (h0 + a) * W + w0 + b;
				float v = plane[j];
				if (v > m || (v != v && m == m)) { m = v; best = j; }
			}
		}
		y[i] = m;
		arg[i] = best;
	}
}

// maxpool_bwd gives each input element the gradients of the windows whose
// maximum it was, gathered in a fixed order.
extern "C" __global__ void maxpool_bwd(const float *dy, const int *arg, float *dx, int P, int H, int W,
                                       int K, int stride, int OH, int OW) {
	GRID_STRIDE(i, P * H * W) {
		int w = i % W, t = i / W;
		int h = t % H, p = t / H;
		int j = h * W + w;
		int oh0 = h - K + 1 > 0 ? (h - K + 1 + stride - 1) / stride : 0;
		int ow0 = w - K + 1 > 0 ? (w - K + 1 + stride - 1) / stride : 0;
		int oh1 = min(h / stride, OH - 1), ow1 = min(w / stride, OW - 1);
		float s = 0.f;
		for (int oh = oh0; oh <= oh1; oh++) {
			for (int ow = ow0; ow <= ow1; ow++) {
				int o = (p * OH + oh) * OW + ow;
				if (arg[o] == j) s += dy[o];
			}
		}
		dx[i] = s;
	}
}

// nchw_to_cnhw and cnhw_to_nchw move between the batch-major layout of
// samples and the channel-major layout of the convolution stages. Both
// index by the destination, so writes are coalesced.
extern "C" __global__ void nchw_to_cnhw(float *dst, const float *src, int N, int C, int HW) {
	GRID_STRIDE(i, N * C * HW) {
		int p = i % HW, t = i / HW;
		int n = t % N, c = t / N;
		dst[i] = src[(n * C + c) * HW + p];
	}
}

extern "C" __global__ void cnhw_to_nchw(float *dst, const float *src, int N, int C, int HW) {
	GRID_STRIDE(i, N * C * HW) {
		int p = i % HW, t = i / HW;
		int c = t % C, n = t / C;
		dst[i] = src[(c * N + n) * HW + p];
	}
}
