package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// gemmTask computes one product per part with SgemmPart, each into its own
// C, and counts the parts it ran.
type gemmTask struct {
	c      *CPU
	a, b   []float32
	m, n   int
	k      int
	out    [][]float32
	called []int
}

func (g *gemmTask) RunPart(part, parts int) {
	g.called[part]++
	g.c.SgemmPart(part, false, true, g.m, g.n, g.k, 1, g.a[part:], g.k, g.b, g.k, 0, g.out[part], g.n)
}

// TestCPURun checks that Run runs every part once, on each implementation
// and thread count, and that SgemmPart computes what Sgemm does.
func TestCPURun(t *testing.T) {
	rng := rand.New(rand.NewPCG(71, 72))
	const m, n, k = 13, 37, 29
	a, b := randVec(rng, m*k+4), randVec(rng, n*k)
	for _, impl := range availableImpls(t) {
		for _, threads := range []int{1, 2, 3} {
			t.Run(fmt.Sprintf("%v/threads=%d", impl, threads), func(t *testing.T) {
				c := newTestCPU(t, threads, impl)
				for parts := 1; parts <= threads; parts++ {
					task := &gemmTask{c: c, a: a, b: b, m: m, n: n, k: k, out: make([][]float32, parts), called: make([]int, parts)}
					for p := range parts {
						task.out[p] = make([]float32, m*n)
					}
					c.Run(parts, task)
					for p := range parts {
						if task.called[p] != 1 {
							t.Fatalf("parts=%d: part %d ran %d times, want 1", parts, p, task.called[p])
						}
						want := make([]float32, m*n)
						c.Sgemm(false, true, m, n, k, 1, a[p:], k, b, k, 0, want, n)
						for i := range want {
							if math.Float32bits(task.out[p][i]) != math.Float32bits(want[i]) {
								t.Fatalf("parts=%d part %d: c[%d] = %v, want %v as from Sgemm", parts, p, i, task.out[p][i], want[i])
							}
						}
					}
				}
				// The CPU still computes split products afterwards.
				got, want := make([]float32, m*n), make([]float32, m*n)
				c.Sgemm(false, true, m, n, k, 1, a, k, b, k, 0, got, n)
				Sgemm(false, true, m, n, k, 1, a, k, b, k, 0, want, n)
				if impl == ImplAuto.Resolve() {
					for i := range want {
						if got[i] != want[i] {
							t.Fatalf("Sgemm after Run: c[%d] = %v, want %v", i, got[i], want[i])
						}
					}
				}
			})
		}
	}
}

type panicTask struct{}

func (panicTask) RunPart(part, parts int) { panic("part failed") }

func TestCPURunPanics(t *testing.T) {
	c := newTestCPU(t, 2, ImplAuto)
	expect := func(name, want string, f func()) {
		t.Helper()
		defer func() {
			if got := recover(); got != want {
				t.Errorf("%s: panic = %v, want %q", name, got, want)
			}
		}()
		f()
	}
	expect("parts 0", errRunParts, func() { c.Run(0, panicTask{}) })
	expect("parts 3", errRunParts, func() { c.Run(3, panicTask{}) })
	expect("SgemmPart outside Run", errSgemmPart, func() { c.SgemmPart(0, false, false, 1, 1, 1, 1, []float32{1}, 1, []float32{1}, 1, 0, []float32{0}, 1) })
	// A panic in part 0 reaches the caller and leaves the CPU usable.
	expect("part 0 panics", "part failed", func() { c.Run(1, panicTask{}) })
	got := []float32{0}
	c.Sgemm(false, false, 1, 1, 1, 1, []float32{2}, 1, []float32{3}, 1, 0, got, 1)
	if got[0] != 6 {
		t.Fatalf("Sgemm after a failed Run = %v, want 6", got[0])
	}
	closed, err := NewCPU(1, ImplAuto)
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	expect("Run after Close", errCPUClosedRun, func() { closed.Run(1, panicTask{}) })
}

func TestCPURunAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocations are counted without -race")
	}
	c := newTestCPU(t, 2, ImplAuto)
	task := &gemmTask{c: c, a: make([]float32, 8), b: make([]float32, 4), m: 2, n: 2, k: 2, out: [][]float32{make([]float32, 4), make([]float32, 4)}, called: make([]int, 2)}
	if n := testing.AllocsPerRun(50, func() { c.Run(2, task) }); n != 0 {
		t.Errorf("Run allocates %v times, want 0", n)
	}
}
