package main

import (
	"context"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/troupe-ml/troupe/engine/augment"
	"github.com/troupe-ml/troupe/engine/data"
)

const augmentUsage = `Usage:
  troupe augment preview --augment LIST --out grid.png [--samples N] [--variants V] [--scale S] [--seed S] [--data DIR]

Draws N training samples (rows): the original, then V augmented versions of it.
LIST uses the --augment syntax of troupe train, e.g. "affine(degrees=15),elastic".
`

func runAugment(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "preview" {
		fmt.Fprint(stderr, augmentUsage)
		return fmt.Errorf("augment: want the preview subcommand: %w", errUsage)
	}
	fs := flag.NewFlagSet("augment preview", flag.ContinueOnError)
	spec := fs.String("augment", "affine,elastic", "transforms, in troupe train's --augment syntax")
	out := fs.String("out", "", "PNG file to write (required)")
	samples := fs.Int("samples", 8, "training samples, one per row")
	variants := fs.Int("variants", 7, "augmented versions per sample")
	scale := fs.Int("scale", 3, "pixels per sample pixel")
	seed := fs.Uint64("seed", 1, "augmentation seed")
	dir := fs.String("data", "", "MNIST directory")
	if err := parseFlags(fs, args[1:], stderr); err != nil {
		return err
	}
	switch {
	case *out == "":
		return fmt.Errorf("augment preview: --out is required: %w", errUsage)
	case *samples < 1 || *variants < 1 || *scale < 1 || *samples**variants > 10000:
		return fmt.Errorf("augment preview: --samples, --variants and --scale must be ≥ 1 (and samples×variants ≤ 10000): %w", errUsage)
	}
	cfgs, err := augment.Parse(*spec)
	if err != nil {
		return fmt.Errorf("augment preview: --augment: %w", err)
	}
	trainSet, err := loadTrainSet(*dir)
	if err != nil {
		return err
	}
	pipe, err := augment.New(cfgs, -trainSet.Mean/trainSet.Std)
	if err != nil {
		return fmt.Errorf("augment preview: %w", err)
	}
	img, err := previewGrid(trainSet, pipe, *samples, *variants, *scale, *seed)
	if err != nil {
		return err
	}
	if err := writePNG(*out, img); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d samples × (original + %d × %s)\n", *out, *samples, *variants, pipe)
	return nil
}

// loadTrainSet finds MNIST (the flag, TROUPE_DATA or the module cache) and
// loads its training set.
func loadTrainSet(dir string) (*data.Dataset, error) {
	mnist, err := data.LocateMNIST(dir)
	if err != nil {
		return nil, err
	}
	trainSet, _, err := data.LoadMNIST(mnist)
	return trainSet, err
}

// previewGrid draws samples rows of the original and variants augmented
// copies (epochs 1..variants of the same sample), with a 2-pixel gap. The
// rows of a column are augmented as one batch, so that a batch mix (mixup,
// cutmix) shows what it does: each image blended with another row's.
func previewGrid(ds *data.Dataset, pipe *augment.Pipeline, samples, variants, scale int, seed uint64) (*image.RGBA, error) {
	samples = min(samples, ds.N)
	if samples == 0 {
		return nil, fmt.Errorf("augment preview: data set %s is empty", ds.Name)
	}
	s := augment.Shape{C: ds.C, H: ds.H, W: ds.W}
	const gap = 2
	cellW, cellH := ds.W*scale+gap, ds.H*scale+gap
	img := image.NewRGBA(image.Rect(0, 0, cellW*(variants+1)+gap, cellH*samples+gap))
	for i := range img.Pix {
		img.Pix[i] = 255 // white gaps
	}
	w := pipe.NewWorker(seed)
	ids := make([]int, samples)
	for i := range ids {
		ids[i] = i
	}
	src := make([]float32, samples*s.Len())
	dst := make([]float32, samples*s.Len())
	y := make([]int32, samples)
	mix, lambda := make([]int32, samples), make([]float32, samples)
	ds.Fill(ids, src, y)
	for c := 0; c <= variants; c++ {
		col := src
		if c > 0 {
			w.ApplyBatch(dst, src, s, uint64(c), ids)
			if _, err := w.MixBatch(dst, s, uint64(c), ids, y, mix, lambda); err != nil {
				return nil, fmt.Errorf("augment preview: %w", err)
			}
			col = dst
		}
		for r := range samples {
			drawSample(img, col[r*s.Len():(r+1)*s.Len()], ds, gap+c*cellW, gap+r*cellH, scale)
		}
	}
	return img, nil
}

// drawSample paints one normalised sample, undoing the data set's
// normalisation: grey for one channel, the first three as RGB otherwise.
func drawSample(img *image.RGBA, x []float32, ds *data.Dataset, x0, y0, scale int) {
	plane := ds.H * ds.W
	level := func(v float32) uint8 {
		p := (v*ds.Std + ds.Mean) * 255
		return uint8(min(max(p, 0), 255) + 0.5)
	}
	for i := range ds.H {
		for j := range ds.W {
			var c color.RGBA
			if ds.C >= 3 {
				c = color.RGBA{level(x[i*ds.W+j]), level(x[plane+i*ds.W+j]), level(x[2*plane+i*ds.W+j]), 255}
			} else {
				g := level(x[i*ds.W+j])
				c = color.RGBA{g, g, g, 255}
			}
			for a := range scale {
				for b := range scale {
					img.SetRGBA(x0+j*scale+b, y0+i*scale+a, c)
				}
			}
		}
	}
}

// writePNG writes img to path atomically (a temporary file, then rename).
func writePNG(path string, img image.Image) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".preview-*.png")
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := png.Encode(tmp, img); err != nil {
		tmp.Close()
		return fmt.Errorf("--out %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("--out %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	return nil
}

// benchAugmentResult is one JSON line of `troupe bench augment`.
type benchAugmentResult struct {
	Bench         string  `json:"bench"`
	Augment       string  `json:"augment"`
	Augmenters    int     `json:"augmenters"`
	SamplesPerSec float64 `json:"samples_per_sec"`
}

// runBenchAugment times each named transform alone (with its defaults) and
// the --augment list, with 1 and 2 augmenters (goroutines, each with its own
// Worker, over disjoint samples), for at least --seconds each.
func runBenchAugment(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench augment", flag.ContinueOnError)
	list := fs.String("augment", "affine,elastic", "a pipeline timed as a whole besides each transform alone")
	seconds := fs.Float64("seconds", 0.5, "timing per measurement")
	dir := fs.String("data", "", "MNIST directory")
	jsonOut := fs.Bool("json", false, "print one JSON line per measurement")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if !(*seconds > 0) {
		return fmt.Errorf("bench augment: --seconds must be positive: %w", errUsage)
	}
	specs := append(augment.Names(), *list)
	trainSet, err := loadTrainSet(*dir)
	if err != nil {
		return err
	}
	const pool = 2048
	n := min(pool, trainSet.N)
	s := augment.Shape{C: trainSet.C, H: trainSet.H, W: trainSet.W}
	src := make([]float32, n*s.Len())
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	labels := make([]int32, n)
	trainSet.Fill(idx, src, labels)
	for _, spec := range specs {
		cfgs, err := augment.Parse(spec)
		if err != nil {
			return fmt.Errorf("bench augment: %q: %w", spec, err)
		}
		pipe, err := augment.New(cfgs, -trainSet.Mean/trainSet.Std)
		if err != nil {
			return fmt.Errorf("bench augment: %q: %w", spec, err)
		}
		for _, workers := range []int{1, 2} {
			rate := timeAugment(pipe, s, src, labels, n, workers, time.Duration(*seconds*float64(time.Second)))
			res := benchAugmentResult{Bench: "augment", Augment: spec, Augmenters: workers, SamplesPerSec: rate}
			if err := writeBench(stdout, *jsonOut, res, fmt.Sprintf("%-40s %d augmenter(s): %9.0f samples/s", spec, workers, rate)); err != nil {
				return err
			}
		}
	}
	return nil
}

// timeAugment runs workers goroutines until d has passed and returns the
// samples augmented per second. Each takes batches of 64 in turn, as an
// augmenter actor does, so that a batch mix is timed with the rest.
func timeAugment(pipe *augment.Pipeline, s augment.Shape, src []float32, labels []int32, n, workers int, d time.Duration) float64 {
	const batch = 64
	var wg sync.WaitGroup
	counts := make([]int, workers)
	start := time.Now()
	for k := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := pipe.NewWorker(uint64(k + 1))
			dst := make([]float32, batch*s.Len())
			ids := make([]int, 0, batch)
			mix, lambda := make([]int32, batch), make([]float32, batch)
			for epoch := uint64(1); epoch == 1 || time.Since(start) < d; epoch++ { // at least one pass, however late the goroutine starts
				for lo := k * batch; lo < n; lo += workers * batch {
					hi := min(lo+batch, n)
					ids = ids[:0]
					for i := lo; i < hi; i++ {
						ids = append(ids, i)
					}
					m := hi - lo
					w.ApplyBatch(dst[:m*s.Len()], src[lo*s.Len():hi*s.Len()], s, epoch, ids)
					// The labels are valid classes, so a mix cannot fail.
					_, _ = w.MixBatch(dst[:m*s.Len()], s, epoch, ids, labels[lo:hi], mix[:m], lambda[:m])
					counts[k] += m
				}
			}
		}()
	}
	wg.Wait()
	total := 0
	for _, c := range counts {
		total += c
	}
	return float64(total) / time.Since(start).Seconds()
}
