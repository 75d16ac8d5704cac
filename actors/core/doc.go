// Package core holds the decision logic of troupe's actor pipeline as plain
// deterministic state machines: an event goes in through Step, the machine
// updates its state and returns the actions to perform, in order. There are
// no goroutines, timers, channels or I/O here, and no actor or protobuf
// types; the actors are thin shells that decode a message into an event,
// call Step, and carry out the actions. This is the split of etcd's raft
// package, and it lets every rule below be tested by scripts and by random
// runs against naive models, without actors or clocks.
//
// Every Step validates before it changes anything: an event that returns an
// error leaves the machine as it was. Errors wrap ErrDuplicate (a repeat the
// shell may drop quietly), ErrProtocol (a peer or the shell broke the
// protocol), ErrUnknown (an unknown consumer or worker) or, from
// constructors, ErrConfig. Bad input never panics. No machine is safe for
// concurrent use; each belongs to one actor.
//
// # Credit-based flow control (Sender, Receiver)
//
// A pull-based link between an upstream stage and each of its consumers.
// The Receiver grants its window (prefetch depth) once on Open, takes each
// batch only against credit it granted and in sequence, and on Done gives
// the slot back as a Grant (coalesced to at least MinGrant slots). Each
// Grant also carries the count of batches finished, so the sender knows its
// true in-flight count.
//
//	Sender events:    Grant, StartEpoch, Produced, Exhausted, AddConsumer, RemoveConsumer
//	Sender actions:   Produce, Send, EndOfEpoch
//	Receiver events:  Open, Arrived, Done, EndOfEpoch
//	Receiver actions: Grant, AllArrived
//
// The Sender turns credit into Produce actions, spreading a shared epoch
// budget round-robin over its consumers; Produced turns into Send with the
// next sequence number of that link. An epoch ends when its budget has been
// produced (StartEpoch.Batches) or when the shell steps Exhausted (Unbounded
// epochs); each link then gets one EndOfEpoch carrying its batch count, and
// the Receiver answers AllArrived once it holds that many.
//
// Invariants: per link, credit + batches being produced + batches sent and
// not finished ≤ window at all times, so the memory a slow consumer pins is
// bounded by configuration whatever the relative speeds; credit never goes
// negative; the sender produces only against credit; with honest peers no
// state is a deadlock, and every batch sent is eventually finished.
// The link is assumed to deliver in order and without repeats, as actor
// mailboxes and remote streams do; a gap or repeat is reported, not
// absorbed.
//
// # Parameter-server clocks (Clock)
//
//	Events:  Push, Pull, WorkerLeft, WorkerJoined
//	Actions: Apply, Reply, Admit
//
// Each live worker has a clock: the step it computes next. Under SSP with
// staleness s a worker at step t may read parameters (its Pull is answered
// with a Reply) and push a gradient only while t − (slowest live clock) ≤ s;
// a pull from further ahead waits and is answered by the event that lets it
// through. Each push is applied at once (an Apply of that one gradient with
// scale 1). BSP is SSP with s = 0 whose pushes for step t are held and
// applied together, averaged (scale 1/n), once every live worker has pushed
// step t. Async applies every push at once and never makes anyone wait.
// A worker that leaves no longer holds anyone back (its pushed gradients
// still count); a joining worker is admitted at the slowest live step, or,
// when nobody is live, at the furthest clock of those who left since the
// live set was last empty, which does not depend on the order the leaves
// came in (shards that see the same leaves in different orders admit the
// next worker at the same step). The machine never sees a tensor: Apply
// names gradients by (worker, step), and the shell keeps them under that key
// until applied.
//
// Invariants: no reply or accepted push is more than s steps ahead of the
// slowest live worker; no pull waits that could go; the slowest clock never
// moves back; each BSP step is applied exactly once; versions grow by
// exactly one per Apply, and every Reply carries the version after the
// Applies of the same Step.
//
// # Coordinator (Coordinator)
//
//	Events:  Begin, BatchDone, Evaluated, Checkpointed, WorkerLeft, WorkerJoined
//	Actions: EpochStarted, Assign, Evaluate, Checkpoint, Finish
//
// An epoch has ceil(samples / batch size) batches. They are dealt
// round-robin to the live workers when the epoch starts; the unfinished
// batches of a worker that leaves are dealt to the others (or wait for the
// next worker to join, if none is live). When every batch is reported done
// the coordinator asks for Evaluate, then Checkpoint, then starts the next
// epoch or says Finish. Reports may repeat or arrive late (at-least-once
// delivery): only the first report of a batch in its own epoch counts.
//
// Invariants: within an epoch every batch, and so every sample, is counted
// done exactly once; every unfinished batch has one live owner, or none
// only while no worker is live; the global step grows by one per counted
// batch; the phases follow each other in order. If a worker is declared
// gone while it is only slow, its batches may be trained on twice but are
// still counted once.
//
// # Data selection (Selector, Policy, Sampler, ScoreStore)
//
//	Selector events:  BeginSelection, Ask, Scored
//	Selector actions: Keep, ScoreFirst, PlanBatch
//
// The Selector owns a ScoreStore, each sample's latest known loss with the
// optimizer step it was measured at, and one strategy. A Policy filters
// each batch once its losses are known: a replica Asks, rows whose stored
// loss is at most Staleness steps old are decided from it, the others are
// scored first (ScoreFirst, answered by Scored), and Keep names the rows
// to train on. SelectiveBackprop is Jiang et al. 2019: a loss is ranked
// among the last R losses and the sample is kept with probability
// max(floor, percentile^beta); Uniform keeps a fixed fraction (all of them
// at 1). Decisions use uniform numbers from SampleUniform(seed, epoch,
// sample), so a run is reproducible.
//
// A Sampler composes the batches from the whole data set instead (a
// PlanBatch per batch, for the loader): LossRank is Loshchilov and Hutter
// 2015, drawing by loss rank under a selection pressure; Importance is
// after Katharopoulos and Fleuret 2018, drawing in proportion to a smoothed
// loss and weighting each draw by 1/(N·p). Batches are drawn in rounds, a
// round once the reports of every batch before the previous round are in,
// applied in batch order, so the plans do not depend on the order reports
// arrive in. Each round also names the oldest losses to refresh (samples
// scored without training), at a rate that keeps every loss at most
// Staleness steps old, apart from the rounds' lag.
//
// Invariants: the store never goes back to an older measurement; a Filter
// answers every batch it is asked about exactly once; a Sampler plans every
// batch of every epoch exactly once, each from the store as it stood after
// a fixed prefix of the reports.
//
// # What it does not do
//
// It does not move data, hold tensors, measure time or detect failures:
// timeouts, retries and failure detection belong to the shells (the
// machines only react to WorkerLeft and the like). It does not persist its
// state; a restarted shell rebuilds a machine from a checkpoint's step,
// version and epoch through the configs' start fields. Flow control does
// not guarantee that every sample is trained on; the coordinator's
// assignment does.
package core
