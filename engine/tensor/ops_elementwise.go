package tensor

import (
	"fmt"
	"math"
	"slices"

	"github.com/troupe-ml/troupe/kernels"
)

// MaxRank is the most dimensions the operands of broadcasting, Reshape and
// Linear may have; their shapes are kept in fixed arrays to avoid allocating.
const MaxRank = 8

// bcast describes NumPy-style broadcasting of two shapes to a common one.
type bcast struct {
	rank   int
	shape  [MaxRank]int
	sa, sb [MaxRank]int // strides in a and b per output dimension; 0 where broadcast
	same   bool         // both operands already have the output shape
}

func broadcast(op string, a, b []int) bcast {
	var bc bcast
	bc.rank = max(len(a), len(b))
	if bc.rank > MaxRank {
		panic(fmt.Sprintf("tensor: %s: rank %d exceeds %d", op, bc.rank, MaxRank))
	}
	bc.same = SameShape(a, b)
	strideA, strideB := 1, 1
	for i := bc.rank - 1; i >= 0; i-- {
		da, db := 1, 1
		if j := i - (bc.rank - len(a)); j >= 0 {
			da = a[j]
		}
		if j := i - (bc.rank - len(b)); j >= 0 {
			db = b[j]
		}
		switch {
		case da == db:
			bc.shape[i] = da
		case da == 1:
			bc.shape[i] = db
		case db == 1:
			bc.shape[i] = da
		default:
			panic(fmt.Sprintf("tensor: %s: shapes %v and %v do not broadcast", op, a, b))
		}
		if da != 1 {
			bc.sa[i] = strideA
		}
		if db != 1 {
			bc.sb[i] = strideB
		}
		strideA *= da
		strideB *= db
	}
	return bc
}

// each calls f for every output element with the matching offsets in a and b.
func (bc *bcast) each(f func(i, ia, ib int)) {
	n := numel(bc.shape[:bc.rank])
	if bc.same {
		for i := 0; i < n; i++ {
			f(i, i, i)
		}
		return
	}
	var ctr [MaxRank]int
	ia, ib := 0, 0
	for i := 0; i < n; i++ {
		f(i, ia, ib)
		for d := bc.rank - 1; d >= 0; d-- {
			ctr[d]++
			ia += bc.sa[d]
			ib += bc.sb[d]
			if ctr[d] < bc.shape[d] {
				break
			}
			ia -= bc.sa[d] * ctr[d]
			ib -= bc.sb[d] * ctr[d]
			ctr[d] = 0
		}
	}
}

func (g *Graph) binary(op opKind, name string, a, b *Tensor) *Tensor {
	bc := broadcast(name, a.shape, b.shape)
	grad := g.wants(a, b)
	out := g.alloc(grad, bc.shape[:bc.rank]...)
	o, x, y := out.Data, a.Data, b.Data
	switch op {
	case opAdd:
		bc.each(func(i, ia, ib int) { o[i] = x[ia] + y[ib] })
	case opSub:
		bc.each(func(i, ia, ib int) { o[i] = x[ia] - y[ib] })
	case opMul:
		bc.each(func(i, ia, ib int) { o[i] = x[ia] * y[ib] })
	}
	if grad {
		g.record(op, out, a, b, nil)
	}
	return out
}

// Add returns a + b with broadcasting.
func (g *Graph) Add(a, b *Tensor) *Tensor { return g.binary(opAdd, "Add", a, b) }

// Sub returns a − b with broadcasting.
func (g *Graph) Sub(a, b *Tensor) *Tensor { return g.binary(opSub, "Sub", a, b) }

// Mul returns the elementwise product a ⊙ b with broadcasting.
func (g *Graph) Mul(a, b *Tensor) *Tensor { return g.binary(opMul, "Mul", a, b) }

func (g *Graph) binaryBackward(nd *node) {
	a, b, out := nd.a, nd.b, nd.out
	if SameShape(a.shape, b.shape) {
		g.sameShapeBackward(nd)
		return
	}
	bc := broadcast("backward", a.shape, b.shape)
	d := out.Grad
	// An operand as large as the result meets each of its elements
	// once, so its first writer can overwrite; a broadcast one sums
	// several elements of d into each of its own and must start at zero.
	if a.requiresGrad {
		ga := a.Grad
		switch set := a.Len() == out.Len() && g.first(a); {
		case !set:
			g.ready(a)
			switch nd.op {
			case opAdd, opSub:
				bc.each(func(i, ia, _ int) { ga[ia] += d[i] })
			case opMul:
				y := b.Data
				bc.each(func(i, ia, ib int) { ga[ia] += d[i] * y[ib] })
			}
		case nd.op == opMul:
			y := b.Data
			bc.each(func(i, ia, ib int) { ga[ia] = d[i] * y[ib] })
		default:
			bc.each(func(i, ia, _ int) { ga[ia] = d[i] })
		}
	}
	if b.requiresGrad {
		gb := b.Grad
		switch set := b.Len() == out.Len() && g.first(b); {
		case !set:
			g.ready(b)
			switch nd.op {
			case opAdd:
				bc.each(func(i, _, ib int) { gb[ib] += d[i] })
			case opSub:
				bc.each(func(i, _, ib int) { gb[ib] -= d[i] })
			case opMul:
				x := a.Data
				bc.each(func(i, ia, ib int) { gb[ib] += d[i] * x[ia] })
			}
		case nd.op == opAdd:
			bc.each(func(i, _, ib int) { gb[ib] = d[i] })
		case nd.op == opSub:
			bc.each(func(i, _, ib int) { gb[ib] = -d[i] })
		default:
			x := a.Data
			bc.each(func(i, ia, ib int) { gb[ib] = d[i] * x[ia] })
		}
	}
}

// sameShapeBackward is binaryBackward for operands of the result's shape,
// over the result's live rows (see live_rows.go). With a and b the same
// tensor, the second write adds.
func (g *Graph) sameShapeBackward(nd *node) {
	a, b, out := nd.a, nd.b, nd.out
	r := live(out)
	_, per := leadRows(out)
	d := out.Grad[:r*per]
	if a.requiresGrad {
		ga, set := a.Grad[:len(d)], g.firstRows(a, r)
		if nd.op == opMul {
			y := b.Data
			for i, v := range d {
				setOrAdd(ga, i, v*y[i], set)
			}
		} else {
			for i, v := range d {
				setOrAdd(ga, i, v, set)
			}
		}
	}
	if b.requiresGrad {
		gb, set := b.Grad[:len(d)], g.firstRows(b, r)
		switch nd.op {
		case opAdd:
			for i, v := range d {
				setOrAdd(gb, i, v, set)
			}
		case opSub:
			for i, v := range d {
				setOrAdd(gb, i, -v, set)
			}
		default:
			x := a.Data
			for i, v := range d {
				setOrAdd(gb, i, v*x[i], set)
			}
		}
	}
}

// BiasAdd adds bias [C] along dimension 1 of x [N, C, ...] (a channel bias).
func (g *Graph) BiasAdd(x, bias *Tensor) *Tensor {
	if x.Rank() < 2 || bias.Rank() != 1 || bias.shape[0] != x.shape[1] {
		panic(fmt.Sprintf("tensor: BiasAdd: bias %v does not match dimension 1 of %v", bias.shape, x.shape))
	}
	grad := g.wants(x, bias)
	out := g.alloc(grad, x.shape...)
	c := x.shape[1]
	inner := x.Len() / (x.shape[0] * c)
	for i := range x.Data {
		out.Data[i] = x.Data[i] + bias.Data[(i/inner)%c]
	}
	if grad {
		g.record(opBiasAdd, out, x, bias, nil)
	}
	return out
}

func (g *Graph) biasAddBackward(nd *node) {
	x, bias := nd.a, nd.b
	r := live(nd.out)
	_, per := leadRows(x)
	d := nd.out.Grad[:r*per]
	if x.requiresGrad {
		g.copyOrAddRows(x, r, d)
	}
	if bias.requiresGrad {
		g.ready(bias)
		c := x.shape[1]
		inner := x.Len() / (x.shape[0] * c)
		for i, v := range d {
			bias.Grad[(i/inner)%c] += v
		}
	}
}

// Reshape returns x with a new shape of the same size: a view whose Data is
// x's, not a copy, with a gradient of its own that its backward pass adds
// into x's. One dimension may be -1 and is inferred, except when x is empty,
// where it is ambiguous.
func (g *Graph) Reshape(x *Tensor, shape ...int) *Tensor {
	var s [MaxRank]int
	r := copy(s[:], shape)
	infer, known, ok := -1, 1, len(shape) <= MaxRank
	for i := 0; i < r; i++ {
		switch {
		case s[i] == -1 && infer < 0:
			infer = i
			continue
		case s[i] < 0:
			ok = false
		}
		known *= s[i]
	}
	if infer >= 0 && known > 0 {
		s[infer] = x.Len() / known
		known *= s[infer]
	}
	if !ok || known != x.Len() || (infer >= 0 && s[infer] < 0) {
		// Cloning keeps the variadic shape from escaping, which would
		// otherwise cost every call a heap allocation.
		panic(fmt.Sprintf("tensor: Reshape: cannot view %v as %v", x.shape, slices.Clone(shape)))
	}
	grad := g.wants(x)
	out := g.view(grad, x.Data, x.dev, s[:r]...)
	if grad {
		g.record(opReshape, out, x, nil, nil)
	}
	return out
}

// Flatten reshapes x [N, ...] to [N, rest].
func (g *Graph) Flatten(x *Tensor) *Tensor {
	return g.Reshape(x, x.shape[0], -1)
}

func (g *Graph) unary(op opKind, x *Tensor) *Tensor {
	grad := g.wants(x)
	out := g.alloc(grad, x.shape...)
	o := out.Data
	switch op {
	case opReLU:
		kernels.ReLU(x.Data, o)
	case opGELU:
		for i, v := range x.Data {
			o[i] = float32(float64(v) * normCDF(float64(v)))
		}
	case opTanh:
		for i, v := range x.Data {
			o[i] = float32(math.Tanh(float64(v)))
		}
	case opSigmoid:
		for i, v := range x.Data {
			o[i] = sigmoid(v)
		}
	}
	if grad {
		g.record(op, out, x, nil, nil)
	}
	return out
}

// ReLU returns max(x, 0).
func (g *Graph) ReLU(x *Tensor) *Tensor { return g.unary(opReLU, x) }

// GELU returns x·Φ(x) with the exact Gaussian CDF (PyTorch's default GELU).
func (g *Graph) GELU(x *Tensor) *Tensor { return g.unary(opGELU, x) }

// Tanh returns tanh(x).
func (g *Graph) Tanh(x *Tensor) *Tensor { return g.unary(opTanh, x) }

// Sigmoid returns 1/(1+e^−x).
func (g *Graph) Sigmoid(x *Tensor) *Tensor { return g.unary(opSigmoid, x) }

func normCDF(x float64) float64 { return 0.5 * (1 + math.Erf(x/math.Sqrt2)) }

func sigmoid(v float32) float32 {
	if v >= 0 {
		return float32(1 / (1 + math.Exp(-float64(v))))
	}
	e := math.Exp(float64(v))
	return float32(e / (1 + e))
}

func (g *Graph) unaryBackward(nd *node) {
	x, y := nd.a, nd.out
	if !x.requiresGrad {
		return
	}
	r := live(y)
	_, per := leadRows(x)
	n := r * per
	gx, d := x.Grad[:n], y.Grad[:n]
	if nd.op == opReLU {
		// The vector kernel only adds.
		g.readyRows(x, r)
		kernels.ReLUBackward(x.Data[:n], d, gx)
		return
	}
	set := g.firstRows(x, r)
	switch nd.op {
	case opGELU:
		for i, v := range x.Data[:n] {
			xv := float64(v)
			pdf := math.Exp(-0.5*xv*xv) / math.Sqrt(2*math.Pi)
			setOrAdd(gx, i, d[i]*float32(normCDF(xv)+xv*pdf), set)
		}
	case opTanh:
		for i, v := range y.Data[:n] {
			setOrAdd(gx, i, d[i]*(1-v*v), set)
		}
	case opSigmoid:
		for i, v := range y.Data[:n] {
			setOrAdd(gx, i, d[i]*v*(1-v), set)
		}
	}
}

// setOrAdd sets or adds v to s[i]; inlined, its branch goes the same way
// for a whole loop.
func setOrAdd(s []float32, i int, v float32, set bool) {
	if set {
		s[i] = v
	} else {
		s[i] += v
	}
}

// Dropout zeroes each element with probability p in training mode and scales
// the survivors by 1/(1−p); in evaluation mode it returns x itself.
func (g *Graph) Dropout(x *Tensor, p float32) *Tensor {
	if !(p >= 0 && p < 1) { // NaN too: it would silently drop everything
		panic(fmt.Sprintf("tensor: Dropout: p = %v outside [0, 1)", p))
	}
	if !g.training || p == 0 {
		return x
	}
	grad := g.wants(x)
	out := g.alloc(grad, x.shape...)
	var mask []float32
	var nd *node
	if grad {
		nd = g.record(opDropout, out, x, nil, nil)
		nd.aux = grow(nd.aux, x.Len())
		mask = nd.aux
	} else {
		mask = g.temp(x.Len())
	}
	scale := 1 / (1 - p)
	for i, v := range x.Data {
		m := float32(0)
		if g.rng.Float32() >= p {
			m = scale
		}
		mask[i] = m
		out.Data[i] = v * m
	}
	return out
}

func (g *Graph) dropoutBackward(nd *node) {
	if !nd.a.requiresGrad {
		return
	}
	r := live(nd.out)
	_, per := leadRows(nd.out)
	set := g.firstRows(nd.a, r)
	for i, d := range nd.out.Grad[:r*per] {
		setOrAdd(nd.a.Grad, i, d*nd.aux[i], set)
	}
}

// Sum returns the sum of all elements as a one-element tensor.
func (g *Graph) Sum(x *Tensor) *Tensor {
	grad := g.wants(x)
	out := g.alloc(grad, 1)
	var s float64
	for _, v := range x.Data {
		s += float64(v)
	}
	out.Data[0] = float32(s)
	if grad {
		g.record(opSum, out, x, nil, nil)
	}
	return out
}

func (g *Graph) sumBackward(nd *node) {
	if !nd.a.requiresGrad {
		return
	}
	d := nd.out.Grad[0]
	if g.first(nd.a) {
		fill(nd.a.Grad, d)
		return
	}
	for i := range nd.a.Grad {
		nd.a.Grad[i] += d
	}
}
