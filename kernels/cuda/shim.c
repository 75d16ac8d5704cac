//go:build linux && cgo

#include "shim.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

tc_lib *tc_new(void) { return calloc(1, sizeof(tc_lib)); }

void tc_free(tc_lib *l) {
	if (l == NULL) return;
	if (l->hcublas) dlclose(l->hcublas);
	if (l->hnvrtc) dlclose(l->hnvrtc);
	if (l->hcuda) dlclose(l->hcuda);
	free(l);
}

static void *tc_dlopen(const char *path, char *err, int errlen) {
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		const char *e = dlerror();
		snprintf(err, errlen, "%s", e ? e : "dlopen failed");
	}
	return h;
}

// LOAD resolves one symbol into a field, failing the whole load when it is
// missing: a half-resolved table would crash later instead of erroring now.
#define LOAD(h, field, sym)                                                     \
	do {                                                                    \
		*(void **)(&l->field) = dlsym(h, sym);                          \
		if (l->field == NULL) {                                         \
			snprintf(err, errlen, "%s: symbol %s not found", path, sym); \
			dlclose(h);                                             \
			return -1;                                              \
		}                                                               \
	} while (0)

int tc_load_driver(tc_lib *l, const char *path, char *err, int errlen) {
	void *h = tc_dlopen(path, err, errlen);
	if (h == NULL) return -1;
	LOAD(h, cuInit, "cuInit");
	LOAD(h, cuDriverGetVersion, "cuDriverGetVersion");
	LOAD(h, cuDeviceGetCount, "cuDeviceGetCount");
	LOAD(h, cuDeviceGet, "cuDeviceGet");
	LOAD(h, cuDeviceGetName, "cuDeviceGetName");
	LOAD(h, cuDeviceGetAttribute, "cuDeviceGetAttribute");
	LOAD(h, cuDeviceTotalMem, "cuDeviceTotalMem_v2");
	LOAD(h, cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
	LOAD(h, cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2");
	LOAD(h, cuCtxSetCurrent, "cuCtxSetCurrent");
	LOAD(h, cuCtxSynchronize, "cuCtxSynchronize");
	LOAD(h, cuMemAlloc, "cuMemAlloc_v2");
	LOAD(h, cuMemFree, "cuMemFree_v2");
	LOAD(h, cuMemGetInfo, "cuMemGetInfo_v2");
	LOAD(h, cuMemHostAlloc, "cuMemHostAlloc");
	LOAD(h, cuMemFreeHost, "cuMemFreeHost");
	LOAD(h, cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2");
	LOAD(h, cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2");
	LOAD(h, cuMemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2");
	LOAD(h, cuMemsetD32Async, "cuMemsetD32Async");
	LOAD(h, cuStreamCreate, "cuStreamCreate");
	LOAD(h, cuStreamDestroy, "cuStreamDestroy_v2");
	LOAD(h, cuStreamSynchronize, "cuStreamSynchronize");
	LOAD(h, cuStreamWaitEvent, "cuStreamWaitEvent");
	LOAD(h, cuEventCreate, "cuEventCreate");
	LOAD(h, cuEventDestroy, "cuEventDestroy_v2");
	LOAD(h, cuEventRecord, "cuEventRecord");
	LOAD(h, cuEventSynchronize, "cuEventSynchronize");
	LOAD(h, cuEventQuery, "cuEventQuery");
	LOAD(h, cuEventElapsedTime, "cuEventElapsedTime");
	LOAD(h, cuModuleLoadData, "cuModuleLoadData");
	LOAD(h, cuModuleUnload, "cuModuleUnload");
	LOAD(h, cuModuleGetFunction, "cuModuleGetFunction");
	LOAD(h, cuLaunchKernel, "cuLaunchKernel");
	LOAD(h, cuGetErrorName, "cuGetErrorName");
	LOAD(h, cuGetErrorString, "cuGetErrorString");
	LOAD(h, cuStreamBeginCapture, "cuStreamBeginCapture_v2");
	LOAD(h, cuStreamEndCapture, "cuStreamEndCapture");
	LOAD(h, cuGraphInstantiateWithFlags, "cuGraphInstantiateWithFlags");
	LOAD(h, cuGraphLaunch, "cuGraphLaunch");
	LOAD(h, cuGraphDestroy, "cuGraphDestroy");
	LOAD(h, cuGraphExecDestroy, "cuGraphExecDestroy");
	l->hcuda = h;
	return 0;
}

int tc_load_nvrtc(tc_lib *l, const char *path, char *err, int errlen) {
	void *h = tc_dlopen(path, err, errlen);
	if (h == NULL) return -1;
	LOAD(h, nvrtcVersion, "nvrtcVersion");
	LOAD(h, nvrtcCreateProgram, "nvrtcCreateProgram");
	LOAD(h, nvrtcCompileProgram, "nvrtcCompileProgram");
	LOAD(h, nvrtcGetPTXSize, "nvrtcGetPTXSize");
	LOAD(h, nvrtcGetPTX, "nvrtcGetPTX");
	LOAD(h, nvrtcGetCUBINSize, "nvrtcGetCUBINSize");
	LOAD(h, nvrtcGetCUBIN, "nvrtcGetCUBIN");
	LOAD(h, nvrtcGetProgramLogSize, "nvrtcGetProgramLogSize");
	LOAD(h, nvrtcGetProgramLog, "nvrtcGetProgramLog");
	LOAD(h, nvrtcDestroyProgram, "nvrtcDestroyProgram");
	LOAD(h, nvrtcGetErrorString, "nvrtcGetErrorString");
	l->hnvrtc = h;
	return 0;
}

int tc_load_cublas(tc_lib *l, const char *path, char *err, int errlen) {
	void *h = tc_dlopen(path, err, errlen);
	if (h == NULL) return -1;
	LOAD(h, cublasCreate, "cublasCreate_v2");
	LOAD(h, cublasDestroy, "cublasDestroy_v2");
	LOAD(h, cublasGetVersion, "cublasGetVersion_v2");
	LOAD(h, cublasSetStream, "cublasSetStream_v2");
	LOAD(h, cublasSetWorkspace, "cublasSetWorkspace_v2");
	LOAD(h, cublasSgemm, "cublasSgemm_v2");
	LOAD(h, cublasGemmEx, "cublasGemmEx");
	l->hcublas = h;
	return 0;
}

// tc_current caches the context current on this OS thread, so the common
// case of a thread that keeps working for one device costs a compare, not a
// driver call.
static __thread CUcontext tc_current;

int tc_bind(tc_lib *l, CUcontext ctx) {
	if (tc_current == ctx) return 0;
	CUresult r = l->cuCtxSetCurrent(ctx);
	if (r != 0) return -r;
	tc_current = ctx;
	return 0;
}

int tc_init(tc_lib *l) { return l->cuInit(0); }
int tc_driver_version(tc_lib *l, int *v) { return l->cuDriverGetVersion(v); }
int tc_device_count(tc_lib *l, int *n) { return l->cuDeviceGetCount(n); }
int tc_device_get(tc_lib *l, CUdevice *d, int ordinal) { return l->cuDeviceGet(d, ordinal); }
int tc_device_name(tc_lib *l, char *name, int n, CUdevice d) { return l->cuDeviceGetName(name, n, d); }
int tc_device_attr(tc_lib *l, int *v, int attr, CUdevice d) { return l->cuDeviceGetAttribute(v, attr, d); }
int tc_device_total_mem(tc_lib *l, size_t *n, CUdevice d) { return l->cuDeviceTotalMem(n, d); }
int tc_primary_retain(tc_lib *l, CUcontext *ctx, CUdevice d) { return l->cuDevicePrimaryCtxRetain(ctx, d); }
int tc_primary_release(tc_lib *l, CUdevice d) { return l->cuDevicePrimaryCtxRelease(d); }
int tc_nvrtc_version(tc_lib *l, int *major, int *minor) { return l->nvrtcVersion(major, minor); }
const char *tc_nvrtc_error(tc_lib *l, int r) { return l->nvrtcGetErrorString(r); }

#define BIND                                   \
	do {                                   \
		int b_ = tc_bind(l, ctx);      \
		if (b_ != 0) return b_;        \
	} while (0)

int tc_ctx_sync(tc_lib *l, CUcontext ctx) { BIND; return l->cuCtxSynchronize(); }
int tc_cublas_version(tc_lib *l, CUcontext ctx, cublasHandle_t h, int *v) { BIND; return l->cublasGetVersion(h, v); }
int tc_mem_alloc(tc_lib *l, CUcontext ctx, CUdeviceptr *p, size_t n) { BIND; return l->cuMemAlloc(p, n); }
int tc_mem_free(tc_lib *l, CUcontext ctx, CUdeviceptr p) { BIND; return l->cuMemFree(p); }
int tc_mem_info(tc_lib *l, CUcontext ctx, size_t *free_, size_t *total) { BIND; return l->cuMemGetInfo(free_, total); }
// Flag 0: page-locked memory for this context's asynchronous copies.
int tc_host_alloc(tc_lib *l, CUcontext ctx, void **p, size_t n) { BIND; return l->cuMemHostAlloc(p, n, 0); }
int tc_host_free(tc_lib *l, CUcontext ctx, void *p) { BIND; return l->cuMemFreeHost(p); }
int tc_htod(tc_lib *l, CUcontext ctx, CUdeviceptr dst, const void *src, size_t n, CUstream s) { BIND; return l->cuMemcpyHtoDAsync(dst, src, n, s); }
int tc_dtoh(tc_lib *l, CUcontext ctx, void *dst, CUdeviceptr src, size_t n, CUstream s) { BIND; return l->cuMemcpyDtoHAsync(dst, src, n, s); }
int tc_dtod(tc_lib *l, CUcontext ctx, CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s) { BIND; return l->cuMemcpyDtoDAsync(dst, src, n, s); }
int tc_memset32(tc_lib *l, CUcontext ctx, CUdeviceptr dst, unsigned int v, size_t n, CUstream s) { BIND; return l->cuMemsetD32Async(dst, v, n, s); }
// Flag 1 (CU_STREAM_NON_BLOCKING): no implicit ordering with the legacy
// default stream, which troupe never uses.
int tc_stream_create(tc_lib *l, CUcontext ctx, CUstream *s) { BIND; return l->cuStreamCreate(s, 1); }
int tc_stream_destroy(tc_lib *l, CUcontext ctx, CUstream s) { BIND; return l->cuStreamDestroy(s); }
int tc_stream_sync(tc_lib *l, CUcontext ctx, CUstream s) { BIND; return l->cuStreamSynchronize(s); }
int tc_stream_wait(tc_lib *l, CUcontext ctx, CUstream s, CUevent e) { BIND; return l->cuStreamWaitEvent(s, e, 0); }
int tc_event_create(tc_lib *l, CUcontext ctx, CUevent *e, unsigned int flags) { BIND; return l->cuEventCreate(e, flags); }
int tc_event_destroy(tc_lib *l, CUcontext ctx, CUevent e) { BIND; return l->cuEventDestroy(e); }
int tc_event_record(tc_lib *l, CUcontext ctx, CUevent e, CUstream s) { BIND; return l->cuEventRecord(e, s); }
int tc_event_sync(tc_lib *l, CUcontext ctx, CUevent e) { BIND; return l->cuEventSynchronize(e); }
int tc_event_query(tc_lib *l, CUcontext ctx, CUevent e) { BIND; return l->cuEventQuery(e); }
int tc_event_elapsed(tc_lib *l, CUcontext ctx, float *ms, CUevent a, CUevent b) { BIND; return l->cuEventElapsedTime(ms, a, b); }
int tc_module_load(tc_lib *l, CUcontext ctx, CUmodule *m, const void *image) { BIND; return l->cuModuleLoadData(m, image); }
int tc_module_unload(tc_lib *l, CUcontext ctx, CUmodule m) { BIND; return l->cuModuleUnload(m); }
int tc_module_function(tc_lib *l, CUcontext ctx, CUfunction *f, CUmodule m, const char *name) { BIND; return l->cuModuleGetFunction(f, m, name); }

#define TC_MAX_ARGS 24

int tc_launch(tc_lib *l, CUcontext ctx, CUfunction f, unsigned int gx, unsigned int gy,
              unsigned int gz, unsigned int bx, unsigned int by, unsigned int bz,
              unsigned int shmem, CUstream s, unsigned long long *args, int nargs) {
	// Every argument travels in an 8-byte slot; on this little-endian ABI a
	// pointer to the slot is also a valid pointer to a 4-byte int or float
	// stored in its low half. cuLaunchKernel copies the values before it
	// returns, so the slots need not outlive the call.
	void *params[TC_MAX_ARGS];
	if (nargs > TC_MAX_ARGS) return 1; // CUDA_ERROR_INVALID_VALUE
	for (int i = 0; i < nargs; i++) params[i] = &args[i];
	BIND;
	return l->cuLaunchKernel(f, gx, gy, gz, bx, by, bz, shmem, s, params, NULL);
}

// Mode 2 (relaxed): other threads may keep making CUDA calls that are not
// captured, e.g. the data loader's copies on another stream.
int tc_capture_begin(tc_lib *l, CUcontext ctx, CUstream s) { BIND; return l->cuStreamBeginCapture(s, 2); }

int tc_capture_end(tc_lib *l, CUcontext ctx, CUstream s, CUgraphExec *exec) {
	BIND;
	CUgraph g = NULL;
	CUresult r = l->cuStreamEndCapture(s, &g);
	if (r != 0) return r;
	r = l->cuGraphInstantiateWithFlags(exec, g, 0);
	l->cuGraphDestroy(g);
	return r;
}

int tc_graph_launch(tc_lib *l, CUcontext ctx, CUgraphExec g, CUstream s) { BIND; return l->cuGraphLaunch(g, s); }
int tc_graph_destroy(tc_lib *l, CUcontext ctx, CUgraphExec g) { BIND; return l->cuGraphExecDestroy(g); }

const char *tc_error_name(tc_lib *l, int r) {
	const char *s = NULL;
	if (l->cuGetErrorName == NULL || l->cuGetErrorName(r, &s) != 0) return NULL;
	return s;
}

int tc_nvrtc_compile(tc_lib *l, const char *src, const char *name, int nopt,
                     const char *const *opts, int cubin, char **out, size_t *outlen,
                     char **log, size_t *loglen) {
	nvrtcProgram p = NULL;
	*out = NULL;
	*log = NULL;
	*outlen = 0;
	*loglen = 0;
	int r = l->nvrtcCreateProgram(&p, src, name, 0, NULL, NULL);
	if (r != 0) return r;
	int cr = l->nvrtcCompileProgram(p, nopt, opts);
	size_t n = 0;
	if (l->nvrtcGetProgramLogSize(p, &n) == 0 && n > 1) {
		*log = malloc(n);
		if (*log != NULL && l->nvrtcGetProgramLog(p, *log) == 0) *loglen = n - 1;
	}
	if (cr != 0) {
		l->nvrtcDestroyProgram(&p);
		return cr;
	}
	r = cubin ? l->nvrtcGetCUBINSize(p, &n) : l->nvrtcGetPTXSize(p, &n);
	if (r == 0) {
		*out = malloc(n);
		if (*out == NULL) {
			r = 7; // NVRTC_ERROR_INTERNAL_ERROR
		} else {
			r = cubin ? l->nvrtcGetCUBIN(p, *out) : l->nvrtcGetPTX(p, *out);
			*outlen = n;
		}
	}
	l->nvrtcDestroyProgram(&p);
	return r;
}

int tc_cublas_create(tc_lib *l, CUcontext ctx, cublasHandle_t *h, CUstream s) {
	BIND;
	int r = l->cublasCreate(h);
	if (r != 0) return r;
	return l->cublasSetStream(*h, s);
}
int tc_cublas_destroy(tc_lib *l, CUcontext ctx, cublasHandle_t h) { BIND; return l->cublasDestroy(h); }
int tc_cublas_set_stream(tc_lib *l, CUcontext ctx, cublasHandle_t h, CUstream s) { BIND; return l->cublasSetStream(h, s); }
int tc_cublas_set_workspace(tc_lib *l, CUcontext ctx, cublasHandle_t h, CUdeviceptr w, size_t n) { BIND; return l->cublasSetWorkspace(h, (void *)w, n); }

int tc_sgemm(tc_lib *l, CUcontext ctx, cublasHandle_t h, int ta, int tb, int m, int n, int k,
             float alpha, CUdeviceptr a, int lda, CUdeviceptr b, int ldb, float beta,
             CUdeviceptr c, int ldc) {
	BIND;
	return l->cublasSgemm(h, ta, tb, m, n, k, &alpha, (const float *)a, lda, (const float *)b,
	                      ldb, &beta, (float *)c, ldc);
}

int tc_gemm_ex(tc_lib *l, CUcontext ctx, cublasHandle_t h, int ta, int tb, int m, int n, int k,
               float alpha, CUdeviceptr a, int atype, int lda, CUdeviceptr b, int btype, int ldb,
               float beta, CUdeviceptr c, int ctype, int ldc, int compute) {
	BIND;
	// Algorithm -1 is CUBLAS_GEMM_DEFAULT: the library's heuristic.
	return l->cublasGemmEx(h, ta, tb, m, n, k, &alpha, (const void *)a, atype, lda,
	                       (const void *)b, btype, ldb, &beta, (void *)c, ctype, ldc, compute, -1);
}
