package active

import (
	"math"
	"testing"
)

func TestMeanCurveAndLabelsTo(t *testing.T) {
	runs := [][]Round{
		{{Labels: 20, TestError: 0.3}, {Labels: 30, TestError: 0.12}, {Labels: 40, TestError: 0.04}},
		{{Labels: 20, TestError: 0.5}, {Labels: 30, TestError: 0.06}, {Labels: 40, TestError: 0.08}},
	}
	c := MeanCurve(runs)
	if len(c) != 3 || c[1].Labels != 30 || math.Abs(c[1].TestError-0.09) > 1e-12 || c[1].Runs != 2 {
		t.Fatalf("mean curve %+v, want 0.09 at 30 labels over 2 runs", c)
	}
	if n, ok := LabelsTo(c, 0.10); !ok || n != 30 {
		t.Errorf("labels to 10%%: %d, %v; want 30", n, ok)
	}
	if n, ok := LabelsTo(c, 0.05); ok {
		t.Errorf("labels to 5%%: %d, want not reached (mean 0.06 at 40)", n)
	}
}

func TestLabelsBelow(t *testing.T) {
	c := []Point{{Labels: 20, TestError: 0.3}, {Labels: 30, TestError: 0.09}, {Labels: 40, TestError: 0.15},
		{Labels: 50, TestError: 0.08}, {Labels: 60, TestError: 0.1}}
	if n, ok := LabelsBelow(c, 0.10); !ok || n != 50 {
		t.Errorf("labels below 10%%: %d, %v; want 50 (the dip at 30 is undone at 40)", n, ok)
	}
	if n, ok := LabelsTo(c, 0.10); !ok || n != 30 {
		t.Errorf("labels to 10%%: %d, %v; want 30", n, ok)
	}
	if n, ok := LabelsBelow(c, 0.085); ok {
		t.Errorf("labels below 8.5%%: %d, want not reached (10%% at the end)", n)
	}
	if _, ok := LabelsBelow(nil, 1); ok {
		t.Error("an empty curve reached the target")
	}
}
