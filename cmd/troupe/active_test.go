package main

import (
	"fmt"
	"image/png"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A short comparison on synthetic digits prints one JSON line per round
// and function, then a summary, and draws the curves.
func TestActiveLearnJSONAndPlot(t *testing.T) {
	dir := synthMNIST(t, 300, 100)
	plotPath := filepath.Join(t.TempDir(), "curve.png")
	code, stdout, stderr := run(t, "active-learn", "--data", dir, "--json", "--plot", plotPath,
		"--acquire", "random,var-ratios", "--seeds", "2", "--initial", "10", "--per-round", "5", "--max-labels", "20",
		"--pool-subset", "40", "--mc", "3", "--epochs", "1", "--min-steps", "5", "--max-steps", "5", "--batch", "8",
		"--threads", "1", "--workers", "2")
	if code != 0 {
		t.Fatalf("exit %d, stderr: %s", code, stderr)
	}
	evs := decodeLines(t, stdout)
	// 2 seeds × 2 functions × rounds at 10, 15, 20 labels, then the summary.
	if len(evs) != 13 {
		t.Fatalf("got %d JSON lines, want 12 rounds and a summary:\n%s", len(evs), stdout)
	}
	for i, ev := range evs[:12] {
		want := []float64{10, 15, 20}[i%3]
		if ev["event"] != "round" || ev["labels"] != want {
			t.Errorf("line %d: %v, want a round at %v labels", i, ev, want)
		}
		e, ok := ev["test_error"].(float64)
		if !ok || e < 0 || e > 1 {
			t.Errorf("line %d: test_error %v, want a fraction", i, ev["test_error"])
		}
		if _, ok := ev["seconds"].(float64); !ok {
			t.Errorf("line %d lacks seconds: %v", i, ev)
		}
	}
	sum := evs[12]
	fns, _ := sum["functions"].([]any)
	if sum["event"] != "summary" || len(fns) != 2 {
		t.Fatalf("summary %v, want two functions", sum)
	}
	for _, f := range fns {
		m := f.(map[string]any)
		for _, k := range []string{"labels_to_10", "labels_to_5", "labels_below_10", "labels_below_5"} {
			if _, ok := m[k]; !ok {
				t.Errorf("summary entry %v lacks %s", m, k)
			}
		}
		if m["final_labels"] != 20.0 {
			t.Errorf("summary entry %v: final_labels want 20", m)
		}
	}
	f, err := os.Open(plotPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Errorf("--plot wrote no PNG: %v", err)
	}
}

// Runs done two at a time give the curves runs done one at a time give,
// with the recipe's training options set.
func TestActiveLearnJobsDeterministic(t *testing.T) {
	dir := synthMNIST(t, 300, 100)
	args := []string{"active-learn", "--data", dir, "--json",
		"--acquire", "random,var-ratios", "--seeds", "1", "--initial", "10", "--per-round", "5", "--max-labels", "20",
		"--pool-subset", "40", "--mc", "3", "--test-mc", "3", "--epochs", "1", "--min-steps", "5", "--max-steps", "5", "--batch", "8",
		"--augment", "crop(pad=1)", "--dense-decay", "2", "--threads", "1", "--workers", "1"}
	errorsBy := func(jobs string) map[string]float64 {
		code, stdout, stderr := run(t, append(args, "--jobs", jobs)...)
		if code != 0 {
			t.Fatalf("--jobs %s: exit %d, stderr: %s", jobs, code, stderr)
		}
		out := map[string]float64{}
		for _, ev := range decodeLines(t, stdout) {
			if ev["event"] == "round" {
				out[fmt.Sprint(ev["acquire"], ev["seed"], ev["labels"])] = ev["test_error"].(float64)
			}
		}
		return out
	}
	one, two := errorsBy("1"), errorsBy("2")
	if len(one) != 6 || !maps.Equal(one, two) {
		t.Errorf("test errors with --jobs 1:\n%v\nwith --jobs 2:\n%v\nwant 6 rounds, equal", one, two)
	}
}

func TestActiveLearnBadFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--acquire", "bold"}, `unknown acquisition function "bold"`},
		{[]string{"--acquire", "bald,bald"}, "bald given twice"},
		{[]string{"--initial", "15"}, "--initial: got 15"},
		{[]string{"--max-labels", "10"}, "--max-labels: got 10"},
		{[]string{"--mc", "1"}, "--mc: got 1"},
		{[]string{"--lr", "0"}, "--lr: got 0"},
		{[]string{"--jobs", "0"}, "--jobs: got 0"},
		{[]string{"--test-mc", "-1"}, "--test-mc: got -1"},
		{[]string{"--dense-decay", "-1"}, "--dense-decay: got -1"},
		{[]string{"--augment", "crop(pad=-1)"}, "--augment"},
		{[]string{"--seeds", "x"}, "invalid value"},
		{[]string{"extra"}, `unexpected argument "extra"`},
	} {
		code, stdout, stderr := run(t, append([]string{"active-learn"}, c.args...)...)
		if code != 2 || stdout != "" || !strings.Contains(stderr, c.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line containing %q", c.args, code, stderr, c.want)
		}
	}
}
