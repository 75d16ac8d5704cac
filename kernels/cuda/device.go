package cuda

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"
)

// Options choose the device and where to look for the CUDA libraries.
type Options struct {
	// Ordinal is the device to open, 0 for the first.
	Ordinal int
	// LibDirs are extra folders searched first for libcuda, libnvrtc and
	// libcublas (the TROUPE_CUDA_LIBS environment variable adds more).
	LibDirs []string
}

// Driver attribute numbers from cuda.h's CUdevice_attribute.
const (
	attrMultiprocessors = 16
	attrCCMajor         = 75
	attrCCMinor         = 76
)

// Device is one opened GPU: its primary context, the kernels compiled for it
// by NVRTC, and a caching allocator. A Device is safe for concurrent use by
// several goroutines as long as each uses its own Stream. Close releases
// everything; buffers still allocated then are freed with it.
type Device struct {
	drv      driver
	ordinal  int
	name     string
	ccMajor  int
	ccMinor  int
	sms      int
	totalMem int64
	driverV  int
	module   handle
	k        kernelSet

	mu      sync.Mutex
	alloc   allocator
	streams map[*Stream]struct{}
	closed  bool
}

// Open opens a device. Without a usable GPU or driver it returns an error
// wrapping ErrNoDevice.
func Open(o Options) (*Device, error) {
	drv, err := openDriver(o.LibDirs)
	if err != nil {
		return nil, err
	}
	d := &Device{drv: drv, ordinal: o.Ordinal, streams: map[*Stream]struct{}{}}
	d.alloc.drv = drv
	if err := d.init(); err != nil {
		d.drv.releaseDevice()
		d.drv.close()
		return nil, err
	}
	return d, nil
}

func (d *Device) init() error {
	n, err := d.drv.deviceCount()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNoDevice, err)
	}
	if n == 0 {
		return fmt.Errorf("%w: the driver reports no GPU", ErrNoDevice)
	}
	if d.ordinal < 0 || d.ordinal >= n {
		return fmt.Errorf("cuda: device %d does not exist (%d present)", d.ordinal, n)
	}
	if err := d.drv.useDevice(d.ordinal); err != nil {
		return err
	}
	if d.name, err = d.drv.deviceName(); err != nil {
		return err
	}
	for _, a := range []struct {
		attr int
		dst  *int
	}{{attrCCMajor, &d.ccMajor}, {attrCCMinor, &d.ccMinor}, {attrMultiprocessors, &d.sms}} {
		if *a.dst, err = d.drv.attribute(a.attr); err != nil {
			return err
		}
	}
	if d.totalMem, err = d.drv.totalMem(); err != nil {
		return err
	}
	if d.driverV, err = d.drv.driverVersion(); err != nil {
		return err
	}
	image, _, err := compileKernels(d.drv, d.ccMajor, d.ccMinor)
	if err != nil {
		return err
	}
	if d.module, err = d.drv.moduleLoad(image); err != nil {
		return err
	}
	for _, e := range d.k.entries() {
		if *e.h, err = d.drv.moduleFunction(d.module, e.name); err != nil {
			return err
		}
	}
	return nil
}

// Name is the device's marketing name, e.g. "NVIDIA H200".
func (d *Device) Name() string { return d.name }

// ComputeCapability returns the architecture version, e.g. 9, 0.
func (d *Device) ComputeCapability() (major, minor int) { return d.ccMajor, d.ccMinor }

// Multiprocessors returns the number of streaming multiprocessors.
func (d *Device) Multiprocessors() int { return d.sms }

// TotalMemory returns the device memory in bytes.
func (d *Device) TotalMemory() int64 { return d.totalMem }

// MemInfo returns the device's free and total memory in bytes.
func (d *Device) MemInfo() (free, total int64, err error) { return d.drv.memInfo() }

// String describes the device and the libraries in use.
func (d *Device) String() string {
	s := fmt.Sprintf("%s (device %d, sm_%d%d, %d SMs, %.1f GiB, driver %d.%d",
		d.name, d.ordinal, d.ccMajor, d.ccMinor, d.sms, float64(d.totalMem)/(1<<30), d.driverV/1000, d.driverV%1000/10)
	if a, b, err := d.drv.nvrtcVersion(); err == nil {
		s += fmt.Sprintf(", NVRTC %d.%d", a, b)
	}
	return s + ")"
}

// Close waits for queued work, then frees every stream, buffer and cached
// block and releases the context. It reports buffers that were still live.
func (d *Device) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	streams := make([]*Stream, 0, len(d.streams))
	for s := range d.streams {
		streams = append(streams, s)
	}
	d.mu.Unlock()
	var errs []error
	for _, s := range streams {
		errs = append(errs, s.close())
	}
	d.mu.Lock()
	live := d.alloc.liveCount()
	errs = append(errs, d.alloc.releaseAll())
	d.mu.Unlock()
	if live > 0 {
		errs = append(errs, fmt.Errorf("cuda: Close: %d buffers were still allocated (now freed)", live))
	}
	if d.module != nil {
		errs = append(errs, d.drv.moduleUnload(d.module))
	}
	errs = append(errs, d.drv.releaseDevice())
	d.drv.close()
	return errors.Join(errs...)
}

// Buffer is device memory owned by one user, from the device's caching
// allocator. Free returns it to the cache; the device's Close frees all.
type Buffer struct {
	d    *Device
	p    Ptr
	n    int // bytes asked for
	size int // bytes of the cached block
}

// Alloc returns a buffer of n bytes (n ≥ 0). Its contents are undefined.
func (d *Device) Alloc(n int) (*Buffer, error) {
	if n < 0 {
		return nil, fmt.Errorf("cuda: Alloc: negative size %d", n)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, errors.New("cuda: Alloc: device is closed")
	}
	p, size, err := d.alloc.get(n)
	if err != nil {
		return nil, err
	}
	return &Buffer{d: d, p: p, n: n, size: size}, nil
}

// AllocF32 returns a buffer for n float32 values.
func (d *Device) AllocF32(n int) (*Buffer, error) { return d.Alloc(4 * n) }

// Ptr is the buffer's device address.
func (b *Buffer) Ptr() Ptr { return b.p }

// Bytes is the size asked for.
func (b *Buffer) Bytes() int { return b.n }

// Free returns the buffer to the device's cache. Work already queued that
// uses it must be on the stream of the next user, or finished: the cache
// does not track streams. Freeing twice is an error.
func (b *Buffer) Free() error {
	if b == nil {
		return nil
	}
	d := b.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if b.p == 0 && b.size == 0 {
		return errors.New("cuda: Buffer.Free: already freed")
	}
	if !d.closed {
		d.alloc.put(b.p, b.size)
	}
	b.p, b.size = 0, 0
	return nil
}

// Pinned is page-locked host memory, the source and destination of truly
// asynchronous copies.
type Pinned struct {
	d *Device
	p unsafe.Pointer
	n int
}

// AllocPinned returns n bytes of page-locked host memory.
func (d *Device) AllocPinned(n int) (*Pinned, error) {
	if n <= 0 {
		return nil, fmt.Errorf("cuda: AllocPinned: size %d must be positive", n)
	}
	p, err := d.drv.hostAlloc(n)
	if err != nil {
		return nil, err
	}
	return &Pinned{d: d, p: p, n: n}, nil
}

// F32 views the memory as float32s.
func (h *Pinned) F32() []float32 { return unsafe.Slice((*float32)(h.p), h.n/4) }

// I32 views the memory as int32s.
func (h *Pinned) I32() []int32 { return unsafe.Slice((*int32)(h.p), h.n/4) }

// Bytes is the size of the memory.
func (h *Pinned) Bytes() int { return h.n }

// Free releases the memory; slices viewing it must not be used afterwards.
func (h *Pinned) Free() error {
	if h == nil || h.p == nil {
		return nil
	}
	err := h.d.drv.hostFree(h.p)
	h.p = nil
	return err
}

// Event marks a point in a stream's work.
type Event struct {
	d *Device
	h handle
}

// NewEvent creates an event; timing events can measure elapsed time.
func (d *Device) NewEvent(timing bool) (*Event, error) {
	h, err := d.drv.eventCreate(timing)
	if err != nil {
		return nil, err
	}
	return &Event{d: d, h: h}, nil
}

// Record marks the current end of s's queued work.
func (e *Event) Record(s *Stream) error { return e.d.drv.eventRecord(e.h, s.h) }

// Wait blocks until the recorded work is done.
func (e *Event) Wait() error { return e.d.drv.eventSync(e.h) }

// Done reports, without blocking, whether the recorded work is done.
func (e *Event) Done() (bool, error) { return e.d.drv.eventQuery(e.h) }

// Milliseconds returns the device time between two recorded timing events.
func Milliseconds(start, end *Event) (float32, error) {
	return start.d.drv.eventElapsed(start.h, end.h)
}

// Close destroys the event.
func (e *Event) Close() error {
	if e == nil || e.h == nil {
		return nil
	}
	err := e.d.drv.eventDestroy(e.h)
	e.h = nil
	return err
}
