package main

// reluZero is the register holding zeros in the ReLU loops.
func reluZero(s isa) string {
	if s.lanes == 16 {
		return "Z16"
	}
	return "Y10"
}

// reluStreams returns the rectifier and its gradient.
func reluStreams(s isa) []stream {
	zero := reluZero(s)
	setup := func(a *asm, s isa) { a.f("%s %s, %s, %s", s.zero, zero, zero, zero) }
	return []stream{
		{
			name: "relu" + s.name, ptrs: []string{"x", "y"}, frame: 24,
			what: "the rectifier", loop: `//	for i := range n {
//		y[i] = max(x[i], 0) // NaN stays NaN, -0 becomes +0, as Go's max
//	}`,
			setup: setup,
			body: func(a *asm, io streamIO) {
				x := io.reg(0)
				io.load(0, x)
				// MAXPS returns its second source, x, when either is
				// NaN, and when both are zeros; adding +0 turns -0 into
				// +0 and changes nothing else.
				a.f("VMAXPS %s, %s, %s", x, zero, x)
				a.f("VADDPS %s, %s, %s", zero, x, x)
				io.store(x, 1)
			},
		},
		{
			name: "reluBackward" + s.name, ptrs: []string{"x", "dy", "dx"}, frame: 32,
			what: "the rectifier's gradient", loop: `//	for i := range n {
//		if x[i] > 0 {
//			dx[i] += dy[i]
//		}
//	}`,
			setup: setup,
			body: func(a *asm, io streamIO) {
				x, dy, dx, m := io.reg(0), io.reg(1), io.reg(2), io.reg(3)
				io.load(0, x)
				io.load(1, dy)
				io.load(2, dx)
				// Predicate 0x1e is greater-than, ordered and quiet:
				// false for NaN.
				if io.s.lanes == 16 {
					a.f("VCMPPS $0x1e, %s, %s, K2", zero, x)
					a.f("VADDPS %s, %s, K2, %s", dy, dx, dx)
				} else {
					// Elements not taken get +0 added, which changes
					// nothing but the sign of a zero.
					a.f("VCMPPS $0x1e, %s, %s, %s", zero, x, m)
					a.f("VANDPS %s, %s, %s", dy, m, m)
					a.f("VADDPS %s, %s, %s", m, dx, dx)
				}
				io.store(dx, 2)
			},
		},
	}
}
