package actors

import (
	"strings"
	"testing"

	"github.com/troupe-ml/troupe/engine/optim"
	"github.com/troupe-ml/troupe/messages"
)

func named(name string, off uint64, v ...float32) *messages.NamedTensor {
	return &messages.NamedTensor{Name: name, Offset: off, Tensor: messages.FromFloat32(v, []int{len(v)})}
}

// Slices of a parameter's buffer from two shards make the whole buffer, and
// whole values every shard holds come through once; anything that does not
// fit is an error naming the tensor.
func TestStateGather(t *testing.T) {
	params := []optim.Param{{Name: "w", Data: make([]float32, 4)}, {Name: "w.b", Data: make([]float32, 1)}}
	g := newStateGather(params, 2)
	if err := g.add(1, []*messages.NamedTensor{named("step", 0, 7, 0), named("w.momentum", 3, 4)}); err != nil {
		t.Fatal(err)
	}
	if err := g.add(0, []*messages.NamedTensor{named("step", 0, 7, 0), named("w.momentum", 0, 1, 2, 3), named("w.b.momentum", 0, 9)}); err != nil {
		t.Fatal(err)
	}
	st, err := g.state()
	if err != nil {
		t.Fatal(err)
	}
	want := []optim.StateTensor{{Name: "step", Data: []float32{7, 0}}, {Name: "w.momentum", Data: []float32{1, 2, 3, 4}}, {Name: "w.b.momentum", Data: []float32{9}}}
	if len(st) != len(want) {
		t.Fatalf("state %v, want %v", st, want)
	}
	for i, w := range want {
		if st[i].Name != w.Name || !sameFloats(st[i].Data, w.Data) {
			t.Errorf("state[%d] = %s %v, want %s %v", i, st[i].Name, st[i].Data, w.Name, w.Data)
		}
	}

	for _, tc := range []struct {
		name string
		ts   [][]*messages.NamedTensor // per shard
		want string
	}{
		{"overrun", [][]*messages.NamedTensor{{named("w.momentum", 2, 1, 2, 3)}}, "overrun"},
		{"whole at an offset", [][]*messages.NamedTensor{{named("step", 1, 7, 0)}}, "offset 1"},
		{"shards disagree", [][]*messages.NamedTensor{{named("step", 0, 7, 0)}, {named("step", 0, 8, 0)}}, "another shard"},
		{"gap", [][]*messages.NamedTensor{{named("w.momentum", 0, 1, 2)}, {named("w.momentum", 3, 4)}}, "3 values, want 4"},
		{"bad tensor", [][]*messages.NamedTensor{{{Name: "w.momentum"}}}, "nil tensor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newStateGather(params, len(tc.ts))
			var err error
			for k, ts := range tc.ts {
				if err = g.add(k, ts); err != nil {
					break
				}
			}
			if err == nil {
				_, err = g.state()
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}
