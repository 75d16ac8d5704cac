package cluster

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/troupe-ml/troupe/messages"
)

// syncBuffer is a bytes.Buffer safe for a child's output goroutine and the
// test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is a child process of a test.
type proc struct {
	cmd      *exec.Cmd
	out, err *syncBuffer
	done     chan struct{}
	exitErr  error
}

// startChild runs the test binary as a cluster process; it is killed when
// the test ends.
func startChild(t *testing.T, role string, env []string, args ...string) *proc {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: exec.Command(exe, args...), out: &syncBuffer{}, err: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Env = append(append(os.Environ(), childEnv+"="+role), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.err
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.exitErr = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// wait waits for the process to exit and returns its exit code.
func (p *proc) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		t.Fatalf("process %v still running after %v; stderr:\n%s", p.cmd.Args, timeout, p.err.String())
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

func testAddr(t *testing.T) string {
	t.Helper()
	addr, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// A coordinator and three nodes in four processes train a job: two
// replicas on the worker nodes, both shards on the ps node. Every process
// exits cleanly when the job is over.
func TestClusterAcrossProcesses(t *testing.T) {
	addr := testAddr(t)
	coord := startChild(t, "coordinator", nil, "-listen", addr, "-nodes", "3", "-workers", "2", "-shards", "2")
	var nodes []*proc
	for _, role := range []string{"worker", "worker", "ps"} {
		nodes = append(nodes, startChild(t, "node", nil, "-role", role, "-join", addr))
	}
	if code := coord.wait(t, 60*time.Second); code != 0 || !strings.Contains(coord.out.String(), "epochs 2 accuracy") {
		t.Fatalf("coordinator exited %d, stdout %q; stderr:\n%s", code, coord.out.String(), coord.err.String())
	}
	for i, n := range nodes {
		if code := n.wait(t, 10*time.Second); code != 0 {
			t.Errorf("node %d exited %d; stderr:\n%s", i, code, n.err.String())
		}
	}
}

// A node that speaks another message set is refused with an error naming
// both versions, and the coordinator goes on to take a compatible one.
func TestIncompatibleNodeIsRefused(t *testing.T) {
	addr := testAddr(t)
	coord := startChild(t, "coordinator", nil, "-listen", addr, "-nodes", "1")
	rogue := startChild(t, "node", []string{protoEnv + "=troupe.v0/0"}, "-role", "worker", "-join", addr)
	if code := rogue.wait(t, 30*time.Second); code == 0 {
		t.Fatal("the incompatible node was taken")
	}
	for _, want := range []string{"ERR_REFUSED", `"troupe.v0/0"`, `"` + messages.ProtoVersion + `"`} {
		if !strings.Contains(rogue.err.String(), want) {
			t.Errorf("the refused node's output lacks %s:\n%s", want, rogue.err.String())
		}
	}
	good := startChild(t, "node", nil, "-role", "worker", "-join", addr)
	if code := coord.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("coordinator exited %d; stderr:\n%s", code, coord.err.String())
	}
	if !strings.Contains(coord.err.String(), "refused a node") || !strings.Contains(coord.err.String(), "incompatible") {
		t.Errorf("the coordinator did not log the refusal:\n%s", coord.err.String())
	}
	if code := good.wait(t, 10*time.Second); code != 0 {
		t.Errorf("the compatible node exited %d:\n%s", code, good.err.String())
	}
}

// A node refuses a coordinator that speaks another message set.
func TestNodeRefusesIncompatibleCoordinator(t *testing.T) {
	addr := testAddr(t)
	startChild(t, "coordinator", []string{protoEnv + "=troupe.v9/9"}, "-listen", addr, "-nodes", "1")
	node := startChild(t, "node", nil, "-role", "ps", "-join", addr)
	if code := node.wait(t, 30*time.Second); code == 0 {
		t.Fatal("the node took an incompatible coordinator")
	}
	if out := node.err.String(); !strings.Contains(out, "ERR_INCOMPATIBLE") || !strings.Contains(out, "troupe.v9/9") {
		t.Errorf("the node's output does not name the incompatibility:\n%s", out)
	}
}

func TestParseRoleAndPlace(t *testing.T) {
	for _, s := range []string{"worker", "ps"} {
		if r, err := ParseRole(s); err != nil || string(r) != s {
			t.Errorf("ParseRole(%q) = %q, %v", s, r, err)
		}
	}
	if _, err := ParseRole("gpu"); err == nil {
		t.Error("role gpu accepted")
	}
	members := []Member{{Addr: "w0", Role: RoleWorker}, {Addr: "p0", Role: RolePS}, {Addr: "w1", Role: RoleWorker}}
	pl := place(members, 3, 2)
	if got, want := strings.Join(pl.Workers, ","), "w0,w1,w0"; got != want {
		t.Errorf("workers on %s, want %s", got, want)
	}
	if got, want := strings.Join(pl.Shards, ","), "p0,p0"; got != want {
		t.Errorf("shards on %s, want %s", got, want)
	}
	if pl := place(members[:1], 2, 2); len(pl.Shards) != 0 {
		t.Errorf("shards placed on %v without a ps node", pl.Shards)
	}
	if BuildVersion() == "" {
		t.Error("empty build version")
	}
}

func TestLineWriter(t *testing.T) {
	var mu sync.Mutex
	var out bytes.Buffer
	w := &lineWriter{mu: &mu, w: &out, prefix: "[n] "}
	w.Write([]byte("a\nb"))
	w.Write([]byte("c\n\nd"))
	w.flush()
	if got, want := out.String(), "[n] a\n[n] bc\n[n] \n[n] d\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// launchFakes runs Launch over fake troupe processes behaving as mode says
// (see fake) and returns its error, its output and the children's pids.
func launchFakes(t *testing.T, ctx context.Context, mode string) (stdout, stderr string, pids []int, err error) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var out, errOut syncBuffer
	err = Launch(ctx, LaunchConfig{Exe: exe, Workers: 2, PS: 1, Stdout: &out, Stderr: &errOut, Grace: 500 * time.Millisecond,
		Env: append(os.Environ(), childEnv+"=fake", fakeEnv+"="+mode, pidDirEnv+"="+dir)})
	return out.String(), errOut.String(), recordedPIDs(t, dir), err
}

// checkAllGone checks that the children that recorded their pids (want of
// them; -1 when some may have been stopped before they could) are gone,
// and that this process has no child left.
func checkAllGone(t *testing.T, pids []int, want int) {
	t.Helper()
	if want >= 0 && len(pids) != want {
		t.Fatalf("%d children recorded, want %d", len(pids), want)
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("child %d outlived the launch", pid)
		}
	}
	if kids := children(os.Getpid()); len(kids) > 0 {
		t.Errorf("processes %v are still this process's children", kids)
	}
}

// Nodes that outlive the coordinator are interrupted after the grace
// period; the output is forwarded, the nodes' prefixed.
func TestLaunchEndsWithCoordinator(t *testing.T) {
	stdout, stderr, pids, err := launchFakes(t, t.Context(), "train-ok")
	if err != nil {
		t.Fatal(err)
	}
	checkAllGone(t, pids, 4)
	if !strings.Contains(stdout, "coordinator listening") {
		t.Errorf("stdout %q lacks the coordinator's", stdout)
	}
	for _, want := range []string{"[worker 0] node up", "[worker 1] node up", "[ps 0] node up"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

// A node that ignores interrupts is killed.
func TestLaunchKillsStubbornNode(t *testing.T) {
	_, _, pids, err := launchFakes(t, t.Context(), "train-ok,stubborn")
	if err != nil {
		t.Fatal(err)
	}
	checkAllGone(t, pids, 4)
}

// A node that fails stops the cluster, and the error names it.
func TestLaunchNodeFailure(t *testing.T) {
	_, _, pids, err := launchFakes(t, t.Context(), "node-fail")
	if err == nil || !strings.Contains(err.Error(), "failed") || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("launch returned %v, want the node's failure", err)
	}
	// The other nodes may be stopped before they record themselves.
	checkAllGone(t, pids, -1)
}

// Cancelling the launch (an interrupt) stops every process.
func TestLaunchInterrupted(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	_, _, pids, err := launchFakes(t, ctx, "")
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("launch returned %v, want an interruption", err)
	}
	checkAllGone(t, pids, 4)
}

// A launcher killed outright takes its children with it.
func TestLaunchParentKilled(t *testing.T) {
	dir := t.TempDir()
	l := startChild(t, "launcher", []string{pidDirEnv + "=" + dir})
	deadline := time.Now().Add(20 * time.Second)
	for len(recordedPIDs(t, dir)) < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("children did not start:\n%s", l.err.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := l.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	l.wait(t, 5*time.Second)
	pids := recordedPIDs(t, dir)
	for time.Now().Before(deadline) {
		n := 0
		for _, pid := range pids {
			if alive(pid) {
				n++
			}
		}
		if n == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	checkAllGone(t, pids, 4)
}
