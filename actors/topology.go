package actors

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/router"

	"github.com/troupe-ml/troupe/actors/core"
	"github.com/troupe-ml/troupe/messages"
)

// Actor names, under the job actor. Every PID is known before anything is
// spawned, which breaks the loader ↔ replica cycle of references.
const (
	jobName         = "job"
	loaderName      = "loader"
	coordinatorName = "coordinator"
	routerName      = "augment"
)

func workerName(i int) string    { return "worker/" + strconv.Itoa(i) }
func shardName(k int) string     { return "ps/" + strconv.Itoa(k) }
func augmenterName(i int) string { return "augmenter/" + strconv.Itoa(i) }

// workerID is a replica's name in the core state machines: its credit link
// and its clocks.
func workerID(i int) core.WorkerID { return core.WorkerID(workerName(i)) }

// topology holds the PIDs of one run's actors. It is immutable.
type topology struct {
	loader, coordinator *actor.PID
	// router spreads batches over the augmenters; nil without augmentation.
	router     *actor.PID
	augmenters []*actor.PID
	workers    []*actor.PID
	shards     []*actor.PID
	// selector is the data selector (selector.go); nil without selection.
	selector *actor.PID
}

func newTopology(sys *actor.ActorSystem, p *plan) *topology {
	pid := func(name string) *actor.PID { return sys.NewLocalPID(jobName + "/" + name) }
	t := &topology{loader: pid(loaderName), coordinator: pid(coordinatorName)}
	for i := range p.workers {
		t.workers = append(t.workers, pid(workerName(i)))
	}
	for k := range p.shards {
		t.shards = append(t.shards, pid(shardName(k)))
	}
	for i := range p.augmenters {
		t.augmenters = append(t.augmenters, pid(augmenterName(i)))
	}
	if p.augmenters > 0 {
		t.router = pid(routerName)
	}
	if p.selects() {
		t.selector = pid(selectorName)
	}
	return t
}

// jobActor is the root of a run: it spawns the other actors as its
// children, supervises them, and starts the coordinator. Stopping it stops
// them all.
type jobActor struct {
	p   *plan
	t   *topology
	out *outcome
	// names maps child PID ids to actor names for error messages.
	names map[string]string
	// loader is the loader's state, which outlives its restarts.
	loader *loaderState
	// wire puts the local actors of a run placed on nodes behind links
	// (remote.go); nil in a run in one process.
	wire *wiring
}

// shardThroughput is how many messages a shard handles before it yields,
// protoactor's default.
const shardThroughput = 300

// augmentRetries is how often one batch may crash an augmenter before the
// job fails; retry n waits n × augmentBackoff first.
const augmentRetries = 3

// loaderRetries is how often the loader may crash in a row, without
// finishing a message in between, before the job fails; restart n waits
// n × loaderBackoff first.
const (
	loaderRetries = 3
	loaderBackoff = time.Millisecond
)

func (j *jobActor) Receive(ctx actor.Context) {
	if _, ok := ctx.Message().(*actor.Started); ok {
		if err := j.spawn(ctx); err != nil {
			j.out.fail(err)
			return
		}
		ctx.Send(j.t.coordinator, &messages.Start{})
	}
}

// spawn starts the children in an order where no actor is sent anything
// before it exists: shards and loader before the replicas (which grant
// credit to the loader as they start), the coordinator last.
func (j *jobActor) spawn(ctx actor.Context) error {
	j.names = map[string]string{}
	child := func(name string, want *actor.PID, make func() actor.Actor, g *depthGauge, opts ...actor.PropsOption) error {
		if g != nil {
			opts = append(opts, actor.WithMailbox(actor.Unbounded(g)))
		}
		props := actor.PropsFromProducer(j.wire.wrap(name, make), opts...)
		pid, err := ctx.SpawnNamed(props, name)
		if err != nil {
			return fmt.Errorf("actors: spawning %s: %w", name, err)
		}
		if !pid.Equal(want) {
			return fmt.Errorf("actors: spawned %s as %s, want %s", name, pid.Id, want.Id)
		}
		j.names[pid.Id] = name
		return nil
	}
	p, t := j.p, j.t
	var shardOpts []actor.PropsOption
	if p.workers == 1 && p.shards == 1 {
		// A lone shard serving a lone replica has nothing to overlap with:
		// the replica waits for it after every push. So it runs on the
		// goroutine of whoever sends to it, as the plain loop runs its
		// optimizer: no hand-off between goroutines, and the update finds
		// the gradients in the cache that computed them. Its mailbox still
		// handles one message at a time.
		shardOpts = append(shardOpts, actor.WithDispatcher(actor.NewSynchronizedDispatcher(shardThroughput)))
	}
	for k := range p.shards {
		if j.startPlaced(ctx, t.shards[k]) {
			continue
		}
		g := &depthGauge{}
		if err := child(shardName(k), t.shards[k], func() actor.Actor { return newShard(p, t, j.out, k, g) }, g, shardOpts...); err != nil {
			return err
		}
	}
	lg := &depthGauge{}
	j.loader = newLoaderState(p, lg)
	if err := child(loaderName, t.loader, func() actor.Actor { return &loader{p: p, t: t, out: j.out, loaderState: j.loader} }, lg); err != nil {
		return err
	}
	for i := range p.augmenters {
		g := &depthGauge{}
		if err := child(augmenterName(i), t.augmenters[i], func() actor.Actor { return newAugmenter(p, t, i, g) }, g); err != nil {
			return err
		}
	}
	if p.augmenters > 0 {
		pid, err := ctx.SpawnNamed(router.NewRoundRobinGroup(t.augmenters...), routerName)
		if err != nil {
			return fmt.Errorf("actors: spawning the augmenter router: %w", err)
		}
		if !pid.Equal(t.router) {
			return fmt.Errorf("actors: spawned the augmenter router as %s, want %s", pid.Id, t.router.Id)
		}
	}
	// The data selector plans for the loader as it starts, and the
	// replicas report to it (selector.go).
	if t.selector != nil {
		if err := child(selectorName, t.selector, func() actor.Actor { return &selector{p: p, t: t, out: j.out} }, nil); err != nil {
			return err
		}
	}
	for i := range p.workers {
		if j.startPlaced(ctx, t.workers[i]) {
			continue
		}
		g := &depthGauge{}
		if err := child(workerName(i), t.workers[i], func() actor.Actor { return newWorker(p, t, j.out, i, g) }, g); err != nil {
			return err
		}
	}
	return child(coordinatorName, t.coordinator, func() actor.Actor { return newCoordinator(p, t, j.out) }, nil)
}

// HandleFailure makes the job actor its children's supervisor (protoactor
// asks the parent's actor first). An augmenter is stateless, so it is
// restarted, one for one, and the batch it failed on, which protoactor
// does not deliver again, is sent back to it, up to augmentRetries times;
// past that the job fails with an error naming the actor, the batch and the
// cause. The loader keeps its state, the message it failed on included,
// outside the actor, so it is restarted too, up to loaderRetries times in
// a row. Any other actor holds state a restart would lose, so its failure
// fails the job; but with failover (failover.go) a replica that fails is
// stopped and handled as lost.
func (j *jobActor) HandleFailure(sys *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason, message any) {
	name, ok := j.names[child.Id]
	if !ok {
		name = child.Id
	}
	cause := fmt.Errorf("%v", reason)
	if err, ok := reason.(error); ok {
		cause = err
	}
	_, msg, _ := actor.UnwrapEnvelope(message)
	var b *messages.Batch
	attempt := 1
	switch m := msg.(type) {
	case *messages.Batch:
		b = m
	case *retry:
		b, attempt = m.batch, m.attempt+1
	}
	if isAugmenter(name) && b != nil {
		// A restarted augmenter keeps the pool whole until shutdown even
		// when the job fails.
		sup.RestartChildren(child)
		if attempt <= augmentRetries {
			sys.Root.Send(child, &retry{batch: b, attempt: attempt})
			return
		}
		j.out.fail(fmt.Errorf("actors: %s failed %d times on batch %d of epoch %d (worker %d): %w",
			name, attempt, b.GetSeq(), b.GetEpoch(), b.GetWorker(), cause))
		return
	}
	if name == loaderName {
		// The loader is suspended until restarted, so its state is still.
		n := j.loader.failures.Add(1)
		if n <= loaderRetries {
			sup.RestartChildren(child)
			return
		}
		sup.StopChildren(child)
		j.out.fail(fmt.Errorf("actors: %s failed %d times in a row, at batch %d of epoch %d, on %T: %w",
			name, n, j.loader.batch(), j.loader.epoch, j.loader.cur, cause))
		return
	}
	sup.StopChildren(child)
	if w, ok := workerIndex(name); ok && j.p.failover {
		// The replica's batches go to the others (failover.go).
		sys.Root.Send(j.t.coordinator, &workerLost{worker: w, why: fmt.Sprintf("failed on %T: %v", msg, cause)})
		return
	}
	j.out.fail(fmt.Errorf("actors: %s failed on %T: %w", name, msg, cause))
}

// workerIndex returns i for the name of replica i.
func workerIndex(name string) (int, bool) {
	s, ok := strings.CutPrefix(name, "worker/")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(s)
	return i, err == nil
}

func isAugmenter(name string) bool { return strings.HasPrefix(name, "augmenter/") }
