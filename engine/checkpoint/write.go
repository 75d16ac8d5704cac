package checkpoint

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"unicode/utf8"
)

// metadataKey is the reserved header key for free-form string metadata.
const metadataKey = "__metadata__"

// Encode writes tensors (as F32, in the given order) and meta to w in
// safetensors format. It checks every tensor before writing a byte, so a bad
// tensor leaves w untouched. The output is deterministic: header entries in
// tensor order, metadata keys sorted. The metadata gains ChecksumKey.
func Encode(w io.Writer, tensors []Tensor, meta map[string]string) error {
	if _, err := header(tensors, meta); err != nil {
		return err // before the checksum's pass over the data
	}
	hdr, err := header(tensors, withChecksum(tensors, meta))
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	if _, err := bw.Write(hdr); err != nil {
		return err
	}
	if err := encodeData(tensors, func(b []byte) error {
		_, err := bw.Write(b)
		return err
	}); err != nil {
		return err
	}
	return bw.Flush()
}

// encodeData hands the little-endian bytes of tensors' data, in order, to
// emit, a chunk of at most chunkElems values at a time, through one reused
// buffer; it stops at emit's first error.
func encodeData(tensors []Tensor, emit func([]byte) error) error {
	var buf []byte
	for _, t := range tensors {
		for rest := t.Data; len(rest) > 0; {
			n := min(len(rest), chunkElems)
			buf = slices.Grow(buf[:0], 4*n)[:4*n]
			encodeF32(buf, rest[:n])
			if err := emit(buf); err != nil {
				return err
			}
			rest = rest[n:]
		}
	}
	return nil
}

// chunkElems bounds the staging buffer used to convert data to bytes, so
// writing and reading never hold a second copy of a large tensor.
const chunkElems = 16 << 10

// header validates tensors and meta and returns the length prefix plus the
// space-padded JSON header.
func header(tensors []Tensor, meta map[string]string) ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	if len(meta) > 0 {
		b.WriteString(`"` + metadataKey + `":{`)
		keys := make([]string, 0, len(meta))
		for k := range meta {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if !utf8.ValidString(k) || !utf8.ValidString(meta[k]) {
				return nil, fmt.Errorf("metadata %q: key and value must be valid UTF-8", k)
			}
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(&b, k)
			b.WriteByte(':')
			writeJSONString(&b, meta[k])
		}
		b.WriteByte('}')
	}
	seen := make(map[string]bool, len(tensors))
	var off int64
	for i, t := range tensors {
		switch {
		case t.Name == "":
			return nil, fmt.Errorf("tensor %d: empty name", i)
		case t.Name == metadataKey:
			return nil, fmt.Errorf("tensor %d: name %q is reserved for metadata", i, t.Name)
		case !utf8.ValidString(t.Name):
			return nil, fmt.Errorf("tensor %d: name %q is not valid UTF-8", i, t.Name)
		case seen[t.Name]:
			return nil, fmt.Errorf("tensor %q: name used twice", t.Name)
		}
		seen[t.Name] = true
		if err := t.check(); err != nil {
			return nil, err
		}
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		end := off + 4*int64(len(t.Data))
		writeJSONString(&b, t.Name)
		b.WriteString(`:{"dtype":"F32","shape":[`)
		for j, d := range t.Shape {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(d))
		}
		b.WriteString(`],"data_offsets":[` + strconv.FormatInt(off, 10) + "," + strconv.FormatInt(end, 10) + "]}")
		off = end
	}
	b.WriteByte('}')
	// Pad so the data section starts on an 8-byte boundary, as the format
	// recommends; the length prefix is 8 bytes, so N itself must be a multiple of 8.
	for b.Len()%8 != 0 {
		b.WriteByte(' ')
	}
	if b.Len() > maxHeaderSize {
		return nil, fmt.Errorf("header is %d bytes, over the format's %d-byte limit", b.Len(), maxHeaderSize)
	}
	out := make([]byte, 8, 8+b.Len())
	binary.LittleEndian.PutUint64(out, uint64(b.Len()))
	return append(out, b.Bytes()...), nil
}

// writeJSONString writes s as a JSON string without HTML escaping, so names
// like "a<b" stay readable in the header.
func writeJSONString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)       // cannot fail for a string; writing to a Buffer cannot fail
	b.Truncate(b.Len() - 1) // drop Encode's newline
}

// Write stores tensors and meta at path atomically: the checkpoint appears
// complete or not at all, and on any error before the rename a file already
// at path is left as it was. Tensors are checked before anything is created.
func Write(path string, tensors []Tensor, meta map[string]string) (err error) {
	if _, err := header(tensors, meta); err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	renamed := false
	defer func() {
		if err != nil && !renamed {
			_ = tmp.Close() // may already be closed; the write error is what matters
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := Encode(tmp, tensors, meta); err != nil {
		return fmt.Errorf("checkpoint %s: writing: %w", path, err)
	}
	// CreateTemp makes the file owner-only; a checkpoint is an ordinary file.
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("checkpoint %s: sync: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	renamed = true
	// Sync the directory so the rename itself survives a crash.
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("checkpoint %s: written, but syncing its directory failed: %w", path, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}
