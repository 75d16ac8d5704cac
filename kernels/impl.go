package kernels

import (
	"fmt"
	"strings"
)

// Impl names an implementation of Sgemm's arithmetic. The zero value,
// ImplAuto, stands for the fastest one this CPU supports.
type Impl int

const (
	// ImplAuto is the fastest available implementation.
	ImplAuto Impl = iota
	// ImplAVX512 is the amd64 assembly for AVX-512F, 12×32 micro-tiles.
	ImplAVX512
	// ImplAVX2 is the amd64 assembly for AVX2 and FMA, 6×16 micro-tiles.
	ImplAVX2
	// ImplGeneric is portable Go, available everywhere.
	ImplGeneric
)

// Impls lists the concrete implementations, fastest first.
func Impls() []Impl { return []Impl{ImplAVX512, ImplAVX2, ImplGeneric} }

var implNames = [...]string{ImplAuto: "auto", ImplAVX512: "avx512", ImplAVX2: "avx2", ImplGeneric: "generic"}

func (i Impl) String() string {
	if i < 0 || int(i) >= len(implNames) {
		return fmt.Sprintf("Impl(%d)", int(i))
	}
	return implNames[i]
}

// ParseImpl returns the Impl named s, as written by String, ignoring case.
func ParseImpl(s string) (Impl, error) {
	for i, name := range implNames {
		if strings.EqualFold(s, name) {
			return Impl(i), nil
		}
	}
	return 0, fmt.Errorf("kernels: unknown implementation %q (want one of %s)", s, strings.Join(implNames[:], ", "))
}

// Available reports whether i can run on this CPU and in this build: the
// assembly needs amd64, the CPU features, and a build without the noasm
// tag. ImplAuto and ImplGeneric are always available.
func Available(i Impl) bool {
	switch i {
	case ImplAuto, ImplGeneric:
		return true
	case ImplAVX512:
		return hasAVX512()
	case ImplAVX2:
		return hasAVX2()
	}
	return false
}

// Resolve returns the concrete implementation ImplAuto stands for, and any
// other Impl unchanged.
func (i Impl) Resolve() Impl {
	if i != ImplAuto {
		return i
	}
	switch {
	case hasAVX512():
		return ImplAVX512
	case hasAVX2():
		return ImplAVX2
	}
	return ImplGeneric
}
