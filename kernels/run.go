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

// Run calls task.RunPart(t, parts) for every t in [0, parts), on the
// calling goroutine and c's workers, and returns when all have. Each
// thread takes the next part not yet taken when it is free, so which
// goroutine runs which part varies from call to call: a part must compute
// the same whichever runs it, and parts must not depend on each other's
// progress. parts must be between 1 and c.Threads(). A part may compute
// products with SgemmPart but not with Sgemm, SGD or Run, which wait for
// the Run in progress. A panic in a part run by the caller reaches it; one
// in a part run by a worker crashes the program, as in any goroutine:
// parts must not fail.
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
	c.kind, c.task, c.runN = taskRun, task, parts
	// Deferred, so that a panic in a part the caller runs still waits for
	// the other parts and leaves c ready for the next call.
	defer func() { c.kind, c.task, c.runN = taskGemm, nil, 0 }()
	if parts == 1 {
		task.RunPart(0, 1)
		return
	}
	c.publish(parts)
	defer c.wait()
	c.runParts(0)
}

// SgemmPart computes a product exactly as Sgemm does, on the calling
// goroutine with the packing buffers of part t. It may be called only
// from part t of a task that Run is running, where no other goroutine uses
// those buffers (Run has at most as many parts as c has buffers).
func (c *CPU) SgemmPart(t int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, cm []float32, ldc int) {
	if c.kind != taskRun || t < 0 || t >= c.runN {
		panic(errSgemmPart)
	}
	g, ok := newGemmCall(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, cm, ldc)
	if ok {
		c.ws[t].run(&c.arch, &g, 0, m, 0, n)
	}
}
