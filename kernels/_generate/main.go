// Command _generate writes the amd64 assembly of package kernels and its Go
// declarations (the *stubs_amd64.go files): the SGEMM micro-kernels for
// AVX-512 and AVX2+FMA, each in two layouts of the A operand, and the
// direct kernels that compute small products without packing (direct.go);
// the copies that pack panels (row copies, padded copies and the 8×8
// transposing copy used to pack a transposed B); the elementwise loops
// (streams: the SGD updates, Sum and the rectifier, see stream.go); the
// short strided row copies of Im2col and Col2im (window.go); and 2×2 max
// pooling (maxpool.go).
//
// Run it from the kernels folder with go generate; -o writes the files to
// another folder. It uses only the standard library, so the kernels module
// gains no dependency; loops and unrolling are Go code here and the output
// is plain, commented assembly.
//
// # Micro-kernel
//
// A micro-kernel computes one tile of at most MR rows and NR columns of C:
//
//	for i < rows, j < cols:
//		c[i*ldc+j] = alpha * Σ_{p<kc} A(i,p)*b[p*ldb+j] + beta*c[i*ldc+j]
//
// keeping the MR×NR sums in vector registers (two vectors per row; MR×NR
// is 12×32 for AVX-512, 6×16 for AVX2). Each step p loads the two vectors
// of B row p, broadcasts A(i,p) for each row i and issues one fused
// multiply-add per accumulator; the k loop is unrolled four times and
// prefetches B eight steps ahead. Every sum is a chain of
// FMAs in increasing p, so a C element's value does not depend on the tile
// it falls in, on the variant that computed it, or on how C is split
// between threads.
//
// The two layouts of A are
//
//   - R (row-major): A(i,p) = a[i*lda+p], the layout of a non-transposed A
//     copied row by row, which needs no transposition to pack;
//   - P (panel): A(i,p) = a[p*lda+i], the layout of a transposed A and of
//     the classic packed micro-panel (lda = MR).
//
// Rows are computed in groups of two; the caller pads A to whole groups
// and only rows < rows of C are written. Columns are
// computed in whole vectors: the last vector of C is loaded and stored
// under a mask of cols, so nothing outside the tile is touched. AVX-512
// loads the last vector of B under the same mask, so B needs no padding;
// AVX2 reads B in whole vectors (the caller pads the last panel). With
// beta == 0 C is not read, and alpha == 1 skips the scaling.
//
// One call computes a whole block of tiles, row of tiles after row of
// tiles, reading each panel of A and B at a fixed stride from the last, so
// that packed panels and matrices read in place are described alike and
// the bookkeeping of a tile costs a few instructions rather than a call.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"log"
	"os"
	"path/filepath"
	"strings"
)

// out is the folder the files are written to; a test regenerates them
// elsewhere and compares.
var out = flag.String("o", ".", "output folder")

func main() {
	flag.Parse()
	for _, isa := range []isa{avx512, avx2} {
		for _, layout := range []byte{'R', 'P'} {
			write(fmt.Sprintf("sgemm_%s%c_amd64.s", strings.ToLower(isa.name), layout+'a'-'A'), kernel(isa, layout))
		}
	}
	for _, d := range directKernels {
		write(fmt.Sprintf("sgemm_direct_%s%c_amd64.s", strings.ToLower(d.s.name), d.layout+'a'-'A'), directFile(d))
	}
	write("directstubs_amd64.go", directStubs())
	write("transpose8_amd64.s", transpose8())
	write("copyrows_amd64.s", copyRows())
	write("copypad_amd64.s", copyPad())
	write("stubs_amd64.go", stubs())
	write("stream_amd64.s", streamFile())
	write("streamstubs_amd64.go", streamStubs())
	write("window_amd64.s", windowFile())
	write("windowstubs_amd64.go", windowStubs())
	write("im2col_amd64.s", im2colRowsFile())
	write("im2colstubs_amd64.go", im2colRowsStubs())
	write("col2im_amd64.s", col2imRowsFile())
	write("col2imstubs_amd64.go", col2imRowsStubs())
	write("maxpool_amd64.s", maxPoolFile())
	write("maxpoolstubs_amd64.go", maxPoolStubs())
}

func write(name string, src []byte) {
	if err := os.WriteFile(filepath.Join(*out, name), src, 0o644); err != nil {
		log.Fatal(err)
	}
}

// isa is one instruction set's register file and micro-tile.
type isa struct {
	name     string // as in function names: AVX512, AVX2
	reg      string // vector register prefix: Z or Y
	lanes    int    // float32 lanes per vector
	mr       int    // rows of the micro-tile
	rowGroup int    // rows are computed in groups of this many
	zero     string // instruction that zeroes a register: xor with itself
	// maskedB loads the last vector of B under the mask of cols, so B
	// needs no padding; AVX2's masked loads cost an extra micro-op.
	maskedB bool
	// tmp are the registers free for B vectors and broadcasts: the
	// accumulators take registers 0..2*mr-1.
	bregs, aregs []int
}

var (
	avx512 = isa{name: "AVX512", reg: "Z", lanes: 16, mr: 12, rowGroup: 2, zero: "VPXORD", maskedB: true,
		bregs: []int{24, 25, 26, 27}, aregs: []int{28, 29, 30, 31}}
	avx2 = isa{name: "AVX2", reg: "Y", lanes: 8, mr: 6, rowGroup: 2, zero: "VXORPS",
		bregs: []int{12, 13}, aregs: []int{14, 15}}
)

func (s isa) nr() int { return 2 * s.lanes }

// colStep is the granularity in which the kernel reads columns of B.
func (s isa) colStep() int {
	if s.maskedB {
		return 1
	}
	return s.lanes
}
func (s isa) v(i int) string      { return fmt.Sprintf("%s%d", s.reg, i) }
func (s isa) acc(i, v int) string { return s.v(2*i + v) }

// asm accumulates assembly text.
type asm struct{ bytes.Buffer }

func (a *asm) f(format string, args ...any) { fmt.Fprintf(a, "\t"+format+"\n", args...) }
func (a *asm) label(l string)               { fmt.Fprintf(a, "%s:\n", l) }
func (a *asm) comment(format string, args ...any) {
	fmt.Fprintf(a, "\t// "+format+"\n", args...)
}

const header = "// Code generated by go run ./_generate. DO NOT EDIT.\n\n//go:build !noasm\n\n"

// Argument frame shared by every micro-kernel (see stubs_amd64.go).
const kernelArgs = "kc+0(FP), a+8(FP), lda+16(FP), aNext+24(FP), b+32(FP), ldb+40(FP), bNext+48(FP), c+56(FP), ldc+64(FP), alpha+72(FP), beta+76(FP), m+80(FP), n+88(FP)"

// The kernel's local variables, in its stack frame: the rows and columns
// left, the current panels of A and B, the current row of tiles of C and
// the current tile, and the current tile's size.
const (
	mLeft = "mleft-8(SP)"
	aCur  = "acur-16(SP)"
	cRow  = "crow-24(SP)"
	nLeft = "nleft-32(SP)"
	bCur  = "bcur-40(SP)"
	cCur  = "ccur-48(SP)"
	rows  = "rows-56(SP)"
	cols  = "cols-64(SP)"
)

// index returns the address of step u of an unrolled loop over a pointer
// base advancing by stride bytes per step, with s3 = 3*stride.
func index(disp int, base, stride, s3 string, u int) string {
	d := ""
	if disp != 0 {
		d = fmt.Sprint(disp)
	}
	switch u {
	case 0:
		return fmt.Sprintf("%s(%s)", d, base)
	case 1:
		return fmt.Sprintf("%s(%s)(%s*1)", d, base, stride)
	case 2:
		return fmt.Sprintf("%s(%s)(%s*2)", d, base, stride)
	case 3:
		return fmt.Sprintf("%s(%s)(%s*1)", d, base, s3)
	}
	panic("unroll beyond 4")
}

// Registers of the micro-kernel loop.
const (
	rK   = "CX"  // steps left
	rB   = "BX"  // B row
	rLdb = "R11" // ldb in bytes
	rB3  = "R12" // 3*ldb in bytes
	rA   = "R8"  // A; in layout R, rows 0..3 (R9, R10: rows 4..7, 8..11)
	rLda = "SI"  // lda in bytes
	rA3  = "DI"  // 3*lda in bytes
	rC   = "DX"
	rLdc = "R13"
	rPB  = "R13" // B prefetch pointer, eight steps ahead
)

// prefetchB makes the k loop prefetch B eight steps ahead into L1: the
// micro-panel of B streams from L2, and measured 5–8% faster with it.
const prefetchB = true

// aBase is the register holding the row group of row i in layout R.
func aBase(s isa, i int) string { return fmt.Sprintf("R%d", 8+i/4) }

// aAddr is the address of A(i, p+u) relative to the loop's pointers.
func aAddr(s isa, layout byte, i, u int) string {
	if layout == 'R' {
		// Rows i..i+3 of a group share a base; p+u is a displacement.
		return index(4*u, aBase(s, i), rLda, rA3, i%4)
	}
	// Step u is an index; row i is a displacement.
	return index(4*i, rA, rLda, rA3, u)
}

func kernel(s isa, layout byte) []byte {
	var a asm
	a.WriteString(header)
	a.WriteString("#include \"textflag.h\"\n\n")
	name := fmt.Sprintf("sgemm%s%c", s.name, layout)
	fmt.Fprintf(&a, "// func %s(%s)\n", name, strings.ReplaceAll(strings.ReplaceAll(kernelArgs, "(FP)", ""), "+", " @"))
	fmt.Fprintf(&a, "TEXT ·%s(SB), NOSPLIT, $64-96\n", name)
	a.f("MOVQ m+80(FP), AX")
	a.f("MOVQ AX, %s", mLeft)
	a.f("MOVQ a+8(FP), AX")
	a.f("MOVQ AX, %s", aCur)
	a.f("MOVQ c+56(FP), AX")
	a.f("MOVQ AX, %s", cRow)
	a.label("rowpanel")
	a.comment("A row of tiles: the next %d rows of C, all its columns.", s.mr)
	a.f("MOVQ n+88(FP), AX")
	a.f("MOVQ AX, %s", nLeft)
	a.f("MOVQ b+32(FP), AX")
	a.f("MOVQ AX, %s", bCur)
	a.f("MOVQ %s, AX", cRow)
	a.f("MOVQ AX, %s", cCur)
	a.label("tile")
	a.comment("rows = min(mleft, %d), cols = min(nleft, %d).", s.mr, s.nr())
	a.f("MOVQ %s, AX", mLeft)
	a.f("MOVQ $%d, BX", s.mr)
	a.f("CMPQ AX, BX")
	a.f("CMOVQGT BX, AX")
	a.f("MOVQ AX, %s", rows)
	a.f("MOVQ %s, CX", nLeft)
	a.f("MOVQ $%d, BX", s.nr())
	a.f("CMPQ CX, BX")
	a.f("CMOVQGT BX, CX")
	a.f("MOVQ CX, %s", cols)
	if s.maskedB {
		a.comment("K1: mask of the valid columns of the last vector, for B and C.")
		a.f("CMPQ CX, $%d", s.lanes)
		a.f("JLE onevec")
		a.f("SUBQ $%d, CX", s.lanes)
		a.label("onevec")
		a.f("MOVL $1, AX")
		a.f("SHLL CX, AX")
		a.f("DECL AX")
		a.f("KMOVW AX, K1")
	}
	a.comment("Pointers and strides in bytes.")
	a.f("MOVQ %s, %s", aCur, rA)
	a.f("MOVQ lda+16(FP), %s", rLda)
	a.f("SHLQ $2, %s", rLda)
	a.f("LEAQ (%s)(%s*2), %s", rLda, rLda, rA3)
	if layout == 'R' {
		for g := 1; g*4 < s.mr; g++ {
			a.f("LEAQ (R%d)(%s*4), R%d", 8+g-1, rLda, 8+g)
		}
	}
	a.f("MOVQ %s, %s", bCur, rB)
	a.f("MOVQ ldb+40(FP), %s", rLdb)
	a.f("SHLQ $2, %s", rLdb)
	a.f("LEAQ (%s)(%s*2), %s", rLdb, rLdb, rB3)
	a.f("MOVQ kc+0(FP), %s", rK)
	if prefetchB {
		a.f("LEAQ (%s)(%s*8), %s", rB, rLdb, rPB)
	}
	a.comment("Prefetch the tile of C, which the epilogue reads or writes after a long loop.")
	a.f("CMPQ %s, $64", rK)
	a.f("JLT noprefetch")
	a.f("MOVQ %s, AX", cCur)
	a.f("MOVQ ldc+64(FP), DX")
	a.f("SHLQ $2, DX")
	rowBytes := 4 * s.nr()
	for i := range s.mr {
		for o := 0; o < rowBytes; o += 64 {
			a.f("PREFETCHT0 %d(AX)", o)
		}
		a.f("PREFETCHT0 %d(AX)", rowBytes-4)
		if i < s.mr-1 {
			a.f("ADDQ DX, AX")
		}
	}
	a.label("noprefetch")
	a.comment("Pick the loop for ceil(rows/%d) row groups and ceil(cols/%d) vectors.", s.rowGroup, s.lanes)
	a.f("MOVQ %s, AX", rows)
	a.f("CMPQ %s, $%d", cols, s.lanes)
	a.f("JGT nv2")
	dispatch := func(nv int) {
		for mr := s.rowGroup; mr < s.mr; mr += s.rowGroup {
			a.f("CMPQ AX, $%d", mr)
			a.f("JLE loop%dx%d", mr, nv)
		}
		a.f("JMP loop%dx%d", s.mr, nv)
	}
	dispatch(1)
	a.label("nv2")
	dispatch(2)
	for nv := 1; nv <= 2; nv++ {
		for mr := s.rowGroup; mr <= s.mr; mr += s.rowGroup {
			loop(&a, s, layout, mr, nv)
		}
	}
	for nv := 1; nv <= 2; nv++ {
		epilogue(&a, s, nv)
	}
	a.label("next")
	a.comment("Move on to the next tile of the row, or to the next row of tiles.")
	a.f("MOVQ %s, AX", nLeft)
	a.f("SUBQ $%d, AX", s.nr())
	a.f("JLE nextrow")
	a.f("MOVQ AX, %s", nLeft)
	a.f("MOVQ bNext+48(FP), AX")
	a.f("SHLQ $2, AX")
	a.f("ADDQ AX, %s", bCur)
	a.f("ADDQ $%d, %s", 4*s.nr(), cCur)
	a.f("JMP tile")
	a.label("nextrow")
	a.f("MOVQ %s, AX", mLeft)
	a.f("SUBQ $%d, AX", s.mr)
	a.f("JLE return")
	a.f("MOVQ AX, %s", mLeft)
	a.f("MOVQ aNext+24(FP), AX")
	a.f("SHLQ $2, AX")
	a.f("ADDQ AX, %s", aCur)
	a.f("MOVQ ldc+64(FP), AX")
	a.f("IMULQ $%d, AX", 4*s.mr)
	a.f("ADDQ AX, %s", cRow)
	a.f("JMP rowpanel")
	a.label("return")
	a.f("VZEROUPPER")
	a.f("RET")
	return a.Bytes()
}

// loop emits the k loop for an mr×(nv vectors) tile, unrolled by four.
func loop(a *asm, s isa, layout byte, mr, nv int) {
	l := fmt.Sprintf("%dx%d", mr, nv)
	a.label("loop" + l)
	a.comment("%d rows × %d columns: zero the sums, then four steps of p at a time.", mr, nv*s.lanes)
	for i := range mr {
		for v := range nv {
			a.f("%s %s, %s, %s", s.zero, s.acc(i, v), s.acc(i, v), s.acc(i, v))
		}
	}
	step := func(u int, bi, ai *int) {
		if prefetchB {
			for v := range nv {
				a.f("PREFETCHT0 %s", index(v*4*s.lanes, rPB, rLdb, rB3, u))
			}
		}
		bv := make([]string, nv)
		for v := range nv {
			bv[v] = s.v(s.bregs[*bi%len(s.bregs)])
			*bi++
			if s.maskedB && v == nv-1 {
				a.f("VMOVUPS.Z %s, K1, %s", index(v*4*s.lanes, rB, rLdb, rB3, u), bv[v])
			} else {
				a.f("VMOVUPS %s, %s", index(v*4*s.lanes, rB, rLdb, rB3, u), bv[v])
			}
		}
		for i := range mr {
			t := s.v(s.aregs[*ai%len(s.aregs)])
			*ai++
			a.f("VBROADCASTSS %s, %s", aAddr(s, layout, i, u), t)
			for v := range nv {
				a.f("VFMADD231PS %s, %s, %s", bv[v], t, s.acc(i, v))
			}
		}
	}
	advance := func(steps int) {
		if layout == 'R' {
			for g := 0; g*4 < mr; g++ {
				a.f("ADDQ $%d, R%d", 4*steps, 8+g)
			}
		} else if steps == 4 {
			a.f("LEAQ (%s)(%s*4), %s", rA, rLda, rA)
		} else {
			a.f("ADDQ %s, %s", rLda, rA)
		}
		if steps == 4 {
			a.f("LEAQ (%s)(%s*4), %s", rB, rLdb, rB)
			if prefetchB {
				a.f("LEAQ (%s)(%s*4), %s", rPB, rLdb, rPB)
			}
		} else {
			a.f("ADDQ %s, %s", rLdb, rB)
			if prefetchB {
				a.f("ADDQ %s, %s", rLdb, rPB)
			}
		}
	}
	a.f("CMPQ %s, $4", rK)
	a.f("JLT tail%s", l)
	a.f("PCALIGN $32")
	a.label("body" + l)
	bi, ai := 0, 0
	for u := range 4 {
		step(u, &bi, &ai)
	}
	advance(4)
	a.f("SUBQ $4, %s", rK)
	a.f("CMPQ %s, $4", rK)
	a.f("JGE body%s", l)
	a.label("tail" + l)
	a.f("TESTQ %s, %s", rK, rK)
	a.f("JEQ store%d", nv)
	a.label("one" + l)
	bi, ai = 0, 0
	step(0, &bi, &ai)
	advance(1)
	a.f("DECQ %s", rK)
	a.f("JNE one%s", l)
	a.f("JMP store%d", nv)
}

// epilogue emits the write-back of a tile with nv vectors per row: scale
// by alpha, add beta*C unless beta == 0, store, and stop after rows rows.
// The last vector of a row is loaded and stored under the mask of cols.
func epilogue(a *asm, s isa, nv int) {
	alpha, beta := s.v(s.bregs[0]), s.v(s.bregs[1])
	tmp := s.v(s.aregs[0])
	a.label(fmt.Sprintf("store%d", nv))
	mask := "K1"
	if !s.maskedB {
		a.comment("Mask of the valid columns of the last vector.")
		a.f("MOVQ %s, CX", cols)
		if nv == 2 {
			a.f("SUBQ $%d, CX", s.lanes)
		}
		mask = s.v(s.aregs[1])
		a.f("LEAQ ·avx2Mask<>+%d(SB), AX", 4*s.lanes)
		a.f("NEGQ CX")
		a.f("VMOVDQU (AX)(CX*4), %s", mask)
	}
	a.f("VBROADCASTSS alpha+72(FP), %s", alpha)
	a.f("MOVQ %s, %s", cCur, rC)
	a.f("MOVQ ldc+64(FP), %s", rLdc)
	a.f("SHLQ $2, %s", rLdc)
	a.f("MOVQ %s, AX", rows)
	a.comment("beta == 0 (either sign) must not read C; alpha == 1 needs no scaling.")
	a.f("MOVL alpha+72(FP), CX")
	a.f("MOVL beta+76(FP), BX")
	a.f("ANDL $0x7fffffff, BX")
	a.f("JEQ zerobeta%d", nv)
	a.f("VBROADCASTSS beta+76(FP), %s", beta)
	a.f("CMPL CX, $0x3f800000")
	a.f("JEQ beta1alpha%d", nv)
	for _, withBeta := range []bool{true, false} {
		for _, scale := range []bool{true, false} {
			tag := fmt.Sprintf("%d", nv)
			switch {
			case withBeta && !scale:
				a.label("beta1alpha" + tag)
				tag = "a" + tag
			case !withBeta && scale:
				a.label("zerobeta" + tag)
				a.f("CMPL CX, $0x3f800000")
				a.f("JEQ zerobeta1alpha%d", nv)
				tag = "z" + tag
			case !withBeta && !scale:
				a.label("zerobeta1alpha" + tag)
				tag = "za" + tag
			}
			for i := range s.mr {
				for v := range nv {
					addr := fmt.Sprintf("%d(%s)", v*4*s.lanes, rC)
					acc := s.acc(i, v)
					last := v == nv-1
					if scale {
						a.f("VMULPS %s, %s, %s", alpha, acc, acc)
					}
					if withBeta {
						switch {
						case !last:
							a.f("VFMADD231PS %s, %s, %s", addr, beta, acc)
						case s.reg == "Z":
							a.f("VMOVUPS.Z %s, %s, %s", addr, mask, tmp)
							a.f("VFMADD231PS %s, %s, %s", tmp, beta, acc)
						default:
							a.f("VMASKMOVPS %s, %s, %s", addr, mask, tmp)
							a.f("VFMADD231PS %s, %s, %s", tmp, beta, acc)
						}
					}
					switch {
					case !last:
						a.f("VMOVUPS %s, %s", acc, addr)
					case s.reg == "Z":
						a.f("VMOVUPS %s, %s, %s", acc, mask, addr)
					default:
						a.f("VMASKMOVPS %s, %s, %s", acc, mask, addr)
					}
				}
				if i < s.mr-1 {
					a.f("CMPQ AX, $%d", i+1)
					a.f("JEQ done%s", tag)
					a.f("ADDQ %s, %s", rLdc, rC)
				}
			}
			a.label("done" + tag)
			a.f("JMP next")
		}
	}
	if s.reg == "Y" && nv == 2 {
		a.WriteString("\n// avx2Mask<>+32-4*n holds n all-ones lanes followed by zero lanes.\n")
		for i := range 16 {
			v := "0xffffffff"
			if i >= 8 {
				v = "0x00000000"
			}
			fmt.Fprintf(a, "DATA ·avx2Mask<>+%d(SB)/4, $%s\n", 4*i, v)
		}
		a.WriteString("GLOBL ·avx2Mask<>(SB), RODATA|NOPTR, $64\n")
	}
}

// transpose8 emits transpose8AVX2, which copies an 8×n strip (n a multiple
// of 8) of a row-major matrix into the transposed n×8 layout, eight
// columns at a time through an in-register 8×8 transpose.
func transpose8() []byte {
	var a asm
	a.WriteString(header)
	a.WriteString("#include \"textflag.h\"\n\n")
	a.WriteString("// func transpose8AVX2(n int, src *float32, lds int, dst *float32, ldd int)\n")
	a.WriteString("TEXT ·transpose8AVX2(SB), NOSPLIT, $0-40\n")
	a.f("MOVQ n+0(FP), CX")
	a.f("MOVQ src+8(FP), SI")
	a.f("MOVQ lds+16(FP), AX")
	a.f("SHLQ $2, AX")
	a.f("LEAQ (AX)(AX*2), BX") // 3*lds
	a.f("LEAQ (SI)(AX*4), R8") // rows 4..7
	a.f("MOVQ dst+24(FP), DI")
	a.f("MOVQ ldd+32(FP), DX")
	a.f("SHLQ $2, DX")
	a.f("LEAQ (DX)(DX*2), R9") // 3*ldd
	a.f("LEAQ (DI)(DX*4), R10")
	a.f("SHRQ $3, CX")
	a.f("JEQ done")
	a.label("loop")
	a.comment("Rows 0..7 of the 8×8 block.")
	rows := []string{"(SI)", "(SI)(AX*1)", "(SI)(AX*2)", "(SI)(BX*1)", "(R8)", "(R8)(AX*1)", "(R8)(AX*2)", "(R8)(BX*1)"}
	for i, r := range rows {
		a.f("VMOVUPS %s, Y%d", r, i)
	}
	a.comment("Interleave pairs of rows, then pairs of pairs, then swap 128-bit halves.")
	for i := 0; i < 8; i += 2 {
		a.f("VUNPCKLPS Y%d, Y%d, Y%d", i+1, i, 8+i)
		a.f("VUNPCKHPS Y%d, Y%d, Y%d", i+1, i, 9+i)
	}
	// Y8..Y15 = t0..t7 where t0,t1 from rows 0,1; t2,t3 from rows 2,3; ...
	for g := 0; g < 8; g += 4 {
		t := 8 + g
		a.f("VSHUFPS $0x44, Y%d, Y%d, Y%d", t+2, t, g)
		a.f("VSHUFPS $0xEE, Y%d, Y%d, Y%d", t+2, t, g+1)
		a.f("VSHUFPS $0x44, Y%d, Y%d, Y%d", t+3, t+1, g+2)
		a.f("VSHUFPS $0xEE, Y%d, Y%d, Y%d", t+3, t+1, g+3)
	}
	// Y0..Y3: columns 0..3 of rows 0..3 (low half) and columns 4..7 (high
	// half); Y4..Y7 the same for rows 4..7.
	out := []string{"(DI)", "(DI)(DX*1)", "(DI)(DX*2)", "(DI)(R9*1)", "(R10)", "(R10)(DX*1)", "(R10)(DX*2)", "(R10)(R9*1)"}
	for c := range 4 {
		a.f("VPERM2F128 $0x20, Y%d, Y%d, Y%d", 4+c, c, 8+c)
		a.f("VPERM2F128 $0x31, Y%d, Y%d, Y%d", 4+c, c, 12+c)
	}
	for c := range 4 {
		a.f("VMOVUPS Y%d, %s", 8+c, out[c])
		a.f("VMOVUPS Y%d, %s", 12+c, out[4+c])
	}
	a.f("ADDQ $32, SI")
	a.f("ADDQ $32, R8")
	a.f("LEAQ (DI)(DX*8), DI")
	a.f("LEAQ (R10)(DX*8), R10")
	a.f("DECQ CX")
	a.f("JNE loop")
	a.label("done")
	a.f("VZEROUPPER")
	a.f("RET")
	return a.Bytes()
}

// copyWidths are the panel widths copyRows emits a function for: nr and mr
// of each micro-kernel.
var copyWidths = []int{32, 16, 12, 6}

// copyRows emits copyRows<w>AVX, which copies n rows of w elements from a
// strided source into a packed panel of row stride w, prefetching the
// source eight rows ahead: packing is a stream through memory that the
// hardware prefetchers follow poorly when the stride is large.
func copyRows() []byte {
	var a asm
	a.WriteString(header)
	a.WriteString("#include \"textflag.h\"\n")
	for _, w := range copyWidths {
		fmt.Fprintf(&a, "\n// func copyRows%dAVX(n int, src *float32, lds int, dst *float32)\n", w)
		fmt.Fprintf(&a, "TEXT ·copyRows%dAVX(SB), NOSPLIT, $0-32\n", w)
		a.f("MOVQ n+0(FP), CX")
		a.f("MOVQ src+8(FP), SI")
		a.f("MOVQ lds+16(FP), AX")
		a.f("SHLQ $2, AX")
		a.f("MOVQ dst+24(FP), DI")
		a.f("LEAQ (SI)(AX*8), BX")
		a.f("TESTQ CX, CX")
		a.f("JEQ done%d", w)
		a.label(fmt.Sprintf("loop%d", w))
		for o := 0; o < 4*w; o += 64 {
			a.f("PREFETCHT0 %d(BX)", o)
		}
		if (4*w)%64 != 0 || 4*w > 64 {
			a.f("PREFETCHT0 %d(BX)", 4*w-4)
		}
		off := 0
		for ; off+8 <= w; off += 8 {
			a.f("VMOVUPS %d(SI), Y%d", 4*off, off/8)
		}
		if w-off >= 4 {
			a.f("VMOVUPS %d(SI), X4", 4*off)
		}
		if (w-off)%4 == 2 {
			a.f("MOVQ %d(SI), DX", 4*(w-2))
		}
		off = 0
		for ; off+8 <= w; off += 8 {
			a.f("VMOVUPS Y%d, %d(DI)", off/8, 4*off)
		}
		if w-off >= 4 {
			a.f("VMOVUPS X4, %d(DI)", 4*off)
		}
		if (w-off)%4 == 2 {
			a.f("MOVQ DX, %d(DI)", 4*(w-2))
		}
		if (w-off)%4 != 2 && (w-off)%4 != 0 {
			panic("unsupported copy width")
		}
		a.f("ADDQ AX, SI")
		a.f("ADDQ AX, BX")
		a.f("ADDQ $%d, DI", 4*w)
		a.f("DECQ CX")
		a.f("JNE loop%d", w)
		a.label(fmt.Sprintf("done%d", w))
		a.f("VZEROUPPER")
		a.f("RET")
	}
	return a.Bytes()
}

// copyPad emits copyPadAVX, which copies n rows of w elements into a
// panel, zero-filling each row up to wUp elements (w <= wUp <= 32). It
// works in 4-element chunks: masked loads (which neither read nor fault
// past w) and plain stores, with a masked store for a last partial chunk,
// so nothing past wUp is written. It packs partial panels, which would
// otherwise cost a call to memmove per row.
func copyPad() []byte {
	var a asm
	a.WriteString(header)
	a.WriteString("#include \"textflag.h\"\n\n")
	a.WriteString("// func copyPadAVX(n int, src *float32, lds int, dst *float32, ldd int, w, wUp int)\n")
	a.WriteString("TEXT ·copyPadAVX(SB), NOSPLIT, $0-56\n")
	a.f("MOVQ n+0(FP), CX")
	a.f("MOVQ src+8(FP), SI")
	a.f("MOVQ lds+16(FP), AX")
	a.f("SHLQ $2, AX")
	a.f("MOVQ dst+24(FP), DI")
	a.f("MOVQ ldd+32(FP), BX")
	a.f("SHLQ $2, BX")
	a.comment("X8..X15: load masks of chunks 0..7, lanes < w-4c.")
	a.f("LEAQ ·padMask<>+16(SB), R8")
	a.f("MOVQ w+40(FP), DX")
	for c := range 8 {
		// lanes = clamp(w-4c, 0, 4); mask at padMask+16-4*lanes.
		a.f("MOVQ DX, R9")
		if c > 0 {
			a.f("SUBQ $%d, R9", 4*c)
		}
		a.f("CMPQ R9, $4")
		a.f("JLE clampHi%d", c)
		a.f("MOVQ $4, R9")
		a.label(fmt.Sprintf("clampHi%d", c))
		a.f("CMPQ R9, $0")
		a.f("JGE clampLo%d", c)
		a.f("XORQ R9, R9")
		a.label(fmt.Sprintf("clampLo%d", c))
		a.f("NEGQ R9")
		a.f("VMOVDQU (R8)(R9*4), X%d", 8+c)
	}
	a.comment("X7: store mask of the last chunk, lanes < wUp-4*(chunks-1); R10: chunks.")
	a.f("MOVQ wUp+48(FP), R10")
	a.f("MOVQ R10, R9")
	a.f("ADDQ $3, R10")
	a.f("SHRQ $2, R10")
	a.f("LEAQ -4(R10*4), R11")
	a.f("SUBQ R11, R9")
	a.f("NEGQ R9")
	a.f("VMOVDQU (R8)(R9*4), X7")
	a.f("TESTQ CX, CX")
	a.f("JEQ done")
	for c := 1; c <= 8; c++ {
		a.f("CMPQ R10, $%d", c)
		a.f("JEQ chunks%d", c)
	}
	a.f("JMP done")
	for c := 1; c <= 8; c++ {
		a.label(fmt.Sprintf("chunks%d", c))
		for i := range c {
			a.f("VMASKMOVPS %d(SI), X%d, X%d", 16*i, 8+i, i%7)
			if i < c-1 {
				a.f("VMOVUPS X%d, %d(DI)", i%7, 16*i)
			} else {
				a.f("VMASKMOVPS X%d, X7, %d(DI)", i%7, 16*i)
			}
		}
		a.f("ADDQ AX, SI")
		a.f("ADDQ BX, DI")
		a.f("DECQ CX")
		a.f("JNE chunks%d", c)
		a.f("JMP done")
	}
	a.label("done")
	a.f("VZEROUPPER")
	a.f("RET")
	a.WriteString("\n// padMask<>+16-4*n holds n all-ones lanes followed by zero lanes.\n")
	for i := range 8 {
		v := "0xffffffff"
		if i >= 4 {
			v = "0x00000000"
		}
		fmt.Fprintf(&a, "DATA ·padMask<>+%d(SB)/4, $%s\n", 4*i, v)
	}
	a.WriteString("GLOBL ·padMask<>(SB), RODATA|NOPTR, $32\n")
	return a.Bytes()
}

// stubs returns stubs_amd64.go, the Go declarations of the kernels with
// the loops they implement.
func stubs() []byte {
	var b bytes.Buffer
	b.WriteString("// Code generated by go run ./_generate. DO NOT EDIT.\n\n//go:build !noasm\n\npackage kernels\n\n")
	for _, s := range []isa{avx512, avx2} {
		for _, layout := range []byte{'R', 'P'} {
			bReads := "B for cols only"
			if !s.maskedB {
				bReads = fmt.Sprintf("B for cols rounded up to a multiple of %d", s.lanes)
			}
			aexpr := "a[i*lda+p]"
			if layout == 'P' {
				aexpr = "a[p*lda+i]"
			}
			fmt.Fprintf(&b, `// sgemm%[1]s%[2]c is the %[1]s micro-kernel, %[3]d×%[4]d tiles, with A in layout %[2]c.
// It computes an m×n block of C tile by tile, row of tiles after row of
// tiles; tile (q, t) reads the panel of A at a[q*aNext:] and the panel of B
// at b[t*bNext:]:
//
//	for q := 0; q*%[3]d < m; q++ {
//		for t := 0; t*%[4]d < n; t++ {
//			a, b, c := a[q*aNext:], b[t*bNext:], c[q*%[3]d*ldc+t*%[4]d:]
//			for i := range min(m-q*%[3]d, %[3]d) {
//				for j := range min(n-t*%[4]d, %[4]d) {
//					var s float32
//					for p := range kc {
//						s = fma(%[5]s, b[p*ldb+j], s)
//					}
//					s *= alpha
//					if beta != 0 {
//						s = fma(beta, c[i*ldc+j], s)
//					}
//					c[i*ldc+j] = s
//				}
//			}
//		}
//	}
//
// with m, n, kc >= 1. It reads A for rows rounded up to a multiple of %[6]d
// and %[7]s; call it through %[8]s, which checks that.
//
//go:noescape
func sgemm%[1]s%[2]c(kc int, a *float32, lda, aNext int, b *float32, ldb, bNext int, c *float32, ldc int, alpha, beta float32, m, n int)

`, s.name, layout, s.mr, s.nr(), aexpr, s.rowGroup, bReads, "kernel"+s.name+string(layout))
		}
	}
	b.WriteString(`// transpose8AVX2 copies an 8×n block of src, row stride lds, into dst as
// its n×8 transpose, row stride ldd; n must be a multiple of 8:
//
//	for i := range 8 {
//		for j := range n {
//			dst[j*ldd+i] = src[i*lds+j]
//		}
//	}
//
//go:noescape
func transpose8AVX2(n int, src *float32, lds int, dst *float32, ldd int)
`)
	b.WriteString(`
// copyPadAVX copies n rows of w elements of src, row stride lds, to dst,
// row stride ldd, and zeroes each row of dst from w up to wUp, for
// 0 <= w <= wUp <= 32. It reads nothing of a row past w:
//
//	for i := range n {
//		copy(dst[i*ldd:i*ldd+w], src[i*lds:i*lds+w])
//		clear(dst[i*ldd+w : i*ldd+wUp])
//	}
//
//go:noescape
func copyPadAVX(n int, src *float32, lds int, dst *float32, ldd int, w, wUp int)
`)
	for _, w := range copyWidths {
		fmt.Fprintf(&b, `
// copyRows%[1]dAVX copies n rows of %[1]d elements of src, row stride lds, to
// dst with row stride %[1]d:
//
//	for i := range n {
//		copy(dst[i*%[1]d:(i+1)*%[1]d], src[i*lds:i*lds+%[1]d])
//	}
//
//go:noescape
func copyRows%[1]dAVX(n int, src *float32, lds int, dst *float32)
`, w)
	}
	src, err := format.Source(b.Bytes())
	if err != nil {
		log.Fatal(err)
	}
	return src
}
