package checkpoint

import (
	"encoding/binary"
	"math"
)

// dtype describes one safetensors element type. decode is nil for types
// that are recognised but not yet supported; adding F16, BF16 or I8 support
// means giving them a decode function here.
type dtype struct {
	name   string
	size   int                             // bytes per element
	decode func(dst []float32, src []byte) // len(src) == len(dst)*size
}

// lookupDType returns the safetensors dtype spelled name.
func lookupDType(name string) (dtype, bool) {
	switch name {
	case "F32":
		return dtype{name, 4, decodeF32}, true
	case "BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3":
		return dtype{name: name, size: 1}, true
	case "I16", "U16", "F16", "BF16":
		return dtype{name: name, size: 2}, true
	case "I32", "U32":
		return dtype{name: name, size: 4}, true
	case "I64", "U64", "F64":
		return dtype{name: name, size: 8}, true
	}
	return dtype{}, false
}

// supportedDTypes names the dtypes Read can return, for error messages.
func supportedDTypes() string { return "F32" }

func decodeF32(dst []float32, src []byte) {
	if len(src) != 4*len(dst) {
		panic("checkpoint: decodeF32 called with mismatched lengths")
	}
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
	}
}

func encodeF32(dst []byte, src []float32) {
	if len(dst) != 4*len(src) {
		panic("checkpoint: encodeF32 called with mismatched lengths")
	}
	for i, v := range src {
		binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
	}
}
