//go:build linux && cgo

package cuda

/*
#cgo LDFLAGS: -ldl
#cgo noescape tc_launch
#cgo nocallback tc_launch
#cgo noescape tc_sgemm
#cgo nocallback tc_sgemm
#cgo noescape tc_gemm_ex
#cgo nocallback tc_gemm_ex
#cgo noescape tc_htod
#cgo nocallback tc_htod
#cgo noescape tc_dtoh
#cgo nocallback tc_dtoh
#cgo noescape tc_event_query
#cgo nocallback tc_event_query
#cgo noescape tc_event_record
#cgo nocallback tc_event_record
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"strings"
	"unsafe"
)

// cgoDriver is the driver binding through the C shim.
type cgoDriver struct {
	l   *C.tc_lib
	dev C.CUdevice
	ctx C.CUcontext
}

var _ driver = (*cgoDriver)(nil)

// openDriver loads the three libraries, trying each candidate path in turn,
// and initialises the driver. A missing driver library or no device is
// ErrNoDevice; a missing NVRTC or cuBLAS is a plain error naming it.
func openDriver(dirs []string) (driver, error) {
	d := &cgoDriver{l: C.tc_new()}
	if d.l == nil {
		return nil, fmt.Errorf("cuda: out of memory")
	}
	load := func(what string, names []string, f func(*C.tc_lib, *C.char, *C.char, C.int) C.int) error {
		paths := candidates(names, dirs)
		var found string // a library that exists but failed to load says why
		for _, p := range paths {
			cp := C.CString(p)
			var buf [512]C.char
			r := f(d.l, cp, &buf[0], C.int(len(buf)))
			C.free(unsafe.Pointer(cp))
			if r == 0 {
				return nil
			}
			if msg := C.GoString(&buf[0]); found == "" && !strings.Contains(msg, "No such file") {
				found = msg
			}
		}
		if found != "" {
			return fmt.Errorf("%s library unusable: %s", what, found)
		}
		return fmt.Errorf("%s library %s not found (searched the dynamic loader's path and %d folders; set %s to the folder holding it)",
			what, names[0], len(standardDirs())+len(dirs), EnvLibs)
	}
	if err := load("CUDA driver", driverNames(), func(l *C.tc_lib, p, e *C.char, n C.int) C.int { return C.tc_load_driver(l, p, e, n) }); err != nil {
		d.close()
		return nil, fmt.Errorf("%w: %v", ErrNoDevice, err)
	}
	if r := C.tc_init(d.l); r != 0 {
		err := d.drvErr("cuInit", r, "")
		d.close()
		return nil, fmt.Errorf("%w: %v", ErrNoDevice, err)
	}
	if err := load("NVRTC", nvrtcNames(), func(l *C.tc_lib, p, e *C.char, n C.int) C.int { return C.tc_load_nvrtc(l, p, e, n) }); err != nil {
		d.close()
		return nil, fmt.Errorf("cuda: %w", err)
	}
	if err := load("cuBLAS", cublasNames(), func(l *C.tc_lib, p, e *C.char, n C.int) C.int { return C.tc_load_cublas(l, p, e, n) }); err != nil {
		d.close()
		return nil, fmt.Errorf("cuda: %w", err)
	}
	return d, nil
}

// openNVRTC loads NVRTC alone, for compiling without a device.
func openNVRTC(dirs []string) (driver, error) {
	d := &cgoDriver{l: C.tc_new()}
	var tried []string
	var last string
	for _, p := range candidates(nvrtcNames(), dirs) {
		cp := C.CString(p)
		var buf [512]C.char
		r := C.tc_load_nvrtc(d.l, cp, &buf[0], C.int(len(buf)))
		C.free(unsafe.Pointer(cp))
		if r == 0 {
			return d, nil
		}
		tried = append(tried, p)
		last = C.GoString(&buf[0])
	}
	d.close()
	return nil, fmt.Errorf("cuda: %w (tried %s; last error: %s)", ErrNoNVRTC, strings.Join(tried, ", "), last)
}

func (d *cgoDriver) close() {
	if d.l != nil {
		C.tc_free(d.l)
		d.l = nil
	}
}

// drvErr turns a driver status into an *Error. Negative codes come from the
// shim's context binding.
func (d *cgoDriver) drvErr(call string, r C.int, detail string) error {
	if r == 0 {
		return nil
	}
	code := int(r)
	if code < 0 {
		call, code = "cuCtxSetCurrent (before "+call+")", -code
	}
	e := &Error{Call: call, Code: code, Detail: detail}
	if s := C.tc_error_name(d.l, C.int(code)); s != nil {
		e.Name = C.GoString(s)
	}
	return e
}

func (d *cgoDriver) nvrtcErr(call string, r C.int) error {
	if r == 0 {
		return nil
	}
	e := &Error{Call: call, Code: int(r)}
	if s := C.tc_nvrtc_error(d.l, r); s != nil {
		e.Name = C.GoString(s)
	}
	return e
}

func (d *cgoDriver) blasErr(call string, r C.int, detail string) error {
	if r == 0 {
		return nil
	}
	if r < 0 {
		return d.drvErr(call, r, detail)
	}
	return &Error{Call: call, Code: int(r), Name: cublasStatusName(int(r)), Detail: detail}
}

func (d *cgoDriver) driverVersion() (int, error) {
	var v C.int
	r := C.tc_driver_version(d.l, &v)
	return int(v), d.drvErr("cuDriverGetVersion", r, "")
}

func (d *cgoDriver) nvrtcVersion() (int, int, error) {
	var a, b C.int
	r := C.tc_nvrtc_version(d.l, &a, &b)
	return int(a), int(b), d.nvrtcErr("nvrtcVersion", r)
}

func (d *cgoDriver) cublasVersion(h handle) (int, error) {
	var v C.int
	r := C.tc_cublas_version(d.l, d.ctx, C.cublasHandle_t(h), &v)
	return int(v), d.blasErr("cublasGetVersion_v2", r, "")
}

func (d *cgoDriver) deviceCount() (int, error) {
	var n C.int
	r := C.tc_device_count(d.l, &n)
	return int(n), d.drvErr("cuDeviceGetCount", r, "")
}

func (d *cgoDriver) useDevice(ordinal int) error {
	if r := C.tc_device_get(d.l, &d.dev, C.int(ordinal)); r != 0 {
		return d.drvErr("cuDeviceGet", r, fmt.Sprint(ordinal))
	}
	return d.drvErr("cuDevicePrimaryCtxRetain", C.tc_primary_retain(d.l, &d.ctx, d.dev), fmt.Sprint(ordinal))
}

func (d *cgoDriver) releaseDevice() error {
	if d.ctx == nil {
		return nil
	}
	// Everything queued must finish before the context can go.
	err := d.drvErr("cuCtxSynchronize", C.tc_ctx_sync(d.l, d.ctx), "")
	if e := d.drvErr("cuDevicePrimaryCtxRelease_v2", C.tc_primary_release(d.l, d.dev), ""); err == nil {
		err = e
	}
	d.ctx = nil
	return err
}

func (d *cgoDriver) deviceName() (string, error) {
	var buf [256]C.char
	if r := C.tc_device_name(d.l, &buf[0], C.int(len(buf)), d.dev); r != 0 {
		return "", d.drvErr("cuDeviceGetName", r, "")
	}
	return C.GoString(&buf[0]), nil
}

func (d *cgoDriver) attribute(attr int) (int, error) {
	var v C.int
	r := C.tc_device_attr(d.l, &v, C.int(attr), d.dev)
	return int(v), d.drvErr("cuDeviceGetAttribute", r, fmt.Sprint(attr))
}

func (d *cgoDriver) totalMem() (int64, error) {
	var n C.size_t
	r := C.tc_device_total_mem(d.l, &n, d.dev)
	return int64(n), d.drvErr("cuDeviceTotalMem_v2", r, "")
}

func (d *cgoDriver) memInfo() (int64, int64, error) {
	var f, t C.size_t
	r := C.tc_mem_info(d.l, d.ctx, &f, &t)
	return int64(f), int64(t), d.drvErr("cuMemGetInfo_v2", r, "")
}

func (d *cgoDriver) memAlloc(n int) (Ptr, error) {
	var p C.CUdeviceptr
	r := C.tc_mem_alloc(d.l, d.ctx, &p, C.size_t(n))
	return Ptr(p), d.drvErr("cuMemAlloc_v2", r, fmt.Sprintf("%d bytes", n))
}

func (d *cgoDriver) memFree(p Ptr) error {
	return d.drvErr("cuMemFree_v2", C.tc_mem_free(d.l, d.ctx, C.CUdeviceptr(p)), "")
}

func (d *cgoDriver) hostAlloc(n int) (unsafe.Pointer, error) {
	var p unsafe.Pointer
	r := C.tc_host_alloc(d.l, d.ctx, &p, C.size_t(n))
	return p, d.drvErr("cuMemHostAlloc", r, fmt.Sprintf("%d bytes", n))
}

func (d *cgoDriver) hostFree(p unsafe.Pointer) error {
	return d.drvErr("cuMemFreeHost", C.tc_host_free(d.l, d.ctx, p), "")
}

func (d *cgoDriver) htod(dst Ptr, src unsafe.Pointer, n int, s handle) error {
	return d.drvErr("cuMemcpyHtoDAsync_v2", C.tc_htod(d.l, d.ctx, C.CUdeviceptr(dst), src, C.size_t(n), C.CUstream(s)), "")
}

func (d *cgoDriver) dtoh(dst unsafe.Pointer, src Ptr, n int, s handle) error {
	return d.drvErr("cuMemcpyDtoHAsync_v2", C.tc_dtoh(d.l, d.ctx, dst, C.CUdeviceptr(src), C.size_t(n), C.CUstream(s)), "")
}

func (d *cgoDriver) dtod(dst, src Ptr, n int, s handle) error {
	return d.drvErr("cuMemcpyDtoDAsync_v2", C.tc_dtod(d.l, d.ctx, C.CUdeviceptr(dst), C.CUdeviceptr(src), C.size_t(n), C.CUstream(s)), "")
}

func (d *cgoDriver) memset32(dst Ptr, v uint32, n int, s handle) error {
	return d.drvErr("cuMemsetD32Async", C.tc_memset32(d.l, d.ctx, C.CUdeviceptr(dst), C.uint(v), C.size_t(n), C.CUstream(s)), "")
}

func (d *cgoDriver) streamCreate() (handle, error) {
	var s C.CUstream
	r := C.tc_stream_create(d.l, d.ctx, &s)
	return handle(s), d.drvErr("cuStreamCreate", r, "")
}

func (d *cgoDriver) streamDestroy(s handle) error {
	return d.drvErr("cuStreamDestroy_v2", C.tc_stream_destroy(d.l, d.ctx, C.CUstream(s)), "")
}

func (d *cgoDriver) streamSync(s handle) error {
	return d.drvErr("cuStreamSynchronize", C.tc_stream_sync(d.l, d.ctx, C.CUstream(s)), "")
}

func (d *cgoDriver) streamWait(s, e handle) error {
	return d.drvErr("cuStreamWaitEvent", C.tc_stream_wait(d.l, d.ctx, C.CUstream(s), C.CUevent(e)), "")
}

func (d *cgoDriver) eventCreate(timing bool) (handle, error) {
	var e C.CUevent
	flags := C.uint(2) // CU_EVENT_DISABLE_TIMING: cheaper to record and wait on
	if timing {
		flags = 0
	}
	r := C.tc_event_create(d.l, d.ctx, &e, flags)
	return handle(e), d.drvErr("cuEventCreate", r, "")
}

func (d *cgoDriver) eventDestroy(e handle) error {
	return d.drvErr("cuEventDestroy_v2", C.tc_event_destroy(d.l, d.ctx, C.CUevent(e)), "")
}

func (d *cgoDriver) eventRecord(e, s handle) error {
	return d.drvErr("cuEventRecord", C.tc_event_record(d.l, d.ctx, C.CUevent(e), C.CUstream(s)), "")
}

func (d *cgoDriver) eventSync(e handle) error {
	return d.drvErr("cuEventSynchronize", C.tc_event_sync(d.l, d.ctx, C.CUevent(e)), "")
}

// cudaErrorNotReady is CUDA_ERROR_NOT_READY: the event has not happened yet.
const cudaErrorNotReady = 600

func (d *cgoDriver) eventQuery(e handle) (bool, error) {
	r := C.tc_event_query(d.l, d.ctx, C.CUevent(e))
	if r == cudaErrorNotReady {
		return false, nil
	}
	return r == 0, d.drvErr("cuEventQuery", r, "")
}

func (d *cgoDriver) eventElapsed(a, b handle) (float32, error) {
	var ms C.float
	r := C.tc_event_elapsed(d.l, d.ctx, &ms, C.CUevent(a), C.CUevent(b))
	return float32(ms), d.drvErr("cuEventElapsedTime", r, "")
}

func (d *cgoDriver) moduleLoad(image []byte) (handle, error) {
	// The image must be in C memory for the duration of the call only.
	cimg := C.CBytes(image)
	defer C.free(cimg)
	var m C.CUmodule
	r := C.tc_module_load(d.l, d.ctx, &m, cimg)
	return handle(m), d.drvErr("cuModuleLoadData", r, fmt.Sprintf("%d-byte image", len(image)))
}

func (d *cgoDriver) moduleUnload(m handle) error {
	return d.drvErr("cuModuleUnload", C.tc_module_unload(d.l, d.ctx, C.CUmodule(m)), "")
}

func (d *cgoDriver) moduleFunction(m handle, name string) (handle, error) {
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	var f C.CUfunction
	r := C.tc_module_function(d.l, d.ctx, &f, C.CUmodule(m), cn)
	return handle(f), d.drvErr("cuModuleGetFunction", r, name)
}

func (d *cgoDriver) launch(f handle, grid, block [3]uint32, shmem int, s handle, args *argSlots, n int) error {
	r := C.tc_launch(d.l, d.ctx, C.CUfunction(f), C.uint(grid[0]), C.uint(grid[1]), C.uint(grid[2]),
		C.uint(block[0]), C.uint(block[1]), C.uint(block[2]), C.uint(shmem), C.CUstream(s),
		(*C.ulonglong)(unsafe.Pointer(&args[0])), C.int(n))
	if r == 0 {
		return nil
	}
	return d.drvErr("cuLaunchKernel", r, "")
}

func (d *cgoDriver) captureBegin(s handle) error {
	return d.drvErr("cuStreamBeginCapture_v2", C.tc_capture_begin(d.l, d.ctx, C.CUstream(s)), "")
}

func (d *cgoDriver) captureEnd(s handle) (handle, error) {
	var g C.CUgraphExec
	r := C.tc_capture_end(d.l, d.ctx, C.CUstream(s), &g)
	return handle(g), d.drvErr("cuStreamEndCapture/cuGraphInstantiateWithFlags", r, "")
}

func (d *cgoDriver) graphLaunch(g, s handle) error {
	return d.drvErr("cuGraphLaunch", C.tc_graph_launch(d.l, d.ctx, C.CUgraphExec(g), C.CUstream(s)), "")
}

func (d *cgoDriver) graphDestroy(g handle) error {
	return d.drvErr("cuGraphExecDestroy", C.tc_graph_destroy(d.l, d.ctx, C.CUgraphExec(g)), "")
}

func (d *cgoDriver) compile(src, name string, opts []string, cubin bool) ([]byte, string, error) {
	csrc, cname := C.CString(src), C.CString(name)
	defer C.free(unsafe.Pointer(csrc))
	defer C.free(unsafe.Pointer(cname))
	copts := C.malloc(C.size_t(len(opts)+1) * C.size_t(unsafe.Sizeof(uintptr(0))))
	defer C.free(copts)
	list := unsafe.Slice((**C.char)(copts), len(opts)+1)
	for i, o := range opts {
		list[i] = C.CString(o)
	}
	defer func() {
		for i := range opts {
			C.free(unsafe.Pointer(list[i]))
		}
	}()
	var out, log *C.char
	var outLen, logLen C.size_t
	wantCubin := C.int(0)
	if cubin {
		wantCubin = 1
	}
	r := C.tc_nvrtc_compile(d.l, csrc, cname, C.int(len(opts)), (**C.char)(copts), wantCubin, &out, &outLen, &log, &logLen)
	var image []byte
	var logText string
	if out != nil {
		image = C.GoBytes(unsafe.Pointer(out), C.int(outLen))
		C.free(unsafe.Pointer(out))
	}
	if log != nil {
		logText = C.GoStringN(log, C.int(logLen))
		C.free(unsafe.Pointer(log))
	}
	return image, logText, d.nvrtcErr("nvrtcCompileProgram", r)
}

func (d *cgoDriver) cublasCreate(s handle) (handle, error) {
	var h C.cublasHandle_t
	r := C.tc_cublas_create(d.l, d.ctx, &h, C.CUstream(s))
	return handle(h), d.blasErr("cublasCreate_v2", r, "")
}

func (d *cgoDriver) cublasDestroy(h handle) error {
	return d.blasErr("cublasDestroy_v2", C.tc_cublas_destroy(d.l, d.ctx, C.cublasHandle_t(h)), "")
}

func (d *cgoDriver) cublasSetStream(h, s handle) error {
	return d.blasErr("cublasSetStream_v2", C.tc_cublas_set_stream(d.l, d.ctx, C.cublasHandle_t(h), C.CUstream(s)), "")
}

func (d *cgoDriver) cublasSetWorkspace(h handle, w Ptr, n int) error {
	return d.blasErr("cublasSetWorkspace_v2", C.tc_cublas_set_workspace(d.l, d.ctx, C.cublasHandle_t(h), C.CUdeviceptr(w), C.size_t(n)), "")
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

func (d *cgoDriver) sgemm(h handle, ta, tb bool, m, n, k int, alpha float32, a Ptr, lda int, b Ptr, ldb int, beta float32, c Ptr, ldc int) error {
	r := C.tc_sgemm(d.l, d.ctx, C.cublasHandle_t(h), cbool(ta), cbool(tb), C.int(m), C.int(n), C.int(k),
		C.float(alpha), C.CUdeviceptr(a), C.int(lda), C.CUdeviceptr(b), C.int(ldb), C.float(beta), C.CUdeviceptr(c), C.int(ldc))
	if r == 0 {
		return nil
	}
	return d.blasErr("cublasSgemm_v2", r, fmt.Sprintf("m=%d n=%d k=%d", m, n, k))
}

func (d *cgoDriver) gemmEx(h handle, ta, tb bool, m, n, k int, alpha float32, a Ptr, at, lda int, b Ptr, bt, ldb int, beta float32, c Ptr, ct, ldc, compute int) error {
	r := C.tc_gemm_ex(d.l, d.ctx, C.cublasHandle_t(h), cbool(ta), cbool(tb), C.int(m), C.int(n), C.int(k),
		C.float(alpha), C.CUdeviceptr(a), C.int(at), C.int(lda), C.CUdeviceptr(b), C.int(bt), C.int(ldb),
		C.float(beta), C.CUdeviceptr(c), C.int(ct), C.int(ldc), C.int(compute))
	if r == 0 {
		return nil
	}
	return d.blasErr("cublasGemmEx", r, fmt.Sprintf("m=%d n=%d k=%d compute=%d", m, n, k, compute))
}
