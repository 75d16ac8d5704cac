// Package actors runs troupe's training pipeline as protoactor-go actors in
// one process: a loader, an optional pool of augmenters, data-parallel
// model replicas and parameter-server shards, driven by a coordinator.
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
// copies them into its model, computes the gradients (train.Trainer
// without optimizer), clips them when the job asks, pushes each shard its
// slice, returns the credit and reports BatchDone. The shards lay the
// model's parameters end to end and own contiguous, size-balanced ranges
// (a tensor may be split). Each runs the job's optimizer on its slices and
// a core.Clock that answers pulls and forms updates under BSP, SSP or
// async; an update's learning rate is the schedule's at the version before
// it, with BSP counting one step per round of replicas. When a replica has
// received its last batch of the epoch and trained on it, it leaves the
// clocks, so that BSP rounds stop waiting for it, and tells the
// coordinator. Once every batch is done and every replica has left, every
// update is applied: the coordinator gathers the parameters, evaluates,
// writes the checkpoint, collects each stage's metrics and reports the
// epoch.
//
// With one replica under BSP the result is bit for bit the plain loop's
// (train.Run), with any number of shards: the optimizers are elementwise,
// and a lone gradient reaches them unchanged.
//
// # Failures
//
// An augmenter that panics is restarted by its supervisor, which hands it
// the failed batch again (protoactor does not), after a short backoff, up
// to three times; then the job fails with an error naming the augmenter,
// the batch and the cause. A failure of any other actor, an error from a
// state machine or an engine call, or the context's cancellation ends the
// run; Run stops every actor and returns the error.
//
// # What it does not do yet
//
//   - Data selection runs inside each replica, not as a separate selector
//     actor: with select selective-backprop, a forward-only pass scores the
//     batch, core.SelectiveBackprop keeps some samples (deciding from
//     uniforms derived from seed, epoch and sample id) and only those get a
//     backward pass; a batch with none kept pushes a zero gradient. The
//     kept samples are not regrouped into full batches as in the paper.
//   - Gradient clipping with several replicas clips each replica's
//     gradient before averaging, not the average.
//   - Checkpoints hold the weights and the training state but not the
//     optimizer state, which the shards own; resuming is not supported.
//   - Remote placement: everything runs in one process, and a replica or
//     shard that dies is not replaced. The job actor's supervision and the
//     shared outcome of a run are in-process only.
//   - Model-parallel shards, gradient compression, and the Observer's
//     per-step learning rate under asynchrony (Progress.LR is the
//     schedule's rate at the version the replica computed on).
package actors
