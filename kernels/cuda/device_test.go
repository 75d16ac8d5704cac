package cuda

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
)

// The tests share one device: opening compiles the kernels, which takes a
// second or two. Without a GPU every device test skips.
var shared struct {
	once sync.Once
	d    *Device
	err  error
}

func testStream(t *testing.T) *Stream {
	t.Helper()
	shared.once.Do(func() { shared.d, shared.err = Open(Options{}) })
	if errors.Is(shared.err, ErrNoDevice) {
		t.Skipf("no GPU: %v", shared.err)
	}
	if shared.err != nil {
		t.Fatalf("Open: %v", shared.err)
	}
	s, err := shared.d.NewStream()
	if err != nil {
		t.Fatalf("NewStream: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Stream.Close: %v", err)
		}
	})
	return s
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.d != nil {
		if err := shared.d.Close(); err != nil {
			println("Device.Close:", err.Error())
			code = 1
		}
	}
	os.Exit(code)
}

// TestOpenWithoutDevice checks the message a machine without a GPU gets.
func TestOpenWithoutDevice(t *testing.T) {
	d, err := Open(Options{})
	if err == nil {
		t.Logf("GPU present: %v", d)
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !errors.Is(err, ErrNoDevice) {
		t.Skipf("a driver is present but the device could not be opened: %v", err)
	}
	if !strings.Contains(err.Error(), "no CUDA device") {
		t.Fatalf("error %q does not say there is no CUDA device", err)
	}
}

func TestOpenBadOrdinal(t *testing.T) {
	testStream(t)
	if _, err := Open(Options{Ordinal: 1 << 20}); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("Open(ordinal 2^20) = %v, want a does-not-exist error", err)
	}
}

// dev is a device copy of host data for tests.
type dev struct {
	b *Buffer
	n int
}

func upload(t *testing.T, s *Stream, x []float32) dev {
	t.Helper()
	b, err := s.d.AllocF32(len(x))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Free() })
	if err := s.Upload(b.Ptr(), x); err != nil {
		t.Fatal(err)
	}
	return dev{b, len(x)}
}

func uploadI32(t *testing.T, s *Stream, x []int32) dev {
	t.Helper()
	b, err := s.d.AllocF32(len(x))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Free() })
	if err := s.UploadI32(b.Ptr(), x); err != nil {
		t.Fatal(err)
	}
	return dev{b, len(x)}
}

// poisoned returns a device buffer of n NaNs, so unwritten outputs show.
func poisoned(t *testing.T, s *Stream, n int) dev {
	t.Helper()
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(math.NaN())
	}
	return upload(t, s, x)
}

func (v dev) p() Ptr { return v.b.Ptr() }

func (v dev) get(t *testing.T, s *Stream) []float32 {
	t.Helper()
	out := make([]float32, v.n)
	if err := s.Download(out, v.p()); err != nil {
		t.Fatal(err)
	}
	return out
}

func (v dev) getI32(t *testing.T, s *Stream) []int32 {
	t.Helper()
	out := make([]int32, v.n)
	if err := s.DownloadI32(out, v.p()); err != nil {
		t.Fatal(err)
	}
	return out
}

func randn(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// close reports whether got is within rel·(|want|+1) of want, NaN never.
func closeTo(got float32, want float64, rel float64) bool {
	return math.Abs(float64(got)-want) <= rel*(math.Abs(want)+1)
}

func checkAll(t *testing.T, what string, got []float32, want []float64, rel float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	bad := 0
	for i := range got {
		if !closeTo(got[i], want[i], rel) {
			if bad < 5 {
				t.Errorf("%s[%d] = %v, want %v", what, i, got[i], want[i])
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d values wrong", what, bad, len(got))
	}
}

// relErr is ‖got − want‖ / ‖want‖.
func relErr(got []float32, want []float64) float64 {
	var num, den float64
	for i := range got {
		d := float64(got[i]) - want[i]
		num += d * d
		den += want[i] * want[i]
	}
	return math.Sqrt(num / den)
}
