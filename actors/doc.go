// Package actors runs troupe's training pipeline as protoactor-go actors in
// one process, or with some of them on other nodes (see Across processes):
// a loader, an optional pool of augmenters, data-parallel model replicas
// and parameter-server shards, driven by a coordinator.
// Run is the whole API: it builds the topology for a job, trains, and
// stops every actor before it returns.
//
// The actors are thin shells. Each decodes a message, steps one of the
// deterministic state machines of package core (credit flow control, the
// parameter-server clocks, the coordinator's epochs), and performs the
// actions that come out; every computation is a call into engine. Messages
// are the protobuf types of package messages, passed by pointer and never
// modified once sent.
//
// # Topology
//
//	                        ┌──────── Credit ────────┐
//	                        ▼                        │
//	coordinator ─Start─▶ loader ─Batch─▶ [augmenters] ─Batch─▶ worker i ─PullParams/PushGradients─▶ ps k
//	     ▲  │                  └─────── EpochEnd ──────────────▶   │        ◀──────── Params ────────┘
//	     │  └──────── Presence (start signal) ───────────────────▶ │
//	     └────────────── BatchDone, Presence (left), Metrics ───────┘
//
// All actors are children of one job actor, which supervises them and
// whose stop stops them all. Every PID is derived from a fixed name under
// it ("job/loader", "job/worker/0", "job/ps/1", ...), which is what a
// placement across nodes will need.
//
// # One epoch
//
// The coordinator starts epoch e (numbered from 1, as in the plain loop):
// it sends Start to the loader and joins every replica to every shard's
// clock (Presence), then hands each replica the step the shards admitted it
// at. Each replica's core.Receiver grants the loader a window of credit
// (Prefetch); the loader's core.Sender turns credit into batches, each the
// next one of the epoch's permutation, which data.Loader derives from
// (seed, epoch) exactly as the plain loop does. So batches go to whichever
// replica has room, and a lone replica sees the plain loop's sequence. With
// augmentation, batches pass through a round-robin group router over the
// augmenters; since they can overtake each other there, and the loader's
// end-of-epoch marker goes directly, each replica restores its link's order
// (Batch.link_seq) before stepping its Receiver.
//
// For each batch a replica pulls its step's parameters from every shard,
// computes the gradients on them (train.Trainer without optimizer), clips
// them when the job asks, returns the credit, reports BatchDone and pushes
// each shard its slice. The shards lay the
// model's parameters end to end and own contiguous, size-balanced ranges
// (a tensor may be split). Each runs the job's optimizer on its slices and
// a core.Clock that answers pulls and forms updates under BSP, SSP or
// async; an update's learning rate is the schedule's at the version before
// it, with BSP counting one step per round of replicas. When a replica has
// received its last batch of the epoch and trained on it, it leaves the
// clocks, so that BSP rounds stop waiting for it, and tells the
// coordinator. Once every batch is done and every replica has left, every
// update is applied: the coordinator gathers the parameters and the
// optimizer state, evaluates, writes the checkpoint, collects each stage's
// metrics and reports the epoch.
//
// With one replica under BSP the result is bit for bit the plain loop's
// (train.Run), with any number of shards: the optimizers are elementwise,
// and a lone gradient reaches them unchanged.
//
// # Memory hand-off
//
// Batches, parameters and gradients are large, and a step moves all three,
// so in one process they travel as views (messages.ViewFloat32) of memory
// that the message lends to its receiver until a later message gives it
// back. Nothing is copied on the way, and the same messages marshal as
// usual for the wire, where the receiver owns what it decodes; memory comes
// back only by a message sent after the receiver got the loan, so by then
// a remote send has marshalled it too.
//
// That holds for protoactor remote although it marshals a message on its
// endpoint writer's goroutine after Send has returned: every loan below
// ends with a message that the receiver sends after it got the loan, and it
// got it only once the sender's writer had marshalled it. A loan that ends
// with the answer to a later message from the same sender (a push ends
// with the reply to the next pull) relies on messages from one process to
// another going through one writer, in order, which protoactor does. So
// remote sends copy nothing either, except chunks (see Across processes).
//
//   - A Batch lends the loader's inputs buffer until the consumer's Credit
//     acknowledges the batch; the loader then fills it again.
//   - A PushGradients lends the replica's Grad buffers until the shard's
//     next Params reply to that replica: the shard applies the gradient
//     before then (the clocks apply every push before they answer the
//     pusher's next pull), or else copies it. A lone replica always pushes the same
//     memory, so its shard's optimizer reads the gradients there.
//   - A Params reply shows memory that stays unchanged until the replica's
//     next message to that shard, so the replica computes on it directly
//     (a tensor split across shards is copied into one buffer). Under BSP,
//     or for a lone replica, that is the shard's live parameters, since no
//     update can happen before the replica's next push; otherwise it is a
//     copy the shard keeps per replica.
//   - Each side reuses its PullParams, PushGradients and Params messages
//     once the other has answered, so a step allocates no tensors.
//
// A lone shard serving a lone replica runs on the goroutine of whoever sends
// to it (protoactor's synchronized dispatcher): the replica waits for every
// update anyway, and so the update runs where the plain loop runs its
// optimizer, without two goroutine hand-offs per step.
//
// # Gradient compression
//
// With the job's compress setting other than none, a replica encodes each
// push with package compress, one Encoder per tensor slice and shard (the
// top-k residual is the replica's, on the gradient), and the push carries
// GradPackets instead of gradient tensors; it lends the packets' bytes as it
// would the Grad buffers. A shard checks every packet and decodes them into
// its own memory before the push counts (compress.go), so a bad packet is
// never applied. Replicas count the wire size of their pushes (Stage.Steps,
// Stage.PushBytes). Compressed pushes are not chunked across processes.
//
// # Failures
//
// An augmenter that panics is restarted by its supervisor, which hands it
// the failed batch again (protoactor does not), after a short backoff, up
// to three times; then the job fails with an error naming the augmenter,
// the batch and the cause. The loader keeps its state outside the actor,
// the message it was handling and the actions it had left included, so a
// loader that panics is restarted after a short backoff and carries on
// where it stopped, without losing or repeating a batch; after three
// crashes in a row the job fails with an error naming the loader and the
// batch. A failure of any other actor, an error from a state machine or an
// engine call, or the context's cancellation ends the run; Run stops every
// actor and returns the error.
//
// A run placed on nodes goes on without a lost replica (failover.go): the
// coordinator takes it out of every shard's clock, with a leave sent as a
// request, which a shard tells from a replica's own leave and after which it
// drops what the replica sent late, and the loader takes its credit link
// out and sends the batches it had not acknowledged to the others first.
// To allow that at any moment the loader's Sender runs with no budget and
// the loader ends an epoch only once every batch it sent is acknowledged.
// Every sample of the epoch is so trained on once by a surviving replica.
// When the selector composes the batches, a batch sent again is made from
// the same plan, and the selector takes the first of its reports; under
// selective backprop the replica that gets it asks the selector again,
// which decides again.
// A lost shard ends the run with a ShardLostError naming the step reached;
// package cluster places the job again from its last checkpoint. A placed
// run resumes a checkpoint by sending each placed shard its part of it
// (ps_restore.go) before the first replica joins.
//
// # Data selection
//
// With select other than uniform a selector actor owns a core.Selector:
// every sample's latest known loss with the step it was measured at, and
// the strategy. Under selective-backprop a replica sends the selector each
// batch's sample ids (Scores with decide), scores with a forward-only pass
// the samples whose stored losses are older than score_staleness steps (a
// Selection asks for them), and backpropagates the samples the answer
// keeps; a batch with none kept pushes a zero gradient. Under loss-rank and
// importance the selector composes the batches: it sends the loader a Plan
// per batch, the samples to train on (with loss weights for importance)
// and samples to score only, which refresh the oldest losses; the loader
// waits for a batch's plan before making it, and the replica trains on the
// batch and reports every loss back. The replicas count the samples they
// ran forward and backward passes on in their stage metrics.
//
// # Across processes
//
// With a Placement, Run spawns the replicas and shards it names on other
// processes, nodes whose Host registered them as protoactor kinds, and
// keeps the loader, the augmenters, the selector and the coordinator here.
// A placed actor gets the topology (every actor's PID) in a Topology
// message, answers it, and starts at the Start the job actor sends where
// it would spawn a local one; from then on it runs the same code as in one
// process. Every actor of a placed run sits behind a link (link.go): a
// message for another process whose tensors hold more than the chunk
// bytes (4 MiB by default, under gRPC's limit for a batch of messages)
// travels as a header with placeholder tensors followed by bounded
// NamedTensor chunks (wire.Split), which the receiving link assembles
// (wire.Assembler) before the actor sees the message; a chunk the protocol
// does not expect is logged and fails the run, never delivered. A
// coordinator-side monitor watches the placed actors: a node that exits or
// loses its connection, or reports a failure of its actors, fails the run.
// Remote sends are bounded by the pipeline's own protocols, as local ones
// are: credit for batches, and one pull and one push in flight per replica
// and shard (protoactor's outgoing queues are unbounded).
//
// Messages between two processes keep their order, but a message may
// overtake another sent from a third process. The one place where this
// matters is the end of an epoch: the coordinator's Evaluate and EpochEnd
// may reach a shard before a replica's last push and leave, so a shard
// answers them only once no replica is left in its clock.
//
// # What it does not do yet
//
//   - Data selection: selective backprop's kept samples are not regrouped
//     into full batches as in the paper; with several replicas the losses,
//     and so the selections, depend on which replica trained what, so only
//     a lone replica's run repeats exactly; the score store starts empty
//     when a job resumes; batch mixes (mixup, cutmix) are refused.
//   - Gradient clipping with several replicas clips each replica's
//     gradient before averaging, not the average.
//   - Resuming: the optimizer state travels in the Params message that
//     answers Evaluate, after the parameters, and a restore to a placed
//     shard is a Params message too; a message type of its own would say
//     so more plainly. Checkpoints are written at epoch ends only.
//   - Across processes: a lost shard is not replaced within a run (the run
//     stops; package cluster restarts it from the last checkpoint); a lost
//     replica is not replaced within a run either. A batch whose BatchDone
//     reached the coordinator but whose push was lost with its replica is
//     not trained again. After a loss under BSP the shards move the
//     schedule on by the live share of the replicas per update, but the
//     learning rate the coordinator reports follows the update count.
//     Placed actors report no mailbox depth in their metrics (the kinds'
//     props are shared, the depth gauge is per actor).
//   - Model-parallel shards, and the Observer's
//     per-step learning rate under asynchrony (Progress.LR is the
//     schedule's rate at the version the replica computed on).
package actors
