// Package wire connects troupe's actor systems across processes: it
// configures protoactor-go's gRPC remote the way the pipeline needs it and
// provides the pieces remote messages rely on.
//
//   - Start opens a node's remote endpoint with message-size limits raised
//     above the chunk size (gRPC's 4 MiB default applies to a whole batch of
//     queued messages, and exceeding it silently drops them), a bounded
//     writer batch, and keepalive so that a hung peer is detected; it
//     registers the actor kinds peers may spawn there (Config.Kinds).
//   - TLS enables mutual TLS from a certificate, key and CA: a peer whose
//     certificate the CA did not sign can neither connect nor deliver a
//     message. Without TLS files a node listens on loopback unless given
//     another address.
//   - Split and Assembler carry tensors larger than one message as bounded
//     slices (NamedTensor offsets), checked on arrival: a slice outside the
//     tensor, overlapping another or of the wrong type is rejected.
//
// Placement of parameter-server and model shards on nodes (package actors)
// and the nodes' lifecycle (package actors/cluster) build on this package;
// it holds no actors of its own.
package wire
