// Softmax cross-entropy, layer normalisation and batch gathering.

// softmax_xent computes, for each of N rows of K logits (one warp per row,
// blocks of 256 threads), the label-smoothed cross-entropy
//   loss = (1-eps)*(lse - z[y]) + eps*(lse - mean(z)),
// PyTorch's F.cross_entropy(label_smoothing=eps). It adds the block's losses
// to *loss_sum (when not null), stores each row's loss in per_sample (when
// not null), writes the gradient (softmax - target)*gscale to dlogits (when
// not null) and counts rows whose first maximal logit is the label in
// *correct (when not null). A label outside [0, K) gives a NaN loss.
extern "C" __global__ void softmax_xent(const float *logits, const int *labels, float *dlogits,
                                        float *loss_sum, float *per_sample, int *correct,
                                        int N, int K, float eps, float gscale) {
	int row = (blockIdx.x * blockDim.x + threadIdx.x) >> 5;
	int lane = threadIdx.x & 31;
	float loss = 0.f;
	if (row < N) {
		const float *z = logits + (long long)row * K;
		float m = -TC_INF;
		int arg = 0x7fffffff;
		for (int j = lane; j < K; j += 32) {
			float v = z[j];
			if (v > m || arg == 0x7fffffff) { m = v; arg = j; }
		}
		// The warp's first maximum: the largest value, then the smallest index.
		for (int o = 16; o > 0; o >>= 1) {
			float m2 = __shfl_xor_sync(0xffffffffu, m, o);
			int a2 = __shfl_xor_sync(0xffffffffu, arg, o);
			if (m2 > m || (m2 == m && a2 < arg)) { m = m2; arg = a2; }
		}
		float s = 0.f, zs = 0.f;
		for (int j = lane; j < K; j += 32) {
			float v = z[j];
			s += expf(v - m);
			zs += v;
		}
		s = warp_sum(s);
		zs = warp_sum(zs);
		float lse = m + logf(s);
		int y = labels[row];
		bool ok = y >= 0 && y < K;
		float zy = ok ? z[y] : TC_NAN;
		loss = (1.f - eps) * (lse - zy) + eps * (lse - zs / K);
		if (dlogits) {
			float off = eps / K;
			for (int j = lane; j < K; j += 32) {
				float t = (j == y ? 1.f - eps : 0.f) + off;
				dlogits[(long long)row * K + j] = (expf(z[j] - lse) - t) * gscale;
			}
		}
		if (lane == 0) {
			if (per_sample) per_sample[row] = loss;
			if (correct && arg == y) atomicAdd(correct, 1);
		}
	}
	// Each warp's lanes all hold its row's loss; count it once.
	float v = (lane == 0 && row < N) ? loss : 0.f;
	v = block_sum(v);
	if (threadIdx.x == 0 && loss_sum) atomicAdd(loss_sum, v);
}

// layernorm_fwd normalises each of rows rows of D over its last dimension
// (one warp per row): y = (x - mean)*rstd*gamma + beta, keeping xhat and
// rstd for the backward pass. beta may be null (no shift).
extern "C" __global__ void layernorm_fwd(const float *x, float *y, float *xhat, float *rstd_out,
                                         const float *gamma, const float *beta, int rows, int D, float eps) {
	int row = (blockIdx.x * blockDim.x + threadIdx.x) >> 5;
	int lane = threadIdx.x & 31;
	if (row >= rows) return;
	const float *xr = x + (long long)row * D;
	float s = 0.f;
	for (int j = lane; j < D; j += 32) s += xr[j];
	float mean = warp_sum(s) / D;
	float v = 0.f;
	for (int j = lane; j < D; j += 32) { float d = xr[j] - mean; v += d * d; }
	float rstd = rsqrtf(warp_sum(v) / D + eps);
	for (int j = lane; j < D; j += 32) {
		float h = (xr[j] - mean) * rstd;
		xhat[(long long)row * D + j] = h;
		y[(long long)row * D + j] = h * gamma[j] + (beta ? beta[j] : 0.f);
	}
	if (lane == 0) rstd_out[row] = rstd;
}

// layernorm_bwd gives dx = rstd*(g - mean(g) - xhat*mean(g*xhat)) with
// g = dy*gamma, one warp per row.
extern "C" __global__ void layernorm_bwd(const float *dy, const float *xhat, const float *rstd,
                                         const float *gamma, float *dx, int rows, int D) {
	int row = (blockIdx.x * blockDim.x + threadIdx.x) >> 5;
	int lane = threadIdx.x & 31;
	if (row >= rows) return;
	long long o = (long long)row * D;
	float a = 0.f, b = 0.f;
	for (int j = lane; j < D; j += 32) {
		float g = dy[o + j] * gamma[j];
		a += g;
		b += g * xhat[o + j];
	}
	a = warp_sum(a) / D;
	b = warp_sum(b) / D;
	float r = rstd[row];
	for (int j = lane; j < D; j += 32) {
		float g = dy[o + j] * gamma[j];
		dx[o + j] = r * (g - a - xhat[o + j] * b);
	}
}

// layernorm_params_grad sums over rows dgamma = dy*xhat and dbeta = dy
// (either may be null). Block (32, 8); grid ceil(D/32).
extern "C" __global__ void layernorm_params_grad(const float *dy, const float *xhat, float *dgamma,
                                                 float *dbeta, int rows, int D) {
	__shared__ float sg[8][33], sb[8][33];
	int col = blockIdx.x * 32 + threadIdx.x;
	float g = 0.f, b = 0.f;
	if (col < D) {
		for (int r = threadIdx.y; r < rows; r += 8) {
			float d = dy[(long long)r * D + col];
			g += d * xhat[(long long)r * D + col];
			b += d;
		}
	}
	sg[threadIdx.y][threadIdx.x] = g;
	sb[threadIdx.y][threadIdx.x] = b;
	__syncthreads();
	if (threadIdx.y == 0 && col < D) {
		float tg = 0.f, tb = 0.f;
		for (int k = 0; k < 8; k++) { tg += sg[k][threadIdx.x]; tb += sb[k][threadIdx.x]; }
		if (dgamma) dgamma[col] = tg;
		if (dbeta) dbeta[col] = tb;
	}
}

// gather_batch copies samples idx[0..n) of a device-resident data set
// (xs: samples of `sample` floats, ys: labels) into a batch.
extern "C" __global__ void gather_batch(float *x, int *y, const float *xs, const int *ys, const int *idx,
                                        int n, int sample) {
	GRID_STRIDE(i, n * sample) {
		int r = i / sample, j = i - r * sample;
		int s = idx[r];
		x[i] = xs[(long long)s * sample + j];
		if (j == 0) y[r] = ys[s];
	}
}

// gather_u8 is gather_batch for a data set stored as bytes (a quarter of
// the memory and traffic): each byte is mapped through lut, the 256-entry
// normalisation table the host loader uses, so inputs match it exactly.
extern "C" __global__ void gather_u8(float *x, int *y, const unsigned char *px, const int *ys, const int *idx,
                                     const float *lut, int n, int sample) {
	GRID_STRIDE(i, n * sample) {
		int r = i / sample, j = i - r * sample;
		int s = idx[r];
		x[i] = lut[px[(long long)s * sample + j]];
		if (j == 0) y[r] = ys[s];
	}
}
