package kernels

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/troupe-ml/troupe/kernels/kerneltest"
	"go.uber.org/goleak"
)

// availableImpls returns the concrete implementations this machine runs;
// the suite runs against each of them explicitly, not just the best.
func availableImpls(t *testing.T) []Impl {
	t.Helper()
	var impls []Impl
	for _, i := range Impls() {
		if Available(i) {
			impls = append(impls, i)
		} else {
			t.Logf("%v not available on this CPU or build", i)
		}
	}
	return impls
}

// newTestCPU returns a CPU that splits even the smallest product between
// its threads, so the conformance suite exercises the split.
func newTestCPU(t *testing.T, threads int, impl Impl) *CPU {
	t.Helper()
	c, err := NewCPU(threads, impl)
	if err != nil {
		t.Fatalf("NewCPU(%d, %v): %v", threads, impl, err)
	}
	c.minFlops = 0
	t.Cleanup(c.Close)
	return c
}

// shortMatrix reports whether to skip the combination of impl and threads
// under the race detector. What it checks, the handoff of work between
// goroutines, is the same for every implementation, so there the suite
// runs each implementation on one thread and only the best on several,
// which keeps the package's race run near half a minute on two cores.
func shortMatrix(impl Impl, threads int) bool {
	return raceEnabled && threads > 1 && impl != ImplAuto.Resolve()
}

func TestCPUConformance(t *testing.T) {
	for _, impl := range availableImpls(t) {
		for _, threads := range []int{1, 2, 3} {
			if shortMatrix(impl, threads) {
				continue
			}
			t.Run(fmt.Sprintf("%v/threads=%d", impl, threads), func(t *testing.T) {
				// The suite is long under the race detector; running
				// the nine cases in parallel keeps both cores busy.
				t.Parallel()
				c := newTestCPU(t, threads, impl)
				if got := c.Impl(); got != impl {
					t.Fatalf("Impl() = %v, want %v", got, impl)
				}
				if got := c.Threads(); got != threads {
					t.Fatalf("Threads() = %d, want %d", got, threads)
				}
				cov := directCoverage{ar: &c.arch}
				kerneltest.TestSgemm(t, cov.wrap(c.Sgemm))
				cov.check(t)
			})
		}
	}
}

// TestCPUThreadsIdentical checks that a product is bit-for-bit the same on
// 1, 2, 3 and 4 threads and through the package-level Sgemm, on shapes
// large enough to need several kc blocks and edge tiles in both directions.
func TestCPUThreadsIdentical(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	// The last two take the direct path unless B is transposed.
	shapes := [][3]int{{131, 97, 900}, {64, 300, 400}, {300, 70, 64}, {37, 515, 129}, {64, 100, 10}, {10, 300, 64}}
	for _, impl := range availableImpls(t) {
		if shortMatrix(impl, 2) {
			continue
		}
		cpus := make([]*CPU, 4)
		for i := range cpus {
			cpus[i] = newTestCPU(t, i+1, impl)
		}
		for _, s := range shapes {
			for tr := range 4 {
				transA, transB := tr&1 != 0, tr&2 != 0
				m, n, k := s[0], s[1], s[2]
				lda, ldb := k+3, n+1
				if transA {
					lda = m + 2
				}
				if transB {
					ldb = k
				}
				a := randVec(rng, max(m, k)*lda)
				b := randVec(rng, max(k, n)*ldb)
				c0 := randVec(rng, m*n)
				var want []float32
				for _, c := range cpus {
					got := append([]float32(nil), c0...)
					c.Sgemm(transA, transB, m, n, k, 1.5, a, lda, b, ldb, -0.5, got, n)
					if want == nil {
						want = got
						continue
					}
					if i, ok := sameBits(got, want); !ok {
						t.Fatalf("%v %dx%dx%d transA=%t transB=%t: %d threads c[%d] = %v, 1 thread %v",
							impl, m, n, k, transA, transB, c.Threads(), i, got[i], want[i])
					}
				}
				if impl == ImplAuto.Resolve() {
					got := append([]float32(nil), c0...)
					Sgemm(transA, transB, m, n, k, 1.5, a, lda, b, ldb, -0.5, got, n)
					if i, ok := sameBits(got, want); !ok {
						t.Fatalf("%v %dx%dx%d: package Sgemm c[%d] = %v, CPU %v", impl, m, n, k, i, got[i], want[i])
					}
				}
			}
		}
	}
}

func sameBits(x, y []float32) (int, bool) {
	for i := range x {
		if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
			return i, false
		}
	}
	return 0, true
}

// TestCPUNoAllocs checks that, once its buffers have grown, a CPU computes
// products without allocating, split or not.
func TestCPUNoAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	const m, n, k = 100, 150, 500
	a, b, c := randVec(rng, 500*k), randVec(rng, 500*k), randVec(rng, m*n)
	for _, impl := range availableImpls(t) {
		for _, threads := range []int{1, 2} {
			cpu := newTestCPU(t, threads, impl)
			cpu.Sgemm(false, true, m, n, k, 1, a, k, b, k, 0, c, n)
			for tr := range 4 {
				allocs := testing.AllocsPerRun(5, func() {
					cpu.Sgemm(tr&1 != 0, tr&2 != 0, m, n, k/2, 1, a, k, b, k, 0, c, n)
				})
				if allocs != 0 {
					t.Errorf("%v, %d threads, transA=%t transB=%t: %v allocations per Sgemm, want 0", impl, threads, tr&1 != 0, tr&2 != 0, allocs)
				}
			}
		}
	}
}

// TestSgemmNoAllocs checks that the package-level Sgemm, whose buffers come
// from a sync.Pool, allocates nothing once the pool holds a workspace.
func TestSgemmNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("under the race detector sync.Pool drops a random quarter of what it is given")
	}
	rng := rand.New(rand.NewPCG(25, 26))
	const m, n, k = 64, 100, 300
	a, b, c := randVec(rng, m*k), randVec(rng, k*n), randVec(rng, m*n)
	Sgemm(false, true, m, n, k, 1, a, k, b, k, 0, c, n)
	allocs := testing.AllocsPerRun(20, func() {
		Sgemm(false, true, m, n, k, 1, a, k, b, k, 0, c, n)
	})
	// AllocsPerRun averages over the runs and rounds down, so refilling
	// the pool once after a garbage collection does not count.
	if allocs != 0 {
		t.Errorf("%v allocations per Sgemm, want 0", allocs)
	}
}

func TestNewCPU(t *testing.T) {
	c, err := NewCPU(0, ImplAuto)
	if err != nil {
		t.Fatalf("NewCPU(0, ImplAuto): %v", err)
	}
	if c.Threads() < 1 || c.Impl() == ImplAuto {
		t.Errorf("NewCPU(0, ImplAuto): Threads() = %d, Impl() = %v; want >= 1 and a concrete Impl", c.Threads(), c.Impl())
	}
	c.Close()
	c.Close()
	func() {
		defer func() {
			if got := recover(); got != errCPUClosed {
				t.Errorf("Sgemm after Close: panic %v, want %q", got, errCPUClosed)
			}
		}()
		c.Sgemm(false, false, 1, 1, 1, 1, []float32{1}, 1, []float32{1}, 1, 0, []float32{0}, 1)
	}()
	for _, impl := range Impls() {
		_, err := NewCPU(1, impl)
		if Available(impl) {
			if err != nil {
				t.Errorf("NewCPU(1, %v) on a CPU where it is available: %v", impl, err)
			}
		} else if !errors.Is(err, ErrUnavailable) {
			t.Errorf("NewCPU(1, %v) on a CPU where it is not available: error %v, want ErrUnavailable", impl, err)
		}
	}
	if _, err := NewCPU(1, Impl(99)); !errors.Is(err, ErrUnavailable) {
		t.Errorf("NewCPU(1, Impl(99)): error %v, want ErrUnavailable", err)
	}
}

// TestMain fails the package's tests if any goroutine outlives them, which
// checks that Close stops every worker.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestBlockedConformance runs the suite against each implementation with
// cache blocks shrunk to a few micro-tiles, so that its small products
// cross every block boundary: several kc blocks (beta applied once, then
// accumulation), several mc and nc blocks, and packed and in-place panels
// at block edges.
func TestBlockedConformance(t *testing.T) {
	for _, impl := range availableImpls(t) {
		if raceEnabled && impl != ImplAuto.Resolve() {
			continue // no concurrency here; the normal run covers it
		}
		t.Run(impl.String(), func(t *testing.T) {
			t.Parallel()
			ar := archOf(impl)
			ar.kc, ar.mc, ar.nc = 16, 2*ar.mr, 2*ar.nr
			// The suite's thin products would take the direct path;
			// here they test the blocked one.
			ar.directR, ar.directP = nil, nil
			var w workspace
			kerneltest.TestSgemm(t, func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
				g, ok := newGemmCall(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
				if ok {
					w.run(&ar, &g, 0, m, 0, n)
				}
			})
		})
	}
}

// TestCPUWakesParkedWorkers spaces products further apart than the
// workers spin, so that each one must wake parked workers, and checks the
// results against the single-threaded ones.
func TestCPUWakesParkedWorkers(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 28))
	const m, n, k = 40, 200, 30
	a, b := randVec(rng, m*k), randVec(rng, k*n)
	want := make([]float32, m*n)
	Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, want, n)
	c := newTestCPU(t, 3, ImplAuto)
	got := make([]float32, m*n)
	for range 3 {
		time.Sleep(3 * spinTime)
		clear(got)
		c.Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, got, n)
		if i, ok := sameBits(got, want); !ok {
			t.Fatalf("after the workers parked: c[%d] = %v, want %v", i, got[i], want[i])
		}
	}
}

// TestCPUConcurrentCalls has several goroutines share one CPU, which must
// run their products one at a time and give each its own result.
func TestCPUConcurrentCalls(t *testing.T) {
	rng := rand.New(rand.NewPCG(29, 30))
	const m, n, k, callers = 50, 70, 40, 4
	c := newTestCPU(t, 2, ImplAuto)
	var wg sync.WaitGroup
	errs := make([]error, callers)
	for g := range callers {
		a, b := randVec(rng, m*k), randVec(rng, k*n)
		want := make([]float32, m*n)
		Sgemm(false, true, m, n, k, 1, a, k, b, k, 0, want, n)
		wg.Go(func() {
			got := make([]float32, m*n)
			for range 50 {
				c.Sgemm(false, true, m, n, k, 1, a, k, b, k, 0, got, n)
				if i, ok := sameBits(got, want); !ok {
					errs[g] = fmt.Errorf("caller %d: c[%d] = %v, want %v", g, i, got[i], want[i])
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// TestCPUHandOffStress alternates products that run inline with products
// split across the workers, with and without pauses long enough for the
// workers to stop spinning, so that every path of the hand-off is taken
// many times; a part run twice or not at all shows as a wrong result or a
// WaitGroup panic.
func TestCPUHandOffStress(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	const m, n, k = 24, 96, 16
	a, b := randVec(rng, m*k), randVec(rng, k*n)
	want := make([]float32, m*n)
	Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, want, n)
	c := newTestCPU(t, 3, ImplAuto)
	got := make([]float32, m*n)
	for i := range 400 {
		if i%50 == 0 {
			time.Sleep(2 * spinTime)
		}
		mm := m
		if i%3 == 0 {
			mm = 1 // one row: too small to split
		}
		clear(got)
		c.Sgemm(false, false, mm, n, k, 1, a, k, b, n, 0, got, n)
		if j, ok := sameBits(got[:mm*n], want[:mm*n]); !ok {
			t.Fatalf("call %d: c[%d] = %v, want %v", i, j, got[j], want[j])
		}
	}
}
