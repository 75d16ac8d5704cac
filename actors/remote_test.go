package actors

import (
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-ml/troupe/actors/wire"
	"github.com/troupe-ml/troupe/engine/data"
	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/train"
)

// quietSystem is an actor system that logs nothing and, like Run's,
// keeps no dead-letter goroutine around for long.
func quietSystem() *actor.ActorSystem {
	return actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}), actor.WithDeadLetterThrottleInterval(time.Millisecond))
}

// testNode is a node in this process: an actor system with a remote
// endpoint and a Host.
type testNode struct {
	sys  *actor.ActorSystem
	ep   *wire.Node
	host *Host
}

func startNode(t *testing.T, chunk int) *testNode {
	t.Helper()
	if raceEnabled {
		t.Skip("several protoactor remotes in one process race inside gRPC's logger (see race_test.go)")
	}
	n := &testNode{sys: quietSystem(), host: NewHost(HostConfig{ChunkBytes: chunk})}
	var err error
	if n.ep, err = wire.Start(n.sys, wire.Config{ChunkBytes: chunk, Kinds: n.host.Kinds(), ConnectAttempts: 1}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		n.host.Close()
		n.ep.Stop()
		n.sys.Shutdown()
	})
	return n
}

// placedRun trains cfg with the shards and workers placed as given (""
// keeps one in the coordinator's process) on nodes in this process.
func placedRun(t *testing.T, cfg Config, trainSet, testSet *data.Dataset, chunk int, workers, shards []string, nodes map[string]*testNode) (train.Result, error) {
	t.Helper()
	coord := startNode(t, chunk)
	for _, n := range nodes {
		if err := n.host.Prepare(cfg.Job, coord.sys.Address(), trainSet, testSet); err != nil {
			t.Fatal(err)
		}
	}
	cfg.Placement = &Placement{System: coord.sys, Workers: workers, Shards: shards, ChunkBytes: chunk, Timeout: 10 * time.Second}
	res, _, err := Run(t.Context(), cfg, trainSet, testSet)
	return res, err
}

// A run whose replica and shards live in other processes trains exactly as
// one in a single process: every parameter, gradient and batch crosses
// the wire (here in chunks far smaller than the tensors), and one replica
// under BSP is deterministic, so the checkpoints agree bit for bit.
func TestPlacedRunMatchesLocal(t *testing.T) {
	noLeak(t)
	trainSet, testSet := synth(192, 1), synth(50, 2)
	job := smallJob(2)
	job.PSShards = 2
	for _, tc := range []struct {
		name           string
		chunk          int
		worker, shard0 string // node names; "" for the coordinator's process
	}{
		{"worker and shards on one node", 0, "a", "a"},
		{"two nodes, one shard local, 16 KiB chunks", 16 << 10, "a", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			local := job
			local.Out = t.TempDir()
			cfg, err := ConfigFromJob(local)
			if err != nil {
				t.Fatal(err)
			}
			want, _, err := Run(t.Context(), cfg, trainSet, testSet)
			if err != nil {
				t.Fatal(err)
			}
			nodes := map[string]*testNode{"a": startNode(t, tc.chunk), "b": startNode(t, tc.chunk)}
			addr := func(name string) string {
				if name == "" {
					return ""
				}
				return nodes[name].sys.Address()
			}
			placedJob := job
			placedJob.Out = t.TempDir()
			cfg.Job = placedJob
			got, err := placedRun(t, cfg, trainSet, testSet, tc.chunk, []string{addr(tc.worker)}, []string{addr(tc.shard0), addr("b")}, nodes)
			if err != nil {
				t.Fatal(err)
			}
			sameBits(t, checkpointParams(t, want.Checkpoint), checkpointParams(t, got.Checkpoint))
			sameBits(t, checkpointState(t, want.Checkpoint), checkpointState(t, got.Checkpoint))
			for i, w := range want.Epochs {
				if g := got.Epochs[i]; g.TrainLoss != w.TrainLoss || g.TestAccuracy != w.TestAccuracy {
					t.Errorf("epoch %d: train loss %v, accuracy %v; in one process %v, %v", w.Epoch, g.TrainLoss, g.TestAccuracy, w.TrainLoss, w.TestAccuracy)
				}
			}
		})
	}
}

// Two replicas on two nodes and a shard on each train together.
func TestPlacedRunTwoWorkers(t *testing.T) {
	noLeak(t)
	trainSet, testSet := synth(320, 1), synth(50, 2)
	job := tinyJob(2)
	job.Workers, job.PSShards = 2, 2
	cfg, err := ConfigFromJob(job)
	if err != nil {
		t.Fatal(err)
	}
	a, b := startNode(t, 0), startNode(t, 0)
	addrs := []string{a.sys.Address(), b.sys.Address()}
	res, err := placedRun(t, cfg, trainSet, testSet, 0, addrs, addrs, map[string]*testNode{"a": a, "b": b})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Epochs) != 2 {
		t.Fatalf("%d epochs reported, want 2", len(res.Epochs))
	}
}

// killOnProgress stops a node's endpoint at the first progress report, as
// if its process died.
type killOnProgress struct {
	once sync.Once
	kill func()
}

func (k *killOnProgress) Progress(train.Progress)       { k.once.Do(k.kill) }
func (k *killOnProgress) Epoch(train.EpochReport) error { return nil }

// A node that goes away mid-run fails the run, naming what was lost,
// instead of leaving it waiting.
func TestPlacedRunNodeLost(t *testing.T) {
	noLeak(t)
	trainSet, testSet := synth(192, 1), synth(50, 2)
	job := tinyJob(3)
	job.PSShards = 2
	cfg, err := ConfigFromJob(job)
	if err != nil {
		t.Fatal(err)
	}
	n := startNode(t, 0)
	cfg.Observer = &killOnProgress{kill: n.ep.Stop}
	done := make(chan error, 1)
	go func() {
		_, err := placedRun(t, cfg, trainSet, testSet, 0, nil, []string{"", n.sys.Address()}, map[string]*testNode{"a": n})
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "ps/1 on "+n.sys.Address()) {
			t.Fatalf("run returned %v, want an error naming ps/1 and its node", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the run did not end after its node went away")
	}
}

// A node refuses to host actors of a job it was not given, and the run
// says so instead of starting.
func TestPlacedRunRefused(t *testing.T) {
	noLeak(t)
	trainSet, testSet := synth(64, 1), synth(10, 2)
	job := tinyJob(1)
	cfg, err := ConfigFromJob(job)
	if err != nil {
		t.Fatal(err)
	}
	n := startNode(t, 0)
	coord := startNode(t, 0)
	cfg.Placement = &Placement{System: coord.sys, Workers: []string{n.sys.Address()}, Timeout: 5 * time.Second}
	_, _, err = Run(t.Context(), cfg, trainSet, testSet)
	if err == nil || !strings.Contains(err.Error(), "refused its topology") || !strings.Contains(err.Error(), "hosts no job") {
		t.Fatalf("run returned %v, want a refusal naming the missing job", err)
	}
	// A placed run takes its shape from the job.
	cfg.PSShards = 3
	if _, _, err := Run(t.Context(), cfg, trainSet, testSet); err == nil || !strings.Contains(err.Error(), "ConfigFromJob") {
		t.Fatalf("a Config that differs from its job: %v", err)
	}
}

func TestHostPrepare(t *testing.T) {
	noLeak(t)
	h := NewHost(HostConfig{Threads: 1})
	defer h.Close()
	job := tinyJob(1)
	if err := h.Prepare(job, "x:1", synth(64, 1), synth(10, 2)); err != nil {
		t.Fatal(err)
	}
	if err := h.Prepare(job, "x:1", synth(64, 1), synth(10, 2)); err == nil {
		t.Error("a second job was accepted")
	}
	bad := NewHost(HostConfig{})
	defer bad.Close()
	job.Device = spec.CUDA
	if err := bad.Prepare(job, "x:1", synth(64, 1), synth(10, 2)); err == nil {
		t.Error("a CUDA job was accepted")
	}
	job.Device, job.Batch = spec.CPU, 0
	if err := bad.Prepare(job, "x:1", synth(64, 1), synth(10, 2)); err == nil {
		t.Error("an invalid job was accepted")
	}
}
