package tensor

import "github.com/troupe-ml/troupe/kernels"

// Moving images between NCHW and the padded channels-last layout of the
// channels-last convolution (conv_nhwc.go).

// padded describes a channels-last image stored in rows of wp pixels whose
// first w hold the image and the rest are zero. Those zero columns pad the
// right of one row and the left of the next at once, so a kernel that
// reaches pad pixels past either side needs only wp = w+pad, and lead zero
// pixels before the first row stand for the left padding of that row. Row
// y of the image starts at pixel lead+(top+y)·wp; the top rows, the rows
// below the image and the rest of the buffer are zero.
type padded struct {
	w, top, lead, wp int
}

// padNHWC writes image src [c, h, p.w] channels-last into dst in layout p,
// and zeroes the rest of dst.
func padNHWC(src []float32, c, h int, p padded, dst []float32) {
	w := p.w
	first := (p.lead + p.top*p.wp) * c
	clear(dst[:first])
	for y := range h {
		row := dst[first+y*p.wp*c:]
		transposeBlocked(c, w, src[y*w:], h*w, row, c)
		if y < h-1 {
			clear(row[w*c : p.wp*c])
		}
	}
	clear(dst[first+((h-1)*p.wp+w)*c:])
}

// transposeBlocked writes the transpose of the m×n matrix a (row stride
// lda) to b (row stride ldb), as kernels.Transpose does, but only in whole
// groups of eight rows and columns, which its vector loop takes: when m or
// n is not a multiple of eight, a last group overlaps the one before it,
// writing some elements twice with the same values, rather than going
// through the scalar loop. Blocks of up to 64 columns keep the rows of b
// they write in L1.
func transposeBlocked(m, n int, a []float32, lda int, b []float32, ldb int) {
	if m < 8 || n < 8 {
		kernels.Transpose(m, n, a, lda, b, ldb)
		return
	}
	const block = 64
	m8, n8 := m&^7, n&^7
	for j0 := 0; j0 < n8; j0 += block {
		transposeCols(m, m8, j0, min(block, n8-j0), a, lda, b, ldb)
	}
	if n8 < n {
		transposeCols(m, m8, n-8, 8, a, lda, b, ldb)
	}
}

// transposeCols is transposeBlocked's columns [j0, j0+cols) of a.
func transposeCols(m, m8, j0, cols int, a []float32, lda int, b []float32, ldb int) {
	kernels.Transpose(m8, cols, a[j0:], lda, b[j0*ldb:], ldb)
	if m8 < m {
		kernels.Transpose(8, cols, a[(m-8)*lda+j0:], lda, b[j0*ldb+m-8:], ldb)
	}
}
