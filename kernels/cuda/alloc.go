package cuda

import "errors"

// allocator caches device memory in size classes, as frameworks do: a
// training step frees and reallocates the same sizes every step, and
// cuMemAlloc/cuMemFree synchronise the device. The caller holds the
// device's lock.
type allocator struct {
	drv    driver
	free   map[int][]Ptr // size class → cached blocks
	live   map[Ptr]int   // block → size class
	cached int64         // bytes held in free
}

// sizeClass rounds n up: powers of two to 1 MiB, then multiples of 2 MiB.
// Zero-byte buffers get the smallest class, so every buffer has an address.
func sizeClass(n int) int {
	const small, big = 1 << 20, 2 << 20
	if n <= 256 {
		return 256
	}
	if n <= small {
		c := 512
		for c < n {
			c <<= 1
		}
		return c
	}
	return (n + big - 1) / big * big
}

func (a *allocator) get(n int) (Ptr, int, error) {
	if a.free == nil {
		a.free, a.live = map[int][]Ptr{}, map[Ptr]int{}
	}
	c := sizeClass(n)
	if l := a.free[c]; len(l) > 0 {
		p := l[len(l)-1]
		a.free[c] = l[:len(l)-1]
		a.cached -= int64(c)
		a.live[p] = c
		return p, c, nil
	}
	p, err := a.drv.memAlloc(c)
	if err != nil && a.cached > 0 {
		// Out of memory with blocks parked in the cache: give them back to
		// the driver and try once more.
		if rerr := a.trim(); rerr != nil {
			return 0, 0, errors.Join(err, rerr)
		}
		p, err = a.drv.memAlloc(c)
	}
	if err != nil {
		return 0, 0, err
	}
	a.live[p] = c
	return p, c, nil
}

func (a *allocator) put(p Ptr, c int) {
	delete(a.live, p)
	a.free[c] = append(a.free[c], p)
	a.cached += int64(c)
}

// trim frees every cached block.
func (a *allocator) trim() error {
	var errs []error
	for c, l := range a.free {
		for _, p := range l {
			errs = append(errs, a.drv.memFree(p))
		}
		delete(a.free, c)
	}
	a.cached = 0
	return errors.Join(errs...)
}

func (a *allocator) liveCount() int { return len(a.live) }

// releaseAll frees cached and live blocks alike.
func (a *allocator) releaseAll() error {
	errs := []error{a.trim()}
	for p := range a.live {
		errs = append(errs, a.drv.memFree(p))
	}
	a.live = map[Ptr]int{}
	return errors.Join(errs...)
}
