// Package kernels is the engine's single, small compute API: the dense
// float32 primitives every layer is built from.
//
// It provides
//
//   - Sgemm, a row-major general matrix multiply, C = alpha*op(A)*op(B) + beta*C;
//   - ConvOut, Im2col and Col2im, which turn convolution and its gradient
//     into matrix multiplies;
//   - Axpy, Scale, Dot and Sum, the vector helpers of the engine's hot loops.
//
// All matrices are row-major; a leading dimension (lda, ldb, ldc) is the
// distance in elements between the starts of two consecutive stored rows,
// so a sub-matrix of a larger one is passed by slicing its first element and
// keeping the parent's row stride.
//
// What it does not do: it does not allocate, own or shape tensors, it has no
// notion of batches, layers or devices, and it imports nothing else of the
// project. Kernels trust their callers for geometry: a slice that is too
// short or a negative size is a programmer error and panics with a message
// naming the function and the argument; user-facing shape checks belong to
// the callers, which return errors.
//
// The arithmetic behind the exported functions is chosen in one place, the
// unexported backend returned by impl. Today that is gonum's BLAS (Go with
// SSE assembly); CPU-specific assembly micro-kernels plug in there without
// changing the exported API. Package kerneltest holds the conformance suite
// every backend must pass.
package kernels
