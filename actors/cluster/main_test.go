package cluster

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/troupe-ml/troupe/actors"
	"github.com/troupe-ml/troupe/engine/data"
	"github.com/troupe-ml/troupe/engine/data/datatest"
	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/messages"
)

// The tests run cluster processes by re-executing the test binary with
// childEnv naming what it should be.
const (
	childEnv = "TROUPE_CLUSTER_TEST_CHILD"
	// protoEnv makes a child introduce itself with this proto version.
	protoEnv = "TROUPE_CLUSTER_TEST_PROTO"
	// pidDirEnv is where fake children record their process ids.
	pidDirEnv = "TROUPE_CLUSTER_TEST_PIDS"
	// fakeEnv says how a fake troupe behaves (see fake).
	fakeEnv = "TROUPE_CLUSTER_TEST_FAKE"
)

func TestMain(m *testing.M) {
	if role := os.Getenv(childEnv); role != "" {
		os.Exit(child(role, os.Args[1:]))
	}
	os.Exit(m.Run())
}

// child runs one cluster process of a test and returns its exit code.
func child(role string, args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	var hello *messages.Hello
	if v := os.Getenv(protoEnv); v != "" {
		hello = &messages.Hello{ProtoVersion: v, BuildVersion: "test", Role: "?"}
	}
	var err error
	switch role {
	case "coordinator":
		err = runCoordinator(ctx, args, log, hello)
	case "node":
		fs := flag.NewFlagSet("node", flag.ContinueOnError)
		r := fs.String("role", "worker", "")
		join := fs.String("join", "", "")
		if err = fs.Parse(args); err == nil {
			if hello != nil {
				hello.Role = *r
			}
			err = RunNode(ctx, NodeConfig{Endpoint: Endpoint{Logger: log}, Role: Role(*r), Join: *join,
				JoinTimeout: 20 * time.Second, Threads: 1, Data: testData, hello: hello})
		}
	case "fake":
		return fake(ctx, args)
	case "launcher":
		exe, _ := os.Executable()
		err = Launch(ctx, LaunchConfig{Exe: exe, Workers: 2, PS: 1, Stderr: os.Stderr, Grace: time.Second,
			Env: append(os.Environ(), childEnv+"=fake")})
	default:
		err = fmt.Errorf("unknown child role %q", role)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "child error:", err)
		switch {
		case errors.Is(err, ErrIncompatible):
			fmt.Fprintln(os.Stderr, "ERR_INCOMPATIBLE")
		case errors.Is(err, ErrRefused):
			fmt.Fprintln(os.Stderr, "ERR_REFUSED")
		}
		return 1
	}
	return 0
}

// testJob is a small job on a small model, quick on synthetic data.
func testJob(epochs, workers, shards int) spec.Job {
	j := spec.Default()
	j.Model, j.Epochs, j.Batch, j.EvalBatch, j.Out = "", epochs, 32, 100, ""
	j.Workers, j.PSShards = workers, shards
	j.ModelSpec = &spec.Model{Input: []int{1, 28, 28}, Layers: []spec.Layer{
		{Type: spec.Flatten}, {Type: spec.Linear, Out: 32}, {Type: spec.ReLU}, {Type: spec.Linear, Out: 10},
	}}
	return j
}

// testData is every process's copy of the same synthetic data.
func testData(spec.Job) (*data.Dataset, *data.Dataset, error) {
	return datatest.MNISTLike(320, 1), datatest.MNISTLike(60, 2), nil
}

func runCoordinator(ctx context.Context, args []string, log *slog.Logger, hello *messages.Hello) error {
	fs := flag.NewFlagSet("coordinator", flag.ContinueOnError)
	listen := fs.String("listen", "", "")
	nodes := fs.Int("nodes", 1, "")
	workers := fs.Int("workers", 1, "")
	shards := fs.Int("shards", 1, "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := Listen(CoordinatorConfig{Endpoint: Endpoint{Listen: *listen, Logger: log}, Nodes: *nodes, hello: hello})
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Wait(ctx); err != nil {
		return err
	}
	cfg, err := actors.ConfigFromJob(testJob(2, *workers, *shards))
	if err != nil {
		return err
	}
	trainSet, testSet, _ := testData(cfg.Job)
	res, _, err := c.Train(ctx, cfg, trainSet, testSet)
	if err != nil {
		return err
	}
	fmt.Printf("epochs %d accuracy %.4f\n", len(res.Epochs), res.Epochs[len(res.Epochs)-1].TestAccuracy)
	return nil
}

// fake behaves as the troupe binary enough for Launch: "train" listens at
// its --listen address and "node" does nothing, each until interrupted,
// except as fakeEnv, a list, says: "train-ok" makes train exit 0 at once once
// listening, "node-fail" makes nodes exit 3 at once, "stubborn" makes
// nodes ignore interrupts. Each records its pid in pidDirEnv.
func fake(ctx context.Context, args []string) int {
	if dir := os.Getenv(pidDirEnv); dir != "" {
		pid := strconv.Itoa(os.Getpid())
		os.WriteFile(filepath.Join(dir, pid), []byte(pid), 0o644)
	}
	mode := os.Getenv(fakeEnv)
	if len(args) > 0 && args[0] == "train" {
		fs := flag.NewFlagSet("train", flag.ContinueOnError)
		listen := fs.String("listen", "", "")
		fs.Int("nodes", 0, "")
		fs.Int("workers", 0, "")
		fs.Int("ps-shards", 0, "")
		fs.Parse(args[1:])
		ln, err := net.Listen("tcp", *listen)
		if err != nil {
			return 2
		}
		defer ln.Close()
		fmt.Println("coordinator listening")
		if strings.Contains(mode, "train-ok") {
			time.Sleep(300 * time.Millisecond)
			return 0
		}
		<-ctx.Done()
		return 1
	}
	fmt.Println("node up")
	switch {
	case strings.Contains(mode, "node-fail"):
		return 3
	case strings.Contains(mode, "stubborn"):
		signal.Ignore(os.Interrupt)
		time.Sleep(time.Minute)
		return 0
	}
	select {
	case <-ctx.Done():
	case <-time.After(time.Minute):
	}
	return 0
}

// alive reports whether process pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return syscall.Kill(pid, 0) == nil
	}
	// The state follows the command name in parentheses.
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == ')' {
			return i+2 < len(b) && b[i+2] != 'Z'
		}
	}
	return true
}

// recordedPIDs returns the process ids the fake children wrote into dir.
func recordedPIDs(t *testing.T, dir string) []int {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, e := range es {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

// children returns the live processes whose parent is pid (Linux only:
// none elsewhere).
func children(pid int) []int {
	es, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range es {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: the fields after the last ')'.
		i := bytes.LastIndexByte(b, ')')
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) && f[0] != "Z" {
			out = append(out, p)
		}
	}
	return out
}
