package tensor

// ArenaTensors returns g's intermediate tensors of the pass in progress,
// views included, so that tests can fill their gradient buffers with
// garbage.
func (g *Graph) ArenaTensors() []*Tensor {
	return append(g.arena[:g.apos:g.apos], g.views[:g.vpos]...)
}

// ArenaLen returns how many arena tensors (not views) the pass in
// progress holds.
func (g *Graph) ArenaLen() int { return g.apos }

// GradRows returns how many leading rows of t's gradient the last
// backward pass that stamped it wrote.
func GradRows(t *Tensor) int { return t.gradRows }
