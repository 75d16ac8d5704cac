// Package cluster runs troupe's actor pipeline across processes: a
// coordinator that trains a job, and nodes that host its model replicas
// ("worker" nodes) and parameter-server shards ("ps" nodes). The pipeline's
// actors are package actors' own; this package manages the processes
// around them:
//
//   - Join and handshake: a node (RunNode) opens its remote endpoint
//     (package wire, with optional mutual TLS), introduces itself to the
//     coordinator with a messages.Hello (role, build, proto version) and
//     gets the coordinator's Hello back. Each side checks that the other
//     speaks its message set (messages.ProtoVersion): protoactor can crash
//     a receiver that gets a message type it does not link, so an
//     incompatible node is refused (ErrRefused on the node, naming both
//     versions) and a node refuses an incompatible coordinator
//     (ErrIncompatible). Builds may differ if the proto version agrees.
//   - Placement: the coordinator (Listen, Wait, Train) waits for its
//     nodes, sends each the job (messages.JobSpec, which the node answers
//     with the job as it read it after loading its own copy of the data),
//     and places replicas on worker nodes and shards on ps nodes,
//     round-robin, by protoactor remote spawning of the kinds actors.Host
//     registers: explicit placement, never cluster grains, whose identity
//     can move and lose a shard's state. actors.Run does the rest.
//   - End of a job: the coordinator stops the placed actors, then tells
//     every node the job is over (a messages.Stop, empty when the job
//     succeeded); nodes exit then. A node also exits when it loses the
//     coordinator.
//   - Lost nodes (recover.go): a lost worker node's replicas are left out
//     and the job goes on (actors.Run). A lost ps node stops the run; the
//     coordinator admits a ps node in its place, sends the job again to
//     the nodes it has (which drop the previous placement,
//     actors.Host.Release), and runs it again from the last checkpoint,
//     counting the steps trained again (ReplayedSteps). A worker node that
//     joins in place of a lost one gets replicas the same way, at the end
//     of the epoch it joined in. Without an output folder for checkpoints a
//     lost ps node fails the job.
//   - Launch starts a whole cluster as local processes on loopback, like
//     torchrun --standalone: a coordinator and the nodes, re-executing the
//     troupe binary, forwarding their output, and stopping them all on
//     exit or interrupt.
//
// What it does not do yet: restoring a lost shard without restarting the
// whole run, checkpoints more often than every epoch (a lost ps node
// replays up to an epoch), a node hosting jobs of more than one
// coordinator in its lifetime, and discovery other than a coordinator
// address (no Kubernetes provider).
package cluster
