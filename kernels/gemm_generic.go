package kernels

// genericArch is the portable implementation: 2×4 tiles of scalar Go.
// Eight sums, two values of A and four of B fit in the registers amd64
// gives Go code; a 4×4 tile spills its sums and measured slower.
func genericArch() arch {
	return arch{
		impl: ImplGeneric, mr: 2, nr: 4, nrLog2: 2, rowStep: 1, colStep: 1,
		kc: 256, mc: 1024, nc: 512,
		kernelR: kernelGoR, kernelP: kernelGoP, copyPad: copyPadGo,
		directR: directGoR, directP: directGoP, directCols: 1 << 20, directLanes: 4,
	}
}

// copyPadGo copies n rows of w elements into rows of wUp elements, the
// rest zeroed; see arch.copyPad.
func copyPadGo(n int, src []float32, lds int, dst []float32, ldd, w, wUp int) {
	for i := range n {
		d := dst[i*ldd : i*ldd+wUp]
		copy(d, src[i*lds:i*lds+w])
		clear(d[w:])
	}
}

// kernelGoR is the generic micro-kernel with A in layout R.
func kernelGoR(kc int, a []float32, lda, aNext int, b []float32, ldb, bNext int, c []float32, ldc int, alpha, beta float32, m, n int) {
	checkBlock(layoutR, 2, 4, 1, 1, kc, a, lda, aNext, b, ldb, bNext, c, ldc, m, n)
	for q := 0; q*2 < m; q++ {
		rows, aq := min(2, m-q*2), a[q*aNext:]
		for t := 0; t*4 < n; t++ {
			cols, bt, ct := min(4, n-t*4), b[t*bNext:], c[q*2*ldc+t*4:]
			if rows < 2 || cols < 4 {
				kernelGoEdge(kc, aq, lda, 1, bt, ldb, ct, ldc, alpha, beta, rows, cols)
				continue
			}
			var s [2][4]float32
			tileGo(kc, aq[:kc], aq[lda:lda+kc], 1, bt, ldb, &s)
			storeTile(&s, ct, ldc, alpha, beta, rows, cols)
		}
	}
}

// kernelGoP is the generic micro-kernel with A in layout P.
func kernelGoP(kc int, a []float32, lda, aNext int, b []float32, ldb, bNext int, c []float32, ldc int, alpha, beta float32, m, n int) {
	checkBlock(layoutP, 2, 4, 1, 1, kc, a, lda, aNext, b, ldb, bNext, c, ldc, m, n)
	for q := 0; q*2 < m; q++ {
		rows, aq := min(2, m-q*2), a[q*aNext:]
		for t := 0; t*4 < n; t++ {
			cols, bt, ct := min(4, n-t*4), b[t*bNext:], c[q*2*ldc+t*4:]
			if rows < 2 || cols < 4 {
				kernelGoEdge(kc, aq, 1, lda, bt, ldb, ct, ldc, alpha, beta, rows, cols)
				continue
			}
			var s [2][4]float32
			n := (kc-1)*lda + 1
			tileGo(kc, aq[:n], aq[1:1+n], lda, bt, ldb, &s)
			storeTile(&s, ct, ldc, alpha, beta, rows, cols)
		}
	}
}

// tileGo computes a full 2×4 tile: s[i][j] = Σ_p a_i[p*cs] * b[p*ldb+j].
//
// Products are rounded before they are added (float32(x*y)) because Go may
// otherwise fuse them on some platforms but not others, and then the same
// element could round differently in a full tile and in an edge tile, which
// would make results depend on how C is split between threads.
func tileGo(kc int, a0, a1 []float32, cs int, b []float32, ldb int, s *[2][4]float32) {
	var s00, s01, s02, s03, s10, s11, s12, s13 float32
	for p := range kc {
		x0, x1 := a0[p*cs], a1[p*cs]
		bp := b[p*ldb : p*ldb+4 : p*ldb+4]
		y0, y1, y2, y3 := bp[0], bp[1], bp[2], bp[3]
		s00 += float32(x0 * y0)
		s01 += float32(x0 * y1)
		s02 += float32(x0 * y2)
		s03 += float32(x0 * y3)
		s10 += float32(x1 * y0)
		s11 += float32(x1 * y1)
		s12 += float32(x1 * y2)
		s13 += float32(x1 * y3)
	}
	*s = [2][4]float32{{s00, s01, s02, s03}, {s10, s11, s12, s13}}
}

// kernelGoEdge computes a partial tile with A(i,p) = a[i*rs+p*cs], in the
// same order of operations as the full tiles.
func kernelGoEdge(kc int, a []float32, rs, cs int, b []float32, ldb int, c []float32, ldc int, alpha, beta float32, rows, cols int) {
	var s [2][4]float32
	for i := range rows {
		for j := range cols {
			var sum float32
			for p := range kc {
				sum += float32(a[i*rs+p*cs] * b[p*ldb+j])
			}
			s[i][j] = sum
		}
	}
	storeTile(&s, c, ldc, alpha, beta, rows, cols)
}

// storeTile writes c = alpha*s + beta*c over rows×cols, rounding alpha*s
// first as the assembly kernels do, and not reading c when beta == 0.
func storeTile(s *[2][4]float32, c []float32, ldc int, alpha, beta float32, rows, cols int) {
	for i := range rows {
		row := c[i*ldc : i*ldc+cols]
		for j := range row {
			v := float32(alpha * s[i][j])
			if beta != 0 {
				v = float32(beta*row[j]) + v
			}
			row[j] = v
		}
	}
}
