package checkpoint

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"slices"
	"unicode/utf8"
)

// maxHeaderSize is the format's own limit (the reference implementation
// refuses larger headers), which also caps what a corrupt length can make
// us allocate.
const maxHeaderSize = 100_000_000

// Read loads every tensor and the metadata from the safetensors file at
// path. Tensors come back in data order, which is the order Write was given.
// meta is nil when the file has no metadata.
func Read(path string) (tensors []Tensor, meta map[string]string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("checkpoint %s: not a regular file", path)
	}
	return Decode(f, st.Size(), path)
}

// entry is one tensor as the header describes it.
type entry struct {
	name   string
	dtype  dtype
	shape  []int
	begin  int64
	end    int64
	length int // elements
}

// Decode parses a safetensors image of size bytes read through r; name is
// used in errors. It validates the header completely — length, JSON, dtypes,
// shapes against offsets, offsets tiling the data section exactly, unique
// names, total size — before allocating any tensor data.
func Decode(r io.ReaderAt, size int64, name string) (tensors []Tensor, meta map[string]string, err error) {
	fail := func(format string, args ...any) ([]Tensor, map[string]string, error) {
		return nil, nil, fmt.Errorf("%s: %w", name, fmt.Errorf(format, args...))
	}
	if size < 8 {
		return fail("too short for a safetensors file: %d bytes, need at least 8", max(size, 0))
	}
	var prefix [8]byte
	if err := readFull(r, prefix[:], 0); err != nil {
		return fail("reading header length: %w", err)
	}
	n := binary.LittleEndian.Uint64(prefix[:])
	if n > uint64(size-8) {
		return fail("truncated: header length %d exceeds the %d bytes after the length prefix", n, size-8)
	}
	if n > maxHeaderSize {
		return fail("header length %d exceeds the %d-byte limit", n, maxHeaderSize)
	}
	hdr := make([]byte, n)
	if err := readFull(r, hdr, 8); err != nil {
		return fail("reading header: %w", err)
	}
	dataStart := 8 + int64(n)
	entries, meta, err := parseHeader(hdr)
	if err != nil {
		return fail("%w", err)
	}
	dataLen, err := checkLayout(entries)
	if err != nil {
		return fail("%w", err)
	}
	if have := size - dataStart; have != dataLen {
		if have < dataLen {
			return fail("truncated: header says %d bytes of data, file has %d", dataLen, have)
		}
		return fail("%d bytes after the last tensor's data (header says %d bytes of data, file has %d)", have-dataLen, dataLen, have)
	}

	for _, e := range entries {
		if e.dtype.decode == nil {
			return fail("tensor %q: dtype %s is not supported (supported: %s)", e.name, e.dtype.name, supportedDTypes())
		}
	}

	tensors = make([]Tensor, len(entries))
	var buf []byte
	var sum uint32 // CRC-32C of the data section, in data order
	for i, e := range entries {
		data := make([]float32, e.length)
		for done := 0; done < e.length; {
			k := min(e.length-done, chunkElems)
			buf = slices.Grow(buf[:0], k*e.dtype.size)[:k*e.dtype.size]
			if err := readFull(r, buf, dataStart+e.begin+int64(done*e.dtype.size)); err != nil {
				return fail("tensor %q: reading data: %w", e.name, err)
			}
			e.dtype.decode(data[done:done+k], buf)
			sum = crc32.Update(sum, castagnoli, buf)
			done += k
		}
		tensors[i] = Tensor{Name: e.name, Shape: e.shape, Data: data}
	}
	if meta, err = verifyChecksum(meta, sum); err != nil {
		return fail("%w", err)
	}
	return tensors, meta, nil
}

// readFull reads len(buf) bytes at off. io.ReaderAt may report io.EOF along
// with a full read at the end of the input; that is success.
func readFull(r io.ReaderAt, buf []byte, off int64) error {
	k, err := r.ReadAt(buf, off)
	if k == len(buf) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// unexpectedEOF rewords a bare io.EOF: inside the header it always means the
// JSON stopped early.
func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// rawEntry mirrors a tensor's header JSON; pointers tell a missing field
// from a zero one. Unknown fields are ignored, as the reference reader does.
type rawEntry struct {
	DType   *string  `json:"dtype"`
	Shape   *[]int64 `json:"shape"`
	Offsets *[]int64 `json:"data_offsets"`
}

// parseHeader decodes the JSON header into entries (in header order) and
// metadata. It walks the top-level object by token so that a name given
// twice is caught rather than silently keeping the last.
func parseHeader(hdr []byte) ([]entry, map[string]string, error) {
	if !utf8.Valid(hdr) {
		return nil, nil, errors.New("header is not valid UTF-8")
	}
	if len(hdr) == 0 || hdr[0] != '{' {
		return nil, nil, errors.New("header does not start with '{'")
	}
	dec := json.NewDecoder(bytes.NewReader(hdr))
	if _, err := dec.Token(); err != nil {
		return nil, nil, fmt.Errorf("header: invalid JSON: %w", err)
	}
	var (
		entries []entry
		meta    map[string]string
		seen    = map[string]bool{}
	)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, fmt.Errorf("header: invalid JSON: %w", unexpectedEOF(err))
		}
		key, _ := tok.(string) // More and Token guarantee a string key here
		if seen[key] {
			if key == metadataKey {
				return nil, nil, fmt.Errorf("header: %s appears twice", metadataKey)
			}
			return nil, nil, fmt.Errorf("tensor %q: name appears twice in the header", key)
		}
		seen[key] = true
		if key == metadataKey {
			if err := dec.Decode(&meta); err != nil {
				return nil, nil, fmt.Errorf("header: %s must map strings to strings: %w", metadataKey, unexpectedEOF(err))
			}
			continue
		}
		var raw rawEntry
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, fmt.Errorf("tensor %q: invalid header entry: %w", key, unexpectedEOF(err))
		}
		e, err := raw.entry(key)
		if err != nil {
			return nil, nil, fmt.Errorf("tensor %q: %w", key, err)
		}
		entries = append(entries, e)
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, fmt.Errorf("header: invalid JSON: %w", unexpectedEOF(err))
	}
	// The format allows only padding after the object.
	if rest := hdr[dec.InputOffset():]; len(bytes.TrimLeft(rest, " \t\r\n")) != 0 {
		return nil, nil, errors.New("header: data after the JSON object (only space padding is allowed)")
	}
	return entries, meta, nil
}

func (raw rawEntry) entry(name string) (entry, error) {
	if name == "" {
		return entry{}, errors.New("empty tensor name")
	}
	switch {
	case raw.DType == nil:
		return entry{}, errors.New("header entry has no dtype")
	case raw.Shape == nil:
		return entry{}, errors.New("header entry has no shape")
	case raw.Offsets == nil:
		return entry{}, errors.New("header entry has no data_offsets")
	}
	dt, ok := lookupDType(*raw.DType)
	if !ok {
		return entry{}, fmt.Errorf("unknown dtype %q", *raw.DType)
	}
	offs := *raw.Offsets
	if len(offs) != 2 {
		return entry{}, fmt.Errorf("data_offsets %v: want [begin, end]", offs)
	}
	begin, end := offs[0], offs[1]
	if begin < 0 || end < begin {
		return entry{}, fmt.Errorf("data_offsets [%d,%d]: want 0 ≤ begin ≤ end", begin, end)
	}
	length, ok := numElements(*raw.Shape)
	if !ok {
		return entry{}, fmt.Errorf("shape %v has a negative dimension or too many elements", *raw.Shape)
	}
	if int64(length) > (end-begin)/int64(dt.size) || int64(length)*int64(dt.size) != end-begin {
		return entry{}, fmt.Errorf("data_offsets [%d,%d] do not match shape %v (%s bytes)", begin, end, *raw.Shape, byteCount(length, dt.size))
	}
	shape := make([]int, len(*raw.Shape))
	for i, d := range *raw.Shape {
		shape[i] = int(d) // numElements has checked each fits in int
	}
	return entry{name: name, dtype: dt, shape: shape, begin: begin, end: end, length: length}, nil
}

// byteCount formats elems*size without overflowing for huge shapes.
func byteCount(elems, size int) string {
	if elems > (1<<62)/size {
		return fmt.Sprintf("%d×%d", elems, size)
	}
	return fmt.Sprint(int64(elems) * int64(size))
}

// checkLayout sorts entries by offset and checks that they tile the data
// section exactly: no gaps, no overlaps. It returns the data length.
func checkLayout(entries []entry) (int64, error) {
	slices.SortStableFunc(entries, func(a, b entry) int {
		return cmp.Or(cmp.Compare(a.begin, b.begin), cmp.Compare(a.end, b.end))
	})
	var pos int64
	for i, e := range entries {
		if e.begin != pos {
			if e.begin > pos {
				return 0, fmt.Errorf("tensor %q: data_offsets [%d,%d] leave a gap: bytes %d to %d belong to no tensor", e.name, e.begin, e.end, pos, e.begin)
			}
			return 0, fmt.Errorf("tensor %q: data_offsets [%d,%d] overlap tensor %q", e.name, e.begin, e.end, entries[i-1].name)
		}
		pos = e.end
	}
	return pos, nil
}
