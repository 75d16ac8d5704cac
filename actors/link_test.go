package actors

import (
	"io"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/messages"
)

// fakeContext is the part of an actor context a link reads on receipt.
type fakeContext struct {
	actor.Context
	msg    any
	sender *actor.PID
}

func (c fakeContext) Message() any       { return c.msg }
func (c fakeContext) Sender() *actor.PID { return c.sender }

// testLink returns a link whose failures are collected.
func testLink(limit int) (*link, *[]error) {
	var errs []error
	l := newLink("test", limit, slog.New(slog.NewTextHandler(io.Discard, nil)), func(err error) { errs = append(errs, err) })
	return l, &errs
}

// feed passes msgs from sender through l and returns what it delivered.
func feed(l *link, sender *actor.PID, msgs ...any) []any {
	var out []any
	for _, m := range msgs {
		if got, ok := l.receive(fakeContext{msg: m, sender: sender}); ok {
			out = append(out, got)
		}
	}
	return out
}

func randomFloats(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = rng.Float32()
	}
	return v
}

func bigParams(rng *rand.Rand) *messages.Params {
	return &messages.Params{Version: 7, Shard: 1, Params: []*messages.NamedTensor{
		{Name: "fc1.weight", Offset: 100, Tensor: messages.FromFloat32(randomFloats(rng, 1000), []int{1000})},
		{Name: "fc1.bias", Offset: 0, Tensor: messages.FromFloat32(randomFloats(rng, 3), []int{3})},
		{Name: "empty", Offset: 0, Tensor: messages.FromFloat32(nil, []int{0})},
		{Name: "fc2.weight", Offset: 0, Tensor: messages.FromFloat32(randomFloats(rng, 257), []int{257})},
	}}
}

// A message over the limit goes as a header and chunks of at most the
// limit, the sent message unchanged, and comes out of the receiving link
// equal to what was sent; two senders' chunks may interleave.
func TestCutAndAssemble(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const limit = 400 // bytes: 100 floats
	a, b := bigParams(rng), bigParams(rng)
	b.Shard = 2
	before := proto.Clone(a)
	ha, ca, err := cut(a, limit)
	if err != nil || ha == nil {
		t.Fatalf("cut: header %v, err %v", ha, err)
	}
	if !proto.Equal(a, before) {
		t.Fatal("cut changed the message it cut")
	}
	// 1000/100 + 1 + 0 + 3 chunks: the empty tensor stays in the header.
	if len(ca) != 14 {
		t.Fatalf("%d chunks, want 14", len(ca))
	}
	for _, c := range ca {
		if n := len(c.GetTensor().GetData()); n > limit {
			t.Fatalf("chunk of %d bytes over the limit %d", n, limit)
		}
	}
	if got := len(proto.Clone(ha.(proto.Message)).(*messages.Params).Params[0].Tensor.Data); got != 0 {
		t.Fatalf("header carries %d bytes of a tensor", got)
	}
	hb, cb, err := cut(b, limit)
	if err != nil {
		t.Fatal(err)
	}
	l, errs := testLink(limit)
	sa, sb := actor.NewPID("a:1", "ps/1"), actor.NewPID("b:1", "ps/2")
	if out := feed(l, sa, ha); len(out) != 0 {
		t.Fatal("a header was delivered before its chunks")
	}
	feed(l, sb, hb)
	var got []any
	for i := range max(len(ca), len(cb)) {
		if i < len(cb) {
			got = append(got, feed(l, sb, cb[i])...)
		}
		if i < len(ca) {
			got = append(got, feed(l, sa, ca[i])...)
		}
	}
	if len(*errs) > 0 {
		t.Fatal((*errs)[0])
	}
	if len(got) != 2 || !proto.Equal(got[0].(proto.Message), b) || !proto.Equal(got[1].(proto.Message), a) {
		t.Fatalf("delivered %d messages, not equal to those sent", len(got))
	}
	// A small message and a local one go whole.
	if h, _, _ := cut(&messages.Params{Params: a.Params[1:2]}, limit); h != nil {
		t.Error("a small message was cut")
	}
	if out := feed(l, sa, a); len(out) != 1 || out[0] != any(a) {
		t.Error("a whole message was not delivered as it is")
	}
}

func TestCutBatchAndGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	batch := &messages.Batch{Epoch: 2, Seq: 5, SampleIds: []int64{4, 9}, Labels: []int32{1, 2}, Worker: 1, LinkSeq: 8,
		Inputs: messages.FromFloat32(randomFloats(rng, 2*3*5*5), []int{2, 3, 5, 5}), MixLambda: []float32{0.5, 0.25}}
	push := &messages.PushGradients{Worker: 1, Step: 3, ParamVersion: 2, Shard: 0, Samples: 32,
		Grads: []*messages.NamedTensor{{Name: "w", Offset: 5, Tensor: messages.FromFloat32(randomFloats(rng, 300), []int{300})}}}
	for _, m := range []proto.Message{batch, push} {
		h, chunks, err := cut(m, 64)
		if err != nil || h == nil {
			t.Fatalf("%T: header %v, err %v", m, h, err)
		}
		l, errs := testLink(64)
		got := feed(l, actor.NewPID("x:1", "w"), append([]any{h}, toAny(chunks)...)...)
		if len(*errs) > 0 || len(got) != 1 || !proto.Equal(got[0].(proto.Message), m) {
			t.Fatalf("%T: errors %v, %d delivered", m, *errs, len(got))
		}
	}
}

func toAny(cs []*messages.NamedTensor) []any {
	out := make([]any, len(cs))
	for i, c := range cs {
		out[i] = c
	}
	return out
}

// Input the chunk protocol forbids is rejected: never delivered, and the
// run fails with an error naming the sender.
func TestLinkRejects(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	p := bigParams(rng)
	h, chunks, _ := cut(p, 400)
	from := actor.NewPID("peer:7", "worker/3")
	wrongName := proto.Clone(chunks[0]).(*messages.NamedTensor)
	wrongName.Name = "other"
	outside := proto.Clone(chunks[0]).(*messages.NamedTensor)
	outside.Offset = 950
	huge := &messages.Params{Params: []*messages.NamedTensor{{Name: "w", Tensor: &messages.Tensor{Dtype: messages.DType_F32, Shape: []int64{1 << 40}}}}}
	int8 := &messages.Params{Params: []*messages.NamedTensor{{Name: "w", Tensor: &messages.Tensor{Dtype: messages.DType_I8, Shape: []int64{4}}}}}
	for name, msgs := range map[string][]any{
		"chunk without header":   {chunks[0]},
		"other message midway":   {h, chunks[0], &messages.Credit{}},
		"chunk of another name":  {h, wrongName},
		"chunk outside a tensor": {h, outside},
		"overlapping chunk":      {h, chunks[0], chunks[0]},
		"huge placeholder":       {huge},
		"int8 placeholder":       {int8},
	} {
		l, errs := testLink(400)
		if got := feed(l, from, msgs...); len(got) != 0 {
			t.Errorf("%s: delivered %v", name, got)
		}
		if len(*errs) != 1 || !strings.Contains((*errs)[0].Error(), "peer:7/worker/3") {
			t.Errorf("%s: errors %v, want one naming the sender", name, *errs)
		}
	}
}

// shallowCopy carries every field: a field added to a message later must
// not be lost on the chunked path.
func TestShallowCopyKeepsEveryField(t *testing.T) {
	for _, m := range []proto.Message{&messages.Batch{}, &messages.Params{}, &messages.PushGradients{}, &messages.NamedTensor{}} {
		fillAll(m.ProtoReflect())
		c := shallowCopy(m)
		if !proto.Equal(c, m) {
			t.Errorf("%T: the copy differs", m)
		}
	}
}

// fillAll sets every scalar field and list of m to a non-zero value and
// every message field to a filled message.
func fillAll(m protoreflect.Message) {
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		switch {
		case fd.IsList() && fd.Message() != nil:
			fillAll(m.Mutable(fd).List().AppendMutable().Message())
		case fd.IsList():
			m.Mutable(fd).List().Append(nonZero(fd))
		case fd.Message() != nil:
			fillAll(m.Mutable(fd).Message())
		default:
			m.Set(fd, nonZero(fd))
		}
	}
}

func nonZero(fd protoreflect.FieldDescriptor) protoreflect.Value {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(true)
	case protoreflect.EnumKind:
		return protoreflect.ValueOfEnum(1)
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(3)
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(3)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(3)
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(3)
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32(0.5)
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64(0.5)
	case protoreflect.StringKind:
		return protoreflect.ValueOfString("x")
	case protoreflect.BytesKind:
		return protoreflect.ValueOfBytes([]byte{1, 2, 3, 4})
	}
	panic("nonZero: kind " + fd.Kind().String())
}

// The topology survives its message: every actor of a run, whatever the
// pipeline has (a field added to topology must be added to refs and
// topologyFrom, or this fails).
func TestTopologyRoundTrip(t *testing.T) {
	job := tinyJob(1)
	job.Workers, job.PSShards, job.Augment, job.Augmenters = 3, 2, "noise", 2
	job.Select = spec.SelectiveBackprop
	cfg, err := ConfigFromJob(job)
	if err != nil {
		t.Fatal(err)
	}
	p, err := newPlan(cfg, synth(64, 1), synth(10, 2))
	if err != nil {
		t.Fatal(err)
	}
	sys := quietSystem()
	defer sys.Shutdown()
	want := newTopology(sys, p)
	want.workers[1] = actor.NewPID("node:1", "activator/Remote$job/worker/1")
	checkAllSet(t, reflect.ValueOf(*want), "topology")
	m := &messages.Topology{Actors: want.refs()}
	got, err := topologyFrom(p, proto.Clone(m).(*messages.Topology))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("topology after the round trip\n%+v\nwant\n%+v", got, want)
	}
	for name, bad := range map[string]func(*messages.Topology){
		"missing worker": func(m *messages.Topology) { m.Actors = m.Actors[:len(m.Actors)-1] },
		"extra actor": func(m *messages.Topology) {
			m.Actors = append(m.Actors, &messages.ActorRef{Name: "ps/9", Address: "a", Id: "b"})
		},
		"twice":      func(m *messages.Topology) { m.Actors = append(m.Actors, m.Actors[0]) },
		"no address": func(m *messages.Topology) { m.Actors[0].Address = "" },
	} {
		c := proto.Clone(m).(*messages.Topology)
		bad(c)
		if _, err := topologyFrom(p, c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// checkAllSet fails when a PID field or list of v is empty, so that the
// round trip above covers every field.
func checkAllSet(t *testing.T, v reflect.Value, path string) {
	t.Helper()
	for i := range v.NumField() {
		f := v.Field(i)
		if f.IsZero() || (f.Kind() == reflect.Slice && f.Len() == 0) {
			t.Fatalf("%s.%s is empty in the test's topology: give the test a job that has it", path, v.Type().Field(i).Name)
		}
	}
}

// FuzzLinkReceive feeds a link a header with an arbitrary placeholder
// followed by arbitrary chunks: it never panics, delivers only whole
// messages whose tensors are valid, and anything else is rejected or
// waits.
func FuzzLinkReceive(f *testing.F) {
	f.Add(int64(10), "w", "w", uint64(0), 6, "w", uint64(6), 4)
	f.Add(int64(-1), "w", "w", uint64(0), 1, "v", uint64(1), 1)
	f.Add(int64(1<<62), "w", "x", uint64(3), 2, "w", uint64(0), 3)
	f.Fuzz(func(t *testing.T, n int64, name, c1 string, o1 uint64, n1 int, c2 string, o2 uint64, n2 int) {
		if n1 < 0 || n1 > 64 || n2 < 0 || n2 > 64 {
			return
		}
		if n > 4096 && n <= maxAssembled/4 {
			return // an allocation that slows the fuzzer and proves nothing more
		}
		header := &messages.PushGradients{Grads: []*messages.NamedTensor{{Name: name, Tensor: &messages.Tensor{Dtype: messages.DType_F32, Shape: []int64{n}}}}}
		chunk := func(name string, off uint64, k int) *messages.NamedTensor {
			return &messages.NamedTensor{Name: name, Offset: off, Tensor: messages.FromFloat32(make([]float32, k), []int{k})}
		}
		l, errs := testLink(64)
		for _, m := range feed(l, nil, header, chunk(c1, o1, n1), chunk(c2, o2, n2)) {
			pg, ok := m.(*messages.PushGradients)
			if !ok {
				t.Fatalf("delivered a %T", m)
			}
			for _, g := range pg.GetGrads() {
				if err := g.GetTensor().Validate(); err != nil {
					t.Fatalf("delivered an invalid tensor: %v", err)
				}
			}
		}
		for _, err := range *errs {
			if !strings.Contains(err.Error(), "rejected") {
				t.Fatalf("error %v does not say it rejected", err)
			}
		}
	})
}
