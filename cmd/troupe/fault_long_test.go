//go:build linux && long

package main

import (
	"math/rand/v2"
	"syscall"
	"testing"
	"time"
)

// The ps fault test: a coordinator, two worker nodes and a ps node
// on 127.0.0.1 train the mlp on MNIST; the ps process is killed with
// SIGKILL at a random point of the second epoch and a new ps node joins.
// The coordinator places the job again from the first epoch's checkpoint,
// and the job completes its three epochs at ≥ 97.5 %, reporting the steps
// it trained again.
func TestPSKilledJobRecovers(t *testing.T) {
	start := time.Now()
	coord, node := startMNISTCluster(t)
	w0, w1, ps := node("worker"), node("worker"), node("ps")
	waitFor(t, coord, `"event":"epoch"`, 3*time.Minute)
	delay := time.Duration(500+rand.IntN(2000)) * time.Millisecond
	time.Sleep(delay)
	if err := syscall.Kill(ps.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, coord, "waiting for a ps node", time.Minute)
	ps2 := node("ps")
	done, acc := finishMNISTJob(t, coord)
	replayed, _ := done["replayed_steps"].(float64)
	t.Logf("ps killed %v into the second epoch; %v steps replayed; test accuracy %.2f %%, %.1f s in all",
		delay, replayed, 100*acc, time.Since(start).Seconds())
	if replayed <= 0 {
		t.Errorf("replayed_steps %v, want > 0", replayed)
	}
	checkNodesExit(t, w0, w1, ps2)
}

// A worker process that hangs (SIGSTOP) is noticed through gRPC keepalive
// and left out like a killed one: the job completes without it.
func TestWorkerHungJobCompletes(t *testing.T) {
	start := time.Now()
	coord, node := startMNISTCluster(t)
	w0, w1, ps := node("worker"), node("worker"), node("ps")
	waitFor(t, coord, `"event":"epoch"`, 3*time.Minute)
	if err := syscall.Kill(w1.cmd.Process.Pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	waitFor(t, coord, "replica is lost", time.Minute)
	noticed := time.Since(stopped)
	_, acc := finishMNISTJob(t, coord)
	t.Logf("hung worker noticed after %.1f s; test accuracy %.2f %%, %.1f s in all", noticed.Seconds(), 100*acc, time.Since(start).Seconds())
	checkNodesExit(t, w0, ps)
}
