// Package messages holds the protobuf messages the actor pipeline exchanges:
// tensors, batches, per-sample scores and the data selector's answers
// (Selection, Plan), gradients and parameters, flow control credits,
// control and handshake messages, and the job specification. In one
// process actors pass them by pointer; between nodes protoactor-go remote
// carries the same types over gRPC.
//
// The .proto sources live in proto/troupe/v1 and the *.pb.go files are
// generated from them by `go generate ./messages` (protoc from the system,
// protoc-gen-go pinned by the module's tool directive); check-generated.sh
// fails when the committed output is stale. The files are registered as
// "troupe/v1/<name>.proto" rather than bare "<name>.proto" because the
// protobuf runtime panics at start-up when two linked packages register the
// same file path, and names like "tensor.proto" are common.
//
// Hand-written helpers sit beside the generated code: FromFloat32,
// ViewFloat32 and Tensor.Float32 are the one place where float32 slices and
// wire tensors meet; JobFromSpec and JobSpec.ToSpec convert the job
// specification; Hello and ProtoVersion support the join handshake;
// GradPacket.SetPacket and GradPacket.Packet carry package compress's
// packets (a compressed PushGradients), checking only their byte layout.
//
// # Sent messages are immutable
//
// A local send hands the receiver the sender's pointer, and Tensor.Float32
// may return a view of a tensor's bytes rather than a copy. So once a
// message is sent, neither the sender nor any receiver may modify it, nor
// any slice obtained from it: build a new message instead. FromFloat32
// copies its input for the same reason.
//
// The one exception is a protocol that hands memory over explicitly:
// ViewFloat32 wraps a sender's buffer without copying, and the sender may
// write that buffer again, or reuse the message, only once the receiver has
// said by a later message that it is done with it. The actor pipeline's
// gradients and parameters travel this way (see package actors). A message
// that crossed the wire holds fresh memory, so such a protocol costs nothing
// there.
//
// # Wire compatibility
//
// Nodes of one job may run different builds, so the .proto files follow the
// protobuf rules for evolving a schema:
//   - never change or reuse a field number, and never change a field's type;
//   - to drop a field, mark its number and name `reserved`;
//   - new fields must treat their zero value as "absent / old behaviour",
//     since older senders never set them;
//   - adding a message type, or changing what a field means, also bumps
//     ProtoVersion, which the Hello handshake compares.
//
// # Strings for the job's enums
//
// JobSpec carries optimizer, schedule and layer type as their config
// spellings ("adamw", "cosine", "conv2d") rather than proto enums. The
// spec package already owns those spellings, their lists and their error
// messages; mirroring them as proto enums would make a second list that
// must be kept in step, and a new layer type would need a proto change.
// ToSpec validates each spelling with spec's own parser, so a bad value is
// still rejected, with an error naming the field. The job is sent once per
// run, so the bytes saved by enums do not matter. SyncMode is a proto enum
// because spec has no counterpart yet; DType is one because tensors are on
// the hot path.
//
// # What it does not do
//
// It does not validate a job beyond what conversion needs (spec.Job.Validate
// does), split tensors into chunks or compress them (NamedTensor.offset is
// the hook for both), or convert dtypes other than F32. The pipeline fields
// of JobSpec (workers, ps_shards, sync, staleness, augment, augmenters,
// select, prefetch) have no spec.Job counterpart yet and are dropped by
// ToSpec.
package messages
