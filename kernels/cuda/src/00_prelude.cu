// Shared definitions for troupe's CUDA kernels. The files in this folder are
// concatenated in name order and compiled as one program by NVRTC when a
// device is opened, for that device's architecture. They include no headers,
// so they compile with NVRTC alone, without a CUDA toolkit installed.
//
// Conventions: every kernel is extern "C" (unmangled names, looked up by the
// Go side); sizes are int; a null pointer argument means "skip this output";
// elementwise kernels use grid-stride loops, so any grid size is correct.

#define ACT_NONE 0
#define ACT_RELU 1
#define ACT_GELU 2
#define ACT_TANH 3
#define ACT_SIGMOID 4

#define TC_INF __int_as_float(0x7f800000)
#define TC_NAN __int_as_float(0x7fffffff)

#define GRID_STRIDE(i, n) \
	for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += gridDim.x * blockDim.x)

__device__ __forceinline__ float act_fwd(float z, int act) {
	switch (act) {
	case ACT_RELU: return z > 0.f ? z : 0.f;
	case ACT_GELU: return 0.5f * z * (1.f + erff(z * 0.70710678118654752f));
	case ACT_TANH: return tanhf(z);
	case ACT_SIGMOID: return 1.f / (1.f + expf(-z));
	}
	return z;
}

// act_grad is the derivative at pre-activation z with output y; GELU needs
// z, the others only y (so their z may be anything).
__device__ __forceinline__ float act_grad(float z, float y, int act) {
	switch (act) {
	case ACT_RELU: return y > 0.f ? 1.f : 0.f;
	case ACT_GELU: {
		float cdf = 0.5f * (1.f + erff(z * 0.70710678118654752f));
		float pdf = expf(-0.5f * z * z) * 0.39894228040143268f;
		return cdf + z * pdf;
	}
	case ACT_TANH: return 1.f - y * y;
	case ACT_SIGMOID: return y * (1.f - y);
	}
	return 1.f;
}

__device__ __forceinline__ float warp_sum(float v) {
	for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
	return v;
}

__device__ __forceinline__ double warp_sum_d(double v) {
	for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
	return v;
}

__device__ __forceinline__ float warp_max(float v) {
	for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
	return v;
}

// block_sum returns the sum of v over the block to thread 0 (other threads
// get partial values). blockDim.x must be a multiple of 32, at most 1024.
__device__ float block_sum(float v) {
	__shared__ float sh[32];
	int lane = threadIdx.x & 31, w = threadIdx.x >> 5;
	v = warp_sum(v);
	__syncthreads(); // sh may still be read by a previous call
	if (lane == 0) sh[w] = v;
	__syncthreads();
	if (w == 0) {
		v = lane < (blockDim.x >> 5) ? sh[lane] : 0.f;
		v = warp_sum(v);
	}
	return v;
}

__device__ double block_sum_d(double v) {
	__shared__ double shd[32];
	int lane = threadIdx.x & 31, w = threadIdx.x >> 5;
	v = warp_sum_d(v);
	__syncthreads();
	if (lane == 0) shd[w] = v;
	__syncthreads();
	if (w == 0) {
		v = lane < (blockDim.x >> 5) ? shd[lane] : 0.0;
		v = warp_sum_d(v);
	}
	return v;
}
