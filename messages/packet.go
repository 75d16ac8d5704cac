package messages

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/troupe-ml/troupe/engine/compress"
)

// CompressionOf is kind's wire enum.
func CompressionOf(kind compress.Kind) Compression {
	switch kind {
	case compress.FP16:
		return Compression_COMPRESSION_FP16
	case compress.BF16:
		return Compression_COMPRESSION_BF16
	case compress.Int8:
		return Compression_COMPRESSION_INT8
	case compress.TopK:
		return Compression_COMPRESSION_TOPK
	}
	return Compression_COMPRESSION_NONE
}

// Kind is c's scheme; an enum value this build does not know is an error.
func (c Compression) Kind() (compress.Kind, error) {
	switch c {
	case Compression_COMPRESSION_NONE:
		return compress.None, nil
	case Compression_COMPRESSION_FP16:
		return compress.FP16, nil
	case Compression_COMPRESSION_BF16:
		return compress.BF16, nil
	case Compression_COMPRESSION_INT8:
		return compress.Int8, nil
	case Compression_COMPRESSION_TOPK:
		return compress.TopK, nil
	}
	return 0, fmt.Errorf("messages: unknown compression %d", int32(c))
}

// SetPacket writes p's data into g, reusing g's byte slices; name and offset
// are the caller's. None packets have no wire form here: uncompressed
// gradients travel as tensors.
func (g *GradPacket) SetPacket(p *compress.Packet) {
	g.N = uint64(p.N)
	g.Data, g.Scales, g.Indices = g.Data[:0], g.Scales[:0], g.Indices[:0]
	for _, h := range p.Half {
		g.Data = binary.LittleEndian.AppendUint16(g.Data, h)
	}
	for _, c := range p.Codes {
		g.Data = append(g.Data, byte(c))
	}
	for _, v := range p.Values {
		g.Data = binary.LittleEndian.AppendUint32(g.Data, math.Float32bits(v))
	}
	for _, s := range p.Scales {
		g.Scales = binary.LittleEndian.AppendUint32(g.Scales, math.Float32bits(s))
	}
	for _, i := range p.Indices {
		g.Indices = binary.LittleEndian.AppendUint32(g.Indices, i)
	}
}

// maxPacketValues bounds a packet's announced length, so that a peer cannot
// make a receiver size buffers from it beyond what a protobuf bytes field
// can carry anyway.
const maxPacketValues = math.MaxInt32

// Packet reads g as a packet of the given kind into dst, reusing dst's
// slices. It checks only the byte layout (lengths that are whole numbers
// of values); compress.Decode checks the packet against its tensor.
func (g *GradPacket) Packet(kind compress.Kind, dst *compress.Packet) error {
	if g.GetN() > maxPacketValues {
		return fmt.Errorf("messages: packet %q announces %d values", g.GetName(), g.GetN())
	}
	*dst = compress.Packet{Kind: kind, N: int(g.GetN()), Raw: dst.Raw[:0], Half: dst.Half[:0], Codes: dst.Codes[:0],
		Scales: dst.Scales[:0], Indices: dst.Indices[:0], Values: dst.Values[:0]}
	data, scales, indices := g.GetData(), g.GetScales(), g.GetIndices()
	bad := func(field string, b []byte, size int) error {
		return fmt.Errorf("messages: %v packet %q: %s holds %d bytes, not a whole number of %d-byte values",
			kind, g.GetName(), field, len(b), size)
	}
	if len(scales)%4 != 0 {
		return bad("scales", scales, 4)
	}
	if len(indices)%4 != 0 {
		return bad("indices", indices, 4)
	}
	switch kind {
	case compress.FP16, compress.BF16:
		if len(data)%2 != 0 {
			return bad("data", data, 2)
		}
		for i := 0; i < len(data); i += 2 {
			dst.Half = append(dst.Half, binary.LittleEndian.Uint16(data[i:]))
		}
	case compress.Int8:
		for _, b := range data {
			dst.Codes = append(dst.Codes, int8(b))
		}
	case compress.TopK:
		if len(data)%4 != 0 {
			return bad("data", data, 4)
		}
		for i := 0; i < len(data); i += 4 {
			dst.Values = append(dst.Values, math.Float32frombits(binary.LittleEndian.Uint32(data[i:])))
		}
	default:
		return fmt.Errorf("messages: packet %q: %v has no packet form", g.GetName(), kind)
	}
	for i := 0; i < len(scales); i += 4 {
		dst.Scales = append(dst.Scales, math.Float32frombits(binary.LittleEndian.Uint32(scales[i:])))
	}
	for i := 0; i < len(indices); i += 4 {
		dst.Indices = append(dst.Indices, binary.LittleEndian.Uint32(indices[i:]))
	}
	return nil
}
