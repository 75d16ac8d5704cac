package messages

import (
	"encoding/binary"
	"math"
	"testing"
)

// FuzzTensorFloat32 feeds arbitrary dtype, shape and data to the tensor
// accessors: they must never panic, and whatever Float32 accepts must be
// exactly the little-endian decoding of the data.
func FuzzTensorFloat32(f *testing.F) {
	le := func(vs ...int64) []byte {
		b := make([]byte, 8*len(vs))
		for i, v := range vs {
			binary.LittleEndian.PutUint64(b[8*i:], uint64(v))
		}
		return b
	}
	f.Add(int32(DType_F32), le(2, 3), make([]byte, 24), false)
	f.Add(int32(DType_F32), le(2, 3), make([]byte, 24), true)
	f.Add(int32(DType_F32), le(), make([]byte, 4), false)
	f.Add(int32(DType_F32), le(0, 5), []byte{}, false)
	f.Add(int32(DType_F32), le(-1), make([]byte, 4), false)
	f.Add(int32(DType_F32), le(1<<62, 4), []byte{}, false)
	f.Add(int32(DType_F16), le(2), make([]byte, 4), false)
	f.Add(int32(-5), le(1), []byte{1, 2, 3}, true)

	f.Fuzz(func(t *testing.T, dtype int32, shapeBytes, data []byte, misalign bool) {
		shape := make([]int64, len(shapeBytes)/8)
		for i := range shape {
			shape[i] = int64(binary.LittleEndian.Uint64(shapeBytes[8*i:]))
		}
		if misalign {
			// Exercise the copying path on any machine.
			buf := make([]byte, len(data)+1)
			copy(buf[1:], data)
			data = buf[1:]
		}
		tn := &Tensor{Dtype: DType(dtype), Shape: shape, Data: data}

		_ = tn.Validate()
		_, _ = tn.Dims()
		got, err := tn.Float32()
		if err != nil {
			return
		}
		if tn.GetDtype() != DType_F32 {
			t.Fatalf("accepted dtype %v", tn.GetDtype())
		}
		if 4*len(got) != len(data) {
			t.Fatalf("%d elements from %d bytes", len(got), len(data))
		}
		for i, v := range got {
			if want := binary.LittleEndian.Uint32(data[4*i:]); math.Float32bits(v) != want {
				t.Fatalf("element %d bits %#08x, want %#08x", i, math.Float32bits(v), want)
			}
		}
	})
}
