package messages

import (
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
)

// oddValues covers the float32 values a byte-level conversion gets wrong
// first: signed zero, infinities, NaN payloads and subnormals.
func oddValues(n int) []float32 {
	special := []float32{
		0, float32(math.Copysign(0, -1)), 1, -1.5,
		float32(math.Inf(1)), float32(math.Inf(-1)),
		math.Float32frombits(0x7fc00001), // quiet NaN with a payload
		math.Float32frombits(0x00000001), // smallest subnormal
		math.MaxFloat32, -math.SmallestNonzeroFloat32,
	}
	out := make([]float32, n)
	for i := range out {
		if i < len(special) {
			out[i] = special[i]
		} else {
			out[i] = float32(i)*0.37 - 11
		}
	}
	return out
}

// sameBits compares float32 slices bit for bit, so NaN payloads count.
func sameBits(t *testing.T, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("len = %d, want %d", len(got), len(want))
	}
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("element %d = %v (%#08x), want %v (%#08x)",
				i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}
}

func TestFloat32RoundTripOddShapes(t *testing.T) {
	shapes := [][]int{
		{},        // scalar
		{0},       // empty vector
		{3, 0, 5}, // empty in the middle
		{1},
		{7},
		{2, 3, 5},
		{1, 1, 1, 1},
		{3, 1, 7},
		{1, 13},
	}
	for _, shape := range shapes {
		n := 1
		for _, d := range shape {
			n *= d
		}
		data := oddValues(n)
		tn := FromFloat32(data, shape)

		if tn.GetDtype() != DType_F32 {
			t.Fatalf("shape %v: dtype = %v, want F32", shape, tn.GetDtype())
		}
		if len(tn.GetData()) != 4*n {
			t.Fatalf("shape %v: %d data bytes, want %d", shape, len(tn.GetData()), 4*n)
		}
		// The wire format is little-endian whatever the machine.
		for i, v := range data {
			if got := binary.LittleEndian.Uint32(tn.GetData()[4*i:]); got != math.Float32bits(v) {
				t.Fatalf("shape %v: element %d encodes as %#08x, want %#08x", shape, i, got, math.Float32bits(v))
			}
		}
		dims, err := tn.Dims()
		if err != nil || !slices.Equal(dims, shape) {
			t.Fatalf("shape %v: Dims() = %v, %v", shape, dims, err)
		}

		got, err := tn.Float32()
		if err != nil {
			t.Fatalf("shape %v: Float32: %v", shape, err)
		}
		sameBits(t, got, data)

		// And through the wire.
		raw, err := proto.Marshal(tn)
		if err != nil {
			t.Fatalf("shape %v: marshal: %v", shape, err)
		}
		var back Tensor
		if err := proto.Unmarshal(raw, &back); err != nil {
			t.Fatalf("shape %v: unmarshal: %v", shape, err)
		}
		got, err = back.Float32()
		if err != nil {
			t.Fatalf("shape %v: Float32 after unmarshal: %v", shape, err)
		}
		sameBits(t, got, data)
	}
}

func TestFromFloat32CopiesInput(t *testing.T) {
	data := []float32{1, 2, 3}
	tn := FromFloat32(data, []int{3})
	data[0] = 99
	got, err := tn.Float32()
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != 1 {
		t.Fatalf("tensor element 0 = %v after the caller changed its slice, want 1", got[0])
	}
}

func TestFloat32ViewAliasesMessage(t *testing.T) {
	if !littleEndian() {
		t.Skip("Float32 copies on big-endian machines")
	}
	tn := FromFloat32([]float32{1, 2, 3, 4}, []int{2, 2})
	view, err := tn.Float32()
	if err != nil {
		t.Fatal(err)
	}
	view[1] = 42
	if got := math.Float32frombits(binary.LittleEndian.Uint32(tn.GetData()[4:])); got != 42 {
		t.Fatalf("after writing the view, message element 1 = %v, want 42", got)
	}
	binary.LittleEndian.PutUint32(tn.GetData()[12:], math.Float32bits(-7))
	if view[3] != -7 {
		t.Fatalf("after writing the message, view element 3 = %v, want -7", view[3])
	}
	if cap(view) != 4 {
		t.Fatalf("cap(view) = %d, want 4 so that append cannot run past the message", cap(view))
	}
}

func TestFloat32UnalignedCopies(t *testing.T) {
	want := oddValues(5)
	buf := make([]byte, 4*len(want)+1)
	for i, v := range want {
		binary.LittleEndian.PutUint32(buf[1+4*i:], math.Float32bits(v))
	}
	tn := &Tensor{Dtype: DType_F32, Shape: []int64{5}, Data: buf[1:]}
	got, err := tn.Float32()
	if err != nil {
		t.Fatal(err)
	}
	sameBits(t, got, want)
	got[0] = 123
	if b := binary.LittleEndian.Uint32(buf[1:]); b != math.Float32bits(want[0]) {
		t.Fatalf("writing the copy changed the message: element 0 bits %#08x, want %#08x", b, math.Float32bits(want[0]))
	}
}

func TestFloat32Errors(t *testing.T) {
	cases := []struct {
		name string
		t    *Tensor
		want string
	}{
		{"nil", nil, "nil tensor"},
		{"unspecified dtype", &Tensor{Shape: []int64{1}, Data: make([]byte, 4)}, "dtype is DTYPE_UNSPECIFIED, want F32"},
		{"f16", &Tensor{Dtype: DType_F16, Shape: []int64{2}, Data: make([]byte, 4)}, "dtype is F16, want F32"},
		{"unknown dtype", &Tensor{Dtype: 99, Shape: []int64{1}, Data: make([]byte, 4)}, "dtype is 99, want F32"},
		{"negative dim", &Tensor{Dtype: DType_F32, Shape: []int64{2, -3}, Data: make([]byte, 24)}, "shape[1] = -3 is negative"},
		{"short", &Tensor{Dtype: DType_F32, Shape: []int64{2, 3}, Data: make([]byte, 20)}, "needs 6×4 bytes of F32, data has 20 bytes"},
		{"long", &Tensor{Dtype: DType_F32, Shape: []int64{2}, Data: make([]byte, 12)}, "needs 2×4 bytes of F32, data has 12 bytes"},
		{"ragged", &Tensor{Dtype: DType_F32, Shape: []int64{1}, Data: make([]byte, 5)}, "data has 5 bytes"},
		{"scalar without data", &Tensor{Dtype: DType_F32}, "needs 1×4 bytes"},
		{"overflow", &Tensor{Dtype: DType_F32, Shape: []int64{1 << 40, 1 << 40}, Data: make([]byte, 4)}, "has more than"},
		{"overflow wraps to fit", &Tensor{Dtype: DType_F32, Shape: []int64{1 << 62, 4}, Data: make([]byte, 0)}, "has more than"},
	}
	for _, c := range cases {
		got, err := c.t.Float32()
		if err == nil {
			t.Errorf("%s: no error, got %d elements", c.name, len(got))
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q does not contain %q", c.name, err, c.want)
		}
		if got != nil {
			t.Errorf("%s: got %d elements alongside the error, want nil", c.name, len(got))
		}
	}
}

func TestValidateEveryDType(t *testing.T) {
	sizes := map[DType]int{DType_F32: 4, DType_F16: 2, DType_BF16: 2, DType_I8: 1, DType_I32: 4}
	for d, size := range sizes {
		if d.Size() != size {
			t.Errorf("%v.Size() = %d, want %d", d, d.Size(), size)
		}
		ok := &Tensor{Dtype: d, Shape: []int64{3, 2}, Data: make([]byte, 6*size)}
		if err := ok.Validate(); err != nil {
			t.Errorf("%v with %d bytes: %v", d, 6*size, err)
		}
		bad := &Tensor{Dtype: d, Shape: []int64{3, 2}, Data: make([]byte, 6*size+1)}
		if err := bad.Validate(); err == nil {
			t.Errorf("%v with %d bytes: no error", d, 6*size+1)
		}
	}
	for _, d := range []DType{DType_DTYPE_UNSPECIFIED, 42} {
		if err := (&Tensor{Dtype: d}).Validate(); err == nil || !strings.Contains(err.Error(), "no element size") {
			t.Errorf("dtype %v: error %v, want one saying it has no element size", d, err)
		}
	}
	if err := (*Tensor)(nil).Validate(); err == nil {
		t.Error("nil tensor: no error")
	}
}

func TestDimsErrors(t *testing.T) {
	if _, err := (&Tensor{Shape: []int64{4, -1}}).Dims(); err == nil || !strings.Contains(err.Error(), "shape[1] = -1") {
		t.Errorf("negative dim: error %v, want one naming shape[1]", err)
	}
	if _, err := (*Tensor)(nil).Dims(); err == nil {
		t.Error("nil tensor: no error")
	}
}

func TestFromFloat32PanicsOnCallerBug(t *testing.T) {
	cases := []struct {
		name  string
		data  []float32
		shape []int
		want  string
	}{
		{"count", make([]float32, 5), []int{2, 3}, "holds 6 elements, data has 5"},
		{"negative", nil, []int{-1}, "shape[0] = -1 is negative"},
		{"scalar with two values", make([]float32, 2), nil, "holds 1 elements, data has 2"},
	}
	for _, c := range cases {
		func() {
			defer func() {
				r := recover()
				msg, _ := r.(string)
				if !strings.Contains(msg, c.want) {
					t.Errorf("%s: panic %v, want one containing %q", c.name, r, c.want)
				}
			}()
			FromFloat32(c.data, c.shape)
		}()
	}
}
