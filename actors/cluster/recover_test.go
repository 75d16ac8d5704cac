package cluster

import (
	"context"
	"errors"
	"testing"

	"github.com/troupe-ml/troupe/actors"
	"github.com/troupe-ml/troupe/engine/train"
	"github.com/troupe-ml/troupe/messages"
)

// Once its job is placed, a coordinator admits a node only in place of a
// lost one of the same role; a worker node that does so asks for the job
// to be placed again at the next epoch's end (not after the last), and a
// ps node lets a run waiting for one go on.
func TestReplacementAdmission(t *testing.T) {
	c := &Coordinator{cfg: CoordinatorConfig{Nodes: 2}, changed: make(chan struct{}), gone: map[string]bool{}}
	hello := func(r Role) *messages.Hello { return messages.NewHello(string(r), BuildVersion()) }
	for _, m := range []struct {
		addr string
		role Role
	}{{"a", RoleWorker}, {"b", RolePS}} {
		if err := c.admit(m.addr, hello(m.role)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.admit("x", hello(RoleWorker)); err == nil {
		t.Error("a third node joined a coordinator waiting for two")
	}
	c.placing = true
	if err := c.admit("x", hello(RolePS)); err == nil {
		t.Error("a node joined a placed job that had lost none")
	}
	c.leave("b")
	if err := c.admit("x", hello(RoleWorker)); err == nil {
		t.Error("a worker node joined in place of a lost ps node")
	}
	if err := c.admit("c", hello(RolePS)); err != nil {
		t.Fatalf("a ps node could not replace the lost one: %v", err)
	}
	live, err := c.waitRole(context.Background(), RolePS, 1)
	if err != nil || len(live) != 2 || live[1].Addr != "c" || c.rejoined {
		t.Fatalf("live members %v (%v), rejoined %v; want a and c, not rejoined", live, err, c.rejoined)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.waitRole(ctx, RolePS, 2); !errors.Is(err, context.Canceled) {
		t.Errorf("waiting for a second ps node: %v, want the context's end", err)
	}

	w := &watcher{c: c, last: 3, out: "out"}
	c.leave("a")
	if err := c.admit("d", hello(RoleWorker)); err != nil {
		t.Fatal(err)
	}
	if err := w.Epoch(train.EpochReport{Epoch: 3}); err != nil {
		t.Errorf("the last epoch: %v, want no restart", err)
	}
	if err := w.Epoch(train.EpochReport{Epoch: 2}); !errors.Is(err, errRejoin) {
		t.Errorf("epoch 2 after a worker node joined: %v, want errRejoin", err)
	}
	if err := w.Epoch(train.EpochReport{Epoch: 2}); err != nil {
		t.Errorf("a second epoch end: %v, want no second restart", err)
	}
	if len(w.epochs) != 3 {
		t.Errorf("%d epochs kept, want 3", len(w.epochs))
	}
}

// What ends a run decides whether the job is placed again: a lost shard
// with an output folder for checkpoints, or a rejoining worker node.
func TestRecoverable(t *testing.T) {
	lostErr := &actors.ShardLostError{Shard: 1, Node: "n", Step: 7, Why: "gone"}
	for _, tc := range []struct {
		err       error
		out       string
		lost, yes bool
	}{
		{lostErr, "out", true, true},
		{lostErr, "", false, false},
		{errRejoin, "", false, true},
		{errors.New("other"), "out", false, false},
		{nil, "out", false, false},
	} {
		lost, yes := recoverable(tc.err, tc.out)
		if (lost != nil) != tc.lost || yes != tc.yes {
			t.Errorf("recoverable(%v, %q) = %v, %v; want lost %v, %v", tc.err, tc.out, lost, yes, tc.lost, tc.yes)
		}
	}
}
