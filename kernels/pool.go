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

// pool hands products to a CPU's workers. A call publishes its work by
// storing a new gen, which carries the number of parts, so a worker that
// sees it late still knows whether that call was its business; a worker
// that is spinning sees the store, one that is parked is woken through its
// channel. The parked flag decides who sends: the worker sets it before its
// last look at gen, and the caller sends only if it clears the flag, so a
// wake-up is neither lost nor doubled.
type pool struct {
	gen     atomic.Uint64 // sequence<<16 | parts; parts == 0 asks to quit
	pending atomic.Int32  // workers still computing the current call
	done    sync.WaitGroup
	exited  sync.WaitGroup
	workers []poolWorker // worker t is workers[t-1]
}

// bump publishes a new generation for parts parts; only the caller of the
// CPU, under its mutex, writes gen.
func (p *pool) bump(parts int) {
	seq := p.gen.Load()>>16 + 1
	p.gen.Store(seq<<16 | uint64(parts))
}

type poolWorker struct {
	parked atomic.Bool
	wake   chan struct{} // capacity 1, so the caller never blocks
}

func (c *CPU) startWorkers() {
	p := &c.pool
	p.workers = make([]poolWorker, c.threads-1)
	p.exited.Add(c.threads - 1)
	for t := 1; t < c.threads; t++ {
		p.workers[t-1].wake = make(chan struct{}, 1)
		go c.work(t)
	}
}

// stopWorkers makes every worker return and waits until they have.
func (c *CPU) stopWorkers() {
	p := &c.pool
	p.bump(0)
	for t := range p.workers {
		p.wakeUp(t)
	}
	p.exited.Wait()
}

// publish hands parts 1..parts-1 of c.call to workers 1..parts-1, with
// 2 <= parts <= c.threads.
func (c *CPU) publish(parts int) {
	p := &c.pool
	p.pending.Store(int32(parts - 1))
	p.done.Add(parts - 1)
	p.bump(parts)
	for t := 0; t < parts-1; t++ {
		p.wakeUp(t)
	}
}

// wakeUp sends workers[t] the wake-up it is waiting for, if it is parked.
func (p *pool) wakeUp(t int) {
	w := &p.workers[t]
	if w.parked.CompareAndSwap(true, false) {
		w.wake <- struct{}{}
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

// work is worker t's loop: wait for a call, compute its part if it has
// one, and again, until stopWorkers.
func (c *CPU) work(t int) {
	p := &c.pool
	defer p.exited.Done()
	seen := uint64(0)
	for {
		seen = p.await(t-1, seen)
		parts := int(seen & 0xffff)
		if parts == 0 {
			return
		}
		if t < parts {
			c.part(t)
			// Done before the count, so that a caller that sees the
			// count reach zero finds the WaitGroup at zero too.
			p.done.Done()
			p.pending.Add(-1)
		}
	}
}

// await returns the first value of gen other than seen, spinning for up to
// spinTime and then parking.
func (p *pool) await(t int, seen uint64) uint64 {
	w := &p.workers[t]
	start := time.Now()
	for i := 1; ; i++ {
		if g := p.gen.Load(); g != seen {
			return g
		}
		if i%64 == 0 && time.Since(start) > spinTime {
			break
		}
		runtime.Gosched()
	}
	w.parked.Store(true)
	if g := p.gen.Load(); g != seen && w.parked.CompareAndSwap(true, false) {
		return g // published while parking, and nobody will send
	}
	<-w.wake
	return p.gen.Load()
}
