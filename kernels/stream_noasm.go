//go:build noasm || !amd64

package kernels

// streamsOf returns impl's elementwise loops; without assembly only the
// generic ones exist.
func streamsOf(Impl) streams { return genericStreams() }
