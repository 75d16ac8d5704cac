package actors

import (
	"fmt"

	"github.com/troupe-ml/troupe/engine/nn"
	"github.com/troupe-ml/troupe/messages"
)

// segment is the part [lo, hi) of one parameter tensor (flat, row-major)
// that a parameter-server shard owns.
type segment struct {
	param   int // index into the model's parameters
	name    string
	lo, hi  int
	noDecay bool
}

func (s segment) len() int { return s.hi - s.lo }

// partition lays the model's parameters end to end, in model order, as one
// vector and cuts it into k contiguous ranges whose sizes differ by at most
// one element. A tensor may straddle two shards; each shard then owns a
// segment of it.
func partition(params []nn.Param, k int) ([][]segment, error) {
	total := 0
	for _, p := range params {
		total += len(p.T.Data)
	}
	if k > total {
		return nil, fmt.Errorf("actors: %d parameter-server shards for a model of %d parameters, want at most one shard per parameter", k, total)
	}
	parts := make([][]segment, k)
	pi, off := 0, 0 // next unassigned element: params[pi].T.Data[off]
	for s := range k {
		want := (s+1)*total/k - s*total/k
		for want > 0 {
			p := params[pi]
			n := min(want, len(p.T.Data)-off)
			parts[s] = append(parts[s], segment{param: pi, name: p.Name, lo: off, hi: off + n, noDecay: p.NoDecay})
			want -= n
			off += n
			if off == len(p.T.Data) {
				pi, off = pi+1, 0
			}
		}
	}
	return parts, nil
}

// sliceTensors copies the data of each segment, which bufs returns, into
// named tensors that own their memory, as a Params message carries them.
func sliceTensors(segs []segment, bufs func(i int, s segment) []float32) []*messages.NamedTensor {
	return namedTensors(segs, bufs, messages.FromFloat32)
}

// viewTensors is sliceTensors without the copy: the tensors are views of
// the buffers, for messages whose memory is handed over (see the package
// documentation).
func viewTensors(segs []segment, bufs func(i int, s segment) []float32) []*messages.NamedTensor {
	return namedTensors(segs, bufs, messages.ViewFloat32)
}

func namedTensors(segs []segment, bufs func(i int, s segment) []float32, wrap func([]float32, []int) *messages.Tensor) []*messages.NamedTensor {
	out := make([]*messages.NamedTensor, len(segs))
	for i, s := range segs {
		b := bufs(i, s)
		out[i] = &messages.NamedTensor{Name: s.name, Offset: uint64(s.lo), Tensor: wrap(b, []int{len(b)})}
	}
	return out
}

// matchTensors checks that ts are exactly the segments segs, in order, and
// returns their data (views into the messages: read only) in dst's memory.
// The caller's error names the message.
func matchTensors(dst [][]float32, segs []segment, ts []*messages.NamedTensor) ([][]float32, error) {
	if len(ts) != len(segs) {
		return nil, fmt.Errorf("%d tensors, want %d", len(ts), len(segs))
	}
	out := dst[:0]
	for i, s := range segs {
		t := ts[i]
		if t.GetName() != s.name || t.GetOffset() != uint64(s.lo) {
			return nil, fmt.Errorf("tensor %d is %q at offset %d, want %q at %d", i, t.GetName(), t.GetOffset(), s.name, s.lo)
		}
		v, err := t.GetTensor().Float32()
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", s.name, err)
		}
		if len(v) != s.len() {
			return nil, fmt.Errorf("tensor %q at offset %d has %d values, want %d", s.name, s.lo, len(v), s.len())
		}
		out = append(out, v)
	}
	return out, nil
}
