package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// idxBytes builds an IDX file: magic 0 0 typ len(dims), the dimensions, data.
func idxBytes(typ byte, dims []uint32, data []byte) []byte {
	b := []byte{0, 0, typ, byte(len(dims))}
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, d)
	}
	return append(b, data...)
}

// gzipBytes compresses b as one gzip member.
func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// seq returns n bytes 0, 1, 2, ... wrapping at 256.
func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// streamOnly hides Seek, so the decoder must stream.
type streamOnly struct{ r io.Reader }

func (s streamOnly) Read(p []byte) (int, error) { return s.r.Read(p) }

func writeFile(t testing.TB, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// allocatedBytes reports the heap bytes f allocates; TotalAlloc only grows,
// so no collection is needed. The package's tests do not run in parallel, so
// the count is f's own.
func allocatedBytes(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// mnistFiles holds the four files of a synthetic MNIST folder.
type mnistFiles struct {
	trainImages, trainLabels, testImages, testLabels []byte
}

// synthMNIST returns a valid synthetic MNIST of nTrain and nTest samples;
// sample i has label i%10 and pixels starting at byte i.
func synthMNIST(nTrain, nTest int) mnistFiles {
	images := func(n int) []byte {
		px := make([]byte, n*28*28)
		for i := range n {
			for j := range 28 * 28 {
				px[i*28*28+j] = byte(i + j)
			}
		}
		return idxBytes(0x08, []uint32{uint32(n), 28, 28}, px)
	}
	labels := func(n int) []byte {
		ys := make([]byte, n)
		for i := range ys {
			ys[i] = byte(i % 10)
		}
		return idxBytes(0x08, []uint32{uint32(n)}, ys)
	}
	return mnistFiles{images(nTrain), labels(nTrain), images(nTest), labels(nTest)}
}

// write stores the files in dir, gzip-compressed with .gz names if gz.
func (m mnistFiles) write(t testing.TB, dir string, gz bool) {
	t.Helper()
	for name, b := range map[string][]byte{
		mnistTrainImages: m.trainImages, mnistTrainLabels: m.trainLabels,
		mnistTestImages: m.testImages, mnistTestLabels: m.testLabels,
	} {
		if gz {
			name, b = name+".gz", gzipBytes(t, b)
		}
		writeFile(t, dir, name, b)
	}
}

func removeFile(t testing.TB, p string) {
	t.Helper()
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
}
