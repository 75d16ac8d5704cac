package checkpoint

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A file whose data changed after it was written (one bit here) fails to
// load with an error that names the file and the checksum; the same file
// unchanged loads, and its metadata comes back without the checksum.
func TestChecksumCatchesCorruption(t *testing.T) {
	path := filepath.Join(t.TempDir(), "model.safetensors")
	if err := Write(path, sampleTensors(), map[string]string{"epoch": "2"}); err != nil {
		t.Fatal(err)
	}
	_, meta, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(meta) != 1 || meta["epoch"] != "2" {
		t.Errorf("meta = %v, want map[epoch:2]", meta)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)-3] ^= 0x10
	_, _, err = Decode(bytes.NewReader(raw), int64(len(raw)), path)
	if err == nil {
		t.Fatal("a file with a flipped data bit loaded")
	}
	for _, want := range []string{path, "checksum mismatch"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// A file without a checksum (another writer's) loads unchecked.
func TestNoChecksumLoads(t *testing.T) {
	img := file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, []byte{0, 0, 0x80, 0x3f}, true)
	ts, meta, err := Decode(bytes.NewReader(img), int64(len(img)), "other.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 1 || ts[0].Data[0] != 1 || meta != nil {
		t.Errorf("got %v, meta %v; want a = [1], no metadata", ts, meta)
	}
}
