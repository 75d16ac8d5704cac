// Package compress encodes gradients for the wire: the codecs a worker may
// apply before pushing gradients to remote parameter-server shards, and
// their decoders.
//
// Modes (Parse spells them as a job's "compress" setting):
//
//   - none: float32 as is (4 bytes per value).
//   - fp16, bf16: each value rounded to nearest-even half precision or
//     bfloat16 (2 bytes per value). fp16 saturates to ±65504 rather than
//     overflowing to infinity.
//   - int8: values split into chunks of ChunkSize, each sent as int8 codes
//     with one float32 scale (max|g|/127); codes are rounded stochastically,
//     so the decoded gradient is an unbiased estimate of the original
//     (about 1 byte per value).
//   - topk:F: only the ⌈F·n⌉ entries of largest magnitude are sent, as
//     (index, value) pairs (8 bytes each), with error feedback: what was not
//     sent is kept by the Encoder and added to the next gradient, so no
//     update is lost, only delayed (Stich et al. 2018; Lin et al. 2018).
//
// An Encoder holds the per-tensor state (the top-k residual and the int8
// rounding generator) and is used by one goroutine. Decode checks a
// packet completely before writing anything: packets come from other
// processes and a malformed one must be rejected, not applied.
//
// Not provided: entropy coding, sign compression (1-bit SGD), PowerSGD.
package compress
