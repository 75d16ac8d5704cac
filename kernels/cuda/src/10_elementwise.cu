// Elementwise kernels: fills, scaling, bias + activation epilogues and their
// gradients, dropout, precision conversion.

extern "C" __global__ void fill_f32(float *x, float v, int n) {
	GRID_STRIDE(i, n) x[i] = v;
}

// scale_f32 sets x = a*x; a == 0 writes zeros, so NaN in x does not survive
// (the BLAS convention for beta == 0).
extern "C" __global__ void scale_f32(float *x, float a, int n) {
	GRID_STRIDE(i, n) x[i] = a == 0.f ? 0.f : a * x[i];
}

extern "C" __global__ void mul_f32(float *out, const float *a, const float *b, int n) {
	GRID_STRIDE(i, n) out[i] = a[i] * b[i];
}

// bias_act_rows applies y = act(y + bias[col]) in place to a row-major
// [rows, cols] matrix (a Linear layer's GEMM output), saving the
// pre-activation in z when z is not null.
extern "C" __global__ void bias_act_rows(float *y, float *z, const float *bias, int rows, int cols, int act) {
	GRID_STRIDE(i, rows * cols) {
		float v = y[i];
		if (bias) v += bias[i % cols];
		if (z) z[i] = v;
		y[i] = act_fwd(v, act);
	}
}

// bias_act_chan is bias_act_rows for channel-major activations [C, plane]
// (a convolution's GEMM output): the bias is per channel, i / plane.
extern "C" __global__ void bias_act_chan(float *y, float *z, const float *bias, int C, int plane, int act) {
	GRID_STRIDE(i, C * plane) {
		float v = y[i];
		if (bias) v += bias[i / plane];
		if (z) z[i] = v;
		y[i] = act_fwd(v, act);
	}
}

// act_grad_f32 sets dz = dy * act'(z, y) elementwise.
extern "C" __global__ void act_grad_f32(float *dz, const float *dy, const float *z, const float *y, int n, int act) {
	GRID_STRIDE(i, n) dz[i] = dy[i] * act_grad(z ? z[i] : 0.f, y[i], act);
}

// colsum_act_grad turns the upstream gradient dy of a row-major [rows, cols]
// activation into the pre-activation gradient dz (written when dz is not
// null; dz may alias dy) and sums it over rows into db (when not null): the
// backward of bias_act_rows in one pass. Block (32, 8); grid ceil(cols/32).
// Each column's sum is taken in a fixed order, so results are deterministic.
extern "C" __global__ void colsum_act_grad(float *dz, const float *dy, const float *z, const float *y,
                                           float *db, int rows, int cols, int act) {
	__shared__ float sh[8][33];
	int col = blockIdx.x * 32 + threadIdx.x;
	float s = 0.f;
	if (col < cols) {
		for (int r = threadIdx.y; r < rows; r += 8) {
			int i = r * cols + col;
			float g = dy[i];
			if (act != ACT_NONE) g *= act_grad(z ? z[i] : 0.f, y[i], act);
			if (dz) dz[i] = g;
			s += g;
		}
	}
	sh[threadIdx.y][threadIdx.x] = s;
	__syncthreads();
	if (threadIdx.y == 0 && col < cols && db) {
		float t = 0.f;
		for (int k = 0; k < 8; k++) t += sh[k][threadIdx.x];
		db[col] = t;
	}
}

// chan_act_grad is colsum_act_grad for channel-major [C, plane]
// activations. Grid (S, C), block 256: block (s, c) handles a strided share
// of channel c and writes its sum to partial[c*S + s]; sum_partials then
// adds the S shares of each channel in order.
extern "C" __global__ void chan_act_grad(float *dz, const float *dy, const float *z, const float *y,
                                         float *partial, int C, int plane, int act) {
	int c = blockIdx.y;
	const int base = c * plane;
	float s = 0.f;
	for (int p = blockIdx.x * blockDim.x + threadIdx.x; p < plane; p += gridDim.x * blockDim.x) {
		int i = base + p;
		float g = dy[i];
		if (act != ACT_NONE) g *= act_grad(z ? z[i] : 0.f, y[i], act);
		if (dz) dz[i] = g;
		s += g;
	}
	s = block_sum(s);
	if (threadIdx.x == 0 && partial) partial[c * gridDim.x + blockIdx.x] = s;
}

extern "C" __global__ void sum_partials(const float *partial, float *out, int C, int S) {
	GRID_STRIDE(c, C) {
		float t = 0.f;
		for (int s = 0; s < S; s++) t += partial[c * S + s];
		out[c] = t;
	}
}

// hash32 is a stateless integer mix (lowbias32 by C. Wellons): dropout's
// random numbers are a function of (seed, step, index) alone.
__device__ __forceinline__ unsigned hash32(unsigned x) {
	x ^= x >> 16; x *= 0x7feb352dU;
	x ^= x >> 15; x *= 0x846ca68bU;
	x ^= x >> 16;
	return x;
}

// dropout_fwd keeps each element with probability 1-p, scaled by 1/(1-p);
// mask receives the factor (0 or 1/(1-p)) for the backward pass.
extern "C" __global__ void dropout_fwd(float *y, float *mask, const float *x, int n, float p,
                                       unsigned seed, unsigned step) {
	float keep = 1.f / (1.f - p);
	GRID_STRIDE(i, n) {
		unsigned h = hash32((unsigned)i ^ hash32(seed ^ hash32(step)));
		float u = (h >> 8) * (1.f / 16777216.f);
		float m = u >= p ? keep : 0.f;
		mask[i] = m;
		y[i] = x[i] * m;
	}
}

// f32_to_bf16 rounds to nearest even; NaN stays NaN.
extern "C" __global__ void f32_to_bf16(unsigned short *dst, const float *src, int n) {
	GRID_STRIDE(i, n) {
		unsigned u = __float_as_uint(src[i]);
		if ((u & 0x7fffffffu) > 0x7f800000u) {
			dst[i] = 0x7fc0;
		} else {
			u += 0x7fffu + ((u >> 16) & 1u);
			dst[i] = (unsigned short)(u >> 16);
		}
	}
}

extern "C" __global__ void bf16_to_f32(float *dst, const unsigned short *src, int n) {
	GRID_STRIDE(i, n) dst[i] = __uint_as_float(((unsigned)src[i]) << 16);
}

// scale_mat sets the rows×cols window of a row-major matrix with leading
// dimension ld to a times itself (zeros when a == 0, NaN included).
extern "C" __global__ void scale_mat(float *x, float a, int rows, int cols, int ld) {
	GRID_STRIDE(i, rows * cols) {
		int r = i / cols, c = i - r * cols;
		float *p = x + (long long)r * ld + c;
		*p = a == 0.f ? 0.f : a * *p;
	}
}
