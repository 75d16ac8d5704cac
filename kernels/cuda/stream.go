package cuda

import (
	"errors"
	"fmt"
	"math"
	"unsafe"
)

// cublasWorkspace is the workspace given to each stream's cuBLAS handle;
// Hopper GPUs want 32 MiB, and a fixed workspace keeps GEMMs capturable in
// CUDA graphs.
const cublasWorkspace = 32 << 20

// Stream is an ordered queue of device work with its own cuBLAS handle. A
// stream is used by one goroutine at a time (the kernel-argument buffer is
// per stream). In the actor pipeline, each model shard owns one.
type Stream struct {
	d    *Device
	h    handle
	blas handle
	ws   *Buffer
	args argSlots
	argc int
	err  error // first argument-building error, reported at launch
}

// NewStream creates a stream and its cuBLAS handle.
func (d *Device) NewStream() (*Stream, error) {
	h, err := d.drv.streamCreate()
	if err != nil {
		return nil, err
	}
	s := &Stream{d: d, h: h}
	if s.blas, err = d.drv.cublasCreate(h); err != nil {
		d.drv.streamDestroy(h)
		return nil, err
	}
	if s.ws, err = d.Alloc(cublasWorkspace); err != nil {
		s.close()
		return nil, err
	}
	if err = d.drv.cublasSetWorkspace(s.blas, s.ws.Ptr(), cublasWorkspace); err != nil {
		s.close()
		return nil, err
	}
	d.mu.Lock()
	d.streams[s] = struct{}{}
	d.mu.Unlock()
	return s, nil
}

// Device returns the stream's device.
func (s *Stream) Device() *Device { return s.d }

// Sync waits for all of the stream's work.
func (s *Stream) Sync() error { return s.d.drv.streamSync(s.h) }

// WaitEvent makes the stream's later work wait for e.
func (s *Stream) WaitEvent(e *Event) error { return s.d.drv.streamWait(s.h, e.h) }

// Close waits for the stream's work and destroys it.
func (s *Stream) Close() error {
	s.d.mu.Lock()
	delete(s.d.streams, s)
	s.d.mu.Unlock()
	return s.close()
}

func (s *Stream) close() error {
	if s.h == nil {
		return nil
	}
	errs := []error{s.d.drv.streamSync(s.h)}
	if s.blas != nil {
		errs = append(errs, s.d.drv.cublasDestroy(s.blas))
	}
	if s.ws != nil {
		errs = append(errs, s.ws.Free())
	}
	errs = append(errs, s.d.drv.streamDestroy(s.h))
	s.h, s.blas, s.ws = nil, nil, nil
	return errors.Join(errs...)
}

// Upload copies src into device memory at dst. src may be ordinary Go
// memory: the call returns once src has been read and may be reused.
func (s *Stream) Upload(dst Ptr, src []float32) error {
	if len(src) == 0 {
		return nil
	}
	return s.d.drv.htod(dst, unsafe.Pointer(&src[0]), 4*len(src), s.h)
}

// UploadI32 is Upload for int32 values.
func (s *Stream) UploadI32(dst Ptr, src []int32) error {
	if len(src) == 0 {
		return nil
	}
	return s.d.drv.htod(dst, unsafe.Pointer(&src[0]), 4*len(src), s.h)
}

// UploadBytes is Upload for raw bytes.
func (s *Stream) UploadBytes(dst Ptr, src []byte) error {
	if len(src) == 0 {
		return nil
	}
	return s.d.drv.htod(dst, unsafe.Pointer(&src[0]), len(src), s.h)
}

// Download copies device memory at src into dst and waits for it.
func (s *Stream) Download(dst []float32, src Ptr) error {
	if len(dst) == 0 {
		return nil
	}
	if err := s.d.drv.dtoh(unsafe.Pointer(&dst[0]), src, 4*len(dst), s.h); err != nil {
		return err
	}
	return s.Sync()
}

// DownloadI32 is Download for int32 values.
func (s *Stream) DownloadI32(dst []int32, src Ptr) error {
	if len(dst) == 0 {
		return nil
	}
	if err := s.d.drv.dtoh(unsafe.Pointer(&dst[0]), src, 4*len(dst), s.h); err != nil {
		return err
	}
	return s.Sync()
}

// UploadPinned queues a copy of n bytes at offset off of h to dst and
// returns at once; h must not change until the copy is done (record an
// Event after it to know).
func (s *Stream) UploadPinned(dst Ptr, h *Pinned, off, n int) error {
	if off < 0 || n < 0 || off+n > h.n {
		return fmt.Errorf("cuda: UploadPinned: bytes [%d, %d) outside the %d-byte buffer", off, off+n, h.n)
	}
	return s.d.drv.htod(dst, unsafe.Add(h.p, off), n, s.h)
}

// DownloadPinned queues a copy of n bytes from src into h at offset off and
// returns at once.
func (s *Stream) DownloadPinned(h *Pinned, off int, src Ptr, n int) error {
	if off < 0 || n < 0 || off+n > h.n {
		return fmt.Errorf("cuda: DownloadPinned: bytes [%d, %d) outside the %d-byte buffer", off, off+n, h.n)
	}
	return s.d.drv.dtoh(unsafe.Add(h.p, off), src, n, s.h)
}

// Copy queues a device-to-device copy of n bytes.
func (s *Stream) Copy(dst, src Ptr, n int) error {
	if n == 0 {
		return nil
	}
	return s.d.drv.dtod(dst, src, n, s.h)
}

// Memset32 queues setting n 32-bit words at dst to v.
func (s *Stream) Memset32(dst Ptr, v uint32, n int) error {
	if n == 0 {
		return nil
	}
	return s.d.drv.memset32(dst, v, n, s.h)
}

// Zero queues zeroing n float32 (or int32) values at dst.
func (s *Stream) Zero(dst Ptr, n int) error { return s.Memset32(dst, 0, n) }

// Graph is a captured sequence of a stream's work, replayed with one launch.
type Graph struct {
	d *Device
	h handle
}

// BeginCapture starts recording the stream's work into a graph instead of
// running it.
func (s *Stream) BeginCapture() error { return s.d.drv.captureBegin(s.h) }

// EndCapture stops recording and returns the executable graph.
func (s *Stream) EndCapture() (*Graph, error) {
	h, err := s.d.drv.captureEnd(s.h)
	if err != nil {
		return nil, err
	}
	return &Graph{d: s.d, h: h}, nil
}

// Launch queues one replay of the graph on s.
func (g *Graph) Launch(s *Stream) error { return g.d.drv.graphLaunch(g.h, s.h) }

// Close destroys the graph.
func (g *Graph) Close() error {
	if g == nil || g.h == nil {
		return nil
	}
	err := g.d.drv.graphDestroy(g.h)
	g.h = nil
	return err
}

// Kernel arguments are appended to the stream's slots, then launch sends
// them. Both are allocation-free.

func (s *Stream) push(v uint64) {
	if s.argc == maxArgs {
		s.err = fmt.Errorf("cuda: more than %d kernel arguments", maxArgs)
		return
	}
	s.args[s.argc] = v
	s.argc++
}

func (s *Stream) ptr(p Ptr) *Stream { s.push(uint64(p)); return s }

func (s *Stream) i32(v int) *Stream {
	if v < math.MinInt32 || v > math.MaxInt32 {
		s.err = fmt.Errorf("cuda: kernel argument %d does not fit in 32 bits", v)
	}
	s.push(uint64(uint32(int32(v))))
	return s
}

func (s *Stream) u32(v uint32) *Stream { s.push(uint64(v)); return s }

func (s *Stream) f32(v float32) *Stream { s.push(uint64(math.Float32bits(v))); return s }

// launch sends the queued arguments to kernel f and resets them.
func (s *Stream) launch(name string, f handle, grid, block [3]uint32, shmem int) error {
	n, err := s.argc, s.err
	s.argc, s.err = 0, nil
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := s.d.drv.launch(f, grid, block, shmem, s.h, &s.args, n); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// blocks1D is the grid for a grid-stride loop over n elements with blocks
// of 256 threads: enough blocks to fill the device, no more than needed.
func (s *Stream) blocks1D(n int) [3]uint32 {
	b := (n + 255) / 256
	b = min(b, 8*s.d.sms)
	return [3]uint32{uint32(max(b, 1)), 1, 1}
}

// threads is a one-dimensional block of n threads.
func threads(n uint32) [3]uint32 { return [3]uint32{n, 1, 1} }
