package wire

import (
	"fmt"
	"sort"

	"github.com/troupe-ml/troupe/messages"
)

// Split slices a float32 tensor into NamedTensors of at most maxBytes of
// payload each, in order; Offset counts elements from the tensor's start
// and each slice is a flat [len] tensor. An empty tensor is one empty
// slice, so the receiver still learns of it.
func Split(name string, data []float32, maxBytes int) []*messages.NamedTensor {
	per := max(1, maxBytes/4)
	var out []*messages.NamedTensor
	for off := 0; off < len(data) || off == 0; off += per {
		end := min(off+per, len(data))
		out = append(out, &messages.NamedTensor{Name: name, Offset: uint64(off), Tensor: messages.FromFloat32(data[off:end], []int{end - off})})
		if end == len(data) {
			break
		}
	}
	return out
}

// Assembler rebuilds one tensor of known name and size from its slices,
// arriving in any order. It rejects a slice with another name, a dtype
// other than F32, a range outside the tensor or one overlapping a slice
// already received, and then changes nothing.
type Assembler struct {
	name     string
	dst      []float32
	got      [][2]int // received [start, end) ranges, sorted
	received int
}

// NewAssembler assembles into dst, which must have the tensor's length.
func NewAssembler(name string, dst []float32) *Assembler {
	return &Assembler{name: name, dst: dst}
}

// Add stores one slice; done reports that every element has arrived.
func (a *Assembler) Add(nt *messages.NamedTensor) (done bool, err error) {
	if nt.GetName() != a.name {
		return false, fmt.Errorf("wire: slice of %q, assembling %q", nt.GetName(), a.name)
	}
	vals, err := nt.GetTensor().Float32()
	if err != nil {
		return false, fmt.Errorf("wire: slice of %q at %d: %w", a.name, nt.GetOffset(), err)
	}
	off := nt.GetOffset()
	if off > uint64(len(a.dst)) || uint64(len(vals)) > uint64(len(a.dst))-off {
		return false, fmt.Errorf("wire: slice of %q: elements [%d, %d) outside the tensor's %d", a.name, off, off+uint64(len(vals)), len(a.dst))
	}
	start, end := int(off), int(off)+len(vals)
	i := sort.Search(len(a.got), func(i int) bool { return a.got[i][0] >= start })
	if (i > 0 && a.got[i-1][1] > start) || (i < len(a.got) && a.got[i][0] < end) || (start == end && len(a.dst) > 0) {
		return false, fmt.Errorf("wire: slice of %q: elements [%d, %d) overlap what has arrived or are empty", a.name, start, end)
	}
	copy(a.dst[start:end], vals)
	a.got = append(a.got, [2]int{})
	copy(a.got[i+1:], a.got[i:])
	a.got[i] = [2]int{start, end}
	a.received += end - start
	return a.received == len(a.dst), nil
}

// Reset forgets what has arrived, to assemble the tensor again.
func (a *Assembler) Reset() { a.got, a.received = a.got[:0], 0 }
