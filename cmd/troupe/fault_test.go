//go:build linux

package main

import (
	"bufio"
	"encoding/json"
	"math/rand/v2"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
)

// freeAddr returns a loopback address with a port that was free a moment
// ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// waitFor waits until p's stdout or stderr holds s.
func waitFor(t *testing.T, p *troupeProc, s string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(p.out.String(), s) && !strings.Contains(p.err.String(), s) {
		select {
		case <-p.done:
			t.Fatalf("troupe %v exited before printing %q; stderr:\n%s", p.cmd.Args[1:], s, p.err.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("troupe %v printed no %q in %v; stderr:\n%s", p.cmd.Args[1:], s, timeout, p.err.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The worker fault test: a coordinator, two worker nodes and a ps
// node on 127.0.0.1 train the mlp on MNIST; one worker process is killed
// with SIGKILL at a random point of the second epoch. The coordinator
// takes its replica out of the shards' clocks and hands its unfinished
// batches to the other, and the job completes its three epochs at ≥ 97.5 %.
func TestWorkerKilledJobCompletes(t *testing.T) {
	start := time.Now()
	coord, node := startMNISTCluster(t)
	w0, w1, ps := node("worker"), node("worker"), node("ps")
	waitFor(t, coord, `"event":"epoch"`, 3*time.Minute)
	// Somewhere in the second epoch, which takes several seconds.
	delay := time.Duration(rand.IntN(2000)) * time.Millisecond
	time.Sleep(delay)
	if err := syscall.Kill(w1.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Since(start)
	_, acc := finishMNISTJob(t, coord)
	t.Logf("worker killed %v into the second epoch (%.1f s after the start); test accuracy %.2f %%, %.1f s in all",
		delay, killed.Seconds(), 100*acc, time.Since(start).Seconds())
	if !strings.Contains(coord.err.String(), "replica is lost") {
		t.Errorf("the coordinator did not log the lost replica; stderr:\n%s", coord.err.String())
	}
	checkNodesExit(t, w0, ps)
}

// A job placed on nodes continues from its output folder's checkpoint:
// troupe launch … -- --resume DIR trains the epochs after the checkpoint's
// on nodes and writes its checkpoint there.
func TestLaunchResume(t *testing.T) {
	dir := synthMNIST(t, 600, 100)
	out := t.TempDir()
	first := startTroupe(t, "launch", "--workers", "1", "--ps", "1", "--threads", "1", "--",
		"--data", dir, "--epochs", "1", "--batch", "32", "--json", "--out", out)
	if code := first.wait(t, 2*time.Minute); code != 0 {
		t.Fatalf("troupe launch exited %d; stderr:\n%s", code, first.err.String())
	}
	again := startTroupe(t, "launch", "--workers", "1", "--ps", "1", "--threads", "1", "--",
		"--data", dir, "--resume", out, "--epochs", "2", "--json")
	if code := again.wait(t, 2*time.Minute); code != 0 {
		t.Fatalf("troupe launch --resume exited %d; stderr:\n%s", code, again.err.String())
	}
	evs := decodeLines(t, again.out.String())
	if len(evs) != 2 || evs[0]["event"] != "epoch" || evs[0]["epoch"] != float64(2) || evs[1]["event"] != "done" {
		t.Fatalf("stdout is not epoch 2 and done:\n%s", again.out.String())
	}
	checkNoneLeft(t, again)
}

// checkDone checks that p's stdout is epochs JSON epoch events and a done
// event, and returns the done event.
func checkDone(t *testing.T, p *troupeProc, epochs int) map[string]any {
	t.Helper()
	n, done := 0, map[string]any(nil)
	sc := bufio.NewScanner(strings.NewReader(p.out.String()))
	for sc.Scan() {
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("stdout line %q is not JSON: %v", sc.Text(), err)
		}
		switch ev["event"] {
		case "epoch":
			n++
		case "done":
			done = ev
		}
	}
	if done == nil || n != epochs {
		t.Fatalf("%d epoch events and done %v on stdout, want %d and done:\n%s", n, done, epochs, p.out.String())
	}
	return done
}

// A worker node that joins in place of a lost one gets a replica again:
// at the end of the epoch it joined in, the coordinator places the job
// again, from that epoch's checkpoint, on both worker nodes, and the job
// completes every epoch.
func TestWorkerRejoins(t *testing.T) {
	dir := synthMNIST(t, 3000, 200)
	addr, out := freeAddr(t), t.TempDir()
	coord := startTroupe(t, "train", "--data", dir, "--listen", addr, "--nodes", "3", "--workers", "2", "--ps-shards", "1",
		"--epochs", "5", "--batch", "32", "--json", "--out", out)
	node := func(role string) *troupeProc {
		return startTroupe(t, "node", "--role", role, "--listen", "127.0.0.1:0", "--join", addr, "--threads", "1")
	}
	w0, w1, ps := node("worker"), node("worker"), node("ps")
	waitFor(t, coord, `"event":"epoch"`, 2*time.Minute)
	if err := syscall.Kill(w1.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, coord, "replica is lost", time.Minute)
	w2 := node("worker")
	if code := coord.wait(t, 3*time.Minute); code != 0 {
		t.Fatalf("the coordinator exited %d; stderr:\n%s", code, coord.err.String())
	}
	checkDone(t, coord, 5)
	if !strings.Contains(coord.err.String(), "placing the job again") {
		t.Errorf("the job was not placed again with the new worker node; stderr:\n%s", coord.err.String())
	}
	checkNodesExit(t, w0, w2, ps)
	if !strings.Contains(w2.err.String(), "took the job") {
		t.Errorf("the new worker node never took the job; its stderr:\n%s", w2.err.String())
	}
}

// startMNISTCluster starts a coordinator for three epochs of the mlp on
// MNIST with two replicas and one shard on three nodes that join it on
// 127.0.0.1; node starts one such node.
func startMNISTCluster(t *testing.T) (coord *troupeProc, node func(role string) *troupeProc) {
	t.Helper()
	needMNIST(t)
	addr, out := freeAddr(t), t.TempDir()
	coord = startTroupe(t, "train", "--listen", addr, "--nodes", "3", "--workers", "2", "--ps-shards", "1",
		"--epochs", "3", "--json", "--out", out)
	node = func(role string) *troupeProc {
		return startTroupe(t, "node", "--role", role, "--listen", "127.0.0.1:0", "--join", addr, "--threads", "1")
	}
	return coord, node
}

// finishMNISTJob waits for coord's job to succeed with three epochs at
// ≥ 97.5 % test accuracy and returns its done event and accuracy.
func finishMNISTJob(t *testing.T, coord *troupeProc) (map[string]any, float64) {
	t.Helper()
	if code := coord.wait(t, 4*time.Minute); code != 0 {
		t.Fatalf("the coordinator exited %d; stderr:\n%s", code, coord.err.String())
	}
	done := checkDone(t, coord, 3)
	acc, _ := done["test_accuracy"].(float64)
	if acc < 0.975 {
		t.Errorf("test accuracy %.4f, want ≥ 0.975", acc)
	}
	return done, acc
}

// checkNodesExit checks that every node exits with status 0.
func checkNodesExit(t *testing.T, nodes ...*troupeProc) {
	t.Helper()
	for _, p := range nodes {
		if code := p.wait(t, time.Minute); code != 0 {
			t.Errorf("node %v exited %d; stderr:\n%s", p.cmd.Args[1:], code, p.err.String())
		}
	}
}
