package data

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

func TestDecodeIDXValid(t *testing.T) {
	payload := seq(3 * 4 * 5)
	raw := idxBytes(0x08, []uint32{3, 4, 5}, payload)
	gz := gzipBytes(t, raw)
	for _, tc := range []struct {
		name string
		r    io.Reader
		size int64
	}{
		{"raw seekable", bytes.NewReader(raw), -1},
		{"raw stream sized", streamOnly{bytes.NewReader(raw)}, int64(len(raw))},
		{"raw stream unsized", streamOnly{bytes.NewReader(raw)}, -1},
		{"gzip seekable", bytes.NewReader(gz), -1},
		{"gzip stream", streamOnly{bytes.NewReader(gz)}, int64(len(gz))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := DecodeIDX(tc.r, tc.size, "x")
			if err != nil {
				t.Fatalf("DecodeIDX: %v", err)
			}
			if m.Type != 0x08 || !slices.Equal(m.Dims, []int{3, 4, 5}) || !bytes.Equal(m.Data, payload) {
				t.Fatalf("got type %#x dims %v data %v..., want 0x08 [3 4 5] %v...", m.Type, m.Dims, m.Data[:4], payload[:4])
			}
		})
	}
}

func TestReadIDXDetectsGzipByContent(t *testing.T) {
	dir := t.TempDir()
	raw := idxBytes(0x08, []uint32{7}, seq(7))
	// Names that lie about the compression: detection must go by the bytes.
	for name, b := range map[string][]byte{"raw.gz": raw, "compressed": gzipBytes(t, raw)} {
		m, err := ReadIDX(writeFile(t, dir, name, b))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(m.Data, seq(7)) {
			t.Fatalf("%s: data %v, want %v", name, m.Data, seq(7))
		}
	}
	if _, err := ReadIDX(dir + "/absent"); err == nil || errors.Is(err, ErrFormat) {
		t.Fatalf("missing file: got %v, want a non-format error", err)
	}
}

func TestDecodeIDXErrors(t *testing.T) {
	good := idxBytes(0x08, []uint32{10, 28, 28}, seq(10*28*28))
	short := idxBytes(0x08, []uint32{10, 28, 28}, seq(100))
	gzShort := gzipBytes(t, short)
	forged := slices.Clone(gzShort) // ISIZE claims the full size
	binary.LittleEndian.PutUint32(forged[len(forged)-4:], uint32(len(good)))
	badCRC := gzipBytes(t, good)
	badCRC[len(badCRC)-8] ^= 0xff
	twoMembers := append(gzipBytes(t, good), gzipBytes(t, []byte{1})...)

	cases := []struct {
		name   string
		in     []byte
		stream bool
		want   string
	}{
		{"empty", nil, false, "file holds 0 bytes, too few"},
		{"three bytes", []byte{0, 0, 8}, false, "file holds 3 bytes, too few"},
		{"wrong magic", []byte{1, 2, 8, 1, 0, 0, 0, 1, 0}, false, "wrong magic 0x01020801"},
		{"float type", idxBytes(0x0D, []uint32{1}, make([]byte, 4)), false, "element type 0x0d (float32) not supported"},
		{"rank 0", idxBytes(0x08, nil, nil), false, "rank 0 out of range 1..4"},
		{"rank 5", idxBytes(0x08, []uint32{1, 1, 1, 1, 1}, []byte{0}), false, "rank 5 out of range 1..4"},
		{"truncated header", good[:9], false, "truncated header: rank 3 needs 16 header bytes, the file holds 9"},
		{"zero dimension", idxBytes(0x08, []uint32{3, 0}, nil), false, "dimension 1 is 0"},
		{"over the limit", idxBytes(0x08, []uint32{1<<31 - 1, 28, 28}, nil), false, "header claims 2147483647×28×28 bytes, more than the limit"},
		{"raw short", short, false, "header claims 10×28×28 bytes but the file holds 100"},
		{"raw short stream", short, true, "header claims 10×28×28 bytes but the file holds 100"},
		{"raw trailing", append(slices.Clone(good), 1, 2, 3), false, "3 trailing bytes after the 10×28×28 bytes of data"},
		{"raw trailing stream", append(slices.Clone(good), 1, 2, 3), true, "trailing bytes after the 10×28×28 bytes of data"},
		{"gzip short", gzShort, false, "header claims 10×28×28 bytes but the file holds 100 (gzip trailer)"},
		{"gzip short stream", gzShort, true, "header claims 10×28×28 bytes but the file holds 100"},
		{"gzip forged trailer", forged, false, "corrupt gzip data after 100 of the 10×28×28 bytes the header claims"},
		{"gzip truncated", gzipBytes(t, good)[:200], true, "header claims 10×28×28 bytes but the file holds"},
		{"gzip trailing inside", gzipBytes(t, append(slices.Clone(good), 9)), true, "trailing bytes after the 10×28×28 bytes of data"},
		{"gzip trailer cut", func() []byte { b := gzipBytes(t, good); return b[:len(b)-3] }(), true, "truncated gzip stream while reading the end of the data"},
		{"gzip second member", twoMembers, true, "trailing bytes after the gzip stream"},
		{"gzip bad checksum", badCRC, true, "corrupt gzip stream while reading the end of the data"},
		{"gzip truncated header", []byte{0x1f, 0x8b, 8, 0, 0}, true, "truncated gzip header"},
		{"gzip bad header", []byte{0x1f, 0x8b, 9, 0, 0, 0, 0, 0, 0, 0, 0}, true, "corrupt gzip stream while reading the gzip header"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r io.Reader = bytes.NewReader(tc.in)
			if tc.stream {
				r = streamOnly{r}
			}
			m, err := DecodeIDX(r, -1, "f.idx")
			if err == nil {
				t.Fatalf("got dims %v, want error containing %q", m.Dims, tc.want)
			}
			msg := err.Error()
			t.Log(msg)
			if !strings.Contains(msg, tc.want) || !strings.HasPrefix(msg, "idx: f.idx: ") || strings.Contains(msg, "\n") {
				t.Fatalf("error %q: want one line starting %q and containing %q", msg, "idx: f.idx: ", tc.want)
			}
			var fe *FormatError
			if !errors.Is(err, ErrFormat) || !errors.As(err, &fe) || fe.File != "f.idx" {
				t.Fatalf("error %v: want a *FormatError for f.idx wrapping ErrFormat", err)
			}
		})
	}
}

type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

func TestDecodeIDXIOErrorIsNotFormatError(t *testing.T) {
	boom := errors.New("disk on fire")
	head := idxBytes(0x08, []uint32{4}, nil)
	_, err := DecodeIDX(io.MultiReader(bytes.NewReader(head), failingReader{boom}), -1, "f")
	if !errors.Is(err, boom) || errors.Is(err, ErrFormat) {
		t.Fatalf("got %v, want the I/O error wrapped and no ErrFormat", err)
	}
}

// A header claiming far more data than the file holds must cost memory in
// proportion to the file, not to the claim.
func TestDecodeIDXLyingHeaderAllocatesLittle(t *testing.T) {
	const limit = 4 << 20
	held := seq(100 * 28 * 28)
	huge := idxBytes(0x08, []uint32{1<<31 - 1, 28, 28}, held)
	big := idxBytes(0x08, []uint32{1 << 20, 28, 28}, held) // 822 MB, under the limit
	gzBig := gzipBytes(t, big)
	forged := slices.Clone(gzBig)
	binary.LittleEndian.PutUint32(forged[len(forged)-4:], uint32(16+(1<<20)*28*28))
	for _, tc := range []struct {
		name   string
		r      func() io.Reader
		size   int64
		prefix string
	}{
		{"claim over limit", func() io.Reader { return bytes.NewReader(huge) }, -1, "more than the limit"},
		{"raw stream unsized", func() io.Reader { return streamOnly{bytes.NewReader(big)} }, -1, "the file holds 78400"},
		{"raw stream lying size", func() io.Reader { return streamOnly{bytes.NewReader(big)} }, 16 + (1<<20)*28*28, "the file holds 78400"},
		{"gzip stream", func() io.Reader { return streamOnly{bytes.NewReader(gzBig)} }, -1, "the file holds 78400"},
		{"gzip forged trailer", func() io.Reader { return bytes.NewReader(forged) }, -1, "after 78400 of the"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			got := allocatedBytes(func() { _, err = DecodeIDX(tc.r(), tc.size, "lie") })
			if err == nil || !strings.Contains(err.Error(), tc.prefix) {
				t.Fatalf("got error %v, want one containing %q", err, tc.prefix)
			}
			if got > limit {
				t.Fatalf("allocated %d bytes, want at most %d", got, limit)
			}
		})
	}
}

func TestDimString(t *testing.T) {
	if got, want := dimString([]byte{0, 0, 0xea, 0x60, 0, 0, 0, 28, 0, 0, 0, 28}), "60000×28×28"; got != want {
		t.Fatalf("dimString = %q, want %q", got, want)
	}
}
