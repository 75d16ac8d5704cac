package messages

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/troupe-ml/troupe/engine/compress"
)

// TestPacketRoundTrip encodes a gradient in every compressed mode, sends the
// packet through the wire format, and wants the packet back unchanged.
func TestPacketRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	g := make([]float32, 1000)
	for i := range g {
		g[i] = float32(rng.NormFloat64())
	}
	for _, mode := range []string{"fp16", "bf16", "int8", "topk:0.05"} {
		m, err := compress.Parse(mode)
		if err != nil {
			t.Fatal(err)
		}
		enc, err := compress.NewEncoder(m, len(g), 7)
		if err != nil {
			t.Fatal(err)
		}
		var p compress.Packet
		if err := enc.Encode(g, &p); err != nil {
			t.Fatal(err)
		}
		gp := &GradPacket{Name: "w", Offset: 3}
		gp.SetPacket(&p)
		if got, want := len(gp.Data)+len(gp.Scales)+len(gp.Indices), p.WireBytes(); got != want {
			t.Errorf("%s: %d payload bytes, the packet says %d", mode, got, want)
		}
		raw, err := proto.Marshal(&PushGradients{Compression: CompressionOf(m.Kind), Packets: []*GradPacket{gp}})
		if err != nil {
			t.Fatal(err)
		}
		var back PushGradients
		if err := proto.Unmarshal(raw, &back); err != nil {
			t.Fatal(err)
		}
		kind, err := back.GetCompression().Kind()
		if err != nil || kind != m.Kind {
			t.Fatalf("%s: compression %v (%v), want %v", mode, kind, err, m.Kind)
		}
		var q compress.Packet
		if err := back.GetPackets()[0].Packet(kind, &q); err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		if !reflect.DeepEqual(q, p) {
			t.Errorf("%s: packet changed on the wire:\n got  %+v\n want %+v", mode, q, p)
		}
	}
}

func TestPacketRejectsLayout(t *testing.T) {
	for _, c := range []struct {
		name string
		kind compress.Kind
		g    *GradPacket
		want string
	}{
		{"odd halves", compress.FP16, &GradPacket{Name: "b", N: 1, Data: []byte{1, 2, 3}}, `data holds 3 bytes`},
		{"short values", compress.TopK, &GradPacket{Name: "b", N: 9, Data: []byte{1, 2}}, `data holds 2 bytes`},
		{"short scales", compress.Int8, &GradPacket{Name: "b", N: 1, Data: []byte{1}, Scales: []byte{1}}, `scales holds 1 bytes`},
		{"short indices", compress.TopK, &GradPacket{Name: "b", N: 9, Indices: []byte{1}}, `indices holds 1 bytes`},
		{"huge", compress.Int8, &GradPacket{Name: "b", N: 1 << 40}, `announces 1099511627776 values`},
		{"none", compress.None, &GradPacket{Name: "b"}, `none has no packet form`},
	} {
		var p compress.Packet
		err := c.g.Packet(c.kind, &p)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `"b"`) {
			t.Errorf("%s: error %v, want one naming the packet and containing %q", c.name, err, c.want)
		}
	}
	if _, err := Compression(9).Kind(); err == nil {
		t.Error("unknown compression 9: no error")
	}
}

// FuzzGradPacket feeds arbitrary packets through the reader and the
// decoder: neither may panic, and a packet both accept must encode back to
// the same bytes.
func FuzzGradPacket(f *testing.F) {
	f.Add(uint8(1), uint64(2), []byte{0, 60, 0, 188}, []byte{}, []byte{})
	f.Add(uint8(3), uint64(3), []byte{1, 255, 127}, []byte{0, 0, 128, 63}, []byte{})
	f.Add(uint8(4), uint64(10), []byte{0, 0, 128, 63}, []byte{}, []byte{7, 0, 0, 0})
	f.Add(uint8(4), uint64(10), []byte{0, 0, 128, 63}, []byte{}, []byte{70, 0, 0, 0})
	f.Fuzz(func(t *testing.T, kind uint8, n uint64, data, scales, indices []byte) {
		k, err := Compression(kind % 6).Kind()
		if err != nil {
			return
		}
		g := &GradPacket{Name: "x", N: n, Data: data, Scales: scales, Indices: indices}
		var p compress.Packet
		if g.Packet(k, &p) != nil || n > 1<<16 {
			return
		}
		out := make([]float32, n)
		if compress.Decode(&p, out) != nil {
			return
		}
		back := &GradPacket{Name: "x"}
		back.SetPacket(&p)
		if back.GetN() != n || string(back.GetData()) != string(data) || string(back.GetScales()) != string(scales) || string(back.GetIndices()) != string(indices) {
			t.Fatalf("accepted packet %+v encodes back as %+v", g, back)
		}
	})
}
