package messages

import (
	"math"
	"testing"

	"google.golang.org/protobuf/proto"
)

// A view shares the sender's memory: a later write to the source shows
// through the message, and Float32 on the message gives the same memory
// back.
func TestViewFloat32SharesMemory(t *testing.T) {
	if !littleEndian() {
		t.Skip("views share memory only on little-endian machines")
	}
	src := oddValues(12)
	v := ViewFloat32(src, []int{3, 4})
	got, err := v.Float32()
	if err != nil {
		t.Fatal(err)
	}
	sameBits(t, got, src)
	src[5] = 42
	if got[5] != 42 {
		t.Fatalf("after a write to the source, the view holds %v, want 42", got[5])
	}
	if &got[0] != &src[0] {
		t.Fatal("Float32 of a view is not the source's memory")
	}
}

// A view marshals like a copy, so the same message can cross machines.
func TestViewFloat32WireMatchesCopy(t *testing.T) {
	for _, shape := range [][]int{{}, {0}, {2, 0}, {5}, {2, 3}} {
		n := 1
		for _, d := range shape {
			n *= d
		}
		src := oddValues(n)
		a, err := proto.Marshal(ViewFloat32(src, shape))
		if err != nil {
			t.Fatal(err)
		}
		b, err := proto.Marshal(FromFloat32(src, shape))
		if err != nil {
			t.Fatal(err)
		}
		if string(a) != string(b) {
			t.Fatalf("shape %v: view marshals to %x, copy to %x", shape, a, b)
		}
		var back Tensor
		if err := proto.Unmarshal(a, &back); err != nil {
			t.Fatal(err)
		}
		got, err := back.Float32()
		if err != nil {
			t.Fatal(err)
		}
		sameBits(t, got, src)
	}
}

func TestViewFloat32PanicsOnCallerBug(t *testing.T) {
	for _, tc := range []struct {
		name  string
		data  []float32
		shape []int
	}{
		{"negative dim", make([]float32, 2), []int{-1, -2}},
		{"short data", make([]float32, 5), []int{2, 3}},
		{"long data", []float32{1, float32(math.Inf(1))}, []int{1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatalf("ViewFloat32(%d values, %v) did not panic", len(tc.data), tc.shape)
				}
			}()
			ViewFloat32(tc.data, tc.shape)
		})
	}
}
