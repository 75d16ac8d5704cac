package actors

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/troupe-ml/troupe/engine/optim"
	"github.com/troupe-ml/troupe/engine/train"
	"github.com/troupe-ml/troupe/messages"
)

// Optimizer state travels with a shard's answer to Evaluate, after its
// parameters, under the optimizer's own names: "<param>.<slot>" for a
// buffer the size of a parameter (a momentum, a moment), of which a shard
// holds the slice at its segment's offset, and other names (the step count)
// for values every shard holds whole and alike. The coordinator stitches
// them into the state a single optimizer over the whole model would have,
// which the checkpoint stores as the plain loop does.

// stateTensors copies the optimizer state of a shard owning segs into
// named tensors.
func stateTensors(segs []segment, state []optim.StateTensor) []*messages.NamedTensor {
	names := make([]string, len(segs))
	for i, g := range segs {
		names[i] = g.name
	}
	out := make([]*messages.NamedTensor, len(state))
	for i, st := range state {
		off := uint64(0)
		if j := slotOf(st.Name, names); j >= 0 {
			off = uint64(segs[j].lo)
		}
		out[i] = &messages.NamedTensor{Name: st.Name, Offset: off, Tensor: messages.FromFloat32(st.Data, []int{len(st.Data)})}
	}
	return out
}

// slotOf returns the index of the parameter whose buffer state tensor name
// is ("<param>.<slot>", the longest such parameter name), or -1.
func slotOf(name string, params []string) int {
	best := -1
	for i, p := range params {
		if strings.HasPrefix(name, p+".") && (best < 0 || len(p) > len(params[best])) {
			best = i
		}
	}
	return best
}

// stateGather assembles the optimizer state of a whole model from the
// shards' slices of it.
type stateGather struct {
	params []optim.Param // the model's, for names and sizes
	shards int
	bufs   map[string][]float32
	filled map[string]int // elements received, for slot buffers
	order  [][]string     // per shard: the names in its message's order
}

func newStateGather(params []optim.Param, shards int) *stateGather {
	g := &stateGather{params: params, shards: shards}
	g.reset()
	return g
}

func (g *stateGather) reset() {
	g.bufs, g.filled, g.order = map[string][]float32{}, map[string]int{}, make([][]string, g.shards)
}

// add takes shard k's state tensors.
func (g *stateGather) add(k int, ts []*messages.NamedTensor) error {
	names := make([]string, len(g.params))
	for i, p := range g.params {
		names[i] = p.Name
	}
	for _, t := range ts {
		name := t.GetName()
		v, err := t.GetTensor().Float32()
		if err != nil {
			return fmt.Errorf("optimizer state %q: %w", name, err)
		}
		g.order[k] = append(g.order[k], name)
		j := slotOf(name, names)
		if j < 0 {
			// Held whole by every shard: the shards must agree.
			if t.GetOffset() != 0 {
				return fmt.Errorf("optimizer state %q at offset %d, want 0", name, t.GetOffset())
			}
			if prev, ok := g.bufs[name]; ok && !sameFloats(prev, v) {
				return fmt.Errorf("optimizer state %q is %v here and %v on another shard", name, v, prev)
			}
			g.bufs[name] = append([]float32(nil), v...)
			continue
		}
		full := len(g.params[j].Data)
		off := t.GetOffset()
		if off > uint64(full) || uint64(len(v)) > uint64(full)-off {
			return fmt.Errorf("optimizer state %q: %d values at offset %d overrun the %d of %s", name, len(v), off, full, g.params[j].Name)
		}
		buf, ok := g.bufs[name]
		if !ok {
			buf = make([]float32, full)
			g.bufs[name] = buf
		}
		copy(buf[off:], v)
		g.filled[name] += len(v)
	}
	return nil
}

// state returns the whole state once every shard has answered, in the
// order the shards list it (the model's parameter order), each slot buffer
// checked to be covered exactly once.
func (g *stateGather) state() ([]optim.StateTensor, error) {
	var out []optim.StateTensor
	seen := map[string]bool{}
	for _, names := range g.order {
		for _, name := range names {
			if seen[name] {
				continue
			}
			seen[name] = true
			if n, ok := g.filled[name]; ok && n != len(g.bufs[name]) {
				return nil, fmt.Errorf("optimizer state %q: shards sent %d values, want %d", name, n, len(g.bufs[name]))
			}
			out = append(out, optim.StateTensor{Name: name, Data: g.bufs[name]})
		}
	}
	return out, nil
}

func sameFloats(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// resumeState loads the shard's slice of a resumed job's optimizer state:
// each "<param>.<slot>" buffer cut to the shard's segment of that
// parameter, and the values every shard holds whole (the step count) as
// they are. A checkpoint without optimizer state leaves the optimizer
// fresh, as the plain loop's resume does.
func (s *shard) resumeState() error {
	if s.p.from == nil || len(s.p.from.Optimizer) == 0 {
		return nil
	}
	mine, err := cutState(s.p.from, s.segs)
	if err != nil {
		return err
	}
	if err := s.opt.LoadState(mine); err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	return nil
}

// cutState returns the optimizer state of checkpoint from that a shard
// owning segs holds (see resumeState).
func cutState(from *train.Loaded, segs []segment) ([]optim.StateTensor, error) {
	params := from.Model.Params()
	names := make([]string, len(params))
	for i, p := range params {
		names[i] = p.Name
	}
	own := map[int]segment{}
	for _, g := range segs {
		own[g.param] = g
	}
	var mine []optim.StateTensor
	for _, st := range from.Optimizer {
		j := slotOf(st.Name, names)
		if j < 0 {
			mine = append(mine, st)
			continue
		}
		g, ok := own[j]
		if !ok {
			continue
		}
		if len(st.Data) != len(params[j].T.Data) {
			return nil, fmt.Errorf("resume: optimizer state %q has %d values, its parameter %d", st.Name, len(st.Data), len(params[j].T.Data))
		}
		mine = append(mine, optim.StateTensor{Name: st.Name, Data: slices.Clone(st.Data[g.lo:g.hi])})
	}
	return mine, nil
}
