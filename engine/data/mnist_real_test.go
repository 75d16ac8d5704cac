package data

import (
	"math"
	"testing"
)

// TestRealMNIST loads the MNIST copy the module cache holds. It skips only
// when no copy can be found.
func TestRealMNIST(t *testing.T) {
	dir, err := LocateMNIST("")
	if err != nil {
		t.Skipf("MNIST not available: %v", err)
	}
	train, test, err := LoadMNIST(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		ds         *Dataset
		n          int
		firstLabel int32
		counts     [10]int
	}{
		{train, 60000, 5, [10]int{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949}},
		{test, 10000, 7, [10]int{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}},
	} {
		ds := c.ds
		if ds.N != c.n || ds.H != 28 || ds.W != 28 || ds.C != 1 || len(ds.Pixels) != c.n*784 {
			t.Fatalf("%s: N=%d %d×%d×%d with %d pixels, want %d 1×28×28", ds.Name, ds.N, ds.C, ds.H, ds.W, len(ds.Pixels), c.n)
		}
		if ds.Labels[0] != c.firstLabel {
			t.Fatalf("%s: first label %d, want %d", ds.Name, ds.Labels[0], c.firstLabel)
		}
		var counts [10]int
		for _, y := range ds.Labels {
			counts[y]++
		}
		sum := 0
		for _, n := range counts {
			sum += n
		}
		if counts != c.counts || sum != c.n {
			t.Fatalf("%s: label histogram %v (sum %d), want %v (sum %d)", ds.Name, counts, sum, c.counts, c.n)
		}
	}
	// The normalisation constants are the training set's statistics.
	var s, s2 float64
	for _, p := range train.Pixels {
		v := float64(p) / 255
		s += v
		s2 += v * v
	}
	n := float64(len(train.Pixels))
	mean := s / n
	std := math.Sqrt(s2/n - mean*mean)
	if math.Abs(mean-MNISTMean) > 1e-4 || math.Abs(std-MNISTStd) > 1e-4 {
		t.Fatalf("training pixel mean %.5f std %.5f, want %.4f and %.4f ± 1e-4", mean, std, MNISTMean, MNISTStd)
	}
}
