package data

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadMNISTSynthetic(t *testing.T) {
	for _, gz := range []bool{true, false} {
		dir := t.TempDir()
		synthMNIST(30, 12).write(t, dir, gz)
		train, test, err := LoadMNIST(dir)
		if err != nil {
			t.Fatalf("gz=%v: %v", gz, err)
		}
		for _, c := range []struct {
			ds   *Dataset
			n    int
			name string
		}{{train, 30, "mnist-train"}, {test, 12, "mnist-test"}} {
			ds := c.ds
			if ds.Name != c.name || ds.N != c.n || ds.C != 1 || ds.H != 28 || ds.W != 28 || ds.Classes != 10 {
				t.Fatalf("gz=%v: got %s N=%d C=%d H=%d W=%d classes=%d, want %s N=%d 1×28×28 10 classes",
					gz, ds.Name, ds.N, ds.C, ds.H, ds.W, ds.Classes, c.name, c.n)
			}
			if err := ds.Validate(); err != nil {
				t.Fatal(err)
			}
			if ds.Labels[11] != 1 || ds.Pixels[5*784+7] != 12 {
				t.Fatalf("gz=%v: label[11]=%d pixel(5,7)=%d, want 1 and 12", gz, ds.Labels[11], ds.Pixels[5*784+7])
			}
			if ds.Mean != MNISTMean || ds.Std != MNISTStd {
				t.Fatalf("mean/std %v/%v, want %v/%v", ds.Mean, ds.Std, MNISTMean, MNISTStd)
			}
		}
	}
}

func TestLoadMNISTErrors(t *testing.T) {
	good := synthMNIST(20, 10)
	badLabel := synthMNIST(20, 10)
	badLabel.trainLabels[8+7] = 12
	short := synthMNIST(20, 10)
	short.testLabels = synthMNIST(20, 9).testLabels
	swapped := synthMNIST(20, 10)
	swapped.trainImages = swapped.trainLabels
	narrow := synthMNIST(20, 10)
	narrow.testImages = idxBytes(0x08, []uint32{10, 28, 27}, make([]byte, 10*28*27))

	for _, tc := range []struct {
		name  string
		files mnistFiles
		want  []string // substrings: file names and what is wrong
	}{
		{"label out of range", badLabel, []string{"train-labels-idx1-ubyte.gz: label 12 at index 7 out of range 0..9"}},
		{"count mismatch", short, []string{"t10k-images-idx3-ubyte.gz: holds 10 images but ", "t10k-labels-idx1-ubyte.gz holds 9 labels"}},
		{"wrong magic", swapped, []string{"train-images-idx3-ubyte.gz: wrong magic 0x00000801, want 0x00000803"}},
		{"wrong shape", narrow, []string{"t10k-images-idx3-ubyte.gz: images are 28×27, want 28×28"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.files.write(t, dir, true)
			_, _, err := LoadMNIST(dir)
			if err == nil {
				t.Fatalf("LoadMNIST succeeded, want an error containing %q", tc.want)
			}
			t.Log(err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) || !strings.HasPrefix(err.Error(), "mnist: ") {
					t.Fatalf("error %q: want prefix %q and %q in it", err, "mnist: ", w)
				}
			}
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v does not wrap ErrFormat", err)
			}
		})
	}

	t.Run("missing file", func(t *testing.T) {
		dir := t.TempDir()
		good.write(t, dir, true)
		files, _ := filepath.Glob(filepath.Join(dir, "t10k-labels*"))
		for _, f := range files {
			removeFile(t, f)
		}
		_, _, err := LoadMNIST(dir)
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "t10k-labels-idx1-ubyte") {
			t.Fatalf("got %v, want a not-exist error naming t10k-labels-idx1-ubyte", err)
		}
	})
}
