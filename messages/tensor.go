package messages

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"unsafe"
)

// Size returns the bytes one element of d occupies, or 0 for
// DTYPE_UNSPECIFIED and values this build does not know.
func (d DType) Size() int {
	switch d {
	case DType_F32, DType_I32:
		return 4
	case DType_F16, DType_BF16:
		return 2
	case DType_I8:
		return 1
	}
	return 0
}

// FromFloat32 returns an F32 tensor holding a copy of data laid out with
// shape (row-major; an empty shape is a scalar). The copy means later writes
// to data cannot reach a message already sent. The byte buffer is allocated
// as float32s so that Float32 on the result is always a zero-copy view on a
// little-endian machine.
//
// It panics when a dimension is negative or len(data) is not the product of
// shape: both are bugs in the caller, not bad input.
func FromFloat32(data []float32, shape []int) *Tensor {
	dims := shapeOf("FromFloat32", data, shape)
	buf := make([]float32, len(data))
	copy(buf, data)
	raw := float32Bytes(buf)
	if !littleEndian() {
		for i, v := range buf {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
		}
	}
	return &Tensor{Dtype: DType_F32, Shape: dims, Data: raw}
}

// shapeOf checks that shape has no negative dimension and holds exactly
// len(data) elements, and returns it as the message's dims; fn names the
// caller in the panic.
func shapeOf(fn string, data []float32, shape []int) []int64 {
	n := 1
	dims := make([]int64, len(shape))
	for i, d := range shape {
		if d < 0 {
			panic(fmt.Sprintf("messages.%s: shape[%d] = %d is negative", fn, i, d))
		}
		n *= d
		dims[i] = int64(d)
	}
	if n != len(data) {
		panic(fmt.Sprintf("messages.%s: shape %v holds %d elements, data has %d", fn, shape, n, len(data)))
	}
	return dims
}

// float32Bytes returns the memory of buf as bytes (never nil).
func float32Bytes(buf []float32) []byte {
	if len(buf) == 0 {
		return []byte{}
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(buf))), 4*len(buf))
}

// Float32 returns the elements of an F32 tensor.
//
// On a little-endian machine, when the data is 4-byte aligned (always so for
// tensors made by FromFloat32, and in practice for those decoded by
// proto.Unmarshal, which copies bytes fields into fresh allocations), the
// result is a view that shares memory with t.Data: writing to it changes the message,
// and changing the message changes it. Otherwise it is a copy. Callers
// therefore treat the result as read-only unless they own t, and never write
// to a message that has been sent (see the package documentation).
//
// It returns an error naming the problem when t is nil, its dtype is not
// F32, its shape has a negative dimension or overflows, or its data length
// is not 4 × product(shape).
func (t *Tensor) Float32() ([]float32, error) {
	n, err := t.check(DType_F32)
	if err != nil {
		return nil, err
	}
	b := t.GetData()
	if n == 0 {
		return []float32{}, nil
	}
	p := unsafe.Pointer(unsafe.SliceData(b))
	if littleEndian() && uintptr(p)%unsafe.Alignof(float32(0)) == 0 {
		return unsafe.Slice((*float32)(p), n), nil
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out, nil
}

// Dims returns t's shape as ints (the generated Shape field holds int64s).
// It fails on a negative dimension or one that does not fit in an int, so
// the result is safe to size buffers with.
func (t *Tensor) Dims() ([]int, error) {
	if t == nil {
		return nil, fmt.Errorf("messages: nil tensor")
	}
	dims := make([]int, len(t.GetShape()))
	for i, d := range t.GetShape() {
		if d < 0 || uint64(d) > math.MaxInt {
			return nil, fmt.Errorf("messages: tensor shape[%d] = %d is out of range", i, d)
		}
		dims[i] = int(d)
	}
	return dims, nil
}

// Validate checks that t is well formed for its own dtype: the dtype is
// known, every dimension is >= 0 and the data length is exactly
// size(dtype) × product(shape).
func (t *Tensor) Validate() error {
	if t == nil {
		return fmt.Errorf("messages: nil tensor")
	}
	_, err := t.check(t.GetDtype())
	return err
}

// check validates t against dtype want and returns its element count.
func (t *Tensor) check(want DType) (int, error) {
	if t == nil {
		return 0, fmt.Errorf("messages: nil tensor")
	}
	if t.GetDtype() != want {
		return 0, fmt.Errorf("messages: tensor dtype is %v, want %v", t.GetDtype(), want)
	}
	size := want.Size()
	if size == 0 {
		return 0, fmt.Errorf("messages: tensor dtype %v has no element size", want)
	}
	n, err := elements(t.GetShape())
	if err != nil {
		return 0, err
	}
	// n*size cannot be compared directly: it may overflow.
	if got := len(t.GetData()); got%size != 0 || uint64(got/size) != n {
		return 0, fmt.Errorf("messages: tensor of shape %v needs %d×%d bytes of %v, data has %d bytes",
			t.GetShape(), n, size, want, got)
	}
	return int(n), nil
}

// elements returns the product of shape, rejecting negative dimensions and
// products beyond math.MaxInt (no buffer could hold them).
func elements(shape []int64) (uint64, error) {
	for i, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("messages: tensor shape[%d] = %d is negative", i, d)
		}
		if d == 0 {
			return 0, nil // empty, whatever the other dimensions say
		}
	}
	n := uint64(1)
	for _, d := range shape {
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 || lo > math.MaxInt {
			return 0, fmt.Errorf("messages: tensor shape %v has more than %d elements", shape, math.MaxInt)
		}
		n = lo
	}
	return n, nil
}

// littleEndian reports the machine's byte order.
func littleEndian() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}
