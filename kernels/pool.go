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

// pool hands products to a CPU's workers. Every part of a call is one
// token sent on its worker's channel, so no wake-up can be lost or doubled;
// spinning only decides how a worker waits for its token (polling the
// channel's length for a while, then blocking on the receive). The send
// orders the caller's writes of the call before the worker's reads, and
// the WaitGroup orders the worker's writes of C before the caller returns.
type pool struct {
	pending atomic.Int32 // workers still computing the current call
	done    sync.WaitGroup
	exited  sync.WaitGroup
	jobs    []chan struct{} // worker t receives on jobs[t-1]; capacity 1
}

func (c *CPU) startWorkers() {
	p := &c.pool
	p.jobs = make([]chan struct{}, c.threads-1)
	p.exited.Add(c.threads - 1)
	for t := 1; t < c.threads; t++ {
		p.jobs[t-1] = make(chan struct{}, 1)
		go c.work(t)
	}
}

// stopWorkers makes every worker return and waits until they have.
func (c *CPU) stopWorkers() {
	p := &c.pool
	for _, ch := range p.jobs {
		close(ch)
	}
	p.exited.Wait()
}

// publish hands parts 1..parts-1 of c.call to workers 1..parts-1, with
// 2 <= parts <= c.threads. The caller holds c.mu and waits for the call to
// finish before publishing another, so a channel never holds two tokens.
func (c *CPU) publish(parts int) {
	p := &c.pool
	p.pending.Store(int32(parts - 1))
	p.done.Add(parts - 1)
	for t := 0; t < parts-1; t++ {
		p.jobs[t] <- struct{}{}
	}
}

// wait returns when the workers have finished the published call. It spins
// first: the workers usually finish within microseconds of the caller.
func (c *CPU) wait() {
	p := &c.pool
	var start time.Time
	for i := 0; p.pending.Load() != 0; i++ {
		if i%64 == 0 {
			if i == 0 {
				start = time.Now()
			} else if time.Since(start) > spinTime {
				break
			}
		}
		runtime.Gosched()
	}
	p.done.Wait()
}

// work is worker t's loop: wait for a token, compute part t of the call in
// progress, and again, until stopWorkers closes the channel.
func (c *CPU) work(t int) {
	p := &c.pool
	defer p.exited.Done()
	jobs := p.jobs[t-1]
	for {
		spin(jobs)
		if _, ok := <-jobs; !ok {
			return
		}
		c.part(t)
		// Done before the count, so that a caller that sees the count
		// reach zero finds the WaitGroup at zero too.
		p.done.Done()
		p.pending.Add(-1)
	}
}

// spin polls until jobs holds a token or spinTime has passed.
func spin(jobs chan struct{}) {
	start := time.Now()
	for i := 1; len(jobs) == 0; i++ {
		if i%64 == 0 && time.Since(start) > spinTime {
			return
		}
		runtime.Gosched()
	}
}
