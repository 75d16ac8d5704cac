package tensor

// Live rows: a backward pass whose loss depends on the leading rows of a
// batch only (Targets.Train) need not compute the gradient of the others,
// which is zero. Each intermediate gradient records how many leading rows,
// along dimension 0, the pass has written (Tensor.gradRows); the rest are
// zero by definition and their memory is left stale, never read. An op
// that treats rows independently (see rowwise) runs its backward pass over
// its output's live rows only and writes as many rows of its inputs; any
// other first clears its output's dead rows (widen) and runs in full, so
// it sees the zeros the rows stand for. Gradients of operands that are
// not batch rows (weights, biases) are always written in full.
//
// A writer that adds to a gradient over more rows than are live clears
// the rows in between first (firstRows), so mixed extents stay exact. A
// parameter's gradient in BackwardFresh ends fully written: a first writer
// of fewer rows clears the rest.

// leadRows returns t's extent along dimension 0 and the elements per such
// row; a scalar is one row.
func leadRows(t *Tensor) (rows, per int) {
	if len(t.shape) == 0 {
		return 1, t.Len()
	}
	rows = t.shape[0]
	if rows == 0 {
		return 0, 0
	}
	return rows, t.Len() / rows
}

// firstRows is first for a writer of rows [0, r) of t's gradient, r < 0
// meaning all: it reports whether the writer overwrites them, and makes
// the rows it will add to hold their gradient so far (zeros beyond the
// live rows).
func (g *Graph) firstRows(t *Tensor, r int) bool {
	rows, per := leadRows(t)
	if r < 0 || r > rows {
		r = rows
	}
	if t.gradGraph == g && t.gradPass == g.pass {
		if t.gradWritten {
			if r > t.gradRows {
				clear(t.Grad[t.gradRows*per : r*per])
				t.gradRows = r
			}
			return false
		}
	} else if !t.arena {
		// A leaf accumulating across passes: every row holds its gradient.
		return false
	}
	t.gradGraph, t.gradPass, t.gradWritten = g, g.pass, true
	if !t.arena && r < rows {
		// A parameter of BackwardFresh ends the pass fully written.
		clear(t.Grad[r*per:])
		r = rows
	}
	t.gradRows = r
	return true
}

// readyRows is ready for an op that adds to rows [0, r) of t's gradient.
func (g *Graph) readyRows(t *Tensor, r int) {
	rows, per := leadRows(t)
	r = min(r, rows)
	if g.firstRows(t, r) {
		clear(t.Grad[:r*per])
	}
}

// betaRows is beta for a product that writes rows [0, r) of t's gradient.
func (g *Graph) betaRows(t *Tensor, r int) float32 {
	if g.firstRows(t, r) {
		return 0
	}
	return 1
}

// live returns how many leading rows of t's gradient the pass has written,
// once it has stamped t (Graph.ready).
func live(t *Tensor) int { return t.gradRows }

// widen clears the dead rows of t's gradient and makes all rows live, for
// an op that reads the whole of it.
func widen(t *Tensor) {
	rows, per := leadRows(t)
	if t.gradRows < rows {
		clear(t.Grad[t.gradRows*per:])
		t.gradRows = rows
	}
}

// rowwise reports whether nd's backward pass handles live rows: its output
// and the inputs whose gradients it limits share dimension 0, and each row
// of the output depends on the same row of them alone.
func rowwise(nd *node) bool {
	switch nd.op {
	case opMatMul, opBiasAdd, opReLU, opGELU, opTanh, opSigmoid, opDropout,
		opConv2D, opMaxPool2D, opEmbedding:
		return true
	case opLinear, opLayerNorm:
		return nd.a.Rank() >= 2
	case opAdd, opSub, opMul:
		return SameShape(nd.a.shape, nd.b.shape)
	case opReshape:
		return nd.a.Rank() >= 1 && nd.out.Rank() >= 1 && nd.a.shape[0] == nd.out.shape[0]
	}
	return false
}
