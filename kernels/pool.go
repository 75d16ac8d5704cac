package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// spinTime is how long an idle worker, and a caller waiting for its
// workers, keeps polling before it blocks. Waking a goroutine parked on a
// channel took 60 to 170 µs on a two-vCPU virtual machine (the sleeping
// thread's vCPU must be woken too), half the time of a 30-MFLOP product;
// a spinning worker starts within microseconds. Spinning calls
// runtime.Gosched, so other goroutines on the worker's P still run.
const spinTime = 500 * time.Microsecond

// partsPerThread is how many parts a call that is worth splitting is cut
// into per thread, at most. Threads take parts one at a time from a shared
// counter, so when another goroutine or process preempts one thread the
// others take over its remaining parts instead of waiting for it at the
// end of the call; with one part per thread they would wait for the whole
// of its part.
const partsPerThread = 4

// maxParts is the most parts a call can have: the claim word counts them
// in 16 bits.
const maxParts = 1<<16 - 1

// pool hands the parts of a call to a CPU's workers. The caller publishes
// the call and a claim word, then wakes the workers; every thread, the
// caller included, claims the next part with a compare-and-swap on the
// word and computes it, until none is left. Which thread computes which
// part therefore varies from call to call, and nothing computed may depend
// on it: a part's result depends on its index alone (a thread index only
// selects scratch buffers).
//
// The claim word holds the call's generation, so a worker that wakes late
// can never claim a part of a call other than the one published, and the
// call's fields are read only after a successful claim, which the
// publishing store orders after the caller's writes. The caller waits for
// the count of unfinished parts, not for the workers: a preempted worker
// that has claimed nothing holds nobody up, and finds nothing left to claim
// when it runs again. The thread that finishes the last part signals
// finished, whose receive orders every part's writes before the caller
// returns.
type pool struct {
	// claim is generation<<32 | parts<<16 | next part to claim.
	claim     atomic.Uint64
	remaining atomic.Int32 // parts of the current call not yet finished
	finished  chan struct{}
	exited    sync.WaitGroup
	wake      []chan struct{} // worker t receives on wake[t-1]; capacity 1
}

func (c *CPU) startWorkers() {
	p := &c.pool
	p.finished = make(chan struct{}, 1)
	p.wake = make([]chan struct{}, c.threads-1)
	p.exited.Add(c.threads - 1)
	for t := 1; t < c.threads; t++ {
		p.wake[t-1] = make(chan struct{}, 1)
		go c.work(t)
	}
}

// stopWorkers makes every worker return and waits until they have.
func (c *CPU) stopWorkers() {
	p := &c.pool
	for _, ch := range p.wake {
		close(ch)
	}
	p.exited.Wait()
}

// publish makes parts 0..parts-1 of the call in c's fields claimable and
// wakes up to parts-1 workers, for 2 <= parts <= maxParts. The caller
// holds c.mu and waits for the call to finish before publishing another.
func (c *CPU) publish(parts int) {
	p := &c.pool
	p.remaining.Store(int32(parts))
	gen := p.claim.Load()>>32 + 1
	p.claim.Store(gen<<32 | uint64(parts)<<16)
	for t := range min(parts-1, len(p.wake)) {
		// A worker whose previous wake-up is still pending will see
		// this call when it takes that one.
		select {
		case p.wake[t] <- struct{}{}:
		default:
		}
	}
}

// runParts computes parts of the published call on thread t until none is
// left to claim.
func (c *CPU) runParts(t int) {
	p := &c.pool
	for {
		w := p.claim.Load()
		next, parts := int(w&0xffff), int(w>>16&0xffff)
		if next >= parts {
			return
		}
		if p.claim.CompareAndSwap(w, w+1) {
			c.runPart(t, next)
		}
	}
}

// runPart computes part part on thread t and counts it finished, even when
// it panics, so that a caller whose part panicked can still wait for the
// others and leave c usable.
func (c *CPU) runPart(t, part int) {
	defer func() {
		if c.pool.remaining.Add(-1) == 0 {
			c.pool.finished <- struct{}{}
		}
	}()
	c.part(t, part)
}

// wait returns when every part of the published call has finished. It
// spins first: the workers usually finish within microseconds of the
// caller.
func (c *CPU) wait() {
	p := &c.pool
	var start time.Time
	for i := 0; p.remaining.Load() != 0; i++ {
		if i%64 == 0 {
			if i == 0 {
				start = time.Now()
			} else if time.Since(start) > spinTime {
				break
			}
		}
		runtime.Gosched()
	}
	<-p.finished
}

// work is worker t's loop: wait to be woken, compute parts of the call in
// progress while any is left, and again, until stopWorkers closes the
// channel.
func (c *CPU) work(t int) {
	p := &c.pool
	defer p.exited.Done()
	wake := p.wake[t-1]
	for {
		spin(wake)
		if _, ok := <-wake; !ok {
			return
		}
		c.runParts(t)
	}
}

// spin polls until ch holds a token or spinTime has passed.
func spin(ch chan struct{}) {
	start := time.Now()
	for i := 1; len(ch) == 0; i++ {
		if i%64 == 0 && time.Since(start) > spinTime {
			return
		}
		runtime.Gosched()
	}
}
