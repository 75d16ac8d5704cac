//go:build !noasm

package kernels

import "golang.org/x/sys/cpu"

// The CPU features are read once by package cpu when the process starts,
// including whether the OS saves the vector registers, so these are
// constant for the life of the process.

func hasAVX512() bool { return cpu.X86.HasAVX512F && hasAVX2() }

func hasAVX2() bool { return cpu.X86.HasAVX2 && cpu.X86.HasFMA }

// archOf returns the blocked-SGEMM description of impl, which must be
// available.
func archOf(impl Impl) arch {
	switch impl {
	case ImplAVX512:
		// A 12×kc micro-panel of A (18 KiB) stays in the 32–48 KiB L1
		// while 32-column panels of B stream from a kc×nc block of B in
		// the 1 MiB L2 (720 KiB); the A block lives in L3. The shape of
		// BLIS's skx kernel, seen from row-major C.
		return arch{
			impl: impl, mr: 12, nr: 32, nrLog2: 5, rowStep: 2, colStep: 1,
			kc: 384, mc: 3072, nc: 480,
			kernelR: kernelAVX512R, kernelP: kernelAVX512P,
			transpose8: transpose8, copyA: copyRows12, copyB: copyRows32, copyPad: copyPad,
			directR: directAVX512R, directP: directAVX512P, directCols: directColsAVX512, directLanes: 16,
		}
	case ImplAVX2:
		return arch{
			impl: impl, mr: 6, nr: 16, nrLog2: 4, rowStep: 2, colStep: 8,
			kc: 384, mc: 3072, nc: 480,
			kernelR: kernelAVX2R, kernelP: kernelAVX2P,
			transpose8: transpose8, copyA: copyRows6, copyB: copyRows16, copyPad: copyPad,
			directR: directAVX2R, directP: directAVX2P, directCols: directColsAVX2, directLanes: 8,
		}
	}
	return genericArch()
}
