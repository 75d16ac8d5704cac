package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/troupe-ml/troupe/actors"
	"github.com/troupe-ml/troupe/actors/wire"
	"github.com/troupe-ml/troupe/engine/data"
	"github.com/troupe-ml/troupe/engine/train"
	"github.com/troupe-ml/troupe/messages"
)

// CoordinatorConfig describes a coordinator.
type CoordinatorConfig struct {
	Endpoint
	// Nodes is how many nodes the coordinator waits for and takes; it
	// refuses any more.
	Nodes int

	// hello, in tests, replaces what the coordinator answers a Hello with.
	hello *messages.Hello
}

// Member is a node that joined.
type Member struct {
	Addr  string // its endpoint's address
	Role  Role
	Build string // its build version
}

// Coordinator is the process that trains a job on nodes.
type Coordinator struct {
	cfg   CoordinatorConfig
	log   *slog.Logger
	sys   *actor.ActorSystem
	ep    *wire.Node
	build string

	mu       sync.Mutex
	members  []Member
	changed  chan struct{} // closed and replaced when members change
	placing  bool          // a job is being placed: membership is fixed
	released bool          // the nodes were told the job is over
	closed   bool
	gone     map[string]bool // nodes whose endpoint went away
	quiet    atomic.Bool     // silences protoactor once the job is over
	rejoined bool            // a worker node replaced a lost one (recover.go)
	replayed int             // steps trained again after lost ps nodes
}

// Listen opens the coordinator's endpoint and takes nodes' joins until it
// has cfg.Nodes of them.
func Listen(cfg CoordinatorConfig) (*Coordinator, error) {
	if cfg.Nodes < 1 {
		return nil, fmt.Errorf("cluster: a coordinator waits for %d nodes, want at least 1", cfg.Nodes)
	}
	c := &Coordinator{cfg: cfg, log: cfg.logger(), build: BuildVersion(), changed: make(chan struct{}), gone: map[string]bool{}}
	var err error
	if c.sys, c.ep, err = cfg.start(wire.Config{}, &c.quiet); err != nil {
		return nil, err
	}
	if _, err := c.sys.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return &joinActor{c: c} }), joinName); err != nil {
		c.Close()
		return nil, fmt.Errorf("cluster: %w", err)
	}
	return c, nil
}

// Addr is the address nodes join.
func (c *Coordinator) Addr() string { return c.ep.Addr }

// Wait returns the members once all the nodes asked for have joined.
func (c *Coordinator) Wait(ctx context.Context) ([]Member, error) {
	for {
		c.mu.Lock()
		if len(c.members) == c.cfg.Nodes {
			m := append([]Member(nil), c.members...)
			c.mu.Unlock()
			return m, nil
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("cluster: waiting for %d nodes: %w", c.cfg.Nodes, ctx.Err())
		}
	}
}

// admit takes a node that said h from addr, or says why not.
func (c *Coordinator) admit(addr string, h *messages.Hello) error {
	if err := checkHello(h); err != nil {
		return err
	}
	role, err := ParseRole(h.GetRole())
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.placing && !c.replaces(role):
		return errors.New("cluster: the coordinator has started its job and lost no node of this role")
	case !c.placing && len(c.members) >= c.cfg.Nodes:
		return fmt.Errorf("cluster: the coordinator has the %d nodes it waits for", c.cfg.Nodes)
	}
	for _, m := range c.members {
		if m.Addr == addr {
			return fmt.Errorf("cluster: a node at %s has joined already", addr)
		}
	}
	c.members = append(c.members, Member{Addr: addr, Role: role, Build: h.GetBuildVersion()})
	c.notify()
	return nil
}

// leave forgets a node that went away before its job was placed; after,
// it only notes that the node need not be told the job is over.
func (c *Coordinator) leave(addr string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.placing {
		c.gone[addr] = true
		return false
	}
	for i, m := range c.members {
		if m.Addr == addr {
			c.members = append(c.members[:i], c.members[i+1:]...)
			c.notify()
			return true
		}
	}
	return false
}

// notify wakes Wait; c.mu is held.
func (c *Coordinator) notify() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// Train sends every member the job, places the replicas on the worker nodes
// and the shards on the ps nodes, round-robin, trains with actors.Run, and
// tells the nodes the job is over, which ends them. cfg's pipeline shape
// must be its job's (actors.ConfigFromJob) and cfg.Placement unset. A lost
// worker node's replica is left out (actors.Run carries on without it); a
// lost ps node, or a worker node that joins in place of a lost one, makes
// Train place the job again from its last checkpoint (recover.go).
func (c *Coordinator) Train(ctx context.Context, cfg actors.Config, trainSet, testSet *data.Dataset) (res train.Result, met actors.Metrics, err error) {
	c.mu.Lock()
	if c.placing {
		c.mu.Unlock()
		return res, met, errors.New("cluster: a coordinator trains one job")
	}
	c.placing = true
	members := append([]Member(nil), c.members...)
	c.mu.Unlock()
	defer func() {
		reason := ""
		if err != nil {
			reason = "the job failed: " + err.Error()
		}
		c.mu.Lock()
		all := append([]Member(nil), c.members...)
		c.mu.Unlock()
		c.release(all, reason)
	}()
	if cfg.Placement != nil {
		return res, met, errors.New("cluster: Train places the job itself: leave Config.Placement nil")
	}
	if len(members) < c.cfg.Nodes {
		return res, met, fmt.Errorf("cluster: %d of %d nodes have joined", len(members), c.cfg.Nodes)
	}
	if cfg.Logger == nil {
		cfg.Logger = c.log
	}
	w := &watcher{c: c, inner: cfg.Observer, last: cfg.Job.Epochs, out: cfg.Job.Out}
	cfg.Observer = w
	psNodes := countRole(members, RolePS)
	for {
		if err := c.sendJob(ctx, members, messages.JobFromSpec(cfg.Job)); err != nil {
			return res, met, err
		}
		cfg.Placement = place(members, max(cfg.Workers, 1), max(cfg.PSShards, 1))
		cfg.Placement.System, cfg.Placement.ChunkBytes = c.sys, c.ep.ChunkBytes()
		for i, a := range cfg.Placement.Workers {
			c.log.Info("placing", "actor", fmt.Sprintf("worker/%d", i), "node", a)
		}
		for k, a := range cfg.Placement.Shards {
			c.log.Info("placing", "actor", fmt.Sprintf("ps/%d", k), "node", a)
		}
		w.run = 0
		res, met, err = actors.Run(ctx, cfg, trainSet, testSet)
		lost, again := recoverable(err, cfg.Job.Out)
		if !again {
			res.Epochs = w.epochs
			return res, met, err
		}
		if cfg.From, err = restartFrom(cfg, w.run); err != nil {
			return res, met, err
		}
		if lost != nil {
			at := 0
			if cfg.From != nil {
				at = cfg.From.State.Step
			}
			c.mu.Lock()
			c.replayed += max(lost.Step-at, 0)
			c.mu.Unlock()
			c.log.Warn("a ps node was lost; waiting for a ps node to join in its place", "error", lost, "replay_from_step", at)
		} else {
			c.log.Info("a worker node joined in place of a lost one; placing the job again", "epoch", cfg.From.State.Epoch)
		}
		if members, err = c.waitRole(ctx, RolePS, psNodes); err != nil {
			return res, met, err
		}
	}
}

// place puts replica i on worker node i mod (worker nodes) and shard k on
// ps node k mod (ps nodes); without nodes of a role, those actors stay in
// the coordinator's process.
func place(members []Member, workers, shards int) *actors.Placement {
	var w, s []string
	for _, m := range members {
		if m.Role == RoleWorker {
			w = append(w, m.Addr)
		} else {
			s = append(s, m.Addr)
		}
	}
	pl := &actors.Placement{}
	if len(w) > 0 {
		for i := range workers {
			pl.Workers = append(pl.Workers, w[i%len(w)])
		}
	}
	if len(s) > 0 {
		for k := range shards {
			pl.Shards = append(pl.Shards, s[k%len(s)])
		}
	}
	return pl
}

// sendJob hands every member the job and checks each read it as sent.
func (c *Coordinator) sendJob(ctx context.Context, members []Member, job *messages.JobSpec) error {
	futures := make([]*actor.Future, len(members))
	for i, m := range members {
		futures[i] = c.sys.Root.RequestFuture(actor.NewPID(m.Addr, nodeName), job, jobTimeout)
	}
	var errs []error
	for i, f := range futures {
		addr := members[i].Addr
		reply, err := actors.Await(ctx, f)
		switch m := reply.(type) {
		case nil:
			errs = append(errs, fmt.Errorf("cluster: node %s did not take the job: %w", addr, err))
		case *messages.JobSpec:
			if !proto.Equal(m, job) {
				errs = append(errs, fmt.Errorf("cluster: node %s read the job differently (another build?)", addr))
			}
		case *messages.Stop:
			errs = append(errs, fmt.Errorf("cluster: node %s refused the job: %s", addr, m.GetReason()))
		default:
			errs = append(errs, fmt.Errorf("cluster: node %s answered the job with a %T", addr, reply))
		}
	}
	return errors.Join(errs...)
}

// release tells members the job is over (reason empty on success), once,
// and waits briefly for each to acknowledge.
func (c *Coordinator) release(members []Member, reason string) {
	c.mu.Lock()
	if c.released {
		c.mu.Unlock()
		return
	}
	c.released = true
	var live []Member
	for _, m := range members {
		if !c.gone[m.Addr] {
			live = append(live, m)
		}
	}
	c.mu.Unlock()
	c.quiet.Store(true)
	futures := make([]*actor.Future, len(live))
	for i, m := range live {
		futures[i] = c.sys.Root.RequestFuture(actor.NewPID(m.Addr, nodeName), &messages.Stop{Reason: reason}, stopTimeout)
	}
	for i, f := range futures {
		if _, err := f.Result(); err != nil {
			c.log.Warn("a node did not acknowledge the end of the job", "node", live[i].Addr, "error", err)
		}
	}
}

// Close tells the nodes that joined that there is no job (if Train did not)
// and closes the endpoint.
func (c *Coordinator) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	members := append([]Member(nil), c.members...)
	c.mu.Unlock()
	c.release(members, "the coordinator stopped without a job")
	c.ep.Stop()
	c.sys.Shutdown()
}

// joinActor takes the nodes' Hellos.
type joinActor struct {
	c *Coordinator
}

func (a *joinActor) Receive(ctx actor.Context) {
	c := a.c
	switch m := ctx.Message().(type) {
	case *messages.Hello:
		from := ctx.Sender()
		if from == nil {
			c.log.Warn("ignored a hello without a sender")
			return
		}
		if err := c.admit(from.GetAddress(), m); err != nil {
			c.log.Error("refused a node", "node", from.GetAddress(), "role", m.GetRole(), "build", m.GetBuildVersion(), "error", err)
			ctx.Respond(&messages.Stop{Reason: err.Error()})
			return
		}
		if m.GetBuildVersion() != c.build {
			c.log.Warn("a node runs another build with the same message set", "node", from.GetAddress(), "build", m.GetBuildVersion(), "here", c.build)
		}
		c.log.Info("node joined", "node", from.GetAddress(), "role", m.GetRole())
		ctx.Watch(actor.NewPID(from.GetAddress(), nodeName))
		hello := c.cfg.hello
		if hello == nil {
			hello = messages.NewHello(roleCoordinator, c.build)
		}
		ctx.Respond(hello)
	case *actor.Terminated:
		if c.leave(m.GetWho().GetAddress()) {
			c.log.Warn("node left before the job started", "node", m.GetWho().GetAddress())
		}
	}
}
