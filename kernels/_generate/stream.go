package main

import (
	"bytes"
	"fmt"
	"go/format"
	"log"
	"strings"
)

// stream is an elementwise loop over n float32 elements of a few slices,
// vectorised: an unrolled loop over whole groups of vectors, a loop over
// single vectors and a masked tail for the last n mod lanes elements. Every
// element goes through the same instructions wherever it falls, so a split
// of the slices between threads at any element gives the same bits.
type stream struct {
	name string   // the function's name
	ptrs []string // the names of its pointer arguments, in order after n
	// scalars are its parameters after the pointers, names and types,
	// and scalarNames their names.
	scalars, scalarNames string
	frame                int    // argument frame size in bytes
	what                 string // what it computes, for its doc comment
	loop                 string // the loop it implements, for its doc comment
	// setup loads the coefficients; body emits the work on one vector,
	// reading and writing memory through io.
	setup func(a *asm, s isa)
	body  func(a *asm, io streamIO)
}

// Registers of the stream loops: the count and up to four pointers. Vector
// v of an unrolled iteration computes in registers 4v..4v+3; registers
// 16 and up (AVX-512) or 10 and up (AVX2) are left for coefficients, and
// the AVX2 tail mask lives in Y8.
var streamPtrRegs = []string{"DI", "SI", "DX", "R8"}

const streamN = "CX"

// streamUnroll is how many vectors one iteration of the main loop handles:
// four keep enough loads in flight to stream from L2 and L3 with AVX-512;
// with AVX2 two use the registers four would need.
func streamUnroll(s isa) int {
	if s.lanes == 16 {
		return 4
	}
	return 2
}

// streamIO is what a body sees of one vector: its registers, and loads and
// stores of its elements, masked in the tail.
type streamIO struct {
	a    *asm
	s    isa
	v    int    // the vector's place in the unrolled iteration
	disp int    // its byte offset from the pointers
	mask string // the tail mask, or "" for a whole vector
}

// reg returns the vector's i-th register, i < 4.
func (io streamIO) reg(i int) string { return io.s.v(4*io.v + i) }

func (io streamIO) addr(ptr int) string {
	return fmt.Sprintf("%d(%s)", io.disp, streamPtrRegs[ptr])
}

// load reads the vector of pointer ptr into dst, zero past n in the tail.
func (io streamIO) load(ptr int, dst string) {
	switch {
	case io.mask == "":
		io.a.f("VMOVUPS %s, %s", io.addr(ptr), dst)
	case io.s.lanes == 16:
		io.a.f("VMOVUPS.Z %s, %s, %s", io.addr(ptr), io.mask, dst)
	default:
		io.a.f("VMASKMOVPS %s, %s, %s", io.addr(ptr), io.mask, dst)
	}
}

// store writes src to the vector of pointer ptr, nothing past n.
func (io streamIO) store(src string, ptr int) {
	switch {
	case io.mask == "":
		io.a.f("VMOVUPS %s, %s", src, io.addr(ptr))
	case io.s.lanes == 16:
		io.a.f("VMOVUPS %s, %s, %s", src, io.mask, io.addr(ptr))
	default:
		io.a.f("VMASKMOVPS %s, %s, %s", src, io.mask, io.addr(ptr))
	}
}

// emit writes the function for instruction set s.
func (st stream) emit(a *asm, s isa) {
	l := func(x string) string { return fmt.Sprintf("%s_%s", x, st.name) }
	fmt.Fprintf(a, "\n// func %s(n int, %s)\n", st.name, st.params("*float32"))
	fmt.Fprintf(a, "TEXT ·%s(SB), NOSPLIT, $0-%d\n", st.name, st.frame)
	a.f("MOVQ n+0(FP), %s", streamN)
	for i, p := range st.ptrs {
		a.f("MOVQ %s+%d(FP), %s", p, 8+8*i, streamPtrRegs[i])
	}
	st.setup(a, s)
	vb := 4 * s.lanes
	advance := func(bytes int) {
		for i := range st.ptrs {
			a.f("ADDQ $%d, %s", bytes, streamPtrRegs[i])
		}
	}
	u := streamUnroll(s)
	a.comment("%d vectors at a time.", u)
	a.f("CMPQ %s, $%d", streamN, u*s.lanes)
	a.f("JLT %s", l("one"))
	a.f("PCALIGN $32")
	a.label(l("body"))
	for v := range u {
		st.body(a, streamIO{a: a, s: s, v: v, disp: v * vb})
	}
	advance(u * vb)
	a.f("SUBQ $%d, %s", u*s.lanes, streamN)
	a.f("CMPQ %s, $%d", streamN, u*s.lanes)
	a.f("JGE %s", l("body"))
	a.label(l("one"))
	a.comment("One vector at a time.")
	a.f("CMPQ %s, $%d", streamN, s.lanes)
	a.f("JLT %s", l("tail"))
	st.body(a, streamIO{a: a, s: s})
	advance(vb)
	a.f("SUBQ $%d, %s", s.lanes, streamN)
	a.f("JMP %s", l("one"))
	a.label(l("tail"))
	a.comment("The last n < %d elements under a mask.", s.lanes)
	a.f("TESTQ %s, %s", streamN, streamN)
	a.f("JEQ %s", l("done"))
	mask := "K1"
	if s.lanes == 16 {
		a.f("MOVL $1, AX")
		a.f("SHLL CX, AX")
		a.f("DECL AX")
		a.f("KMOVW AX, K1")
	} else {
		mask = "Y8"
		a.f("LEAQ ·streamMask<>+32(SB), AX")
		a.f("NEGQ CX")
		a.f("VMOVDQU (AX)(CX*4), %s", mask)
	}
	st.body(a, streamIO{a: a, s: s, mask: mask})
	a.label(l("done"))
	a.f("VZEROUPPER")
	a.f("RET")
}

// params returns the parameters after n, the pointers with type ptrType.
func (st stream) params(ptrType string) string {
	p := strings.Join(st.ptrs, ", ") + " " + ptrType
	if st.scalars != "" {
		p += ", " + st.scalars
	}
	return p
}

// streamFile returns stream_amd64.s, every stream emitted for AVX-512 and
// AVX2, with the table the AVX2 tails load their masks from (a <> symbol is
// private to its file, so the streams share one file).
func streamFile() []byte {
	var a asm
	a.WriteString(header)
	a.WriteString("#include \"textflag.h\"\n")
	for _, s := range []isa{avx512, avx2} {
		for _, st := range allStreams(s) {
			st.emit(&a, s)
		}
		sumFunc(&a, s)
	}
	a.WriteString("\n// streamMask<>+32-4*n holds n all-ones lanes followed by zero lanes.\n")
	for i := range 16 {
		v := "0xffffffff"
		if i >= 8 {
			v = "0x00000000"
		}
		fmt.Fprintf(&a, "DATA ·streamMask<>+%d(SB)/4, $%s\n", 4*i, v)
	}
	a.WriteString("GLOBL ·streamMask<>(SB), RODATA|NOPTR, $64\n")
	return a.Bytes()
}

// allStreams returns the streams of instruction set s.
func allStreams(s isa) []stream {
	return append(sgdStreams(s), reluStreams(s)...)
}

// streamStubs returns streamstubs_amd64.go, the Go declarations of the
// streams with the loops they implement, and a wrapper of each that takes
// slices.
func streamStubs() []byte {
	var b bytes.Buffer
	b.WriteString("// Code generated by go run ./_generate. DO NOT EDIT.\n\n//go:build !noasm\n\npackage kernels\n")
	for _, s := range []isa{avx512, avx2} {
		for _, st := range allStreams(s) {
			fmt.Fprintf(&b, `
// %[1]s is the %[2]s loop of %[3]s over n elements:
//
%[4]s
//
// It reads and writes nothing past element n-1; call it through
// %[1]sSlices, which checks the lengths.
//
//go:noescape
func %[1]s(n int, %[5]s)
`, st.name, s.name, st.what, st.loop, st.params("*float32"))
			first := st.ptrs[0]
			var reslice, addrs []string
			for _, p := range st.ptrs[1:] {
				reslice = append(reslice, fmt.Sprintf("%s = %s[:len(%s)]", p, p, first))
			}
			for _, p := range st.ptrs {
				addrs = append(addrs, fmt.Sprintf("&%s[0]", p))
			}
			args := strings.Join(addrs, ", ")
			if st.scalarNames != "" {
				args += ", " + st.scalarNames
			}
			fmt.Fprintf(&b, `
// %[1]sSlices is %[1]s over len(%[2]s) elements; re-slicing the other
// slices to that length panics if one is shorter.
func %[1]sSlices(%[3]s) {
	if len(%[2]s) == 0 {
		return
	}
	%[4]s
	%[1]s(len(%[2]s), %[5]s)
}
`, st.name, first, st.params("[]float32"), strings.Join(reslice, "\n"), args)
		}
	}
	for _, s := range []isa{avx512, avx2} {
		fmt.Fprintf(&b, `
// sum%[1]s returns the sum of x[0..n-1], accumulated in four %[1]s
// vectors of partial sums and reduced pairwise. Call it through
// sum%[1]sSlice.
//
//go:noescape
func sum%[1]s(n int, x *float32) float32

// sum%[1]sSlice is sum%[1]s over x.
func sum%[1]sSlice(x []float32) float32 {
	if len(x) == 0 {
		return 0
	}
	return sum%[1]s(len(x), &x[0])
}
`, s.name)
	}
	src, err := format.Source(b.Bytes())
	if err != nil {
		log.Fatal(err)
	}
	return src
}
