package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"

	"github.com/troupe-ml/troupe/actors/wire"
	"github.com/troupe-ml/troupe/messages"
)

// The kinds a Host registers and a placed run spawns on nodes.
const (
	KindWorker = "troupe.worker"
	KindShard  = "troupe.shard"
)

// monitorName is the coordinator-side actor that watches the placed actors
// and takes the nodes' failure reports.
const monitorName = jobName + "-monitor"

// defaultPlaceTimeout bounds each spawn on a node and each topology
// hand-over.
const defaultPlaceTimeout = 30 * time.Second

// Placement runs some model replicas and parameter-server shards in other
// processes, the nodes, whose Host registers them as kinds. Run spawns
// each on the node named here through protoactor remote, so that it stays
// where it was put (a stateful shard must not move), hands it the
// topology, and starts it when it would start a local one. The loader, the
// augmenters and the coordinator stay in this process, as do replicas and
// shards placed nowhere.
type Placement struct {
	// System is the coordinator's actor system, with its remote endpoint
	// started (package wire). Run uses it instead of a system of its own
	// and leaves it running.
	System *actor.ActorSystem
	// Workers[i] and Shards[k] are the addresses of the nodes hosting
	// replica i and shard k; "" or a missing entry keeps one here. Each
	// node must have been given the job with Host.Prepare.
	Workers, Shards []string
	// ChunkBytes bounds the tensor payload of one message between processes
	// (0: wire.DefaultChunkBytes), and no node may have a lower bound.
	ChunkBytes int
	// Timeout bounds each spawn and topology hand-over (0: 30 s).
	Timeout time.Duration
}

func (pl *Placement) chunkBytes() int {
	if pl.ChunkBytes <= 0 {
		return wire.DefaultChunkBytes
	}
	return pl.ChunkBytes
}

func (pl *Placement) timeout() time.Duration {
	if pl.Timeout <= 0 {
		return defaultPlaceTimeout
	}
	return pl.Timeout
}

// remoteActor is an actor of the run that lives on a node.
type remoteActor struct {
	name   string
	pid    *actor.PID
	worker int // the replica's index; -1 for a shard
}

// placed is what place set up, for the job actor and for stopAll.
type placed struct {
	wire    *wiring
	monitor *actor.PID
	remote  []remoteActor
	timeout time.Duration
	// gone holds the placed actors the monitor saw stop, which stop need
	// not wait for (a stop sent to a lost node is never confirmed).
	mu   sync.Mutex
	gone map[string]bool
}

// wiring makes the links of the run's local actors.
type wiring struct {
	chunk int
	log   *slog.Logger
	out   *outcome
}

// wrap returns make with every actor it makes behind a link; a nil wiring
// (a run in one process) returns make itself.
func (w *wiring) wrap(name string, make func() actor.Actor) func() actor.Actor {
	if w == nil {
		return make
	}
	return func() actor.Actor {
		return &linked{l: newLink(name, w.chunk, w.log, w.out.fail), inner: make()}
	}
}

// checkPlaceable refuses what a placed run cannot do: its nodes build their
// plan from the job alone, so the pipeline's shape must be the job's.
func checkPlaceable(cfg Config) error {
	jc, err := ConfigFromJob(cfg.Job)
	if err != nil {
		return err
	}
	a, b := shapeOf(cfg), shapeOf(jc)
	if a != b {
		return fmt.Errorf("actors: a run placed on nodes takes its pipeline from the job (ConfigFromJob): Config has %+v, the job %+v", a, b)
	}
	return nil
}

// pipelineShape is a Config's pipeline fields with defaults applied.
type pipelineShape struct {
	Workers, Shards, Staleness, Augmenters, Prefetch int
	Sync                                             string
	Augment                                          string
}

func shapeOf(c Config) pipelineShape {
	s := pipelineShape{Workers: max(c.Workers, 1), Shards: max(c.PSShards, 1), Staleness: c.Staleness,
		Prefetch: c.Prefetch, Sync: c.Sync.String(), Augment: c.Augment, Augmenters: c.Augmenters}
	if c.Sync == 0 {
		s.Sync = "bsp"
	}
	if s.Prefetch == 0 {
		s.Prefetch = defaultPrefetch
	}
	if s.Augment == "" || s.Augment == "none" {
		s.Augment, s.Augmenters = "", 0
	} else if s.Augmenters == 0 {
		s.Augmenters = defaultAugmenters
	}
	return s
}

// place spawns the placed replicas and shards on their nodes, puts their
// PIDs into t, starts the monitor, and hands every placed actor the
// topology. On error nothing it started is left running.
func place(ctx context.Context, sys *actor.ActorSystem, p *plan, t *topology, pl *Placement, out *outcome, log *slog.Logger) (*placed, error) {
	r := remote.GetRemote(sys)
	if r == nil {
		return nil, errors.New("actors: Placement.System has no remote endpoint")
	}
	res := &placed{wire: &wiring{chunk: pl.chunkBytes(), log: log, out: out}, timeout: pl.timeout(), gone: map[string]bool{}}
	spawn := func(kind, name, addr string, worker int) (*actor.PID, error) {
		reply, err := Await(ctx, r.SpawnFuture(addr, jobName+"/"+name, kind, res.timeout))
		if err != nil {
			return nil, fmt.Errorf("actors: spawning %s on %s: %w", name, addr, err)
		}
		resp, ok := reply.(*remote.ActorPidResponse)
		if !ok {
			return nil, fmt.Errorf("actors: spawning %s on %s: the node answered with a %T", name, addr, reply)
		}
		if c := resp.GetStatusCode(); c != remote.ResponseStatusCodeOK.ToInt32() || resp.GetPid() == nil {
			return nil, fmt.Errorf("actors: spawning %s on %s: the node answered %v (does it host a job?)", name, addr, remote.ResponseStatusCode(c))
		}
		res.remote = append(res.remote, remoteActor{name: name, pid: resp.GetPid(), worker: worker})
		return resp.GetPid(), nil
	}
	fail := func(err error) (*placed, error) {
		res.stop(sys)
		return nil, err
	}
	for k, addr := range pl.Shards {
		if addr == "" || k >= p.shards {
			continue
		}
		pid, err := spawn(KindShard, shardName(k), addr, -1)
		if err != nil {
			return fail(err)
		}
		t.shards[k] = pid
	}
	for i, addr := range pl.Workers {
		if addr == "" || i >= p.workers {
			continue
		}
		pid, err := spawn(KindWorker, workerName(i), addr, i)
		if err != nil {
			return fail(err)
		}
		t.workers[i] = pid
	}
	var err error
	watch := append([]remoteActor(nil), res.remote...)
	res.monitor, err = sys.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor {
		return &monitor{out: out, watch: watch, placed: res, failover: p.failover, coordinator: t.coordinator, log: log}
	}), monitorName)
	if err != nil {
		return fail(fmt.Errorf("actors: spawning the monitor: %w", err))
	}
	topo := &messages.Topology{Actors: t.refs(), Monitor: ref("", res.monitor), ChunkBytes: uint64(pl.chunkBytes())}
	for _, ra := range res.remote {
		reply, err := Await(ctx, sys.Root.RequestFuture(ra.pid, topo, res.timeout))
		if err != nil {
			return fail(fmt.Errorf("actors: handing %s on %s its topology: %w", ra.name, ra.pid.GetAddress(), err))
		}
		switch m := reply.(type) {
		case *messages.Topology:
		case *messages.Stop:
			return fail(fmt.Errorf("actors: %s on %s refused its topology: %s", ra.name, ra.pid.GetAddress(), m.GetReason()))
		default:
			return fail(fmt.Errorf("actors: %s on %s answered its topology with a %T", ra.name, ra.pid.GetAddress(), reply))
		}
	}
	return res, nil
}

// stop stops the monitor, then every placed actor, waiting for each at
// most the placement's timeout. A nil placed (a run in one process) does
// nothing.
func (pl *placed) stop(sys *actor.ActorSystem) {
	if pl == nil {
		return
	}
	if pl.monitor != nil {
		_ = sys.Root.StopFuture(pl.monitor).Wait()
	}
	var futures []*actor.Future
	pl.mu.Lock()
	for _, ra := range pl.remote {
		if !pl.gone[senderKey(ra.pid)] {
			futures = append(futures, sys.Root.StopFuture(ra.pid))
		}
	}
	pl.mu.Unlock()
	for _, f := range futures {
		_, _ = f.Result()
	}
}

// wiring returns the links' factory; nil for a run in one process.
func (pl *placed) wiring() *wiring {
	if pl == nil {
		return nil
	}
	return pl.wire
}

// startPlaced starts pid, a placed actor, in the job actor's spawn order and
// reports true; it reports false for an actor of this process, which the
// job actor spawns.
func (j *jobActor) startPlaced(ctx actor.Context, pid *actor.PID) bool {
	if pid.GetAddress() == ctx.ActorSystem().Address() {
		return false
	}
	ctx.Send(pid, &messages.Start{})
	return true
}

// monitor fails the run when a placed actor stops, which happens when its
// node exits or loses its connection (protoactor reports the address as
// terminated), and when a node reports that one of its actors failed. With
// failover a lost replica does not fail the run: the monitor tells the
// coordinator, which carries on without it (failover.go).
type monitor struct {
	out         *outcome
	watch       []remoteActor
	placed      *placed
	failover    bool
	coordinator *actor.PID
	log         *slog.Logger
}

func (m *monitor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		for _, ra := range m.watch {
			ctx.Watch(ra.pid)
		}
	case *actor.Terminated:
		for _, ra := range m.watch {
			if ra.pid.Equal(msg.GetWho()) {
				m.placed.mu.Lock()
				m.placed.gone[senderKey(ra.pid)] = true
				m.placed.mu.Unlock()
				why := fmt.Sprintf("%s on %s stopped (%v): its node failed or left", ra.name, ra.pid.GetAddress(), msg.GetWhy())
				if m.failover && ra.worker >= 0 {
					m.log.Warn("a replica is lost; the run goes on without it", "actor", ra.name, "node", ra.pid.GetAddress())
					ctx.Send(m.coordinator, &workerLost{worker: ra.worker, why: why})
					continue
				}
				if k, ok := shardIndex(ra.name); ok {
					// The coordinator fails the run with the step reached.
					ctx.Send(m.coordinator, &shardLost{shard: k, node: ra.pid.GetAddress(), why: why})
					continue
				}
				m.out.fail(fmt.Errorf("actors: %s", why))
			}
		}
	case *messages.Stop:
		m.out.fail(fmt.Errorf("actors: a node failed: %s", msg.GetReason()))
	}
}

func ref(name string, pid *actor.PID) *messages.ActorRef {
	return &messages.ActorRef{Name: name, Address: pid.GetAddress(), Id: pid.GetId()}
}

// refs lists every actor of t by its name, for a Topology message.
func (t *topology) refs() []*messages.ActorRef {
	out := []*messages.ActorRef{ref(loaderName, t.loader), ref(coordinatorName, t.coordinator)}
	if t.router != nil {
		out = append(out, ref(routerName, t.router))
	}
	for i, pid := range t.augmenters {
		out = append(out, ref(augmenterName(i), pid))
	}
	for i, pid := range t.workers {
		out = append(out, ref(workerName(i), pid))
	}
	for k, pid := range t.shards {
		out = append(out, ref(shardName(k), pid))
	}
	if t.selector != nil {
		out = append(out, ref(selectorName, t.selector))
	}
	return out
}

// topologyFrom rebuilds the topology of p's run from a Topology message.
// The message must name every actor p's run has, once, with a process id,
// and nothing else.
func topologyFrom(p *plan, m *messages.Topology) (*topology, error) {
	pids := map[string]*actor.PID{}
	for _, r := range m.GetActors() {
		if r.GetAddress() == "" || r.GetId() == "" {
			return nil, fmt.Errorf("actor %q has no address or id", r.GetName())
		}
		if _, dup := pids[r.GetName()]; dup {
			return nil, fmt.Errorf("actor %q is named twice", r.GetName())
		}
		pids[r.GetName()] = actor.NewPID(r.GetAddress(), r.GetId())
	}
	var missing []string
	take := func(name string) *actor.PID {
		pid, ok := pids[name]
		if !ok {
			missing = append(missing, name)
			return nil
		}
		delete(pids, name)
		return pid
	}
	t := &topology{loader: take(loaderName), coordinator: take(coordinatorName)}
	if p.augmenters > 0 {
		t.router = take(routerName)
	}
	for i := range p.augmenters {
		t.augmenters = append(t.augmenters, take(augmenterName(i)))
	}
	for i := range p.workers {
		t.workers = append(t.workers, take(workerName(i)))
	}
	for k := range p.shards {
		t.shards = append(t.shards, take(shardName(k)))
	}
	if p.selects() {
		t.selector = take(selectorName)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("the topology lacks %v, which the job has", missing)
	}
	for name := range pids {
		return nil, fmt.Errorf("the topology names %q, which the job does not have", name)
	}
	return t, nil
}

// Await returns f's result, or ctx's error as soon as ctx ends: a peer that
// went away would otherwise hold the caller until f times out.
func Await(ctx context.Context, f *actor.Future) (any, error) {
	type result struct {
		v   any
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := f.Result()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
