package kernels

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
)

// ErrUnavailable is returned by NewCPU for an implementation this CPU or
// build cannot run.
var ErrUnavailable = errors.New("kernels: implementation not available")

const errCPUClosed = "kernels: CPU.Sgemm called after Close"

// minParallelFlops is the smallest product, in floating-point operations,
// that is split between threads. Handing work to a spinning worker costs a
// few microseconds, and it finds its caches cold: on two threads the
// products of LeNet-300-100's second layer (3.8 MFLOP, 35–45 µs on one
// core) measured 0.95–1.4 times as fast as on one, those of its third
// layer (0.13 MFLOP) half as fast.
const minParallelFlops = 1 << 21

// CPU computes products with one implementation on a fixed pool of worker
// goroutines, each with its own packing buffers, all created by NewCPU and
// stopped by Close, so a call creates no goroutine and, once the buffers
// have grown to its sizes, allocates nothing. After a product the workers
// spin for a while (see spinTime) before they park, so that a stream of
// products does not pay for waking them each time.
//
// A product is split into slabs of C, whole micro-tiles wide, which the
// threads take one at a time, a few per thread for products of moderate
// size (see planSplit); since each element of C is computed by the same
// sequence of operations whichever slab holds it and whichever thread
// computes that slab, results are bit-for-bit identical for any number of
// threads and any scheduling (and to the package-level Sgemm with the same
// implementation).
//
// A CPU is safe for concurrent use, but runs one product at a time: a call
// waits for the one in progress.
type CPU struct {
	arch    arch
	threads int
	// minFlops is minParallelFlops and minSGD minSGDPart; tests lower
	// them to split small calls.
	minFlops, minSGD int

	mu     sync.Mutex
	closed bool
	ws     []workspace // ws[t] belongs to thread t; thread 0 is the caller
	kind   taskKind    // what the call in progress computes
	call   gemmCall    // the product in progress, read by the workers
	split  split       // how it is divided
	sgd    sgdCall     // the SGD update in progress
	// task is the Run in progress, in runN parts.
	task Task
	runN int
	pool pool // the workers, see pool.go
}

// NewCPU returns a CPU that runs products on threads goroutines (the caller
// and threads-1 workers), or on runtime.GOMAXPROCS(0) when threads <= 0,
// using impl, or the fastest available implementation for ImplAuto. It
// returns an error wrapping ErrUnavailable if impl cannot run here.
func NewCPU(threads int, impl Impl) (*CPU, error) {
	if !Available(impl) {
		return nil, fmt.Errorf("kernels: NewCPU: %v: %w", impl, ErrUnavailable)
	}
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	// The pool counts parts in 16 bits, and more threads than that would
	// only add overhead.
	threads = min(threads, 1<<16-1)
	c := &CPU{
		arch:     archOf(impl.Resolve()),
		threads:  threads,
		minFlops: minParallelFlops,
		minSGD:   minSGDPart,
		ws:       make([]workspace, threads),
	}
	c.startWorkers()
	return c, nil
}

// Threads returns the number of threads products are split between.
func (c *CPU) Threads() int { return c.threads }

// Impl returns the implementation c runs, never ImplAuto.
func (c *CPU) Impl() Impl { return c.arch.impl }

// Close stops the workers and waits for them to exit. It is idempotent;
// calling Sgemm afterwards panics.
func (c *CPU) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.closed = true
	c.stopWorkers()
}

// Sgemm computes C = alpha*op(A)*op(B) + beta*C exactly as the
// package-level Sgemm does, with the same contract and panics, on c's
// threads.
func (c *CPU) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, cm []float32, ldc int) {
	g, ok := newGemmCall(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, cm, ldc)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		panic(errCPUClosed)
	}
	if !ok {
		return
	}
	s := planSplit(c.threads, c.minFlops, &c.arch, &g)
	if s.parts == 1 {
		c.ws[0].run(&c.arch, &g, 0, m, 0, n)
		return
	}
	c.call, c.split = g, s
	c.publish(s.parts)
	c.runParts(0)
	c.wait()
	// Drop the references to the caller's matrices.
	c.call = gemmCall{}
}

// taskKind says which of a CPU's calls the workers are computing.
type taskKind uint8

const (
	taskGemm taskKind = iota
	taskSGD
	taskRun
)

// part computes part part of the call in progress on thread t, whose
// packing buffers it may use.
func (c *CPU) part(t, part int) {
	switch c.kind {
	case taskSGD:
		c.sgd.part(part)
		return
	case taskRun:
		c.task.RunPart(part, c.runN)
		return
	}
	i0, i1, j0, j1 := c.split.bounds(&c.arch, &c.call, part)
	c.ws[t].run(&c.arch, &c.call, i0, i1, j0, j1)
}

// split divides C into parts slabs of whole micro-tiles along its rows or
// its columns.
type split struct {
	parts  int
	byRows bool
	tiles  int // micro-tiles along the split dimension
}

// planSplit chooses how to divide g between threads threads. Each part
// packs the whole of the operand that is not split, so C is split along
// its longer side, which duplicates the packing of the smaller operand.
//
// When that operand is read in place, parts cost nothing to add, and a
// product of up to maxSplitFlops is cut into up to partsPerThread parts
// per thread (see pool), as long as each keeps minFlops/2 of work. Larger
// products keep one part per thread: narrower parts would reuse each
// micro-panel of A for fewer panels of B. The result does not depend on
// the split (see workspace.run).
func planSplit(threads, minFlops int, ar *arch, g *gemmCall) split {
	flops := 2 * g.m * g.n * g.k
	if threads == 1 || flops < minFlops {
		return split{parts: 1}
	}
	s := split{byRows: g.m > g.n}
	inPlace := inPlaceA(ar, g)
	if s.byRows {
		s.tiles = (g.m + ar.mr - 1) / ar.mr
		inPlace = inPlaceB(ar, g)
	} else {
		s.tiles = (g.n + ar.nr - 1) / ar.nr
	}
	perThread := 1
	if inPlace && flops <= maxSplitFlops {
		perThread = max(1, min(partsPerThread, 2*flops/max(1, minFlops*threads), s.tiles/threads))
	}
	s.parts = min(threads*perThread, s.tiles, maxParts)
	return s
}

// maxSplitFlops is the largest product planSplit cuts into more parts than
// threads.
const maxSplitFlops = 1 << 26

// bounds returns the rows [i0, i1) and columns [j0, j1) of part t.
func (s split) bounds(ar *arch, g *gemmCall, t int) (i0, i1, j0, j1 int) {
	lo, hi := s.tiles*t/s.parts, s.tiles*(t+1)/s.parts
	if s.byRows {
		return lo * ar.mr, min(hi*ar.mr, g.m), 0, g.n
	}
	return 0, g.m, lo * ar.nr, min(hi*ar.nr, g.n)
}
