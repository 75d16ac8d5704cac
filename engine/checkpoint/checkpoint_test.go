package checkpoint

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// sameTensors compares by bit pattern so NaN payloads and -0 count.
func sameTensors(t *testing.T, got, want []Tensor) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d tensors, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Name != w.Name || len(g.Shape) != len(w.Shape) || len(g.Data) != len(w.Data) {
			t.Fatalf("tensor %d: got %q %v (%d values), want %q %v (%d values)", i, g.Name, g.Shape, len(g.Data), w.Name, w.Shape, len(w.Data))
		}
		for j := range w.Shape {
			if g.Shape[j] != w.Shape[j] {
				t.Fatalf("tensor %q: shape %v, want %v", w.Name, g.Shape, w.Shape)
			}
		}
		for j := range w.Data {
			if math.Float32bits(g.Data[j]) != math.Float32bits(w.Data[j]) {
				t.Fatalf("tensor %q: value %d is %v, want %v", w.Name, j, g.Data[j], w.Data[j])
			}
		}
	}
}

func sampleTensors() []Tensor {
	big := make([]float32, 3*chunkElems+5) // spans several conversion chunks
	for i := range big {
		big[i] = float32(i) * 0.25
	}
	return []Tensor{
		{Name: "layers.0.weight", Shape: []int{3, 2}, Data: []float32{1, -2, 3.5, 0, float32(math.Inf(-1)), math.Float32frombits(0x7fc00001)}},
		{Name: "layers.0.bias", Shape: []int{3}, Data: []float32{float32(math.Copysign(0, -1)), 1e-30, math.MaxFloat32}},
		{Name: "step", Shape: []int{}, Data: []float32{42}},
		{Name: "empty", Shape: []int{0, 7}, Data: []float32{}},
		{Name: "big<&>", Shape: []int{len(big)}, Data: big},
	}
}

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "model.safetensors")
	meta := map[string]string{"format": "pt", "epoch": "3", "note": "ünïcode \"quoted\""}
	want := sampleTensors()
	if err := Write(path, want, meta); err != nil {
		t.Fatal(err)
	}
	got, gotMeta, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	sameTensors(t, got, want)
	if !reflect.DeepEqual(gotMeta, meta) {
		t.Errorf("meta = %v, want %v", gotMeta, meta)
	}

	// Without metadata there is no __metadata__ entry and Read reports nil.
	if err := Write(path, want[:1], nil); err != nil {
		t.Fatal(err)
	}
	got, gotMeta, err = Read(path)
	if err != nil || gotMeta != nil {
		t.Fatalf("Read = meta %v, err %v; want nil, nil", gotMeta, err)
	}
	sameTensors(t, got, want[:1])
}

func TestEncodeIsDeterministic(t *testing.T) {
	meta := map[string]string{"b": "2", "a": "1", "c": "3"}
	var first bytes.Buffer
	if err := Encode(&first, sampleTensors(), meta); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		var again bytes.Buffer
		if err := Encode(&again, sampleTensors(), meta); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first.Bytes(), again.Bytes()) {
			t.Fatal("two encodings of the same input differ")
		}
	}
}

// TestExactBytes pins the byte layout against a file assembled by hand from
// the format description.
func TestExactBytes(t *testing.T) {
	// The checksum is the CRC-32C of the 12 data bytes below, computed
	// apart from this package.
	header := `{"__metadata__":{"format":"pt","troupe.checksum":"crc32c:86739cf2"},` +
		`"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},` +
		`"b":{"dtype":"F32","shape":[],"data_offsets":[8,12]}}`
	// 174 bytes of JSON, padded with 2 spaces to 176 so data is 8-aligned.
	if len(header) != 174 {
		t.Fatalf("test header is %d bytes; recount the padding", len(header))
	}
	want := []byte{176, 0, 0, 0, 0, 0, 0, 0}
	want = append(want, header+"  "...)
	want = append(want,
		0x00, 0x00, 0x80, 0x3f, // 1.0
		0x00, 0x00, 0x00, 0xc0, // -2.0
		0x00, 0x00, 0x00, 0x3f, // 0.5
	)

	var got bytes.Buffer
	err := Encode(&got, []Tensor{{Name: "a", Shape: []int{2}, Data: []float32{1, -2}}, {Name: "b", Data: []float32{0.5}}}, map[string]string{"format": "pt"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("Encode wrote\n%q\nwant\n%q", got.Bytes(), want)
	}

	tensors, meta, err := Decode(bytes.NewReader(want), int64(len(want)), "hand.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	sameTensors(t, tensors, []Tensor{{Name: "a", Shape: []int{2}, Data: []float32{1, -2}}, {Name: "b", Shape: []int{}, Data: []float32{0.5}}})
	if meta["format"] != "pt" || len(meta) != 1 {
		t.Errorf("meta = %v, want map[format:pt]", meta)
	}
}

// file assembles a safetensors image from a header and data, padding the
// header with spaces to 8 bytes when pad is set.
func file(header string, data []byte, pad bool) []byte {
	for pad && len(header)%8 != 0 {
		header += " "
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	out = append(out, header...)
	return append(out, data...)
}

func f32s(vals ...float32) []byte {
	out := make([]byte, 4*len(vals))
	encodeF32(out, vals)
	return out
}

func TestDecodeAcceptsValidVariants(t *testing.T) {
	cases := map[string][]byte{
		"unpadded header":         file(`{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f32s(7), false),
		"header order != data":    file(`{"y":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f32s(7, 8), true),
		"no tensors":              file(`{}`, nil, true),
		"empty metadata":          file(`{"__metadata__":{},"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f32s(7), true),
		"extra entry field":       file(`{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"note":1}}`, f32s(7), true),
		"zero-size at same place": file(`{"e":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f32s(7), true),
	}
	for name, img := range cases {
		if _, _, err := Decode(bytes.NewReader(img), int64(len(img)), "ok.safetensors"); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Tensors come back in data order.
	img := cases["header order != data"]
	ts, _, _ := Decode(bytes.NewReader(img), int64(len(img)), "ok.safetensors")
	if len(ts) != 2 || ts[0].Name != "x" || ts[1].Name != "y" || ts[1].Data[0] != 8 {
		t.Errorf("got %+v, want x=[7] then y=[8]", ts)
	}
}

func TestDecodeRejectsCorruption(t *testing.T) {
	one := `{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`
	cases := []struct {
		name string
		img  []byte
		want string // whole error
	}{
		{"short", []byte{1, 2, 3}, "m.st: too short for a safetensors file: 3 bytes, need at least 8"},
		{"header past end", append(binary.LittleEndian.AppendUint64(nil, 1000), "{}"...), "m.st: truncated: header length 1000 exceeds the 2 bytes after the length prefix"},
		{"huge header length", binary.LittleEndian.AppendUint64(nil, math.MaxUint64), "m.st: truncated: header length 18446744073709551615 exceeds the 0 bytes after the length prefix"},
		{"not an object", file(`[1]`, nil, true), "m.st: header does not start with '{'"},
		{"bad json", file(`{"x":`, nil, true), `m.st: tensor "x": invalid header entry: unexpected EOF`},
		{"bad utf8", file("{\"\xff\":1}", nil, true), "m.st: header is not valid UTF-8"},
		{"garbage after", file(`{} x`, nil, true), "m.st: header: data after the JSON object (only space padding is allowed)"},
		{"unknown dtype", file(`{"x":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}`, f32s(1), true), `m.st: tensor "x": unknown dtype "F33"`},
		{"unsupported dtype", file(`{"w":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}`, f32s(1), true), `m.st: tensor "w": dtype BF16 is not supported (supported: F32)`},
		{"shape mismatch", file(`{"layers.0.weight":{"dtype":"F32","shape":[300,784],"data_offsets":[0,100]}}`, make([]byte, 100), true),
			`m.st: tensor "layers.0.weight": data_offsets [0,100] do not match shape [300 784] (940800 bytes)`},
		{"negative dim", file(`{"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, f32s(1), true), `m.st: tensor "x": shape [-1] has a negative dimension or too many elements`},
		{"overflowing shape", file(`{"x":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}`, f32s(1), true), `m.st: tensor "x": shape [4294967296 4294967296] has a negative dimension or too many elements`},
		{"shape too big for offsets", file(`{"x":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,4]}}`, f32s(1), true),
			`m.st: tensor "x": data_offsets [0,4] do not match shape [4611686018427387904] (4611686018427387904×4 bytes)`},
		{"three offsets", file(`{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}`, f32s(1), true), `m.st: tensor "x": data_offsets [0 4 8]: want [begin, end]`},
		{"reversed offsets", file(`{"x":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}`, f32s(1), true), `m.st: tensor "x": data_offsets [4,0]: want 0 ≤ begin ≤ end`},
		{"negative offset", file(`{"x":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}`, f32s(1), true), `m.st: tensor "x": data_offsets [-4,0]: want 0 ≤ begin ≤ end`},
		{"missing dtype", file(`{"x":{"shape":[1],"data_offsets":[0,4]}}`, f32s(1), true), `m.st: tensor "x": header entry has no dtype`},
		{"missing shape", file(`{"x":{"dtype":"F32","data_offsets":[0,4]}}`, f32s(1), true), `m.st: tensor "x": header entry has no shape`},
		{"missing offsets", file(`{"x":{"dtype":"F32","shape":[1]}}`, f32s(1), true), `m.st: tensor "x": header entry has no data_offsets`},
		{"null entry", file(`{"x":null}`, nil, true), `m.st: tensor "x": header entry has no dtype`},
		{"wrong entry type", file(`{"x":{"dtype":"F32","shape":"1","data_offsets":[0,4]}}`, f32s(1), true),
			`m.st: tensor "x": invalid header entry: json: cannot unmarshal string into Go struct field rawEntry.shape of type []int64`},
		{"empty name", file(`{"":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f32s(1), true), `m.st: tensor "": empty tensor name`},
		{"duplicate name", file(`{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f32s(1, 2), true),
			`m.st: tensor "x": name appears twice in the header`},
		{"duplicate metadata", file(`{"__metadata__":{},"__metadata__":{}}`, nil, true), `m.st: header: __metadata__ appears twice`},
		{"bad metadata", file(`{"__metadata__":{"epoch":3}}`, nil, true),
			`m.st: header: __metadata__ must map strings to strings: json: cannot unmarshal number into Go value of type string`},
		{"gap at start", file(`{"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f32s(1, 2), true),
			`m.st: tensor "x": data_offsets [4,8] leave a gap: bytes 0 to 4 belong to no tensor`},
		{"gap between", file(`{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"y":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`, f32s(1, 2, 3), true),
			`m.st: tensor "y": data_offsets [8,12] leave a gap: bytes 4 to 8 belong to no tensor`},
		{"overlap", file(`{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f32s(1, 2), true),
			`m.st: tensor "y": data_offsets [4,8] overlap tensor "x"`},
		{"truncated data", file(`{"x":{"dtype":"F32","shape":[300],"data_offsets":[0,1200]}}`, make([]byte, 100), true),
			`m.st: truncated: header says 1200 bytes of data, file has 100`},
		{"trailing data", file(one, f32s(1, 2), true), `m.st: 4 bytes after the last tensor's data (header says 4 bytes of data, file has 8)`},
	}
	for _, c := range cases {
		_, _, err := Decode(bytes.NewReader(c.img), int64(len(c.img)), "m.st")
		if err == nil || err.Error() != c.want {
			t.Errorf("%s:\n got  %v\n want %s", c.name, err, c.want)
		}
	}
}

// claimReader serves a fixed prefix and fails any read beyond it, standing
// in for a huge file whose header must be rejected before it is read.
type claimReader struct{ prefix []byte }

func (r claimReader) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > int64(len(r.prefix)) {
		return 0, errors.New("read past the prefix: the decoder read before validating")
	}
	return copy(p, r.prefix[off:]), nil
}

func TestDecodeRejectsHeaderOverLimitWithoutReading(t *testing.T) {
	r := claimReader{binary.LittleEndian.AppendUint64(nil, maxHeaderSize+1)}
	_, _, err := Decode(r, 1<<40, "huge.st")
	if want := "huge.st: header length 100000001 exceeds the 100000000-byte limit"; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}

func TestDecodeReportsReadErrors(t *testing.T) {
	img := file(`{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f32s(1), true)
	r := claimReader{img[:len(img)-2]} // the size claims two more bytes than can be read
	_, _, err := Decode(r, int64(len(img)), "flaky.st")
	if err == nil || !strings.HasPrefix(err.Error(), `flaky.st: tensor "x": reading data: `) {
		t.Errorf("err = %v, want a read error naming the tensor", err)
	}
}

func TestEncodeRejectsBadTensors(t *testing.T) {
	cases := []struct {
		tensors []Tensor
		meta    map[string]string
		want    string
	}{
		{[]Tensor{{Name: "w", Shape: []int{2, 3}, Data: make([]float32, 5)}}, nil, `tensor "w": shape [2 3] needs 6 values, data has 5`},
		{[]Tensor{{Name: "w", Shape: []int{-1}}}, nil, `tensor "w": shape [-1] has a negative dimension or too many elements`},
		{[]Tensor{{Name: "", Data: []float32{1}}}, nil, `tensor 0: empty name`},
		{[]Tensor{{Name: "__metadata__", Data: []float32{1}}}, nil, `tensor 0: name "__metadata__" is reserved for metadata`},
		{[]Tensor{{Name: "a\xff", Data: []float32{1}}}, nil, `tensor 0: name "a\xff" is not valid UTF-8`},
		{[]Tensor{{Name: "a", Data: []float32{1}}, {Name: "a", Data: []float32{2}}}, nil, `tensor "a": name used twice`},
		{nil, map[string]string{"k": "\xff"}, `metadata "k": key and value must be valid UTF-8`},
	}
	for _, c := range cases {
		var buf bytes.Buffer
		err := Encode(&buf, c.tensors, c.meta)
		if err == nil || err.Error() != c.want {
			t.Errorf("Encode error = %v, want %q", err, c.want)
		}
		if buf.Len() != 0 {
			t.Errorf("Encode wrote %d bytes before failing", buf.Len())
		}
	}
}

type failWriter struct{ after int }

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) > w.after {
		return 0, io.ErrShortWrite
	}
	w.after -= len(p)
	return len(p), nil
}

func TestEncodeReportsWriteErrors(t *testing.T) {
	err := Encode(&failWriter{after: 100}, sampleTensors(), nil)
	if !errors.Is(err, io.ErrShortWrite) {
		t.Errorf("Encode = %v, want the writer's error", err)
	}
}

func TestTensorLen(t *testing.T) {
	cases := []struct {
		shape []int
		want  int
	}{
		{nil, 1}, {[]int{}, 1}, {[]int{5}, 5}, {[]int{2, 3, 4}, 24}, {[]int{3, 0}, 0},
		{[]int{-1}, -1}, {[]int{math.MaxInt, 2}, -1}, {[]int{math.MaxInt, 2, 0}, 0},
	}
	for _, c := range cases {
		if got := (Tensor{Shape: c.shape}).Len(); got != c.want {
			t.Errorf("Len(%v) = %d, want %d", c.shape, got, c.want)
		}
	}
}

// listDir returns the names in dir, to catch leftover temporary files.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteReplacesAndCleansUp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	if err := Write(path, sampleTensors()[:1], nil); err != nil {
		t.Fatal(err)
	}
	second := []Tensor{{Name: "other", Shape: []int{2}, Data: []float32{9, 8}}}
	if err := Write(path, second, nil); err != nil {
		t.Fatal(err)
	}
	got, _, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	sameTensors(t, got, second)
	if names := listDir(t, dir); !reflect.DeepEqual(names, []string{"m.safetensors"}) {
		t.Errorf("directory holds %v, want only the checkpoint", names)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("mode = %v, %v; want 0644", st.Mode().Perm(), err)
	}
}

func TestFailedWriteLeavesPreviousFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	if err := Write(path, sampleTensors(), map[string]string{"v": "1"}); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	bad := []Tensor{{Name: "w", Shape: []int{300, 784}, Data: make([]float32, 10)}}
	err = Write(path, bad, nil)
	if want := path + `: tensor "w": shape [300 784] needs 235200 values, data has 10`; err == nil || err.Error() != "checkpoint "+want {
		t.Errorf("Write(bad) = %v, want %q", err, "checkpoint "+want)
	}
	after, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(before, after) {
		t.Error("a failed Write changed the existing file")
	}
	if names := listDir(t, dir); !reflect.DeepEqual(names, []string{"m.safetensors"}) {
		t.Errorf("directory holds %v after a failed Write, want only the checkpoint", names)
	}

	// A target that cannot be replaced fails at the rename; the temp file goes.
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sub, "keep"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(sub, sampleTensors(), nil); err == nil {
		t.Error("Write over a non-empty directory succeeded")
	}
	if names := listDir(t, dir); !reflect.DeepEqual(names, []string{"m.safetensors", "sub"}) {
		t.Errorf("directory holds %v after a failed rename, want no temp file", names)
	}
}

func TestWriteIntoMissingOrReadOnlyDir(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope", "m.safetensors")
	if err := Write(missing, sampleTensors(), nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Write into a missing dir = %v, want os.ErrNotExist", err)
	}

	if os.Geteuid() == 0 {
		t.Skip("root ignores directory permissions")
	}
	ro := filepath.Join(dir, "ro")
	if err := os.Mkdir(ro, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(ro, "m.safetensors")
	if err := Write(path, sampleTensors()[:1], nil); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	if err := os.Chmod(ro, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(ro, 0o755) })
	if err := Write(path, sampleTensors(), nil); !errors.Is(err, os.ErrPermission) {
		t.Errorf("Write into a read-only dir = %v, want os.ErrPermission", err)
	}
	after, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(before, after) {
		t.Error("a failed Write changed the existing file")
	}
}

func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := Read(filepath.Join(dir, "missing.safetensors")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Read(missing) = %v, want os.ErrNotExist", err)
	}
	if _, _, err := Read(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("Read(dir) = %v, want a not-a-regular-file error", err)
	}
	path := filepath.Join(dir, "model.safetensors")
	if err := os.WriteFile(path, file(`{"x":{"dtype":"F32","shape":[300],"data_offsets":[0,1200]}}`, make([]byte, 100), true), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := Read(path)
	if want := path + ": truncated: header says 1200 bytes of data, file has 100"; err == nil || err.Error() != want {
		t.Errorf("Read = %v, want %q", err, want)
	}
}
