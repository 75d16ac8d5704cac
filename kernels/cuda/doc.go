// Package cuda is troupe's GPU backend: NVIDIA GPUs through the CUDA driver
// API, NVRTC and cuBLAS.
//
// # No toolkit at build time
//
// The package declares the few CUDA entry points it uses in a small C shim
// and resolves them with dlopen/dlsym when a device is opened: libcuda.so.1
// (the driver), libnvrtc (run-time compilation) and libcublas. Programs
// therefore build on any Linux machine with a C compiler and run on machines
// without a GPU, where Open returns an error wrapping ErrNoDevice. Libraries
// are searched in the folders of Options.LibDirs and of the TROUPE_CUDA_LIBS
// variable, then by the dynamic loader, then in the usual install folders.
// Every call's status is checked and returned as an *Error naming the call.
//
// # Kernels
//
// The CUDA C sources live in src/ as readable .cu files, embedded in the
// binary. Open compiles them once per device with NVRTC for the device's
// exact architecture (machine code, falling back to PTX when NVRTC is older
// than the GPU). They cover what a training step needs beyond matrix
// products: bias + activation epilogues and their fused gradients,
// softmax cross-entropy, im2col/col2im and max-pooling on channel-major
// activations, layer normalisation, dropout, batch gathering, and fused
// SGD and Adam/AdamW updates over all parameters with on-device gradient
// clipping. Reductions sum in a fixed order, so results do not depend on
// scheduling (the summed loss, accumulated with atomics, is the exception).
// Matrix products go through cuBLAS in fp32, TF32 (opt-in) or bf16 inputs
// with fp32 accumulation.
//
// # Memory and streams
//
// A Device owns a caching allocator: Buffer.Free returns memory to the
// cache, Device.Close frees everything (and reports buffers still live), no
// finalizers are involved. Pinned host memory makes copies asynchronous.
// Each Stream has its own cuBLAS handle and workspace; a model shard owns a
// stream. Events order streams and time work; a stream's work can be
// captured into a Graph and replayed with one launch.
//
// Not provided: multi-GPU collectives, cuDNN, half-precision training.
package cuda
