package main

import (
	"fmt"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/troupe-ml/troupe/engine/train"
)

// writeCurves draws loss and accuracy per epoch side by side into a PNG,
// replacing path atomically.
func writeCurves(path string, epochs []train.EpochReport) error {
	trainLoss, testLoss, acc := make(plotter.XYs, len(epochs)), make(plotter.XYs, len(epochs)), make(plotter.XYs, len(epochs))
	for i, e := range epochs {
		x := float64(e.Epoch)
		trainLoss[i] = plotter.XY{X: x, Y: e.TrainLoss}
		testLoss[i] = plotter.XY{X: x, Y: e.TestLoss}
		acc[i] = plotter.XY{X: x, Y: 100 * e.TestAccuracy}
	}
	lossPlot := plot.New()
	lossPlot.Title.Text = "Loss"
	lossPlot.X.Label.Text = "epoch"
	lossPlot.Y.Label.Text = "cross-entropy"
	accPlot := plot.New()
	accPlot.Title.Text = "Test accuracy"
	accPlot.X.Label.Text = "epoch"
	accPlot.Y.Label.Text = "%"
	if err := addLines(lossPlot, series{"train", trainLoss, 0}, series{"test", testLoss, 1}); err != nil {
		return fmt.Errorf("curves.png: %w", err)
	}
	if err := addLines(accPlot, series{"test", acc, 1}); err != nil {
		return fmt.Errorf("curves.png: %w", err)
	}
	img := vgimg.New(12*vg.Inch, 4.5*vg.Inch)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 4, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2}
	canvases := plot.Align([][]*plot.Plot{{lossPlot, accPlot}}, tiles, dc)
	lossPlot.Draw(canvases[0][0])
	accPlot.Draw(canvases[0][1])

	tmp, err := os.CreateTemp(filepath.Dir(path), ".curves-*.png")
	if err != nil {
		return fmt.Errorf("curves.png: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("curves.png: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("curves.png: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("curves.png: %w", err)
	}
	return nil
}

type series struct {
	name  string
	pts   plotter.XYs
	color int // index into plotutil's palette
}

func addLines(p *plot.Plot, ss ...series) error {
	for _, sr := range ss {
		l, pts, err := plotter.NewLinePoints(sr.pts)
		if err != nil {
			return err
		}
		l.Color = plotutil.Color(sr.color)
		pts.Color = plotutil.Color(sr.color)
		p.Add(l, pts)
		p.Legend.Add(sr.name, l, pts)
	}
	p.Add(plotter.NewGrid())
	return nil
}
