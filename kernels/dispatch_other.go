//go:build noasm || !amd64

package kernels

func hasAVX512() bool { return false }

func hasAVX2() bool { return false }

// archOf returns the blocked-SGEMM description of impl; without assembly
// only the generic one exists.
func archOf(Impl) arch { return genericArch() }
