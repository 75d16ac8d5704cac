package main

import (
	"bytes"
	"fmt"
	"go/format"
	"log"
	"strings"
)

// A direct kernel computes a whole small product in one call, reading A and
// B where they are, with nothing packed:
//
//	for i < m, j < n:
//		c[i*ldc+j] = alpha * Σ_{p<kc} A(i,p)*b[p*ldb+j] + beta*c[i*ldc+j]
//
// for n up to the kernel's width. It keeps a tile of rows×vectors sums in
// registers, rows up to the tile's height and vectors enough to cover all
// n columns, and walks down C one group of rows at a time; the caller cuts
// wider products into column blocks. Against the micro-kernel it saves the
// packing, the per-tile bookkeeping and, where n is not a multiple of the
// micro-tile, the narrow edge tiles whose broadcasts of A outnumber their
// fused multiply-adds: the costs that dominate when k or m is small.
//
// Every sum is the micro-kernel's chain of FMAs in increasing p from zero,
// scaled and added to beta*C the same way, so for kc up to the
// micro-kernel's depth the result is bit-for-bit the general path's.
//
// The last vector of a row of B and C is loaded and stored under a mask of
// the columns, AVX-512's K1 or an AVX2 mask register, which neither reads
// nor faults past the end; rows of A are read only for rows < m. So the
// kernel reads and writes nothing outside the three matrices.
type direct struct {
	s      isa
	layout byte
	rows   int // tile height
	vecs   int // tile width in vectors
}

func (d direct) name() string {
	return fmt.Sprintf("sgemmDirect%s%c", d.s.name, d.layout)
}

// directKernels are the direct kernels generated, with their tiles: six
// rows of four vectors (64 columns) with AVX-512, two rows of five vectors
// (40 columns) with AVX2's sixteen registers. Per step of k, a group of
// six rows loads four vectors of B and broadcasts six elements of A for
// 24 FMAs. Taller tiles read each row of B fewer times but leave fewer
// columns per call; of 3×7, 4×6, 5×4, 6×4, 7×3 and 8×3 (and 2×5, 3×3,
// 4×2 and 5×2 with AVX2) these measured fastest over products with k or m
// up to 16.
var directKernels = []direct{
	{s: avx512, layout: 'R', rows: 6, vecs: 4},
	{s: avx512, layout: 'P', rows: 6, vecs: 4},
	{s: avx2, layout: 'R', rows: 2, vecs: 5},
	{s: avx2, layout: 'P', rows: 2, vecs: 5},
}

// Argument frame of a direct kernel (see directStubs).
const directArgs = "kc+0(FP), a+8(FP), lda+16(FP), b+24(FP), ldb+32(FP), c+40(FP), ldc+48(FP), alpha+56(FP), beta+60(FP), m+64(FP), n+72(FP)"

// Registers of the direct kernels.
const (
	dK    = "CX"  // steps left
	dB    = "BX"  // B row of the step
	dLdb  = "R11" // ldb in bytes
	dA    = "R8"  // A: rows 0..3 in layout R, the step's row in layout P
	dA4   = "R9"  // rows 4..7 in layout R
	dLda  = "SI"  // lda in bytes
	dLda3 = "DI"  // 3*lda in bytes
	dC    = "DX"  // C row of the current group
	dLdc  = "R13" // ldc in bytes
	dM    = "R10" // rows left
	dARow = "R12" // A at the current group's first row
)

// regs returns the vector registers the tile takes: its sums, the operands
// of one step (the B vectors or the A broadcasts it holds, and two for the
// others in turn), and AVX2's mask.
func (d direct) regs() int {
	n := d.rows*d.vecs + min(d.rows, d.vecs) + 2
	if !d.s.maskedB {
		n++
	}
	return n
}

// mask is AVX2's mask register of the last vector's columns: the last
// register.
func (d direct) mask() string { return d.s.v(15) }

// directFile returns the assembly of one direct kernel.
func directFile(d direct) []byte {
	s := d.s
	total := 32 // AVX-512's registers; AVX2 has 16
	if s.reg == "Y" {
		total = 16
	}
	if d.regs() > total {
		log.Fatalf("%s: a %d×%d tile needs %d of the %d vector registers", d.name(), d.rows, d.vecs, d.regs(), total)
	}
	if d.layout == 'R' && d.rows > 8 {
		log.Fatalf("%s: layout R addresses at most 8 rows", d.name())
	}
	var a asm
	a.WriteString(header)
	a.WriteString("#include \"textflag.h\"\n\n")
	fmt.Fprintf(&a, "// func %s(%s)\n", d.name(), strings.ReplaceAll(strings.ReplaceAll(directArgs, "(FP)", ""), "+", " @"))
	fmt.Fprintf(&a, "TEXT ·%s(SB), NOSPLIT, $0-80\n", d.name())
	a.comment("CX: the columns of the last vector, 1..%d; BX: the vectors less one.", s.lanes)
	a.f("MOVQ n+72(FP), CX")
	a.f("DECQ CX")
	a.f("MOVQ CX, BX")
	a.f("SHRQ $%d, BX", log2(s.lanes))
	a.f("ANDQ $%d, CX", s.lanes-1)
	a.f("INCQ CX")
	if s.maskedB {
		a.comment("K1: the mask of the last vector's columns.")
		a.f("MOVL $1, AX")
		a.f("SHLL CX, AX")
		a.f("DECL AX")
		a.f("KMOVW AX, K1")
	} else {
		a.comment("%s: the mask of the last vector's columns.", d.mask())
		a.f("LEAQ ·directMask<>+%d(SB), AX", 4*s.lanes)
		a.f("NEGQ CX")
		a.f("VMOVDQU (AX)(CX*4), %s", d.mask())
	}
	a.comment("Strides in bytes.")
	a.f("MOVQ lda+16(FP), %s", dLda)
	a.f("SHLQ $2, %s", dLda)
	a.f("LEAQ (%s)(%s*2), %s", dLda, dLda, dLda3)
	a.f("MOVQ ldb+32(FP), %s", dLdb)
	a.f("SHLQ $2, %s", dLdb)
	a.f("MOVQ ldc+48(FP), %s", dLdc)
	a.f("SHLQ $2, %s", dLdc)
	a.f("MOVQ a+8(FP), %s", dARow)
	a.f("MOVQ c+40(FP), %s", dC)
	a.f("MOVQ m+64(FP), %s", dM)
	a.comment("One loop over the groups of rows per number of vectors.")
	for nv := 1; nv < d.vecs; nv++ {
		a.f("CMPQ BX, $%d", nv-1)
		a.f("JEQ v%d", nv)
	}
	a.f("JMP v%d", d.vecs)
	for nv := 1; nv <= d.vecs; nv++ {
		d.groups(&a, nv)
	}
	a.label("done")
	a.f("VZEROUPPER")
	a.f("RET")
	if !s.maskedB {
		a.WriteString("\n// directMask<>+32-4*n holds n all-ones lanes followed by zero lanes.\n")
		for i := range 2 * s.lanes {
			v := "0xffffffff"
			if i >= s.lanes {
				v = "0x00000000"
			}
			fmt.Fprintf(&a, "DATA ·directMask<>+%d(SB)/4, $%s\n", 4*i, v)
		}
		fmt.Fprintf(&a, "GLOBL ·directMask<>(SB), RODATA|NOPTR, $%d\n", 8*s.lanes)
	}
	return a.Bytes()
}

func log2(x int) int {
	n := 0
	for 1<<n < x {
		n++
	}
	return n
}

// groups emits the loop over groups of rows for nv vectors: take the
// tile's height while at least two tiles' worth remain, then split what is
// left into one or two groups of near-equal height, so that no group of
// one or two rows, whose broadcasts of A and loads of B serve few FMAs, is
// left at the end.
func (d direct) groups(a *asm, nv int) {
	r := d.rows
	a.label(fmt.Sprintf("v%d", nv))
	a.f("TESTQ %s, %s", dM, dM)
	a.f("JEQ done")
	a.f("MOVQ %s, AX", dM)
	a.f("CMPQ AX, $%d", r)
	a.f("JLE v%dpick", nv)
	a.f("CMPQ AX, $%d", 2*r)
	a.f("JGE v%dfull", nv)
	a.f("INCQ AX")
	a.f("SHRQ $1, AX")
	a.f("JMP v%dpick", nv)
	a.label(fmt.Sprintf("v%dfull", nv))
	a.f("MOVQ $%d, AX", r)
	a.label(fmt.Sprintf("v%dpick", nv))
	for rows := 1; rows < r; rows++ {
		a.f("CMPQ AX, $%d", rows)
		a.f("JEQ r%dv%d", rows, nv)
	}
	for rows := r; rows >= 1; rows-- {
		d.tile(a, rows, nv)
	}
}

// acc is the sum of row i, vector v of a tile nv vectors wide.
func (d direct) acc(nv, i, v int) string { return d.s.v(i*nv + v) }

// tile emits the computation of one group of rows×nv: the k loop, unrolled
// by two, the write-back, and the move to the next group.
func (d direct) tile(a *asm, rows, nv int) {
	s := d.s
	l := fmt.Sprintf("r%dv%d", rows, nv)
	a.label(l)
	a.comment("A group of %d rows, %d vectors wide.", rows, nv)
	for i := range rows {
		for v := range nv {
			acc := d.acc(nv, i, v)
			a.f("%s %s, %s, %s", s.zero, acc, acc, acc)
		}
	}
	a.f("MOVQ %s, %s", dARow, dA)
	if d.layout == 'R' && rows > 4 {
		a.f("LEAQ (%s)(%s*4), %s", dA, dLda, dA4)
	}
	a.f("MOVQ b+24(FP), %s", dB)
	a.f("MOVQ kc+0(FP), %s", dK)
	// Operand registers follow the sums; the tile's shape decides whether
	// B vectors or A broadcasts are held through a step.
	free := rows * nv
	tmp := func(i int) string { return s.v(free + i) }
	step := func(u int) {
		aAddr := func(i int) string {
			if d.layout == 'R' {
				base := dA
				if i >= 4 {
					base = dA4
				}
				return index(4*u, base, dLda, dLda3, i%4)
			}
			return index(4*i, dA, dLda, dLda3, u)
		}
		bAddr := func(v int) string { return index(4*s.lanes*v, dB, dLdb, "", u) }
		loadB := func(v int, dst string) {
			switch {
			case v < nv-1:
				a.f("VMOVUPS %s, %s", bAddr(v), dst)
			case s.maskedB:
				a.f("VMOVUPS.Z %s, K1, %s", bAddr(v), dst)
			default:
				a.f("VMASKMOVPS %s, %s, %s", bAddr(v), d.mask(), dst)
			}
		}
		if nv <= rows {
			// Hold the B vectors; broadcast A(i,p) in turn.
			for v := range nv {
				loadB(v, tmp(v))
			}
			for i := range rows {
				t := tmp(nv + i%2)
				a.f("VBROADCASTSS %s, %s", aAddr(i), t)
				for v := range nv {
					a.f("VFMADD231PS %s, %s, %s", tmp(v), t, d.acc(nv, i, v))
				}
			}
			return
		}
		// Hold the broadcasts of A; load the B vectors in turn.
		for i := range rows {
			a.f("VBROADCASTSS %s, %s", aAddr(i), tmp(i))
		}
		for v := range nv {
			t := tmp(rows + v%2)
			loadB(v, t)
			for i := range rows {
				a.f("VFMADD231PS %s, %s, %s", t, tmp(i), d.acc(nv, i, v))
			}
		}
	}
	a.f("CMPQ %s, $2", dK)
	a.f("JLT %stail", l)
	a.f("PCALIGN $32")
	a.label(l + "body")
	step(0)
	step(1)
	if d.layout == 'R' {
		a.f("ADDQ $8, %s", dA)
		if rows > 4 {
			a.f("ADDQ $8, %s", dA4)
		}
	} else {
		a.f("LEAQ (%s)(%s*2), %s", dA, dLda, dA)
	}
	a.f("LEAQ (%s)(%s*2), %s", dB, dLdb, dB)
	a.f("SUBQ $2, %s", dK)
	a.f("CMPQ %s, $2", dK)
	a.f("JGE %sbody", l)
	a.label(l + "tail")
	a.f("TESTQ %s, %s", dK, dK)
	a.f("JEQ %sstore", l)
	step(0)
	a.label(l + "store")
	d.writeBack(a, rows, nv, l, tmp(0), tmp(1))
	a.comment("Next group: %d rows down A and C.", rows)
	a.f("LEAQ (AX)(%s*1), %s", dLdc, dC)
	if d.layout == 'R' {
		a.f("IMUL3Q $%d, %s, AX", rows, dLda)
		a.f("ADDQ AX, %s", dARow)
	} else {
		a.f("ADDQ $%d, %s", 4*rows, dARow)
	}
	a.f("SUBQ $%d, %s", rows, dM)
	a.f("JMP v%d", nv)
}

// writeBack emits C = alpha*sums + beta*C for the tile, without reading C
// when beta == 0 (either sign) and scaling only when alpha != 1, as the
// micro-kernel does. It leaves AX at the tile's last row of C.
func (d direct) writeBack(a *asm, rows, nv int, l, t0, t1 string) {
	s := d.s
	a.f("MOVQ %s, AX", dC)
	a.f("MOVL alpha+56(FP), BX")
	a.f("CMPL BX, $0x3f800000")
	a.f("JEQ %sbeta", l)
	a.f("VBROADCASTSS alpha+56(FP), %s", t0)
	for i := range rows {
		for v := range nv {
			acc := d.acc(nv, i, v)
			a.f("VMULPS %s, %s, %s", t0, acc, acc)
		}
	}
	a.label(l + "beta")
	a.f("MOVL beta+60(FP), BX")
	a.f("ANDL $0x7fffffff, BX")
	a.f("JEQ %szero", l)
	a.f("VBROADCASTSS beta+60(FP), %s", t0)
	store := func(withBeta bool) {
		for i := range rows {
			for v := range nv {
				acc := d.acc(nv, i, v)
				addr := fmt.Sprintf("%d(AX)", 4*s.lanes*v)
				last := v == nv-1
				if withBeta {
					switch {
					case !last:
						a.f("VFMADD231PS %s, %s, %s", addr, t0, acc)
					case s.maskedB:
						a.f("VMOVUPS.Z %s, K1, %s", addr, t1)
						a.f("VFMADD231PS %s, %s, %s", t1, t0, acc)
					default:
						a.f("VMASKMOVPS %s, %s, %s", addr, d.mask(), t1)
						a.f("VFMADD231PS %s, %s, %s", t1, t0, acc)
					}
				}
				switch {
				case !last:
					a.f("VMOVUPS %s, %s", acc, addr)
				case s.maskedB:
					a.f("VMOVUPS %s, K1, %s", acc, addr)
				default:
					a.f("VMASKMOVPS %s, %s, %s", acc, d.mask(), addr)
				}
			}
			if i < rows-1 {
				a.f("ADDQ %s, AX", dLdc)
			}
		}
	}
	store(true)
	a.f("JMP %snext", l)
	a.label(l + "zero")
	store(false)
	a.label(l + "next")
}

// directStubs returns directstubs_amd64.go, the Go declarations of the
// direct kernels with the loops they implement.
func directStubs() []byte {
	var b bytes.Buffer
	b.WriteString("// Code generated by go run ./_generate. DO NOT EDIT.\n\n//go:build !noasm\n\npackage kernels\n")
	b.WriteString("\n// The most columns one call of a direct kernel computes.\nconst (\n")
	seen := map[string]bool{}
	for _, d := range directKernels {
		if !seen[d.s.name] {
			seen[d.s.name] = true
			fmt.Fprintf(&b, "directCols%s = %d\n", d.s.name, d.vecs*d.s.lanes)
		}
	}
	b.WriteString(")\n")
	for _, d := range directKernels {
		aexpr := "a[i*lda+p]"
		if d.layout == 'P' {
			aexpr = "a[p*lda+i]"
		}
		fmt.Fprintf(&b, `
// %[1]s is the %[2]s direct kernel with A in layout %[3]c: it
// computes a whole m×n product, %[4]d rows × %[5]d vectors at a time, with
// n <= %[6]d:
//
//	for i := range m {
//		for j := range n {
//			var s float32
//			for p := range kc {
//				s = fma(%[7]s, b[p*ldb+j], s)
//			}
//			s *= alpha
//			if beta != 0 {
//				s = fma(beta, c[i*ldc+j], s)
//			}
//			c[i*ldc+j] = s
//		}
//	}
//
// with m, n, kc >= 1. It reads and writes only these elements; call it
// through %[8]s, which checks them.
//
//go:noescape
func %[1]s(kc int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32, m, n int)
`, d.name(), d.s.name, d.layout, d.rows, d.vecs, d.vecs*d.s.lanes, aexpr, strings.Replace(d.name(), "sgemmD", "d", 1))
	}
	src, err := format.Source(b.Bytes())
	if err != nil {
		log.Fatal(err)
	}
	return src
}
