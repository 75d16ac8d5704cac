// Package tensor holds troupe's float32 tensors and its reverse-mode automatic
// differentiation.
//
// A [Graph] records the operations of one forward pass on a tape and replays them
// backwards in [Graph.Backward]. Every intermediate tensor comes from the graph's
// arena and every tape entry from its node list; [Graph.Reset] rewinds both without
// freeing, so a training step that builds the same graph each time allocates
// nothing once warmed up. [Graph.Reshape] and [Graph.InputView] copy nothing:
// they return views whose Data is another tensor's or the caller's slice,
// sound because no op writes a tensor's Data after the op that produced it.
// A view of a tensor that needs a gradient keeps a gradient buffer of its
// own. Parameters are ordinary tensors made with [New] and
// marked with [Tensor.SetRequiresGrad]; their gradients accumulate across Backward
// calls until the caller zeroes them.
//
// A training step that wants one batch's gradients calls [Graph.BackwardFresh]
// with its parameters instead of zeroing them and calling Backward: the first
// op of the pass that writes a parameter's gradient overwrites it (a matrix
// product with beta 0, a copy) and later ones add to it, so tied weights still
// get the sum of their contributions, and a listed parameter the pass never
// writes ends it at zero. The old gradients are never read. Intermediate
// gradients start every pass the same way; ops that can only add to a
// gradient (scatters: pooling, embeddings; sums over rows: biases of BiasAdd,
// LayerNorm's gain and shift; broadcast operands; the rectifier's vector
// kernel) clear it first, just before they write it. Either way the
// gradients are those of zeroing and accumulating, up to the sign of zeros.
// A [Backend]'s Gemm must, as BLAS does, not read C when beta is 0.
//
// A loss may cover only the leading rows of a batch ([Targets].Train), the
// others being scored in the same forward pass. Backward then tracks, per
// intermediate gradient, how many leading rows are live: ops that treat rows
// independently (products with a weight, elementwise ops, same-shape
// arithmetic, bias adds, reshapes that keep dimension 0, dropout, layer
// norm, embeddings, convolution and pooling per image) run over those rows
// only, so the weight gradients are those of a batch of the trained rows
// alone, bit for bit on the CPU; any other op clears the dead rows first and
// runs in full.
//
// Heavy products (matrix multiply, convolution unfolding) go through the
// [Backend] seam, implemented for the CPU by the kernels package; a GPU backend
// plugs in at the same place. Elementwise work is plain Go here, except the
// rectifier, max pooling and the sums of bias gradients, which call the
// kernels package's vector loops.
//
// Shape mismatches between operands are programming errors and panic with a
// message naming the operation. Problems that depend on data (a class label or an
// embedding index out of range) are recorded on the graph instead and reported by
// [Graph.Err], so callers that take data from outside return an error rather than
// crash.
//
// A convolution on a [CPUBackend] whose kernels.CPU has several threads splits
// its images between them, each with its own buffers; its weight and bias
// gradients then depend on the thread count, but not on the run. Nothing else
// here is concurrent.
//
// Not here: layers with parameters (package nn), optimizers (package optim), or
// data loading.
package tensor
