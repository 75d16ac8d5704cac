// Package nn builds models from a declarative description ([spec.Model]): a
// sequence of layers with their sizes, so that a new architecture needs no new
// code. Parameters follow PyTorch's layouts and names (an nn.Sequential called
// "layers": Linear weight [out, in] as "layers.0.weight", Conv2d weight
// [out, in, kh, kw], biases [out]), so a checkpoint can be exchanged with
// PyTorch by renaming tensors at most.
//
// Initialisation is seeded from one *rand.Rand passed in: Kaiming (He) uniform
// for weights feeding a rectifier, Xavier (Glorot) uniform otherwise, zero
// biases.
//
// Not here: training loops, optimizers, data.
package nn
