package tensor

// ReshapeCopy is Reshape as it was before views, a copy into an arena
// tensor: the reference the view is checked against. shape must be
// explicit (no −1).
func (g *Graph) ReshapeCopy(x *Tensor, shape ...int) *Tensor {
	if numel(shape) != x.Len() {
		panic("tensor: ReshapeCopy: size mismatch")
	}
	grad := g.wants(x)
	out := g.alloc(grad, shape...)
	copy(out.Data, x.Data)
	if grad {
		g.record(opReshape, out, x, nil, nil)
	}
	return out
}

// ViewSlots returns the Data of every view slot the graph holds, in use
// or not.
func (g *Graph) ViewSlots() [][]float32 {
	d := make([][]float32, len(g.views))
	for i, t := range g.views {
		d[i] = t.Data
	}
	return d
}
