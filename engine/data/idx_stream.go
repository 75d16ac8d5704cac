package data

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// open measures a seekable input, detects gzip by its magic bytes and sets
// up d.src to yield the uncompressed IDX bytes.
func (d *idxDecoder) open(r io.Reader) error {
	if s, ok := r.(io.ReadSeeker); ok {
		if n, err := remaining(s); err == nil {
			d.seeker, d.size = s, n
		} // else a pipe behind an *os.File: stream it
	}
	// The buffered reader is an io.ByteReader, so the gzip decoder consumes
	// exactly one member and anything after it stays visible to end.
	d.br = bufio.NewReader(r)
	d.src = d.br
	head, _ := d.br.Peek(2)
	if len(head) < 2 || head[0] != 0x1f || head[1] != 0x8b {
		return nil
	}
	d.gz = true
	if d.seeker != nil && d.size >= 18 { // 18: the smallest gzip file
		v, err := gzipISize(d.seeker)
		if err != nil {
			return fmt.Errorf("%s: %s: reading the gzip trailer: %w", d.format, d.name, err)
		}
		d.isize, d.haveISize = v, true
	}
	zr, err := gzip.NewReader(d.br)
	if err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return d.bad("truncated gzip header")
		}
		return d.wrap("gzip header", err)
	}
	zr.Multistream(false)
	d.src = zr
	return nil
}

// wrap classifies a read error: damaged compressed data is a format error,
// anything else an I/O failure.
func (d *idxDecoder) wrap(what string, err error) error {
	if isCorrupt(err) {
		return &FormatError{Format: d.format, File: d.name, Reason: "corrupt gzip stream while reading the " + what, Err: err}
	}
	if d.gz && errors.Is(err, io.ErrUnexpectedEOF) {
		// The decompressor's way of saying the stream was cut off.
		return &FormatError{Format: d.format, File: d.name, Reason: "truncated gzip stream while reading the " + what, Err: err}
	}
	return fmt.Errorf("%s: %s: reading the %s: %w", d.format, d.name, what, err)
}

func isCorrupt(err error) bool {
	var corrupt flate.CorruptInputError
	return errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) || errors.As(err, &corrupt)
}

// readBounded reads exactly total bytes, growing the buffer from initial by
// doubling so a lying header costs at most about twice what was really read.
// On a short read it returns what it got and io.ErrUnexpectedEOF or io.EOF.
func readBounded(r io.Reader, total, initial int) ([]byte, error) {
	buf := make([]byte, initial)
	n := 0
	for {
		m, err := io.ReadFull(r, buf[n:])
		n += m
		if err != nil {
			return buf[:n], err
		}
		if n == total {
			return buf, nil
		}
		grown := make([]byte, min(total, 2*len(buf)))
		copy(grown, buf)
		buf = grown
	}
}

// remaining reports how many bytes lie between the current offset and the end.
func remaining(s io.Seeker) (int64, error) {
	cur, err := s.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, err
	}
	end, err := s.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, err
	}
	if _, err := s.Seek(cur, io.SeekStart); err != nil {
		return 0, err
	}
	return end - cur, nil
}

// gzipISize reads the last four bytes (the uncompressed size mod 2^32) and
// restores the offset, so buffered readers layered on s stay consistent.
func gzipISize(s io.ReadSeeker) (uint32, error) {
	cur, err := s.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, err
	}
	if _, err := s.Seek(-4, io.SeekEnd); err != nil {
		return 0, err
	}
	var b [4]byte
	_, rerr := io.ReadFull(s, b[:])
	if _, err := s.Seek(cur, io.SeekStart); err != nil {
		return 0, err
	}
	if rerr != nil {
		return 0, rerr
	}
	return binary.LittleEndian.Uint32(b[:]), nil
}
