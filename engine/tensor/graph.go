package tensor

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
)

// Graph records operations for reverse-mode differentiation and owns the
// buffers of every intermediate tensor. A Graph is not safe for concurrent use;
// give each goroutine (each model replica) its own.
type Graph struct {
	be       Backend
	rng      *rand.Rand
	training bool
	noGrad   bool

	nodes []node // tape; entries past npos are kept for their buffers
	npos  int
	arena []*Tensor // intermediate tensors; entries past apos are free
	apos  int
	views []*Tensor // tensors whose Data is another's (see view.go)
	vpos  int

	scratch []float32 // per-op temporary space, never live across ops
	pass    uint64    // counts Backward calls, see Graph.first
	conv    convTask  // the convolution pass in progress, with its buffers
	err     error
}

// NewGraph returns an empty graph computing on be. rng drives the random
// operations (dropout); it is used from this graph only.
func NewGraph(be Backend, rng *rand.Rand) *Graph {
	if be == nil {
		be = CPUBackend{}
	}
	return &Graph{be: be, rng: rng, training: true}
}

// Backend returns the graph's compute backend.
func (g *Graph) Backend() Backend { return g.be }

// SetTraining switches train-mode behaviour (dropout) on or off.
func (g *Graph) SetTraining(on bool) { g.training = on }

// Training reports whether the graph is in training mode.
func (g *Graph) Training() bool { return g.training }

// SetNoGrad stops the graph from recording: forward passes still run but
// nothing can be differentiated. Use it for evaluation.
func (g *Graph) SetNoGrad(on bool) { g.noGrad = on }

// Reset forgets the recorded operations and recycles every intermediate tensor.
// Tensors returned by earlier operations must not be used afterwards.
func (g *Graph) Reset() {
	g.npos = 0
	g.apos = 0
	// Views would otherwise keep the caller's batch alive until their
	// slot is reused.
	for _, t := range g.views[:g.vpos] {
		t.Data = nil
	}
	g.vpos = 0
	g.err = nil
}

// Err returns the first data-dependent problem met since the last Reset (a
// label or index out of range). Results computed after it are meaningless.
func (g *Graph) Err() error { return g.err }

func (g *Graph) fail(err error) {
	if g.err == nil {
		g.err = err
	}
}

// alloc returns an arena tensor of the given shape. Its Data holds stale values:
// every operation writes all of its output. grad says whether it needs a
// gradient buffer.
func (g *Graph) alloc(grad bool, shape ...int) *Tensor {
	n := numel(shape)
	t := slot(&g.arena, &g.apos, grad, g.be.Device(), shape)
	t.Data = grow(t.Data, n)
	t.setGrad(grad, n)
	return t
}

// slot takes the next tensor of a recycled pool (the arena, the views),
// growing the pool on first use, and gives it shape, device and grad.
func slot(pool *[]*Tensor, pos *int, grad bool, dev Device, shape []int) *Tensor {
	var t *Tensor
	if *pos < len(*pool) {
		t = (*pool)[*pos]
	} else {
		t = &Tensor{}
		*pool = append(*pool, t)
	}
	*pos++
	t.arena = true
	t.shape = append(t.shape[:0], shape...)
	t.dev = dev
	t.requiresGrad = grad
	return t
}

// setGrad sizes a pooled tensor's gradient buffer to n when it needs one,
// keeping the buffer's capacity; otherwise Grad stays empty, so that
// accumulation bugs surface as panics in tests.
func (t *Tensor) setGrad(grad bool, n int) {
	if grad {
		t.Grad = grow(t.Grad[:cap(t.Grad)], n)
	} else {
		t.Grad = t.Grad[:0]
	}
}

// temp returns scratch space of n floats valid until the next call to temp.
func (g *Graph) temp(n int) []float32 {
	g.scratch = grow(g.scratch, n)
	return g.scratch
}

func grow(s []float32, n int) []float32 {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]float32, n)
}

func growInt32(s []int32, n int) []int32 {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]int32, n)
}

// wants reports whether an op on these inputs must be recorded.
func (g *Graph) wants(ts ...*Tensor) bool {
	if g.noGrad {
		return false
	}
	for _, t := range ts {
		if t != nil && t.requiresGrad {
			return true
		}
	}
	return false
}

type opKind uint8

const (
	opMatMul opKind = iota + 1
	opLinear
	opAdd
	opSub
	opMul
	opBiasAdd
	opReshape
	opReLU
	opGELU
	opTanh
	opSigmoid
	opDropout
	opSum
	opConv2D
	opMaxPool2D
	opLayerNorm
	opEmbedding
	opSoftmaxCE
	opMSE
)

// node is one tape entry. Its buffers (aux, idx) belong to the slot and are
// reused by whatever op lands in the slot next step.
type node struct {
	op      opKind
	a, b, c *Tensor
	out     *Tensor
	ia      [8]int
	f       float32
	aux     []float32
	idx     []int32
}

func (g *Graph) record(op opKind, out, a, b, c *Tensor) *node {
	if g.npos == len(g.nodes) {
		g.nodes = append(g.nodes, node{})
	}
	n := &g.nodes[g.npos]
	g.npos++
	n.op, n.out, n.a, n.b, n.c = op, out, a, b, c
	n.ia = [8]int{}
	n.f = 0
	return n
}

// Backward computes d loss / d x for every tensor x that requires a gradient
// and was used to compute loss since the last Reset. loss must hold one value.
// Parameter gradients are added to, not overwritten; see BackwardFresh for a
// pass that overwrites them.
//
// When loss depends on the leading rows of a batch only (a loss whose
// Targets.Train is set), the ops that treat rows independently compute the
// gradients of those rows only, and the other rows of their intermediate
// tensors' gradients, zero by definition, keep stale values; other ops
// clear those rows and run in full. Gradients of leaves are always
// complete.
func (g *Graph) Backward(loss *Tensor) error {
	return g.backwardPass(loss, nil)
}

func (g *Graph) backwardPass(loss *Tensor, fresh []*Tensor) error {
	if g.err != nil {
		return g.err
	}
	if loss.Len() != 1 {
		return fmt.Errorf("tensor: Backward: loss has shape %v, want a single value", loss.shape)
	}
	if !loss.requiresGrad {
		return errors.New("tensor: Backward: loss does not depend on any tensor that requires a gradient")
	}
	// No gradient is cleared up front: the first op of the pass that
	// writes one overwrites it where it can, and an op that can only add
	// clears it just before, when the memory is about to be touched
	// anyway (see first and ready).
	g.pass++
	for _, p := range fresh {
		if p.requiresGrad {
			p.gradGraph, p.gradPass, p.gradWritten = g, g.pass, false
		}
	}
	g.first(loss)
	loss.Grad[0] = 1
	for i := g.npos - 1; i >= 0; i-- {
		n := &g.nodes[i]
		// Like ready, but keeping the live rows of a written gradient
		// (see live_rows.go).
		if g.firstRows(n.out, 0) {
			widen(n.out)
		}
		if !rowwise(n) {
			widen(n.out)
		}
		g.backward(n)
	}
	for _, p := range fresh {
		if p.requiresGrad {
			g.ready(p)
			// Forget the graph, which the parameter would keep alive.
			p.gradGraph = nil
		}
	}
	return nil
}

// first reports whether the op about to write t's gradient is the first
// of this pass to do so and may overwrite it, rather than add to it, and
// records that the gradient is written. Intermediate tensors start every
// pass afresh; leaves only in BackwardFresh and when among its params,
// and otherwise accumulate across passes.
// It readies all of t's rows (see firstRows).
func (g *Graph) first(t *Tensor) bool { return g.firstRows(t, -1) }

// ready readies t's gradient for an op that reads it or can only add to
// it: cleared if nothing in this pass has written it yet.
func (g *Graph) ready(t *Tensor) {
	if g.first(t) {
		clear(t.Grad)
	}
}

// beta is the Gemm beta that writes t's gradient: 0, overwriting it
// without reading it, for the first writer of the pass, else 1.
func (g *Graph) beta(t *Tensor) float32 {
	if g.first(t) {
		return 0
	}
	return 1
}

func (g *Graph) backward(n *node) {
	switch n.op {
	case opMatMul:
		g.matMulBackward(n)
	case opLinear:
		g.linearBackward(n)
	case opAdd, opSub, opMul:
		g.binaryBackward(n)
	case opBiasAdd:
		g.biasAddBackward(n)
	case opReshape:
		g.reshapeBackward(n)
	case opReLU, opGELU, opTanh, opSigmoid:
		g.unaryBackward(n)
	case opDropout:
		g.dropoutBackward(n)
	case opSum:
		g.sumBackward(n)
	case opConv2D:
		g.conv2DBackward(n)
	case opMaxPool2D:
		g.maxPool2DBackward(n)
	case opLayerNorm:
		g.layerNormBackward(n)
	case opEmbedding:
		g.embeddingBackward(n)
	case opSoftmaxCE:
		g.softmaxCEBackward(n)
	case opMSE:
		g.mseBackward(n)
	default:
		panic(fmt.Sprintf("tensor: no backward for op %d", n.op))
	}
}

func addTo(dst, src []float32) {
	if len(dst) == 0 {
		return
	}
	for i, v := range src {
		dst[i] += v
	}
}

// copyOrAddRows writes src, rows [0, r) of t (all for r < 0), into t's
// gradient: copied by the pass's first writer, else added.
func (g *Graph) copyOrAddRows(t *Tensor, r int, src []float32) {
	if g.firstRows(t, r) {
		copy(t.Grad, src)
		return
	}
	addTo(t.Grad, src)
}

func (g *Graph) reshapeBackward(n *node) {
	if !n.a.requiresGrad {
		return
	}
	// A reshape that keeps dimension 0 maps live rows to live rows;
	// any other reads and writes all rows.
	r, src := -1, n.out.Grad
	if rowwise(n) {
		_, per := leadRows(n.out)
		r = live(n.out)
		src = src[:r*per]
	}
	g.copyOrAddRows(n.a, r, src)
}

// Input copies data into an arena tensor of the given shape that requires no
// gradient: the way a batch enters the graph without allocating. The caller
// may reuse data as soon as Input returns; [Graph.InputView] saves the copy
// when it can wait until the graph is done.
func (g *Graph) Input(data []float32, shape ...int) *Tensor {
	checkInput("Input", data, shape)
	t := g.alloc(false, shape...)
	copy(t.Data, data)
	return t
}

// checkInput panics unless data holds exactly the values of shape.
func checkInput(op string, data []float32, shape []int) {
	if numel(shape) != len(data) {
		// Cloning keeps the shape from escaping, which would otherwise
		// cost every call a heap allocation.
		panic(fmt.Sprintf("tensor: %s: shape %v needs %d values, got %d", op, slices.Clone(shape), numel(shape), len(data)))
	}
}
