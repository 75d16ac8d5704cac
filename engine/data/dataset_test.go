package data

import (
	"math"
	"strings"
	"testing"
)

// tinyDataset has n samples of 2×2×3; sample i has label i%3 and pixels
// 10*i+j.
func tinyDataset(n int) *Dataset {
	d := &Dataset{Name: "tiny", N: n, C: 2, H: 2, W: 3, Classes: 3, Mean: 0.5, Std: 0.25,
		Pixels: make([]uint8, n*12), Labels: make([]int32, n)}
	for i := range n {
		for j := range 12 {
			d.Pixels[i*12+j] = uint8(10*i + j)
		}
		d.Labels[i] = int32(i % 3)
	}
	return d
}

func TestFillNormalises(t *testing.T) {
	d := tinyDataset(8)
	idx := []int{5, 0, 7}
	x := make([]float32, len(idx)*d.SampleSize())
	y := make([]int32, len(idx))
	d.Fill(idx, x, y)
	for k, i := range idx {
		if y[k] != int32(i%3) {
			t.Fatalf("y[%d] = %d, want %d", k, y[k], i%3)
		}
		for j := range 12 {
			want := (float64(10*i+j)/255 - 0.5) / 0.25
			if got := float64(x[k*12+j]); math.Abs(got-want) > 1e-6 {
				t.Fatalf("x[%d][%d] = %v, want %v ± 1e-6", k, j, got, want)
			}
		}
	}
	if allocs := testing.AllocsPerRun(100, func() { d.Fill(idx, x, y) }); allocs != 0 {
		t.Fatalf("Fill allocates %v times per call, want 0", allocs)
	}
}

func TestFillPanicsOnShortBuffers(t *testing.T) {
	d := tinyDataset(4)
	for _, tc := range []struct {
		name string
		idx  []int
		x    int
		y    int
		want string
	}{
		{"short x", []int{0, 1}, 23, 2, "needs len(x) ≥ 24"},
		{"short y", []int{0, 1}, 24, 1, "len(y) ≥ 2"},
		{"bad index", []int{4}, 12, 1, "index 4 out of range 0..3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if s, _ := r.(string); !strings.Contains(s, tc.want) {
					t.Fatalf("panic %v, want one containing %q", r, tc.want)
				}
			}()
			d.Fill(tc.idx, make([]float32, tc.x), make([]int32, tc.y))
		})
	}
}

func TestSubset(t *testing.T) {
	d := tinyDataset(6)
	s := d.Subset([]int{4, 1})
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	if s.N != 2 || s.Labels[0] != 1 || s.Labels[1] != 1 || s.Pixels[0] != 40 || s.Pixels[12] != 10 || s.Pixels[23] != 21 {
		t.Fatalf("subset N=%d labels=%v pixels[0,12,23]=%d,%d,%d; want 2 [1 1] 40,10,21",
			s.N, s.Labels, s.Pixels[0], s.Pixels[12], s.Pixels[23])
	}
	s.Pixels[0] = 255
	if d.Pixels[4*12] != 40 {
		t.Fatal("Subset shares pixel memory with its parent")
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		modify func(d *Dataset)
		want   string
	}{
		{"pixels", func(d *Dataset) { d.Pixels = d.Pixels[1:] }, "len(Pixels)=47, want N*C*H*W=48"},
		{"labels", func(d *Dataset) { d.Labels = d.Labels[:3] }, "len(Labels)=3, want N=4"},
		{"label range", func(d *Dataset) { d.Labels[2] = 3 }, "label 3 at index 2 out of range 0..2"},
		{"std", func(d *Dataset) { d.Std = 0 }, "Std=0"},
		{"shape", func(d *Dataset) { d.C = 0 }, "shape N=4 C=0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := tinyDataset(4)
			tc.modify(d)
			if err := d.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if err := tinyDataset(4).Validate(); err != nil {
		t.Fatalf("valid dataset: %v", err)
	}
}
