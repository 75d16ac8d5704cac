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
//     coordinator, and the coordinator's run fails when it loses a node.
//   - Launch starts a whole cluster as local processes on loopback, like
//     torchrun --standalone: a coordinator and the nodes, re-executing the
//     troupe binary, forwarding their output, and stopping them all on
//     exit or interrupt.
//
// What it does not do yet: gradient compression, replacing a lost worker
// or restoring a lost shard (a lost node fails the run), resuming a job
// placed on nodes, a node hosting more than one job in its lifetime, and
// discovery other than a coordinator address (no Kubernetes provider).
package cluster
