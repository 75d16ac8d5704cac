package tensor

// BackwardFresh is Backward for a step that wants the gradients of this
// pass alone, as a training step does: rather than add to the gradients of
// params, it leaves each of them holding exactly d loss / d param, and
// zero when loss does not depend on it (a head the batch does not use, a
// frozen path), so callers need not zero them first. The old contents of
// their Grad are never read: NaN or other garbage there does not leak.
//
// The first op of the pass that writes such a gradient overwrites it (a
// matrix product with beta 0, a copy), and later ones add to it, so a
// tensor used twice (tied weights) gets the sum of both contributions.
// Leaves that require a gradient but are not in params accumulate as in
// Backward. The gradients equal those of zeroing params and calling
// Backward, up to the sign of zeros, since x + 0 and x differ only for
// x = −0. params may hold tensors that need no gradient, which are
// skipped, and tensors the graph never saw, which are zeroed.
func (g *Graph) BackwardFresh(loss *Tensor, params []*Tensor) error {
	return g.backwardPass(loss, params)
}
