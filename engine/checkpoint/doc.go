// Package checkpoint reads and writes model weights as safetensors files
// (https://huggingface.co/docs/safetensors): an 8-byte little-endian header
// length N, N bytes of JSON header (padded with spaces so the data starts on
// an 8-byte boundary), then the raw little-endian tensor data.
//
// Write is atomic: it writes a temporary file next to the target, syncs it
// and renames it into place, so a crash or a failed write never leaves a
// half-written checkpoint, and a file already at the path survives a failed
// Write. Read and Decode validate the whole header (sizes, offsets, names,
// dtypes) before they allocate tensor memory, so a corrupt or hostile file
// yields an error naming the file and tensor, not a panic or a huge
// allocation.
//
// What it does not do: tensors are float32 in memory and only the F32 dtype
// is read or written for now (other safetensors dtypes are recognised and
// rejected by name); it does not memory-map files, and it knows nothing of
// which tensors a model needs.
package checkpoint
