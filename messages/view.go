package messages

import (
	"encoding/binary"
	"math"
)

// ViewFloat32 returns an F32 tensor laid out with shape whose data is
// data's own memory on a little-endian machine: no copy, no allocation
// beyond the message itself. It is for in-process senders whose protocol
// hands the memory over with the message: the sender writes data again
// only once the receiver has said, by a later message, that it is done
// with it. Without such a protocol, use FromFloat32. On a big-endian
// machine the result holds a little-endian copy, which satisfies any
// hand-off protocol trivially.
//
// It panics when a dimension is negative or len(data) is not the product of
// shape, as FromFloat32 does.
func ViewFloat32(data []float32, shape []int) *Tensor {
	t := &Tensor{Dtype: DType_F32, Shape: shapeOf("ViewFloat32", data, shape)}
	t.Data = viewBytes(data)
	return t
}

// viewBytes is data's memory as little-endian bytes: the memory itself where
// the machine is little-endian, a copy elsewhere.
func viewBytes(data []float32) []byte {
	if littleEndian() {
		return float32Bytes(data)
	}
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return raw
}
