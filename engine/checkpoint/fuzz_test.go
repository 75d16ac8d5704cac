package checkpoint

import (
	"bytes"
	"testing"
)

// FuzzDecode checks that Decode never panics on arbitrary bytes, and that
// whatever it accepts is self-consistent and survives Encode then Decode.
func FuzzDecode(f *testing.F) {
	var valid bytes.Buffer
	if err := Encode(&valid, []Tensor{{Name: "a", Shape: []int{2}, Data: []float32{1, -2}}, {Name: "b", Data: []float32{0.5}}}, map[string]string{"k": "v"}); err != nil {
		f.Fatal(err)
	}
	f.Add(valid.Bytes())
	f.Add(file(`{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f32s(7), false))
	f.Add(file(`{"e":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f32s(7), true))
	f.Add(file(`{"w":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}`, f32s(1), true))
	f.Add(file(`{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f32s(1, 2), true))
	f.Add(file(`{}`, nil, true))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, img []byte) {
		ts, meta, err := Decode(bytes.NewReader(img), int64(len(img)), "fuzz.st")
		if err != nil {
			return
		}
		for _, tn := range ts {
			if tn.Len() != len(tn.Data) {
				t.Fatalf("tensor %q: shape %v but %d values", tn.Name, tn.Shape, len(tn.Data))
			}
		}
		var again bytes.Buffer
		if err := Encode(&again, ts, meta); err != nil {
			t.Fatalf("re-encoding a decoded file: %v", err)
		}
		ts2, _, err := Decode(bytes.NewReader(again.Bytes()), int64(again.Len()), "again.st")
		if err != nil {
			t.Fatalf("decoding a re-encoded file: %v", err)
		}
		sameTensors(t, ts2, ts)
	})
}
