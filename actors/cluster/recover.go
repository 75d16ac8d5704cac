package cluster

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/troupe-ml/troupe/actors"
	"github.com/troupe-ml/troupe/engine/train"
)

// Recovery. A run that loses a ps node stops (the shard's state is gone with
// it: actors.ShardLostError); so does one where a worker node joined to
// replace a lost one, at the end of the next epoch. In both cases the
// coordinator places the job again, on the nodes it has then, and the run
// goes on from the last checkpoint it wrote at an epoch's end (or from where
// it started, before the first): the shards start from its parameters and
// optimizer state, and the replicas from its step. After a lost ps node it
// first waits for a ps node to join in its place; the steps trained since
// the checkpoint are trained again, and ReplayedSteps counts them.

// errRejoin stops a run at an epoch's end to place the job again with a
// worker node that joined.
var errRejoin = errors.New("cluster: a worker node joined: placing the job again")

// ReplayedSteps is how many optimizer steps the job trained again because a
// ps node was lost since the checkpoint they followed.
func (c *Coordinator) ReplayedSteps() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.replayed
}

// live returns the members whose node has not gone away; c.mu is held.
func (c *Coordinator) live() []Member {
	var out []Member
	for _, m := range c.members {
		if !c.gone[m.Addr] {
			out = append(out, m)
		}
	}
	return out
}

func countRole(ms []Member, r Role) int {
	n := 0
	for _, m := range ms {
		if m.Role == r {
			n++
		}
	}
	return n
}

// replaces reports whether a node of role r that joins now takes the place
// of one that went away during the job, and forgets that one; c.mu is held.
func (c *Coordinator) replaces(r Role) bool {
	for i, m := range c.members {
		if m.Role == r && c.gone[m.Addr] {
			c.members = append(c.members[:i], c.members[i+1:]...)
			delete(c.gone, m.Addr)
			if r == RoleWorker {
				c.rejoined = true
			}
			return true
		}
	}
	return false
}

// waitRole waits until at least n live members have role r.
func (c *Coordinator) waitRole(ctx context.Context, r Role, n int) ([]Member, error) {
	for {
		c.mu.Lock()
		live := c.live()
		ch := c.changed
		c.mu.Unlock()
		if countRole(live, r) >= n {
			return live, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("cluster: waiting for a %s node to replace the lost one: %w", r, ctx.Err())
		}
	}
}

// recoverable reports why run ended if the coordinator places the job
// again after it: a lost shard, or a worker node that joined.
func recoverable(err error, job string) (lost *actors.ShardLostError, again bool) {
	if errors.Is(err, errRejoin) {
		return nil, true
	}
	if errors.As(err, &lost) && job != "" {
		return lost, true
	}
	return nil, false
}

// restartFrom returns the checkpoint the job goes on from after a run that
// reported epochs epochs: the one it wrote, else the one it started from.
func restartFrom(cfg actors.Config, epochs int) (*train.Loaded, error) {
	if epochs == 0 {
		return cfg.From, nil
	}
	path := filepath.Join(cfg.Job.Out, train.CheckpointName)
	from, err := train.LoadCheckpoint(path, nil)
	if err != nil {
		return nil, fmt.Errorf("cluster: placing the job again from its checkpoint: %w", err)
	}
	return from, nil
}

// watcher passes a run's reports on to the job's observer, keeps the epochs
// (a job placed again reports the epochs of all its runs), and stops a run
// at an epoch's end when a worker node has joined to replace a lost one.
type watcher struct {
	c      *Coordinator
	inner  train.Observer
	last   int // the job's last epoch
	out    string
	epochs []train.EpochReport
	run    int // epochs reported by the current run
}

func (w *watcher) Progress(p train.Progress) {
	if w.inner != nil {
		w.inner.Progress(p)
	}
}

func (w *watcher) Epoch(e train.EpochReport) error {
	w.epochs = append(w.epochs, e)
	w.run++
	if w.inner != nil {
		if err := w.inner.Epoch(e); err != nil {
			return err
		}
	}
	w.c.mu.Lock()
	again := w.c.rejoined && w.out != "" && e.Epoch < w.last
	if again {
		w.c.rejoined = false
	}
	w.c.mu.Unlock()
	if again {
		return errRejoin
	}
	return nil
}

func (w *watcher) EpochMetrics(epoch int, m actors.Metrics) {
	if mo, ok := w.inner.(actors.MetricsObserver); ok {
		mo.EpochMetrics(epoch, m)
	}
}

func (w *watcher) Eval(r train.EvalReport) error {
	if eo, ok := w.inner.(train.EvalObserver); ok {
		return eo.Eval(r)
	}
	return nil
}
