package tensor

import (
	"fmt"

	"github.com/troupe-ml/troupe/kernels"
)

// MatMul returns a·b for a [m,k] and b [k,n].
func (g *Graph) MatMul(a, b *Tensor) *Tensor {
	if a.Rank() != 2 || b.Rank() != 2 || a.shape[1] != b.shape[0] {
		panic(fmt.Sprintf("tensor: MatMul: shapes %v and %v do not chain", a.shape, b.shape))
	}
	m, k, n := a.shape[0], a.shape[1], b.shape[1]
	grad := g.wants(a, b)
	out := g.alloc(grad, m, n)
	g.be.Gemm(false, false, m, n, k, 1, a.Data, k, b.Data, n, 0, out.Data, n)
	if grad {
		g.record(opMatMul, out, a, b, nil)
	}
	return out
}

func (g *Graph) matMulBackward(nd *node) {
	a, b, out := nd.a, nd.b, nd.out
	// Rows of out past the live ones have zero gradient: they add
	// nothing to db and leave their rows of da zero.
	m, k, n := live(out), a.shape[1], b.shape[1]
	if a.requiresGrad { // da += dout · bᵀ
		g.be.Gemm(false, true, m, k, n, 1, out.Grad, n, b.Data, n, g.betaRows(a, m), a.Grad, k)
	}
	if b.requiresGrad { // db += aᵀ · dout
		g.be.Gemm(true, false, k, n, m, 1, a.Data, k, out.Grad, n, g.beta(b), b.Grad, n)
	}
}

// Linear returns x·wᵀ + bias, PyTorch's nn.Linear: x [..., in], w [out, in],
// bias [out] or nil; the result is [..., out].
func (g *Graph) Linear(x, w, bias *Tensor) *Tensor {
	if w.Rank() != 2 || x.Rank() < 1 || x.Rank() > MaxRank || x.Dim(-1) != w.shape[1] {
		panic(fmt.Sprintf("tensor: Linear: input %v does not match weight %v", x.shape, w.shape))
	}
	out, in := w.shape[0], w.shape[1]
	if bias != nil && (bias.Rank() != 1 || bias.shape[0] != out) {
		panic(fmt.Sprintf("tensor: Linear: bias %v does not match weight %v", bias.shape, w.shape))
	}
	rows := x.Len() / in
	grad := g.wants(x, w, bias)
	var shape [MaxRank]int
	r := copy(shape[:], x.shape)
	shape[r-1] = out
	y := g.alloc(grad, shape[:r]...)
	if g.be.Device() == CPU && rows*(in+out) < out*in {
		g.linearTransposed(x, w, bias, y, rows)
	} else {
		beta := float32(0)
		if bias != nil {
			for i := 0; i < rows; i++ {
				copy(y.Data[i*out:(i+1)*out], bias.Data)
			}
			beta = 1
		}
		g.be.Gemm(false, true, rows, out, in, 1, x.Data, in, w.Data, in, beta, y.Data, out)
	}
	if grad {
		g.record(opLinear, y, x, w, bias)
	}
	return y
}

// linearTransposed computes y = x·wᵀ + bias as yᵀ = w·xᵀ + bias, then
// transposes. The product packs its transposed operand, so this packs x
// instead of w, which for a weight with more elements than x and y
// together is less work. Each element is the same chain of fused
// multiply-adds either way, so y is the same bit for bit.
func (g *Graph) linearTransposed(x, w, bias, y *Tensor, rows int) {
	out, in := w.shape[0], w.shape[1]
	yt := g.temp(out * rows)
	beta := float32(0)
	if bias != nil {
		for j, b := range bias.Data {
			fill(yt[j*rows:(j+1)*rows], b)
		}
		beta = 1
	}
	g.be.Gemm(false, true, out, rows, in, 1, w.Data, in, x.Data, in, beta, yt, rows)
	kernels.Transpose(out, rows, yt, rows, y.Data, out)
}

func (g *Graph) linearBackward(nd *node) {
	x, w, bias, y := nd.a, nd.b, nd.c, nd.out
	out, in := w.shape[0], w.shape[1]
	// Only the live rows of y (see live_rows.go): with x [n, ..., in],
	// each of them spans x.Len()/(n·in) rows of the products.
	rows, lead := x.Len()/in, -1
	if x.Rank() >= 2 && x.shape[0] > 0 {
		lead = live(y)
		rows = lead * (rows / x.shape[0])
	}
	if x.requiresGrad { // dx += dy · w
		g.be.Gemm(false, false, rows, in, out, 1, y.Grad, out, w.Data, in, g.betaRows(x, lead), x.Grad, in)
	}
	if w.requiresGrad { // dw += dyᵀ · x
		g.be.Gemm(true, false, out, in, rows, 1, y.Grad, out, x.Data, in, g.beta(w), w.Grad, in)
	}
	if bias != nil && bias.requiresGrad {
		// Row by row as a plain loop would, but vectorised: a product
		// by 1 is exact, so the sums are the same. The first writer
		// copies the first row, which adding it to zero would give.
		i := 0
		if g.first(bias) {
			if rows == 0 {
				clear(bias.Grad)
			} else {
				copy(bias.Grad, y.Grad[:out])
				i = 1
			}
		}
		for ; i < rows; i++ {
			kernels.Axpy(1, y.Grad[i*out:(i+1)*out], bias.Grad)
		}
	}
}
