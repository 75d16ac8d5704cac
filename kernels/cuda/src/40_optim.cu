// Optimizer updates over all parameters at once. troupe keeps a model's
// parameters in one flat buffer (and its gradients and optimizer state in
// buffers of the same layout), with the weight-decayed tensors first: one
// launch updates every parameter, elements [0, ndecay) with weight decay.
// clip, when not null, points at the gradient-clipping factor computed on
// the device by clip_scale, so clipping needs no round trip to the host.

// sgd_step matches torch.optim.SGD (and troupe's CPU optimizer): with
// momentum buffers buf, b = buf_scale*b + grad_scale*g; the first step passes
// buf_scale 0 and grad_scale 1 so the buffer starts as the gradient.
extern "C" __global__ void sgd_step(float *p, const float *g, float *buf, int n, int ndecay, float lr,
                                    float wd, float momentum, float buf_scale, float grad_scale,
                                    int nesterov, const float *clip) {
	float cs = clip ? clip[0] : 1.f;
	GRID_STRIDE(i, n) {
		float gi = clip ? g[i] * cs : g[i];
		gi += (i < ndecay ? wd : 0.f) * p[i];
		float u = gi;
		if (buf) {
			float b = buf_scale * buf[i] + grad_scale * gi;
			buf[i] = b;
			u = nesterov ? gi + momentum * b : b;
		}
		p[i] -= lr * u;
	}
}

// adam_step matches torch.optim.Adam (l2 = weight decay, shrink = 1) and
// AdamW (l2 = 0, shrink = 1 - lr*wd) with the CPU optimizer's rounding of
// the per-step scalars: step_size = lr/(1-beta1^t), bc2_sqrt = sqrt(1-beta2^t).
extern "C" __global__ void adam_step(float *p, const float *g, float *m, float *v, int n, int ndecay,
                                     float beta1, float beta2, float om1, float om2, float step_size,
                                     float bc2_sqrt, float eps, float shrink, float l2, const float *clip) {
	float cs = clip ? clip[0] : 1.f;
	GRID_STRIDE(i, n) {
		bool decay = i < ndecay;
		float pi = decay ? p[i] * shrink : p[i];
		float gi = (clip ? g[i] * cs : g[i]) + (decay ? l2 : 0.f) * pi;
		float mi = beta1 * m[i] + om1 * gi;
		float vi = beta2 * v[i] + om2 * gi * gi;
		m[i] = mi;
		v[i] = vi;
		p[i] = pi - step_size * mi / (sqrtf(vi) / bc2_sqrt + eps);
	}
}

// sumsq_partial adds squares of x in double, one partial sum per block.
extern "C" __global__ void sumsq_partial(const float *x, int n, double *partial) {
	double s = 0.0;
	GRID_STRIDE(i, n) { double v = x[i]; s += v * v; }
	s = block_sum_d(s);
	if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

// clip_scale (one block) turns the partial sums into the global gradient
// norm and the clipping factor max_norm/(norm + 1e-6), capped at 1; 1 when
// max_norm is not positive or the norm is not finite, as on the CPU.
extern "C" __global__ void clip_scale(const double *partial, int nparts, float max_norm, float *scale,
                                      float *norm_out) {
	double s = 0.0;
	for (int i = threadIdx.x; i < nparts; i += blockDim.x) s += partial[i];
	s = block_sum_d(s);
	if (threadIdx.x == 0) {
		double norm = sqrt(s);
		float c = 1.f;
		if (max_norm > 0.f && isfinite(norm)) {
			double q = (double)max_norm / (norm + 1e-6);
			if (q < 1.0) c = (float)q;
		}
		scale[0] = c;
		if (norm_out) norm_out[0] = (float)norm;
	}
}
