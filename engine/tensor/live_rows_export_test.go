package tensor

// ArenaTensors returns g's intermediate tensors of the pass in progress,
// so that tests can fill their gradient buffers with garbage.
func (g *Graph) ArenaTensors() []*Tensor { return g.arena[:g.apos] }

// GradRows returns how many leading rows of t's gradient the last
// backward pass that stamped it wrote.
func GradRows(t *Tensor) int { return t.gradRows }
