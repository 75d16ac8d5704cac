package cuda

import (
	"errors"
	"fmt"
)

// ErrNoDevice is returned (wrapped) by Open when no usable CUDA device is
// present: the driver library is missing, it reports no device, or the
// program was built without cgo.
var ErrNoDevice = errors.New("no CUDA device")

// ErrNoNVRTC is returned (wrapped) by CompilePTX when the NVRTC library
// cannot be loaded.
var ErrNoNVRTC = errors.New("no NVRTC library")

// Error is a failed call into the CUDA driver, NVRTC or cuBLAS.
type Error struct {
	Call   string // the library function, e.g. "cuMemAlloc_v2"
	Code   int    // its status code
	Name   string // the status's symbolic name, when known
	Detail string // what was being done, e.g. "1048576 bytes"
}

func (e *Error) Error() string {
	s := "cuda: " + e.Call
	if e.Detail != "" {
		s += "(" + e.Detail + ")"
	}
	if e.Name != "" {
		return fmt.Sprintf("%s: %s (%d)", s, e.Name, e.Code)
	}
	return fmt.Sprintf("%s: status %d", s, e.Code)
}

// cublasStatusName names cublasStatus_t's values from cublas_api.h.
func cublasStatusName(code int) string {
	switch code {
	case 1:
		return "CUBLAS_STATUS_NOT_INITIALIZED"
	case 3:
		return "CUBLAS_STATUS_ALLOC_FAILED"
	case 7:
		return "CUBLAS_STATUS_INVALID_VALUE"
	case 8:
		return "CUBLAS_STATUS_ARCH_MISMATCH"
	case 11:
		return "CUBLAS_STATUS_MAPPING_ERROR"
	case 13:
		return "CUBLAS_STATUS_EXECUTION_FAILED"
	case 14:
		return "CUBLAS_STATUS_INTERNAL_ERROR"
	case 15:
		return "CUBLAS_STATUS_NOT_SUPPORTED"
	case 16:
		return "CUBLAS_STATUS_LICENSE_ERROR"
	}
	return ""
}
