package main

import "fmt"

// sgdMode is one of the three SGD updates, which differ in their state and
// in what they subtract from the parameter.
type sgdMode struct {
	name  string // as in function names: Plain, Momentum, Nesterov
	buf   bool   // keeps a momentum buffer
	ptrs  []string
	args  string // the Go parameters after the pointers
	names string // their names
	frame int    // argument frame size in bytes
	loop  string // the loop the function implements, for its doc comment
}

var sgdModes = []sgdMode{
	{name: "Plain", ptrs: []string{"p", "grad"}, args: "negLR, wd float32", names: "negLR, wd", frame: 32, loop: `//	for i := range n {
//		p[i] = fma(negLR, fma(wd, p[i], grad[i]), p[i])
//	}`},
	{name: "Momentum", buf: true, ptrs: []string{"p", "grad", "buf"}, args: "negLR, wd, bufScale, gradScale float32", names: "negLR, wd, bufScale, gradScale", frame: 48, loop: `//	for i := range n {
//		b := fma(bufScale, buf[i], gradScale*fma(wd, p[i], grad[i]))
//		buf[i] = b
//		p[i] = fma(negLR, b, p[i])
//	}`},
	{name: "Nesterov", buf: true, ptrs: []string{"p", "grad", "buf"}, args: "negLR, wd, bufScale, gradScale, momentum float32", names: "negLR, wd, bufScale, gradScale, momentum", frame: 52, loop: `//	for i := range n {
//		gi := fma(wd, p[i], grad[i])
//		b := fma(bufScale, buf[i], gradScale*gi)
//		buf[i] = b
//		p[i] = fma(negLR, fma(momentum, b, gi), p[i])
//	}`},
}

// sgdCoefs are the registers holding the broadcast coefficients: -lr, wd,
// bufScale, gradScale, momentum, and a scratch register.
func sgdCoefs(s isa) (nlr, wd, bs, gs, mom, tmp string) {
	if s.lanes == 16 {
		return "Z16", "Z17", "Z18", "Z19", "Z20", "Z21"
	}
	return "Y10", "Y11", "Y12", "Y13", "Y14", "Y15"
}

// sgdStreams returns the three SGD updates, with the pointers p, grad and
// buf in stream order.
func sgdStreams(s isa) []stream {
	var sts []stream
	for _, m := range sgdModes {
		sts = append(sts, stream{
			name: fmt.Sprintf("sgd%s%s", m.name, s.name), ptrs: m.ptrs, scalars: m.args, scalarNames: m.names, frame: m.frame,
			what: fmt.Sprintf("one %s SGD step", lowerFirst(m.name)), loop: m.loop,
			setup: func(a *asm, s isa) { sgdSetup(a, s, m, 8+8*len(m.ptrs)) },
			body:  func(a *asm, io streamIO) { sgdBody(a, io, m) },
		})
	}
	return sts
}

func sgdSetup(a *asm, s isa, m sgdMode, off int) {
	nlr, wd, bs, gs, mom, _ := sgdCoefs(s)
	a.f("VBROADCASTSS negLR+%d(FP), %s", off, nlr)
	a.f("VBROADCASTSS wd+%d(FP), %s", off+4, wd)
	if m.buf {
		a.f("VBROADCASTSS bufScale+%d(FP), %s", off+8, bs)
		a.f("VBROADCASTSS gradScale+%d(FP), %s", off+12, gs)
	}
	if m.name == "Nesterov" {
		a.f("VBROADCASTSS momentum+%d(FP), %s", off+16, mom)
	}
}

func sgdBody(a *asm, io streamIO, m sgdMode) {
	nlr, wd, bs, gs, mom, tmp := sgdCoefs(io.s)
	p, g, b := io.reg(0), io.reg(1), io.reg(2)
	io.load(0, p)
	io.load(1, g)
	if m.buf {
		io.load(2, b)
	}
	// g = g + wd*p
	a.f("VFMADD231PS %s, %s, %s", p, wd, g)
	switch m.name {
	case "Plain":
		a.f("VFMADD231PS %s, %s, %s", g, nlr, p)
	case "Momentum":
		// b = bufScale*b + gradScale*g; p += -lr*b
		a.f("VMULPS %s, %s, %s", g, gs, tmp)
		a.f("VFMADD213PS %s, %s, %s", tmp, bs, b)
		io.store(b, 2)
		a.f("VFMADD231PS %s, %s, %s", b, nlr, p)
	case "Nesterov":
		// b = bufScale*b + gradScale*g; p += -lr*(g + momentum*b)
		a.f("VMULPS %s, %s, %s", g, gs, tmp)
		a.f("VFMADD213PS %s, %s, %s", tmp, bs, b)
		io.store(b, 2)
		a.f("VFMADD231PS %s, %s, %s", b, mom, g)
		a.f("VFMADD231PS %s, %s, %s", g, nlr, p)
	}
	io.store(p, 0)
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]+'a'-'A') + s[1:]
}
