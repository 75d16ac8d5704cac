package kernels

const (
	errCPUClosedRun = "kernels: CPU.Run called after Close"
	errRunParts     = "kernels: CPU.Run: parts outside [1, Threads()]"
	errSgemmPart    = "kernels: CPU.SgemmPart called outside part t of a Run"
)

// Task is work that CPU.Run splits into parts.
type Task interface {
	// RunPart computes part part of parts. Parts run concurrently, so
	// each must write only memory no other part reads or writes.
	RunPart(part, parts int)
}

// Run calls task.RunPart(t, parts) for every t in [0, parts), part 0 on
// the calling goroutine and the others on c's workers, and returns when all
// have. parts must be between 1 and c.Threads(). A part may compute
// products with SgemmPart but not with Sgemm, SGD or Run, which wait for
// the Run in progress. A panic in a part other than 0 crashes the program,
// as in any goroutine: parts must not fail.
//
// Passing a pointer to a long-lived value as the Task allocates nothing.
func (c *CPU) Run(parts int, task Task) {
	if parts < 1 || parts > c.threads {
		panic(errRunParts)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		panic(errCPUClosedRun)
	}
	c.kind, c.task, c.runParts = taskRun, task, parts
	// Deferred, so that a panic in part 0 still waits for the other parts
	// and leaves c ready for the next call.
	defer func() { c.kind, c.task, c.runParts = taskGemm, nil, 0 }()
	if parts > 1 {
		c.publish(parts)
		defer c.wait()
	}
	task.RunPart(0, parts)
}

// SgemmPart computes a product exactly as Sgemm does, on the calling
// goroutine with the packing buffers of thread t. It may be called only
// from part t of a task that Run is running, where no other goroutine uses
// those buffers.
func (c *CPU) SgemmPart(t int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, cm []float32, ldc int) {
	if c.kind != taskRun || t < 0 || t >= c.runParts {
		panic(errSgemmPart)
	}
	g, ok := newGemmCall(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, cm, ldc)
	if ok {
		c.ws[t].run(&c.arch, &g, 0, m, 0, n)
	}
}
