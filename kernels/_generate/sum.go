package main

import "fmt"

// sumFunc emits sum<ISA>, the sum of n elements in four vector
// accumulators, one vector at a time in the tail and the last n mod lanes
// elements under a mask, then a pairwise horizontal reduction. It goes into
// the streams' file to share its AVX2 masks.
func sumFunc(a *asm, s isa) {
	name := "sum" + s.name
	l := func(x string) string { return fmt.Sprintf("%s_%s", x, name) }
	fmt.Fprintf(a, "\n// func %s(n int, x *float32) float32\n", name)
	fmt.Fprintf(a, "TEXT ·%s(SB), NOSPLIT, $0-20\n", name)
	a.f("MOVQ n+0(FP), CX")
	a.f("MOVQ x+8(FP), SI")
	for i := range 4 {
		a.f("%s %s, %s, %s", s.zero, s.v(i), s.v(i), s.v(i))
	}
	vb := 4 * s.lanes
	a.f("CMPQ CX, $%d", 4*s.lanes)
	a.f("JLT %s", l("one"))
	a.label(l("body"))
	for i := range 4 {
		a.f("VADDPS %d(SI), %s, %s", i*vb, s.v(i), s.v(i))
	}
	a.f("ADDQ $%d, SI", 4*vb)
	a.f("SUBQ $%d, CX", 4*s.lanes)
	a.f("CMPQ CX, $%d", 4*s.lanes)
	a.f("JGE %s", l("body"))
	a.label(l("one"))
	a.f("CMPQ CX, $%d", s.lanes)
	a.f("JLT %s", l("tail"))
	a.f("VADDPS (SI), %s, %s", s.v(0), s.v(0))
	a.f("ADDQ $%d, SI", vb)
	a.f("SUBQ $%d, CX", s.lanes)
	a.f("JMP %s", l("one"))
	a.label(l("tail"))
	a.f("TESTQ CX, CX")
	a.f("JEQ %s", l("reduce"))
	if s.lanes == 16 {
		a.f("MOVL $1, AX")
		a.f("SHLL CX, AX")
		a.f("DECL AX")
		a.f("KMOVW AX, K1")
		a.f("VMOVUPS.Z (SI), K1, Z4")
	} else {
		a.f("LEAQ ·streamMask<>+32(SB), AX")
		a.f("NEGQ CX")
		a.f("VMOVDQU (AX)(CX*4), Y5")
		a.f("VMASKMOVPS (SI), Y5, Y4")
	}
	a.f("VADDPS %s, %s, %s", s.v(4), s.v(1), s.v(1))
	a.label(l("reduce"))
	a.f("VADDPS %s, %s, %s", s.v(1), s.v(0), s.v(0))
	a.f("VADDPS %s, %s, %s", s.v(3), s.v(2), s.v(2))
	a.f("VADDPS %s, %s, %s", s.v(2), s.v(0), s.v(0))
	if s.lanes == 16 {
		a.f("VEXTRACTF64X4 $1, Z0, Y1")
		a.f("VADDPS Y1, Y0, Y0")
	}
	a.f("VEXTRACTF128 $1, Y0, X1")
	a.f("VADDPS X1, X0, X0")
	a.f("VMOVHLPS X0, X0, X1")
	a.f("VADDPS X1, X0, X0")
	a.f("VMOVSHDUP X0, X1")
	a.f("VADDSS X1, X0, X0")
	a.f("VMOVSS X0, ret+16(FP)")
	a.f("VZEROUPPER")
	a.f("RET")
}
