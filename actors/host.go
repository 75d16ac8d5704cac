package actors

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"

	"github.com/troupe-ml/troupe/actors/wire"
	"github.com/troupe-ml/troupe/engine/data"
	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/tensor"
	"github.com/troupe-ml/troupe/kernels"
	"github.com/troupe-ml/troupe/messages"
)

// HostConfig describes a node's side of placed runs.
type HostConfig struct {
	// Threads is how many threads the CPU kernels shared by the replicas
	// placed here use (0: the job's threads setting, all cores when that
	// is 0 too).
	Threads int
	// ChunkBytes is the node's own bound on one message's tensor payload,
	// as its endpoint was started with (0: wire.DefaultChunkBytes); it
	// refuses a topology that asks for more.
	ChunkBytes int
	// Logger receives rejected input and failures; nil discards them.
	Logger *slog.Logger
}

// Host runs, on a node, the replicas and shards that a coordinator's
// Placement puts there, with the same actor code as in one process. It
// registers them as kinds on the node's remote endpoint (Kinds), builds
// the job's plan when the coordinator sends the job (Prepare), and hosts
// one job in its lifetime. A placed actor waits for its Topology, answers
// it, starts at the Start that follows, and from then on is the replica or
// shard it would be locally, behind a link that chunks and assembles large
// messages. A failure of any of them is reported to the coordinator's
// monitor, which ends the run.
type Host struct {
	cfg    HostConfig
	log    *slog.Logger
	closed chan struct{}
	once   sync.Once

	mu  sync.Mutex
	job *hostJob
}

// hostJob is the job a node hosts.
type hostJob struct {
	p    *plan
	out  *outcome
	cpu  *kernels.CPU
	from string // the coordinator's address
	// sys and actors are the placed actors, to stop on Close; reporting is
	// set once the failure report has a monitor to go to.
	sys       *actor.ActorSystem
	actors    []*actor.PID
	reporting bool
}

// NewHost returns a host with no job.
func NewHost(cfg HostConfig) *Host {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Host{cfg: cfg, log: log, closed: make(chan struct{})}
}

// Kinds returns the actor kinds to register on the node's endpoint
// (wire.Config.Kinds) before it starts.
func (h *Host) Kinds() []*remote.Kind {
	kind := func(k string) *remote.Kind {
		return remote.NewKind(k, actor.PropsFromProducer(func() actor.Actor { return &hosted{h: h, kind: k} }))
	}
	return []*remote.Kind{kind(KindWorker), kind(KindShard)}
}

// Prepare readies the node for job, which the coordinator at address from
// sent: it builds the plan the coordinator's run has, from the job's
// pipeline fields and the node's own copy of the data. The data sets must
// be the coordinator's (the plan depends on their size and shape).
func (h *Host) Prepare(job spec.Job, from string, trainSet, testSet *data.Dataset) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-h.closed:
		return errors.New("actors: the host is closed")
	default:
	}
	if h.job != nil {
		return errors.New("actors: this node already hosts a job")
	}
	if job.Device == spec.CUDA {
		return errors.New("actors: replicas and shards on nodes train on the CPU (device cpu)")
	}
	cfg, err := ConfigFromJob(job)
	if err != nil {
		return err
	}
	threads := h.cfg.Threads
	if threads <= 0 {
		threads = job.Threads
	}
	cpu, err := kernels.NewCPU(threads, kernels.ImplAuto)
	if err != nil {
		return fmt.Errorf("actors: %w", err)
	}
	cfg.Backend = tensor.CPUBackend{K: cpu}
	p, err := newPlan(cfg, trainSet, testSet)
	if err != nil {
		cpu.Close()
		return err
	}
	h.job = &hostJob{p: p, out: newOutcome(), cpu: cpu, from: from}
	return nil
}

// Close stops the actors placed here that still run and releases the
// job's resources. It is idempotent.
func (h *Host) Close() {
	h.once.Do(func() {
		close(h.closed)
		h.mu.Lock()
		job := h.job
		var sys *actor.ActorSystem
		var pids []*actor.PID
		if job != nil {
			sys, pids = job.sys, append(pids, job.actors...)
		}
		h.mu.Unlock()
		if job == nil {
			return
		}
		for _, pid := range pids {
			_ = sys.Root.StopFuture(pid).Wait()
		}
		job.cpu.Close()
	})
}

func (h *Host) chunkBytes() int {
	if h.cfg.ChunkBytes <= 0 {
		return wire.DefaultChunkBytes
	}
	return h.cfg.ChunkBytes
}

// admit returns the job for a placed actor that got its topology from the
// sender at address from, and records the actor; the first one starts the
// failure report to monitor.
func (h *Host) admit(sys *actor.ActorSystem, self *actor.PID, from string, monitor *actor.PID) (*hostJob, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	job := h.job
	switch {
	case job == nil:
		return nil, errors.New("this node hosts no job")
	case from != job.from:
		return nil, fmt.Errorf("the topology comes from %s, not from the job's coordinator %s", from, job.from)
	}
	job.sys = sys
	job.actors = append(job.actors, self)
	if !job.reporting {
		job.reporting = true
		go h.report(job, monitor)
	}
	return job, nil
}

// report tells the coordinator's monitor when an actor placed here fails
// the job, so that the run ends there too.
func (h *Host) report(job *hostJob, monitor *actor.PID) {
	select {
	case <-job.out.done:
	case <-h.closed:
		return
	}
	_, _, err := job.out.result()
	if err == nil {
		return
	}
	h.log.Error("a placed actor failed", "error", err)
	job.sys.Root.Send(monitor, &messages.Stop{Reason: fmt.Sprintf("node %s: %v", job.sys.Address(), err)})
}

// hosted is what a node spawns for a kind: a replica or a shard once it
// has its topology and its start.
type hosted struct {
	h       *Host
	kind    string
	job     *hostJob
	name    string
	l       *link
	inner   actor.Actor
	running bool
}

func (a *hosted) Receive(ctx actor.Context) {
	if a.running {
		if msg, ok := a.l.receive(ctx); ok {
			a.deliver(ctx, msg)
		}
		return
	}
	switch m := ctx.Message().(type) {
	case *messages.Topology:
		if err := a.install(ctx, m); err != nil {
			a.h.log.Error("refused a topology", "kind", a.kind, "from", senderKey(ctx.Sender()), "error", err)
			ctx.Respond(&messages.Stop{Reason: fmt.Sprintf("%s on %s: %v", a.kind, ctx.Self().GetAddress(), err)})
			return
		}
		ctx.Respond(m)
	case *messages.Start:
		if a.inner == nil {
			a.h.log.Error("refused a start before the topology", "kind", a.kind, "from", senderKey(ctx.Sender()))
			return
		}
		a.running = true
		a.deliver(ctx, &actor.Started{})
	case actor.SystemMessage, actor.AutoReceiveMessage:
	default:
		a.h.log.Error("refused a message before the start", "kind", a.kind, "message", fmt.Sprintf("%T", m), "from", senderKey(ctx.Sender()))
		if a.job != nil {
			a.job.out.fail(fmt.Errorf("actors: %s got a %T before its start", a.name, m))
		}
	}
}

// install builds the replica or shard the topology places here.
func (a *hosted) install(ctx actor.Context, m *messages.Topology) error {
	if a.inner != nil {
		return errors.New("it has its topology already")
	}
	chunk := m.GetChunkBytes()
	if chunk == 0 || chunk > uint64(a.h.chunkBytes()) {
		return fmt.Errorf("chunks of %d bytes asked, this node takes 1 to %d", chunk, a.h.chunkBytes())
	}
	mon := m.GetMonitor()
	if mon.GetAddress() == "" || mon.GetId() == "" {
		return errors.New("the topology names no monitor")
	}
	monitor := actor.NewPID(mon.GetAddress(), mon.GetId())
	if ctx.Sender() == nil {
		return errors.New("the topology has no sender")
	}
	// The node's job is the one the coordinator sent, so the topology must
	// come from there; the monitor lives there too.
	h := a.h
	h.mu.Lock()
	job := h.job
	h.mu.Unlock()
	if job == nil {
		return errors.New("this node hosts no job")
	}
	t, err := topologyFrom(job.p, m)
	if err != nil {
		return err
	}
	pids := t.workers
	if a.kind == KindShard {
		pids = t.shards
	}
	i := -1
	for k, pid := range pids {
		if pid.Equal(ctx.Self()) {
			i = k
		}
	}
	if i < 0 {
		return fmt.Errorf("the topology does not name this actor (%s)", ctx.Self().GetId())
	}
	if mon.GetAddress() != ctx.Sender().GetAddress() {
		return fmt.Errorf("the monitor %s is not where the topology comes from (%s)", mon.GetAddress(), ctx.Sender().GetAddress())
	}
	if job, err = h.admit(ctx.ActorSystem(), ctx.Self(), ctx.Sender().GetAddress(), monitor); err != nil {
		return err
	}
	a.job = job
	if a.kind == KindShard {
		a.name = shardName(i)
		a.inner = newShard(job.p, t, job.out, i, nil)
	} else {
		a.name = workerName(i)
		a.inner = newWorker(job.p, t, job.out, i, nil)
	}
	a.l = newLink(a.name, int(chunk), h.log, job.out.fail)
	return nil
}

// deliver hands msg to the replica or shard. A panic fails the job, as the
// job actor's supervision does in one process; the node's own supervisor
// would restart the actor without its state.
func (a *hosted) deliver(ctx actor.Context, msg any) {
	defer func() {
		if r := recover(); r != nil {
			a.job.out.fail(fmt.Errorf("actors: %s failed on %T: %v", a.name, msg, r))
		}
	}()
	a.inner.Receive(linkContext{Context: ctx, l: a.l, msg: msg})
}
