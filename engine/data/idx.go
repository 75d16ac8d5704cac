package data

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// TypeUint8 is the IDX element type code for unsigned bytes, the only one
// supported.
const TypeUint8 byte = 0x08

// maxIDXBytes caps the payload a header may claim. It keeps the size within
// an int on every platform and below 2^32, so the gzip ISIZE trailer (the
// uncompressed size mod 2^32) can be compared exactly.
const maxIDXBytes = 1<<31 - 1

// firstChunk is the capacity reading starts with when the payload size cannot
// be trusted; it then doubles, so memory follows the bytes actually read.
const firstChunk = 64 << 10

// IDX is a decoded IDX file: an n-dimensional array of unsigned bytes stored
// row-major.
type IDX struct {
	Type byte    // element type code; always TypeUint8
	Dims []int   // dimension sizes, outermost first; each at least 1
	Data []uint8 // product(Dims) elements
}

// ReadIDX reads the IDX file at path, raw or gzip-compressed.
func ReadIDX(path string) (*IDX, error) {
	return readIDXFile(path, "idx", 0)
}

// DecodeIDX decodes an IDX stream, raw or gzip-compressed. If r is an
// io.Seeker, the bytes from its current offset to its end are measured and
// size is ignored; otherwise size is the number of bytes r holds, or -1 if
// unknown. A given size is checked against the header, but memory is only
// committed up front for a measured size. name identifies the input in errors.
func DecodeIDX(r io.Reader, size int64, name string) (*IDX, error) {
	return decodeIDX(r, size, name, "idx", 0)
}

func readIDXFile(path, format string, wantMagic uint32) (*IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", format, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", format, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %s: not a regular file", format, path)
	}
	return decodeIDX(f, st.Size(), path, format, wantMagic)
}

// idxDecoder holds the state of one decode and what every error message
// needs.
type idxDecoder struct {
	name, format string
	seeker       io.ReadSeeker // nil when the input cannot seek
	size         int64         // bytes the input holds; -1 if unknown
	br           *bufio.Reader
	src          io.Reader // br, or the gzip reader on top of it
	gz           bool      // the input is gzip-compressed
	isize        uint32    // gzip ISIZE trailer, valid if haveISize
	haveISize    bool
}

// decodeIDX is DecodeIDX with the error prefix and, when wantMagic is not 0,
// the exact magic the caller expects.
func decodeIDX(r io.Reader, size int64, name, format string, wantMagic uint32) (*IDX, error) {
	d := &idxDecoder{name: name, format: format, size: size}
	if err := d.open(r); err != nil {
		return nil, err
	}
	dims, hdr, err := d.header(wantMagic)
	if err != nil {
		return nil, err
	}
	total := 1
	for _, v := range dims {
		total *= v
	}
	claim := dimString(hdr[4:])
	trusted, err := d.checkSize(len(hdr), total, claim)
	if err != nil {
		return nil, err
	}
	data, err := d.payload(total, trusted, claim)
	if err != nil {
		return nil, err
	}
	if err := d.end(claim); err != nil {
		return nil, err
	}
	return &IDX{Type: TypeUint8, Dims: dims, Data: data}, nil
}

// header reads and validates the magic and dimensions; it returns the
// dimensions and the raw header bytes.
func (d *idxDecoder) header(wantMagic uint32) ([]int, []byte, error) {
	var buf [4 + 4*4]byte
	if n, err := io.ReadFull(d.src, buf[:4]); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, nil, d.bad("file holds %d bytes, too few for the 4-byte IDX magic", n)
		}
		return nil, nil, d.wrap("header", err)
	}
	magic := binary.BigEndian.Uint32(buf[:4])
	if wantMagic != 0 && magic != wantMagic {
		return nil, nil, d.bad("wrong magic 0x%08x, want 0x%08x", magic, wantMagic)
	}
	if buf[0] != 0 || buf[1] != 0 {
		return nil, nil, d.bad("wrong magic 0x%08x, an IDX file starts with two zero bytes", magic)
	}
	if typ := buf[2]; typ != TypeUint8 {
		return nil, nil, d.bad("element type 0x%02x (%s) not supported, only 0x08 (unsigned byte)", typ, typeName(typ))
	}
	rank := int(buf[3])
	if rank < 1 || rank > 4 {
		return nil, nil, d.bad("rank %d out of range 1..4", rank)
	}
	hdr := buf[:4+4*rank]
	if n, err := io.ReadFull(d.src, hdr[4:]); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, nil, d.bad("truncated header: rank %d needs %d header bytes, the file holds %d", rank, len(hdr), 4+n)
		}
		return nil, nil, d.wrap("header", err)
	}
	dims := make([]int, rank)
	total := 1
	for i := range dims {
		v := int(binary.BigEndian.Uint32(hdr[4+4*i:]))
		if v == 0 {
			return nil, nil, d.bad("dimension %d is 0", i)
		}
		if v > maxIDXBytes/total {
			return nil, nil, d.bad("header claims %s bytes, more than the limit of %d", dimString(hdr[4:]), maxIDXBytes)
		}
		dims[i] = v
		total *= v
	}
	return dims, hdr, nil
}

// checkSize compares the claim with the size the input is known to have,
// before anything is allocated. It reports whether the claim may be
// allocated at once, which only a measured raw size justifies.
func (d *idxDecoder) checkSize(hdrLen, total int, claim string) (trusted bool, err error) {
	switch {
	case !d.gz && d.size >= 0:
		switch have := d.size - int64(hdrLen); {
		case have < int64(total):
			return false, d.bad("header claims %s bytes but the file holds %d", claim, have)
		case have > int64(total):
			return false, d.bad("%d trailing bytes after the %s bytes of data", have-int64(total), claim)
		}
		return d.seeker != nil, nil
	case d.haveISize && uint32(hdrLen+total) != d.isize:
		return false, d.bad("header claims %s bytes but the file holds %d (gzip trailer)", claim, int64(d.isize)-int64(hdrLen))
	}
	return false, nil
}

// payload reads the total data bytes.
func (d *idxDecoder) payload(total int, trusted bool, claim string) ([]byte, error) {
	initial := min(total, firstChunk)
	if trusted {
		initial = total
	}
	data, err := readBounded(d.src, total, initial)
	switch {
	case err == nil:
		return data, nil
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return nil, d.bad("header claims %s bytes but the file holds %d", claim, len(data))
	case isCorrupt(err):
		// A forged ISIZE gets this far; the real count is the useful part.
		return nil, &FormatError{Format: d.format, File: d.name, Err: err,
			Reason: fmt.Sprintf("corrupt gzip data after %d of the %s bytes the header claims", len(data), claim)}
	}
	return nil, d.wrap("data", err)
}

// end checks that nothing follows the payload. For gzip, reading on also
// makes the decompressor verify the CRC and length trailer.
func (d *idxDecoder) end(claim string) error {
	var one [1]byte
	switch n, err := io.ReadFull(d.src, one[:]); {
	case n > 0:
		return d.bad("trailing bytes after the %s bytes of data", claim)
	case err != io.EOF:
		return d.wrap("end of the data", err)
	}
	if d.gz {
		if _, err := d.br.ReadByte(); err == nil {
			return d.bad("trailing bytes after the gzip stream (multi-member gzip is not supported)")
		} else if err != io.EOF {
			return d.wrap("end of the file", err)
		}
	}
	return nil
}

func (d *idxDecoder) bad(format string, args ...any) *FormatError {
	return &FormatError{Format: d.format, File: d.name, Reason: fmt.Sprintf(format, args...)}
}

// dimString renders big-endian uint32 dimensions as "60000×28×28".
func dimString(b []byte) string {
	var sb strings.Builder
	for i := 0; i+4 <= len(b); i += 4 {
		if i > 0 {
			sb.WriteString("×")
		}
		sb.WriteString(strconv.FormatUint(uint64(binary.BigEndian.Uint32(b[i:])), 10))
	}
	return sb.String()
}

func typeName(t byte) string {
	switch t {
	case 0x08:
		return "unsigned byte"
	case 0x09:
		return "signed byte"
	case 0x0B:
		return "int16"
	case 0x0C:
		return "int32"
	case 0x0D:
		return "float32"
	case 0x0E:
		return "float64"
	}
	return "unknown"
}
