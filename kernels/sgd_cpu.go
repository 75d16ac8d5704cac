package kernels

const errCPUClosedSGD = "kernels: CPU.SGD called after Close"

// minSGDPart is the fewest elements worth giving a thread of its own. An
// update streams about 20 bytes per element through the caches at a few
// tenths of a nanosecond per element, so a part this long outlasts the few
// microseconds of handing it to a spinning worker several times over.
const minSGDPart = 1 << 15

// sgdAlign makes every part but the last start and end on a multiple of
// this many elements, whole cache lines of each slice when it is aligned,
// so that two threads never write the same line.
const sgdAlign = 64

// SGD applies one update exactly as the package-level SGD does, with c's
// implementation; slices long enough are split between c's threads, which
// changes no bit of the result.
func (c *CPU) SGD(s SGDStep, p, g, buf []float32) {
	checkSGD(p, g, buf)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		panic(errCPUClosedSGD)
	}
	k := streamsOf(c.arch.impl)
	parts := sgdParts(c.threads, len(p)/c.minSGD)
	if parts <= 1 {
		k.sgd(s, p, g, buf)
		return
	}
	c.kind, c.sgd = taskSGD, sgdCall{k: k, s: s, p: p, g: g, buf: buf, parts: parts}
	c.publish(parts)
	c.runParts(0)
	c.wait()
	// Drop the references to the caller's slices.
	c.kind, c.sgd = taskGemm, sgdCall{}
}

// sgdCall is one update split into parts.
type sgdCall struct {
	k         streams
	s         SGDStep
	p, g, buf []float32
	parts     int
}

// part updates part t of c's elements.
func (c *sgdCall) part(t int) {
	n := len(c.p)
	lo := n * t / c.parts &^ (sgdAlign - 1)
	hi := n
	if t < c.parts-1 {
		hi = n * (t + 1) / c.parts &^ (sgdAlign - 1)
	}
	var buf []float32
	if c.buf != nil {
		buf = c.buf[lo:hi]
	}
	c.k.sgd(c.s, c.p[lo:hi], c.g[lo:hi], buf)
}

// sgdParts returns how many parts an update of most fits parts of the
// minimum length is split into on threads threads: one per thread while
// there are few, else a whole number per thread, up to partsPerThread,
// so that threads share them evenly when none is preempted.
func sgdParts(threads, fits int) int {
	if threads == 1 || fits <= threads {
		return max(1, min(threads, fits))
	}
	return threads * min(partsPerThread, fits/threads, maxParts/threads)
}
