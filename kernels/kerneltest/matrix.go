package kerneltest

import (
	"math"
	"math/rand/v2"
	"slices"
)

// guardLen is the number of guard elements before and after each matrix.
const guardLen = 5

// matrix is a rows×cols row-major matrix with row stride ld, stored inside
// buf between guardLen guard elements on either side. The row padding is
// guarded too, and the slice handed to a kernel ends at the last element of
// the last row: a kernel must not assume a full final row.
type matrix struct {
	rows, cols, ld int
	buf            []float32
}

// newMatrix returns a matrix of uniform values in [-1, 1), or of NaN when
// poison is set: a NaN window tests that the kernel does not read it.
func newMatrix(rng *rand.Rand, rows, cols, ld int, poison bool) matrix {
	n := 0
	if rows > 0 && cols > 0 {
		n = (rows-1)*ld + cols
	}
	m := matrix{rows: rows, cols: cols, ld: ld, buf: make([]float32, guardLen+n+guardLen)}
	for i := range m.buf {
		m.buf[i] = guard()
	}
	for i := range rows {
		for j := range cols {
			v := float32(math.NaN())
			if !poison {
				v = 2*rng.Float32() - 1
			}
			m.buf[guardLen+i*ld+j] = v
		}
	}
	return m
}

// data is the slice passed to a kernel. Its capacity runs into the trailing
// guard, so a kernel that reslices past len to write is still caught.
func (m matrix) data() []float32 {
	return m.buf[guardLen : len(m.buf)-guardLen]
}

func (m matrix) at(i, j int) float32 { return m.buf[guardLen+i*m.ld+j] }

func (m matrix) clone() matrix {
	m.buf = slices.Clone(m.buf)
	return m
}

// unchanged reports whether m is bit-for-bit equal to orig, and otherwise
// the first buffer index that differs.
func (m matrix) unchanged(orig matrix) (int, bool) {
	for i := range m.buf {
		if math.Float32bits(m.buf[i]) != math.Float32bits(orig.buf[i]) {
			return i, false
		}
	}
	return 0, true
}

// guardsIntact reports whether every element outside the rows×cols window
// still holds the guard, and otherwise the first buffer index that does not.
func (m matrix) guardsIntact() (int, bool) {
	for i, v := range m.buf {
		p := i - guardLen
		inWindow := p >= 0 && p < len(m.buf)-2*guardLen && p%m.ld < m.cols
		if !inWindow && !isGuard(v) {
			return i, false
		}
	}
	return 0, true
}
