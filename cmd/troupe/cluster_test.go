//go:build linux

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/troupe-ml/troupe/engine/data"
)

// lockedBuffer collects a child's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// troupeProc is this test binary running as troupe, in a process group of
// its own so that the test can find every process it started.
type troupeProc struct {
	cmd      *exec.Cmd
	out, err lockedBuffer
	done     chan struct{}
	exitErr  error
}

func startTroupe(t *testing.T, args ...string) *troupeProc {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := &troupeProc{cmd: exec.Command(exe, args...), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), asTroupeEnv+"=1")
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.err
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.exitErr = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	})
	return p
}

// wait returns the exit code, failing the test after timeout.
func (p *troupeProc) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		t.Fatalf("troupe %v still running after %v; stderr:\n%s", p.cmd.Args[1:], timeout, p.err.String())
	}
	var ee *exec.ExitError
	if errors.As(p.exitErr, &ee) {
		return ee.ExitCode()
	}
	if p.exitErr != nil {
		t.Fatal(p.exitErr)
	}
	return 0
}

// groupMembers lists the live processes of process group pgid.
func groupMembers(pgid int) []int {
	es, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range es {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) > 2 && f[2] == strconv.Itoa(pgid) && f[0] != "Z" {
			out = append(out, pid)
		}
	}
	return out
}

// checkNoneLeft fails if any process launch started is still alive.
func checkNoneLeft(t *testing.T, p *troupeProc) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := groupMembers(p.cmd.Process.Pid)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes %v outlived troupe launch", left)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func needMNIST(t *testing.T) {
	t.Helper()
	if raceEnabled {
		t.Skip("multi-process MNIST training is too slow under -race")
	}
	if _, err := data.LocateMNIST(""); err != nil {
		t.Skipf("MNIST not found, so no multi-process MNIST test: %v", err)
	}
}

// The acceptance test: a coordinator, two worker nodes and two
// parameter-server nodes, each its own process on 127.0.0.1, train the mlp
// on MNIST to at least 97.5 % test accuracy, and no process is left behind;
// and so they do with top-k compression, whose pushes, as the job reports
// them, are at least 30 times smaller. (int8 runs with -tags long.)
func TestLaunchTrainsMNIST(t *testing.T) {
	needMNIST(t)
	plain := launchMNIST(t, "none")
	topk := launchMNIST(t, "topk:0.01")
	checkShrink(t, "topk:0.01", plain, topk, 30)
}

// launchMNIST trains 3 epochs on 2 worker and 2 ps processes with the given
// compression, checks the run, and returns its done line.
func launchMNIST(t *testing.T, mode string) *doneEvent {
	t.Helper()
	out := t.TempDir()
	start := time.Now()
	p := startTroupe(t, "launch", "--workers", "2", "--ps", "2", "--", "--epochs", "3", "--json", "--out", out, "--compress", mode)
	if code := p.wait(t, 5*time.Minute); code != 0 {
		t.Fatalf("compress %s: troupe launch exited %d; stderr:\n%s", mode, code, p.err.String())
	}
	var done *doneEvent
	epochs := 0
	sc := bufio.NewScanner(strings.NewReader(p.out.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ev struct {
			Event        string  `json:"event"`
			BytesPerStep float64 `json:"bytes_per_step"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("stdout line %q is not JSON: %v", sc.Text(), err)
		}
		switch ev.Event {
		case "epoch":
			epochs++
			if ev.BytesPerStep <= 0 {
				t.Errorf("compress %s: epoch line without bytes_per_step: %s", mode, sc.Text())
			}
		case "done":
			done = &doneEvent{}
			json.Unmarshal(sc.Bytes(), done)
		}
	}
	if done == nil || epochs != 3 {
		t.Fatalf("compress %s: %d epoch events and done %v on stdout:\n%s", mode, epochs, done, p.out.String())
	}
	t.Logf("compress %s: test accuracy %.2f %% after 3 epochs, %.0f bytes per step, %.1f s of training, %.1f s in all",
		mode, 100*done.TestAccuracy, done.BytesPerStep, done.Seconds, time.Since(start).Seconds())
	if done.TestAccuracy < 0.975 {
		t.Errorf("compress %s: test accuracy %.4f, want ≥ 0.975", mode, done.TestAccuracy)
	}
	for _, node := range []string{"[worker 0]", "[worker 1]", "[ps 0]", "[ps 1]"} {
		if !strings.Contains(p.err.String(), node+" ") {
			t.Errorf("compress %s: stderr has nothing from %s", mode, node)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "model.safetensors")); err != nil {
		t.Errorf("compress %s: no checkpoint: %v", mode, err)
	}
	checkNoneLeft(t, p)
	return done
}

// checkShrink wants the compressed run's bytes per step at least factor
// times smaller than the plain run's.
func checkShrink(t *testing.T, mode string, plain, compressed *doneEvent, factor float64) {
	t.Helper()
	if r := plain.BytesPerStep / compressed.BytesPerStep; !(r >= factor) {
		t.Errorf("compress %s: %.0f bytes per step, none %.0f: %.1fx smaller, want ≥ %.0fx",
			mode, compressed.BytesPerStep, plain.BytesPerStep, r, factor)
	}
}

// A cluster trains on a small synthetic data set that every process finds
// at the job's --data folder, keeps --json's stdout contract, and leaves no
// process behind.
func TestLaunchSynthetic(t *testing.T) {
	dir := synthMNIST(t, 600, 100)
	p := startTroupe(t, "launch", "--workers", "2", "--ps", "1", "--threads", "1", "--",
		"--data", dir, "--epochs", "2", "--batch", "32", "--json", "--out", "")
	if code := p.wait(t, 2*time.Minute); code != 0 {
		t.Fatalf("troupe launch exited %d; stderr:\n%s", code, p.err.String())
	}
	evs := decodeLines(t, p.out.String())
	if len(evs) != 3 || evs[0]["event"] != "epoch" || evs[2]["event"] != "done" {
		t.Fatalf("stdout is not 2 epochs and done:\n%s", p.out.String())
	}
	checkNoneLeft(t, p)
}

// An interrupt stops the whole cluster: the launch exits, and so does
// every process it started.
func TestLaunchInterruptStopsCluster(t *testing.T) {
	dir := synthMNIST(t, 600, 100)
	p := startTroupe(t, "launch", "--workers", "1", "--ps", "1", "--threads", "1", "--",
		"--data", dir, "--epochs", "1000", "--batch", "32", "--out", "")
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(p.err.String(), "placing") {
		if time.Now().After(deadline) {
			t.Fatalf("the job was not placed; stderr:\n%s", p.err.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, time.Minute); code == 0 {
		t.Errorf("an interrupted launch exited 0")
	}
	checkNoneLeft(t, p)
}
