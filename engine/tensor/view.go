package tensor

// Views: a tensor whose Data is another's slice under a new shape, as a
// Reshape or a batch taken without a copy. They live in their own pool,
// apart from the arena: an arena slot grows and rewrites its Data in
// place, and one left pointing at another tensor's memory would hand that
// memory to the next op allocated there. A view's slot owns its shape and
// Grad only, so a view takes no arena memory for its values.
//
// Sharing is sound because no op writes into a tensor's Data after the op
// that produced it: every op writes only the output it allocates (and
// scratch space), and the backward pass writes gradients only.

// view returns a tensor of the given shape whose Data is data, with a
// gradient buffer of its own when grad is set. Its gradient starts every
// Backward pass afresh, like an arena tensor's.
func (g *Graph) view(grad bool, data []float32, dev Device, shape ...int) *Tensor {
	t := slot(&g.views, &g.vpos, grad, dev, shape)
	t.Data = data
	t.setGrad(grad, len(data))
	return t
}

// InputView is Input without the copy: the returned tensor's Data is data
// itself. The graph reads data until the next Reset and never writes it,
// so the caller must leave it unchanged until then (a Trainer step or a
// forward pass that returns before the caller refills its batch buffer).
// Results are bit-identical to Input's.
func (g *Graph) InputView(data []float32, shape ...int) *Tensor {
	checkInput("InputView", data, shape)
	return g.view(false, data, g.be.Device(), shape...)
}
