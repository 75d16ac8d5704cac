package cuda

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

// TestKernelsCompile builds the kernel sources with NVRTC for the GPU
// generations troupe targets (Turing, Ampere, Hopper: what both CUDA 11.8's
// and CUDA 13's NVRTC accept). It needs only the NVRTC library, not a GPU,
// and skips when that is missing.
func TestKernelsCompile(t *testing.T) {
	for _, cc := range [][2]int{{7, 5}, {8, 0}, {9, 0}} {
		ptx, log, err := CompilePTX(cc[0], cc[1], nil)
		if errors.Is(err, ErrNoNVRTC) {
			t.Skipf("no NVRTC: %v", err)
		}
		if err != nil {
			t.Fatalf("compute_%d%d: %v", cc[0], cc[1], err)
		}
		if strings.TrimSpace(log) != "" {
			t.Errorf("compute_%d%d: compiler warnings:\n%s", cc[0], cc[1], log)
		}
		// Every kernel the Go side looks up must be an entry point.
		var k kernelSet
		for _, e := range k.entries() {
			re := regexp.MustCompile(`\.entry\s+` + regexp.QuoteMeta(e.name) + `\(`)
			if !re.Match(ptx) {
				t.Errorf("compute_%d%d: kernel %s missing from the PTX", cc[0], cc[1], e.name)
			}
		}
	}
}
