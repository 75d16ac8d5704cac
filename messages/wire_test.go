package messages

import (
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// messageNames returns the full names of every top-level message in the
// troupe.v1 package, from every generated file linked in.
func messageNames() []string {
	var names []string
	protoregistry.GlobalFiles.RangeFilesByPackage("troupe.v1", func(fd protoreflect.FileDescriptor) bool {
		msgs := fd.Messages()
		for i := range msgs.Len() {
			names = append(names, string(msgs.Get(i).FullName()))
		}
		return true
	})
	slices.Sort(names)
	return names
}

// TestMessageSetMatchesProtoVersion pins the message set that ProtoVersion
// names: a peer that lacks a type can crash on receiving it.
func TestMessageSetMatchesProtoVersion(t *testing.T) {
	const version = "troupe.v1/4"
	want := []string{
		"troupe.v1.ActorRef", "troupe.v1.Batch", "troupe.v1.BatchDone", "troupe.v1.Checkpoint", "troupe.v1.Credit", "troupe.v1.EpochEnd",
		"troupe.v1.EvalResult", "troupe.v1.Evaluate", "troupe.v1.GradPacket", "troupe.v1.Hello", "troupe.v1.JobSpec",
		"troupe.v1.LayerSpec", "troupe.v1.Metrics", "troupe.v1.ModelSpec", "troupe.v1.NamedTensor",
		"troupe.v1.Params", "troupe.v1.Plan", "troupe.v1.Presence", "troupe.v1.PullParams", "troupe.v1.PushGradients", "troupe.v1.Scores",
		"troupe.v1.Selection", "troupe.v1.Start", "troupe.v1.Stop", "troupe.v1.Tensor", "troupe.v1.Topology",
	}
	got := messageNames()
	if ProtoVersion != version || !slices.Equal(got, want) {
		t.Fatalf("ProtoVersion %q with messages\n%v\nbut the test pins %q with\n%v\n"+
			"when the set changes, bump ProtoVersion and update this test", ProtoVersion, got, version, want)
	}
}

// fill sets every field of m to a non-zero value (lists get two entries,
// enums their last value), so a round trip exercises each field's encoding.
func fill(m protoreflect.Message, depth int) {
	if depth > 4 {
		panic("fill: message nesting deeper than the schema has")
	}
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		switch {
		case fd.IsMap():
			panic("fill: maps are not used by this schema; teach fill about them")
		case fd.IsList():
			list := m.Mutable(fd).List()
			for k := range 2 {
				if fd.Message() != nil {
					e := list.NewElement()
					fill(e.Message(), depth+1)
					list.Append(e)
				} else {
					list.Append(scalar(fd, k))
				}
			}
		case fd.Message() != nil:
			fill(m.Mutable(fd).Message(), depth+1)
		default:
			m.Set(fd, scalar(fd, 0))
		}
	}
}

// scalar returns a non-zero value of fd's kind that differs per field and
// per list index k, with negative values for signed kinds.
func scalar(fd protoreflect.FieldDescriptor, k int) protoreflect.Value {
	n := int64(fd.Number())*10 + int64(k) + 1
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(true)
	case protoreflect.EnumKind:
		vals := fd.Enum().Values()
		return protoreflect.ValueOfEnum(vals.Get(vals.Len() - 1).Number())
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(int32(-n))
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(-n << 33)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(uint32(n))
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(uint64(n) << 33)
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32(float32(n) + 0.25)
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64(float64(n) + 1e-9)
	case protoreflect.StringKind:
		return protoreflect.ValueOfString("value-" + string(fd.Name()) + "-é")
	case protoreflect.BytesKind:
		return protoreflect.ValueOfBytes([]byte{0, byte(n), 0xff})
	}
	panic("fill: unhandled kind " + fd.Kind().String())
}

// TestEveryMessageRoundTrips marshals every message with all fields set and
// checks it decodes to an equal message with all fields still set.
func TestEveryMessageRoundTrips(t *testing.T) {
	for _, name := range messageNames() {
		mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(name))
		if err != nil {
			t.Fatalf("%s not registered: %v", name, err)
		}
		msg := mt.New()
		fill(msg, 0)
		raw, err := proto.Marshal(msg.Interface())
		if err != nil {
			t.Fatalf("%s: marshal: %v", name, err)
		}
		back := mt.New().Interface()
		if err := proto.Unmarshal(raw, back); err != nil {
			t.Fatalf("%s: unmarshal: %v", name, err)
		}
		if !proto.Equal(msg.Interface(), back) {
			t.Fatalf("%s: round trip changed the message:\n sent %v\n got  %v", name, msg, back)
		}
		fields := mt.Descriptor().Fields()
		for i := range fields.Len() {
			if fd := fields.Get(i); !back.ProtoReflect().Has(fd) {
				t.Errorf("%s.%s lost in the round trip", name, fd.Name())
			}
		}
	}
}

// TestZeroMessagesRoundTrip checks the other end: an empty message of each
// type encodes and decodes to an empty message.
func TestZeroMessagesRoundTrip(t *testing.T) {
	for _, name := range messageNames() {
		mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(name))
		if err != nil {
			t.Fatalf("%s not registered: %v", name, err)
		}
		raw, err := proto.Marshal(mt.New().Interface())
		if err != nil {
			t.Fatalf("%s: marshal: %v", name, err)
		}
		if len(raw) != 0 {
			t.Errorf("%s: empty message encodes to %d bytes, want 0", name, len(raw))
		}
	}
}
