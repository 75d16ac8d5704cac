package cuda

import "unsafe"

// Ptr is a device address. Offsets are in bytes; see [Ptr.F32].
type Ptr uint64

// F32 returns the address i float32 elements past p.
func (p Ptr) F32(i int) Ptr { return p + Ptr(4*i) }

// handle is an opaque driver object: a context, stream, event, module,
// function, cuBLAS handle or executable graph.
type handle = unsafe.Pointer

// maxArgs bounds a kernel's parameters; it matches the C side.
const maxArgs = 24

// argSlots carries kernel parameters, one 8-byte little-endian slot each.
type argSlots [maxArgs]uint64

// driver is the binding to the loaded libraries, bound to one device's
// context. The cgo build implements it; builds without cgo have none.
type driver interface {
	close()
	driverVersion() (int, error)
	nvrtcVersion() (major, minor int, err error)
	cublasVersion(h handle) (int, error)
	deviceCount() (int, error)
	useDevice(ordinal int) error // retains the primary context
	releaseDevice() error
	deviceName() (string, error)
	attribute(attr int) (int, error)
	totalMem() (int64, error)
	memInfo() (free, total int64, err error)

	memAlloc(n int) (Ptr, error)
	memFree(p Ptr) error
	hostAlloc(n int) (unsafe.Pointer, error)
	hostFree(p unsafe.Pointer) error
	htod(dst Ptr, src unsafe.Pointer, n int, s handle) error
	dtoh(dst unsafe.Pointer, src Ptr, n int, s handle) error
	dtod(dst, src Ptr, n int, s handle) error
	memset32(dst Ptr, v uint32, n int, s handle) error

	streamCreate() (handle, error)
	streamDestroy(s handle) error
	streamSync(s handle) error
	streamWait(s, e handle) error
	eventCreate(timing bool) (handle, error)
	eventDestroy(e handle) error
	eventRecord(e, s handle) error
	eventSync(e handle) error
	eventQuery(e handle) (done bool, err error)
	eventElapsed(a, b handle) (float32, error)

	moduleLoad(image []byte) (handle, error)
	moduleUnload(m handle) error
	moduleFunction(m handle, name string) (handle, error)
	launch(f handle, grid, block [3]uint32, shmem int, s handle, args *argSlots, n int) error
	captureBegin(s handle) error
	captureEnd(s handle) (handle, error)
	graphLaunch(g, s handle) error
	graphDestroy(g handle) error

	compile(src, name string, opts []string, cubin bool) (image []byte, log string, err error)

	cublasCreate(s handle) (handle, error)
	cublasDestroy(h handle) error
	cublasSetStream(h, s handle) error
	cublasSetWorkspace(h handle, w Ptr, n int) error
	sgemm(h handle, ta, tb bool, m, n, k int, alpha float32, a Ptr, lda int, b Ptr, ldb int, beta float32, c Ptr, ldc int) error
	gemmEx(h handle, ta, tb bool, m, n, k int, alpha float32, a Ptr, at, lda int, b Ptr, bt, ldb int, beta float32, c Ptr, ct, ldc, compute int) error
}
