package main

import (
	"strings"
	"testing"
)

func TestTrainSelectionDoneEvent(t *testing.T) {
	dir := synthMNIST(t, 640, 200)
	cases := []struct {
		name    string
		args    []string
		epochs  int // epoch lines before done
		equal   bool
		reached bool
	}{
		// An easy task passes 50 % in its first epoch, whatever trains it.
		{"loss-rank", []string{"--workers", "1", "--select", "loss-rank", "--score-staleness", "20", "--target-accuracy", "0.5"}, 1, false, true},
		{"plain loop", []string{"--workers", "0", "--target-accuracy", "0.5"}, 1, true, true},
		{"no target", []string{"--workers", "1"}, 2, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"train", "--data", dir, "--out", "", "--epochs", "2", "--batch", "32", "--json", "--threads", "1"}, c.args...)
			code, stdout, stderr := run(t, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			evs := decodeLines(t, stdout)
			if len(evs) != c.epochs+1 {
				t.Fatalf("%d lines, want %d epochs and done:\n%s", len(evs), c.epochs, stdout)
			}
			done := evs[len(evs)-1]
			fwd, ok1 := done["forward_samples"].(float64)
			bwd, ok2 := done["backward_samples"].(float64)
			if !ok1 || !ok2 || bwd <= 0 {
				t.Fatalf("done lacks pass counts: %v", done)
			}
			// Plain training runs one of each pass per sample; loss-rank
			// also scores samples forward only.
			if c.equal && (fwd != bwd || bwd != float64(640*c.epochs)) {
				t.Errorf("forward %v, backward %v samples, want %d each", fwd, bwd, 640*c.epochs)
			}
			if !c.equal && fwd <= bwd {
				t.Errorf("forward %v, backward %v samples, want more forward (refreshed losses)", fwd, bwd)
			}
			s, isNum := done["seconds_to_target"].(float64)
			if v, present := done["seconds_to_target"]; !present || isNum != c.reached || (isNum && (s <= 0 || s > done["seconds"].(float64))) {
				t.Errorf("seconds_to_target %v, want a time within the run: %v", v, c.reached)
			}
		})
	}
}

func TestBenchSelectJSON(t *testing.T) {
	dir := synthMNIST(t, 640, 100)
	code, stdout, stderr := run(t, "bench", "select", "--data", dir, "--target", "0.5", "--epochs", "2", "--threads", "1",
		"--select", "uniform,loss-rank,importance", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	evs := decodeLines(t, stdout)
	if len(evs) != 3 {
		t.Fatalf("%d lines, want one per strategy:\n%s", len(evs), stdout)
	}
	for i, want := range []string{"uniform", "loss-rank", "importance"} {
		ev := evs[i]
		if ev["bench"] != "select" || ev["select"] != want {
			t.Errorf("line %d: %v, want strategy %s", i, ev, want)
		}
		for _, k := range []string{"forward_samples", "backward_samples", "seconds_to_target", "test_accuracy", "backward_ratio_vs_uniform", "time_ratio_vs_uniform", "steps", "eval_every", "lr"} {
			if _, ok := ev[k].(float64); !ok {
				t.Errorf("%s: %q is not a number: %v", want, k, ev)
			}
		}
	}
	if r := evs[0]["backward_ratio_vs_uniform"]; r != 1.0 {
		t.Errorf("uniform's backward ratio to itself is %v, want 1", r)
	}
	// Two seeds: a line per strategy and seed, then a summary per strategy
	// whose means are those of its lines.
	code, stdout, stderr = run(t, "bench", "select", "--data", dir, "--target", "0.5", "--epochs", "2", "--threads", "1",
		"--select", "uniform,importance", "--seeds", "2", "--seed", "5", "--json")
	if code != 0 {
		t.Fatalf("--seeds 2: exit %d: %s", code, stderr)
	}
	evs = decodeLines(t, stdout)
	if len(evs) != 6 {
		t.Fatalf("--seeds 2: %d lines, want 2 seeds × 2 strategies and 2 summaries:\n%s", len(evs), stdout)
	}
	for i, want := range []struct {
		sel  string
		seed float64
	}{{"uniform", 5}, {"importance", 5}, {"uniform", 6}, {"importance", 6}} {
		if evs[i]["bench"] != "select" || evs[i]["select"] != want.sel || evs[i]["seed"] != want.seed {
			t.Errorf("line %d: %v, want %s with seed %v", i, evs[i], want.sel, want.seed)
		}
	}
	for k, sel := range []string{"uniform", "importance"} {
		sum := evs[4+k]
		mean := (evs[k]["backward_samples"].(float64) + evs[2+k]["backward_samples"].(float64)) / 2
		if sum["bench"] != "select-summary" || sum["select"] != sel || sum["seeds"] != 2.0 || sum["reached"] != 2.0 || sum["backward_samples_mean"] != mean {
			t.Errorf("summary of %s: %v, want 2 seeds reached with mean backward samples %v", sel, sum, mean)
		}
	}
	if r := evs[4]["backward_ratio_vs_uniform"]; r != 1.0 {
		t.Errorf("uniform's summary ratio to itself is %v, want 1", r)
	}
	if code, _, _ := run(t, "bench", "select", "--data", dir, "--select", "uniform,best"); code != 2 {
		t.Errorf("an unknown strategy exits %d, want 2", code)
	}
}

// TestTrainEvalEvery checks the eval lines --eval-every adds, in the
// pipeline and in the plain loop, and that the done event takes its passes
// and seconds_to_target from the first one reaching the target.
func TestTrainEvalEvery(t *testing.T) {
	dir := synthMNIST(t, 640, 200)
	for _, workers := range []string{"0", "1"} {
		t.Run("workers "+workers, func(t *testing.T) {
			code, stdout, stderr := run(t, "train", "--data", dir, "--out", "", "--epochs", "2", "--batch", "32", "--json",
				"--threads", "1", "--workers", workers, "--eval-every", "3", "--target-accuracy", "0.5")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			evs := decodeLines(t, stdout)
			// An easy task passes 50 % by step 3: one eval line, the
			// epoch it cut short, and done.
			if len(evs) != 3 || evs[0]["event"] != "eval" || evs[1]["event"] != "epoch" || evs[2]["event"] != "done" {
				t.Fatalf("lines %v, want eval, epoch and done", evs)
			}
			ev, done := evs[0], evs[2]
			if ev["step"] != 3.0 || ev["backward_samples"] != 96.0 || ev["forward_samples"] != 96.0 {
				t.Errorf("eval line %v, want step 3 after 96 samples", ev)
			}
			if done["backward_samples"] != 96.0 || done["seconds_to_target"] != ev["seconds"] || evs[1]["step"] != 3.0 {
				t.Errorf("done %v after epoch %v, want the eval line's 96 samples, step and seconds (%v)", done, evs[1], ev["seconds"])
			}
		})
	}
	if code, _, stderr := run(t, "train", "--data", dir, "--out", "", "--eval-every", "-1"); code == 0 || !strings.Contains(stderr, "eval_every") {
		t.Errorf("--eval-every -1 exits %d with %q, want an error naming eval_every", code, stderr)
	}
}
