package main

import (
	"testing"
	"time"
)

// bench cluster launches a short cluster per mode and prints the job's
// figures and a raw protoactor reference line for the same push size.
func TestBenchCluster(t *testing.T) {
	dir := synthMNIST(t, 600, 100)
	p := startTroupe(t, "bench", "cluster", "--data", dir, "--modes", "none,int8", "--workers", "1",
		"--steps", "4", "--batch", "32", "--raw-messages", "5", "--threads", "1", "--json")
	if code := p.wait(t, 2*time.Minute); code != 0 {
		t.Fatalf("troupe bench cluster exited %d; stderr:\n%s", code, p.err.String())
	}
	evs := decodeLines(t, p.out.String())
	if len(evs) != 4 {
		t.Fatalf("%d lines, want 2 runs and 2 references:\n%s", len(evs), p.out.String())
	}
	bytes := map[string]float64{}
	for _, ev := range evs[:2] {
		b, _ := ev["bytes_per_step"].(float64)
		sps, _ := ev["samples_per_sec"].(float64)
		if ev["bench"] != "cluster" || b <= 0 || sps <= 0 {
			t.Errorf("run line %v, want bench cluster with bytes_per_step and samples_per_sec > 0", ev)
		}
		bytes[ev["compress"].(string)] = b
	}
	// int8 sends a byte per value and a scale per 256, against 4 bytes.
	if r := bytes["none"] / bytes["int8"]; r < 3.5 || r > 4 {
		t.Errorf("bytes per step: none %v, int8 %v (%.2fx), want 3.5x to 4x", bytes["none"], bytes["int8"], r)
	}
	for i, ev := range evs[2:] {
		size, _ := ev["message_bytes"].(float64)
		mps, _ := ev["messages_per_sec"].(float64)
		want := bytes[[]string{"none", "int8"}[i]]
		if ev["bench"] != "cluster-raw" || mps <= 0 || size < 0.99*want || size > want {
			t.Errorf("reference line %v, want bench cluster-raw with messages of about %v bytes", ev, want)
		}
	}
	checkNoneLeft(t, p)
}
