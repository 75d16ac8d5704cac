package data

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

// FuzzDecodeIDX checks that arbitrary input never panics, that seekable and
// streamed decoding agree, that in-memory input only fails with format
// errors, and that memory stays proportional to the bytes the input yields.
func FuzzDecodeIDX(f *testing.F) {
	valid := idxBytes(0x08, []uint32{3, 4, 5}, seq(60))
	f.Add(valid)
	f.Add(gzipBytes(f, valid))
	f.Add(valid[:20])
	f.Add(append(slices.Clone(valid), 0))
	f.Add(idxBytes(0x08, []uint32{1<<31 - 1, 28, 28}, seq(50)))
	f.Add(idxBytes(0x08, []uint32{1 << 20, 28, 28}, seq(50)))
	f.Add(gzipBytes(f, idxBytes(0x08, []uint32{1 << 20, 28, 28}, seq(50))))
	f.Add(idxBytes(0x0D, []uint32{2}, seq(8)))
	f.Add(idxBytes(0x08, []uint32{1, 1, 1, 1, 1}, seq(1)))
	f.Add([]byte{0x1f, 0x8b})

	f.Fuzz(func(t *testing.T, in []byte) {
		var seek, stream *IDX
		var errSeek, errStream error
		got := allocatedBytes(func() {
			seek, errSeek = DecodeIDX(bytes.NewReader(in), -1, "fuzz")
			stream, errStream = DecodeIDX(streamOnly{bytes.NewReader(in)}, -1, "fuzz")
		})
		// Two decodes, each allowed fixed buffers plus doubling growth over
		// what the input yields.
		if limit := 2 * (1<<20 + 4*yield(in)); got > limit {
			t.Fatalf("decoding %d input bytes (yielding %d) allocated %d bytes, want at most %d", len(in), yield(in), got, limit)
		}
		for _, err := range []error{errSeek, errStream} {
			if err != nil && (!errors.Is(err, ErrFormat) || strings.Contains(err.Error(), "\n")) {
				t.Fatalf("error %q: want a one-line format error", err)
			}
		}
		if (errSeek == nil) != (errStream == nil) {
			t.Fatalf("seekable decode error %v, streamed decode error %v: want both or neither", errSeek, errStream)
		}
		if errSeek != nil {
			return
		}
		total := 1
		for _, d := range seek.Dims {
			total *= d
		}
		if len(seek.Dims) < 1 || len(seek.Dims) > 4 || len(seek.Data) != total || seek.Type != TypeUint8 {
			t.Fatalf("decoded type %#x dims %v with %d bytes of data", seek.Type, seek.Dims, len(seek.Data))
		}
		if !slices.Equal(seek.Dims, stream.Dims) || !bytes.Equal(seek.Data, stream.Data) {
			t.Fatal("seekable and streamed decodes differ")
		}
	})
}

// yield is the number of bytes the decoder can read from in: the input
// itself, or what its first gzip member decompresses to.
func yield(in []byte) uint64 {
	if len(in) < 2 || in[0] != 0x1f || in[1] != 0x8b {
		return uint64(len(in))
	}
	zr, err := gzip.NewReader(bytes.NewReader(in))
	if err != nil {
		return 0
	}
	zr.Multistream(false)
	n, _ := io.Copy(io.Discard, io.LimitReader(zr, 1<<31))
	return uint64(n)
}
