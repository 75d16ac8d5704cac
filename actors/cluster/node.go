package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-ml/troupe/actors"
	"github.com/troupe-ml/troupe/actors/wire"
	"github.com/troupe-ml/troupe/engine/data"
	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/messages"
)

// NodeConfig describes a node.
type NodeConfig struct {
	Endpoint
	Role Role
	// Join is the coordinator's address.
	Join string
	// JoinTimeout is how long to wait for the coordinator to listen (0:
	// two minutes).
	JoinTimeout time.Duration
	// Threads is how many threads the CPU kernels of the replicas placed
	// here use (0: the job's setting).
	Threads int
	// Data loads the job's data sets on this node; they must be the
	// coordinator's.
	Data func(spec.Job) (trainSet, testSet *data.Dataset, err error)

	// hello, in tests, replaces what the node introduces itself with.
	hello *messages.Hello
}

// RunNode joins the coordinator at cfg.Join, hosts the actors it places
// here, and returns when the job is over: nil when it succeeded, an error
// naming the reason when it failed, when the coordinator refused the node
// (ErrRefused) or speaks another message set (ErrIncompatible), when the
// coordinator was lost, or when ctx ends. A node hosts one job.
func RunNode(ctx context.Context, cfg NodeConfig) error {
	if _, err := ParseRole(string(cfg.Role)); err != nil {
		return err
	}
	if cfg.Join == "" {
		return errors.New("cluster: a node needs the coordinator's address to join")
	}
	if cfg.Data == nil {
		return errors.New("cluster: NodeConfig.Data is nil")
	}
	log := cfg.logger()
	host := actors.NewHost(actors.HostConfig{Threads: cfg.Threads, ChunkBytes: cfg.ChunkBytes, Logger: log})
	defer host.Close()
	var quiet atomic.Bool
	sys, ep, err := cfg.start(wire.Config{Kinds: host.Kinds()}, &quiet)
	if err != nil {
		return err
	}
	defer sys.Shutdown()
	defer ep.Stop()
	events, lost := make(chan error, 1), make(chan struct{})
	nodePID, err := sys.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor {
		return &nodeActor{cfg: &cfg, host: host, log: log, events: events, lost: lost}
	}), nodeName)
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	timeout := cfg.JoinTimeout
	if timeout <= 0 {
		timeout = defaultJoinTimeout
	}
	if err := waitReachable(ctx, cfg.Join, timeout); err != nil {
		return err
	}
	coordinator := actor.NewPID(cfg.Join, joinName)
	hello := cfg.hello
	if hello == nil {
		hello = messages.NewHello(string(cfg.Role), BuildVersion())
	}
	reply, err := sys.Root.RequestFuture(coordinator, hello, helloTimeout).Result()
	if err != nil {
		return fmt.Errorf("cluster: no coordinator answered at %s (is one running there, with the same TLS settings as this node?): %w", cfg.Join, err)
	}
	switch m := reply.(type) {
	case *messages.Hello:
		if err := checkHello(m); err != nil {
			return fmt.Errorf("%w (the coordinator at %s)", err, cfg.Join)
		}
	case *messages.Stop:
		return fmt.Errorf("%w at %s: %s", ErrRefused, cfg.Join, m.GetReason())
	default:
		return fmt.Errorf("cluster: %s answered the hello with a %T", cfg.Join, reply)
	}
	log.Info("joined the coordinator", "coordinator", cfg.Join, "role", cfg.Role, "node", ep.Addr)
	sys.Root.Send(nodePID, watch{pid: coordinator})
	select {
	case err := <-events:
		quiet.Store(true)
		// The node acknowledged the end of the job; let the answer reach
		// the coordinator before the endpoint closes: the coordinator
		// closes its own once it has every answer.
		select {
		case <-lost:
		case <-ctx.Done():
		case <-time.After(lingerTimeout):
		}
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// lingerTimeout bounds how long a node whose job is over waits for the
// coordinator to go.
const lingerTimeout = 2 * time.Second

// watch asks the node actor to watch the coordinator.
type watch struct{ pid *actor.PID }

// nodeActor takes the coordinator's job and its end.
type nodeActor struct {
	cfg    *NodeConfig
	host   *actors.Host
	log    *slog.Logger
	events chan<- error
	// lost is closed when the coordinator is gone.
	lost chan struct{}
	// coordinator is where the job came from; stops come from there.
	coordinator string
	watching    *actor.PID
	gone        bool
	// data is the job's data as loaded for the first placement, which a
	// placement again (after a lost ps node) reuses.
	data *jobData
}

type jobData struct {
	dir               string
	trainSet, testSet *data.Dataset
}

func (a *nodeActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case watch:
		a.watching = m.pid
		ctx.Watch(m.pid)
	case *actor.Terminated:
		if a.watching != nil && m.GetWho().Equal(a.watching) && !a.gone {
			a.gone = true
			close(a.lost)
			a.end(fmt.Errorf("cluster: lost the coordinator at %s", a.watching.GetAddress()))
		}
	case *messages.JobSpec:
		a.job(ctx, m)
	case *messages.Stop:
		from := ctx.Sender()
		if from == nil || (a.coordinator != "" && from.GetAddress() != a.coordinator) {
			a.log.Warn("ignored a stop that does not come from the coordinator", "from", from)
			return
		}
		ctx.Respond(m)
		if m.GetReason() == "" {
			a.log.Info("the job is over")
			a.end(nil)
			return
		}
		a.end(fmt.Errorf("cluster: the coordinator ended the job: %s", m.GetReason()))
	}
}

// job prepares the host for the job and answers with the job as read, or
// with Stop saying why not.
func (a *nodeActor) job(ctx actor.Context, m *messages.JobSpec) {
	from := ctx.Sender()
	if from == nil {
		a.log.Warn("ignored a job without a sender")
		return
	}
	err := a.prepare(from.GetAddress(), m)
	if err != nil {
		a.log.Error("refused the job", "from", from.GetAddress(), "error", err)
		ctx.Respond(&messages.Stop{Reason: err.Error()})
		return
	}
	a.coordinator = from.GetAddress()
	job, _ := m.ToSpec()
	ctx.Respond(messages.JobFromSpec(job))
}

func (a *nodeActor) prepare(from string, m *messages.JobSpec) error {
	if a.coordinator != "" && from != a.coordinator {
		return errors.New("cluster: this node has a job already")
	}
	job, err := m.ToSpec()
	if err != nil {
		return err
	}
	if a.coordinator != "" {
		// The coordinator places its job again, after losing a node.
		a.log.Warn("the coordinator places the job again; dropping the previous placement")
		a.host.Release()
	}
	start := time.Now()
	if a.data == nil || a.data.dir != job.Data {
		trainSet, testSet, err := a.cfg.Data(job)
		if err != nil {
			return fmt.Errorf("cluster: loading the job's data: %w", err)
		}
		a.data = &jobData{dir: job.Data, trainSet: trainSet, testSet: testSet}
	}
	trainSet, testSet := a.data.trainSet, a.data.testSet
	if err := a.host.Prepare(job, from, trainSet, testSet); err != nil {
		return err
	}
	a.log.Info("took the job", "coordinator", from, "model", job.Model, "epochs", job.Epochs,
		"workers", job.Workers, "ps_shards", job.PSShards, "data_seconds", time.Since(start).Seconds())
	return nil
}

func (a *nodeActor) end(err error) {
	select {
	case a.events <- err:
	default: // the first end counts
	}
}
