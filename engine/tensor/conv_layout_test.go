package tensor

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestTransposeBlocked checks transposeBlocked against the definition on
// sizes below, at and between multiples of eight and of its block, with
// leading dimensions larger than the rows; elements of b outside the
// transpose must keep their values.
func TestTransposeBlocked(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, s := range [][2]int{{1, 1}, {3, 7}, {8, 8}, {9, 8}, {8, 13}, {28, 32}, {32, 28}, {13, 70}, {70, 130}, {64, 64}, {196, 64}} {
		m, n := s[0], s[1]
		t.Run(fmt.Sprint(s), func(t *testing.T) {
			lda, ldb := n+3, m+5
			a := make([]float32, m*lda)
			for i := range a {
				a[i] = r.Float32()
			}
			b := make([]float32, n*ldb)
			for i := range b {
				b[i] = -1
			}
			transposeBlocked(m, n, a, lda, b, ldb)
			for j := range n {
				for i := range ldb {
					want := float32(-1)
					if i < m {
						want = a[i*lda+j]
					}
					if got := b[j*ldb+i]; got != want {
						t.Fatalf("b[%d,%d] = %v, want %v", j, i, got, want)
					}
				}
			}
		})
	}
}

// TestPadNHWC checks the padded channels-last layout against its
// definition: every pixel where the layout puts it, zeros everywhere
// else, whatever dst held.
func TestPadNHWC(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		c, h int
		p    padded
	}{
		{1, 3, padded{w: 4, top: 1, lead: 1, wp: 5}},
		{9, 5, padded{w: 6, top: 2, lead: 2, wp: 8}},
		{32, 4, padded{w: 7, top: 0, lead: 0, wp: 7}},
		{3, 2, padded{w: 3, top: 1, lead: 0, wp: 6}},
	} {
		t.Run(fmt.Sprintf("%+v", tc), func(t *testing.T) {
			c, h, p := tc.c, tc.h, tc.p
			src := make([]float32, c*h*p.w)
			for i := range src {
				src[i] = r.Float32() + 1
			}
			n := (p.lead + (p.top+h+2)*p.wp) * c
			dst := make([]float32, n)
			for i := range dst {
				dst[i] = -1
			}
			padNHWC(src, c, h, p, dst)
			want := make([]float32, n)
			for y := range h {
				for x := range p.w {
					for ci := range c {
						want[(p.lead+(p.top+y)*p.wp+x)*c+ci] = src[(ci*h+y)*p.w+x]
					}
				}
			}
			for i := range want {
				if dst[i] != want[i] {
					t.Fatalf("dst[%d] (pixel %d, channel %d) = %v, want %v", i, i/c, i%c, dst[i], want[i])
				}
			}
		})
	}
}
