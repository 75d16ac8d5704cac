// The C half of the CUDA binding. It declares the handful of CUDA driver,
// NVRTC and cuBLAS entry points troupe uses with the types of their public
// headers, resolves them with dlopen/dlsym at run time, and wraps each in a
// function that first makes the device's context current on the calling
// thread. No CUDA header or library is needed to build it.
#ifndef TROUPE_CUDA_SHIM_H
#define TROUPE_CUDA_SHIM_H

#include <stddef.h>

typedef int CUresult;
typedef int CUdevice;
typedef void *CUcontext;
typedef void *CUmodule;
typedef void *CUfunction;
typedef void *CUstream;
typedef void *CUevent;
typedef void *CUgraph;
typedef void *CUgraphExec;
typedef unsigned long long CUdeviceptr;
typedef void *nvrtcProgram;
typedef void *cublasHandle_t;

// tc_lib holds the library handles and resolved entry points.
typedef struct tc_lib {
	void *hcuda, *hnvrtc, *hcublas;

	CUresult (*cuInit)(unsigned int);
	CUresult (*cuDriverGetVersion)(int *);
	CUresult (*cuDeviceGetCount)(int *);
	CUresult (*cuDeviceGet)(CUdevice *, int);
	CUresult (*cuDeviceGetName)(char *, int, CUdevice);
	CUresult (*cuDeviceGetAttribute)(int *, int, CUdevice);
	CUresult (*cuDeviceTotalMem)(size_t *, CUdevice);
	CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
	CUresult (*cuDevicePrimaryCtxRelease)(CUdevice);
	CUresult (*cuCtxSetCurrent)(CUcontext);
	CUresult (*cuCtxSynchronize)(void);
	CUresult (*cuMemAlloc)(CUdeviceptr *, size_t);
	CUresult (*cuMemFree)(CUdeviceptr);
	CUresult (*cuMemGetInfo)(size_t *, size_t *);
	CUresult (*cuMemHostAlloc)(void **, size_t, unsigned int);
	CUresult (*cuMemFreeHost)(void *);
	CUresult (*cuMemcpyHtoDAsync)(CUdeviceptr, const void *, size_t, CUstream);
	CUresult (*cuMemcpyDtoHAsync)(void *, CUdeviceptr, size_t, CUstream);
	CUresult (*cuMemcpyDtoDAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
	CUresult (*cuMemsetD32Async)(CUdeviceptr, unsigned int, size_t, CUstream);
	CUresult (*cuStreamCreate)(CUstream *, unsigned int);
	CUresult (*cuStreamDestroy)(CUstream);
	CUresult (*cuStreamSynchronize)(CUstream);
	CUresult (*cuStreamWaitEvent)(CUstream, CUevent, unsigned int);
	CUresult (*cuEventCreate)(CUevent *, unsigned int);
	CUresult (*cuEventDestroy)(CUevent);
	CUresult (*cuEventRecord)(CUevent, CUstream);
	CUresult (*cuEventSynchronize)(CUevent);
	CUresult (*cuEventQuery)(CUevent);
	CUresult (*cuEventElapsedTime)(float *, CUevent, CUevent);
	CUresult (*cuModuleLoadData)(CUmodule *, const void *);
	CUresult (*cuModuleUnload)(CUmodule);
	CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
	CUresult (*cuLaunchKernel)(CUfunction, unsigned int, unsigned int, unsigned int,
	                           unsigned int, unsigned int, unsigned int, unsigned int,
	                           CUstream, void **, void **);
	CUresult (*cuGetErrorName)(CUresult, const char **);
	CUresult (*cuGetErrorString)(CUresult, const char **);
	CUresult (*cuStreamBeginCapture)(CUstream, int);
	CUresult (*cuStreamEndCapture)(CUstream, CUgraph *);
	CUresult (*cuGraphInstantiateWithFlags)(CUgraphExec *, CUgraph, unsigned long long);
	CUresult (*cuGraphLaunch)(CUgraphExec, CUstream);
	CUresult (*cuGraphDestroy)(CUgraph);
	CUresult (*cuGraphExecDestroy)(CUgraphExec);

	int (*nvrtcVersion)(int *, int *);
	int (*nvrtcCreateProgram)(nvrtcProgram *, const char *, const char *, int,
	                          const char *const *, const char *const *);
	int (*nvrtcCompileProgram)(nvrtcProgram, int, const char *const *);
	int (*nvrtcGetPTXSize)(nvrtcProgram, size_t *);
	int (*nvrtcGetPTX)(nvrtcProgram, char *);
	int (*nvrtcGetCUBINSize)(nvrtcProgram, size_t *);
	int (*nvrtcGetCUBIN)(nvrtcProgram, char *);
	int (*nvrtcGetProgramLogSize)(nvrtcProgram, size_t *);
	int (*nvrtcGetProgramLog)(nvrtcProgram, char *);
	int (*nvrtcDestroyProgram)(nvrtcProgram *);
	const char *(*nvrtcGetErrorString)(int);

	int (*cublasCreate)(cublasHandle_t *);
	int (*cublasDestroy)(cublasHandle_t);
	int (*cublasGetVersion)(cublasHandle_t, int *);
	int (*cublasSetStream)(cublasHandle_t, CUstream);
	int (*cublasSetWorkspace)(cublasHandle_t, void *, size_t);
	int (*cublasSgemm)(cublasHandle_t, int, int, int, int, int, const float *,
	                   const float *, int, const float *, int, const float *, float *, int);
	int (*cublasGemmEx)(cublasHandle_t, int, int, int, int, int, const void *,
	                    const void *, int, int, const void *, int, int, const void *,
	                    void *, int, int, int, int);
} tc_lib;

// Loading. Each returns 0 or -1 with a message in err.
tc_lib *tc_new(void);
void tc_free(tc_lib *l);
int tc_load_driver(tc_lib *l, const char *path, char *err, int errlen);
int tc_load_nvrtc(tc_lib *l, const char *path, char *err, int errlen);
int tc_load_cublas(tc_lib *l, const char *path, char *err, int errlen);

// Every wrapper below returns the library's status. A negative value -r
// means making the context current failed with CUresult r.
int tc_bind(tc_lib *l, CUcontext ctx);
int tc_init(tc_lib *l);
int tc_driver_version(tc_lib *l, int *v);
int tc_device_count(tc_lib *l, int *n);
int tc_device_get(tc_lib *l, CUdevice *d, int ordinal);
int tc_device_name(tc_lib *l, char *name, int n, CUdevice d);
int tc_device_attr(tc_lib *l, int *v, int attr, CUdevice d);
int tc_device_total_mem(tc_lib *l, size_t *n, CUdevice d);
int tc_primary_retain(tc_lib *l, CUcontext *ctx, CUdevice d);
int tc_primary_release(tc_lib *l, CUdevice d);
int tc_ctx_sync(tc_lib *l, CUcontext ctx);
int tc_nvrtc_version(tc_lib *l, int *major, int *minor);
const char *tc_nvrtc_error(tc_lib *l, int r);
int tc_cublas_version(tc_lib *l, CUcontext ctx, cublasHandle_t h, int *v);
int tc_mem_alloc(tc_lib *l, CUcontext ctx, CUdeviceptr *p, size_t n);
int tc_mem_free(tc_lib *l, CUcontext ctx, CUdeviceptr p);
int tc_mem_info(tc_lib *l, CUcontext ctx, size_t *free_, size_t *total);
int tc_host_alloc(tc_lib *l, CUcontext ctx, void **p, size_t n);
int tc_host_free(tc_lib *l, CUcontext ctx, void *p);
int tc_htod(tc_lib *l, CUcontext ctx, CUdeviceptr dst, const void *src, size_t n, CUstream s);
int tc_dtoh(tc_lib *l, CUcontext ctx, void *dst, CUdeviceptr src, size_t n, CUstream s);
int tc_dtod(tc_lib *l, CUcontext ctx, CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s);
int tc_memset32(tc_lib *l, CUcontext ctx, CUdeviceptr dst, unsigned int v, size_t n, CUstream s);
int tc_stream_create(tc_lib *l, CUcontext ctx, CUstream *s);
int tc_stream_destroy(tc_lib *l, CUcontext ctx, CUstream s);
int tc_stream_sync(tc_lib *l, CUcontext ctx, CUstream s);
int tc_stream_wait(tc_lib *l, CUcontext ctx, CUstream s, CUevent e);
int tc_event_create(tc_lib *l, CUcontext ctx, CUevent *e, unsigned int flags);
int tc_event_destroy(tc_lib *l, CUcontext ctx, CUevent e);
int tc_event_record(tc_lib *l, CUcontext ctx, CUevent e, CUstream s);
int tc_event_sync(tc_lib *l, CUcontext ctx, CUevent e);
int tc_event_query(tc_lib *l, CUcontext ctx, CUevent e);
int tc_event_elapsed(tc_lib *l, CUcontext ctx, float *ms, CUevent a, CUevent b);
int tc_module_load(tc_lib *l, CUcontext ctx, CUmodule *m, const void *image);
int tc_module_unload(tc_lib *l, CUcontext ctx, CUmodule m);
int tc_module_function(tc_lib *l, CUcontext ctx, CUfunction *f, CUmodule m, const char *name);
int tc_launch(tc_lib *l, CUcontext ctx, CUfunction f, unsigned int gx, unsigned int gy,
              unsigned int gz, unsigned int bx, unsigned int by, unsigned int bz,
              unsigned int shmem, CUstream s, unsigned long long *args, int nargs);
int tc_capture_begin(tc_lib *l, CUcontext ctx, CUstream s);
int tc_capture_end(tc_lib *l, CUcontext ctx, CUstream s, CUgraphExec *exec);
int tc_graph_launch(tc_lib *l, CUcontext ctx, CUgraphExec g, CUstream s);
int tc_graph_destroy(tc_lib *l, CUcontext ctx, CUgraphExec g);
const char *tc_error_name(tc_lib *l, int r);

int tc_nvrtc_compile(tc_lib *l, const char *src, const char *name, int nopt,
                     const char *const *opts, int cubin, char **out, size_t *outlen,
                     char **log, size_t *loglen);

int tc_cublas_create(tc_lib *l, CUcontext ctx, cublasHandle_t *h, CUstream s);
int tc_cublas_destroy(tc_lib *l, CUcontext ctx, cublasHandle_t h);
int tc_cublas_set_stream(tc_lib *l, CUcontext ctx, cublasHandle_t h, CUstream s);
int tc_cublas_set_workspace(tc_lib *l, CUcontext ctx, cublasHandle_t h, CUdeviceptr w, size_t n);
int tc_sgemm(tc_lib *l, CUcontext ctx, cublasHandle_t h, int ta, int tb, int m, int n, int k,
             float alpha, CUdeviceptr a, int lda, CUdeviceptr b, int ldb, float beta,
             CUdeviceptr c, int ldc);
int tc_gemm_ex(tc_lib *l, CUcontext ctx, cublasHandle_t h, int ta, int tb, int m, int n, int k,
               float alpha, CUdeviceptr a, int atype, int lda, CUdeviceptr b, int btype, int ldb,
               float beta, CUdeviceptr c, int ctype, int ldc, int compute);

#endif
