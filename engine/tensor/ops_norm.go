package tensor

import (
	"fmt"
	"math"
)

// LayerNorm normalises x [..., D] over its last dimension and applies the gain
// gamma [D] and shift beta [D] (PyTorch's nn.LayerNorm with elementwise affine).
func (g *Graph) LayerNorm(x, gamma, beta *Tensor, eps float32) *Tensor {
	d := x.Dim(-1)
	if gamma.Len() != d || beta.Len() != d {
		panic(fmt.Sprintf("tensor: LayerNorm: gain %v / shift %v do not match input %v", gamma.shape, beta.shape, x.shape))
	}
	rows := x.Len() / d
	grad := g.wants(x, gamma, beta)
	y := g.alloc(grad, x.shape...)
	var stats []float32 // mean and 1/σ per row
	if grad {
		nd := g.record(opLayerNorm, y, x, gamma, beta)
		nd.aux = grow(nd.aux, 2*rows)
		stats = nd.aux
	} else {
		stats = g.temp(2 * rows)
	}
	for r := 0; r < rows; r++ {
		xr := x.Data[r*d : (r+1)*d]
		var mean, vr float64
		for _, v := range xr {
			mean += float64(v)
		}
		mean /= float64(d)
		for _, v := range xr {
			dv := float64(v) - mean
			vr += dv * dv
		}
		vr /= float64(d)
		rstd := 1 / math.Sqrt(vr+float64(eps))
		stats[2*r], stats[2*r+1] = float32(mean), float32(rstd)
		yr := y.Data[r*d : (r+1)*d]
		for i, v := range xr {
			yr[i] = float32((float64(v)-mean)*rstd)*gamma.Data[i] + beta.Data[i]
		}
	}
	return y
}

func (g *Graph) layerNormBackward(nd *node) {
	x, gamma, beta, y := nd.a, nd.b, nd.c, nd.out
	d := x.Dim(-1)
	rows, lead := x.Len()/d, -1
	if x.Rank() >= 2 && x.shape[0] > 0 {
		// The live rows of y only (see live_rows.go).
		lead = live(y)
		rows = lead * (rows / x.shape[0])
	}
	// The gain and shift sum over rows, so they start at zero; each row
	// of x is written once.
	if gamma.requiresGrad {
		g.ready(gamma)
	}
	if beta.requiresGrad {
		g.ready(beta)
	}
	xSet := x.requiresGrad && g.firstRows(x, lead)
	for r := 0; r < rows; r++ {
		mean, rstd := nd.aux[2*r], nd.aux[2*r+1]
		xr := x.Data[r*d : (r+1)*d]
		dy := y.Grad[r*d : (r+1)*d]
		var sumG, sumGX float64 // Σ dx̂ and Σ dx̂·x̂
		for i, v := range xr {
			xh := (v - mean) * rstd
			dxh := dy[i] * gamma.Data[i]
			sumG += float64(dxh)
			sumGX += float64(dxh * xh)
			if gamma.requiresGrad {
				gamma.Grad[i] += dy[i] * xh
			}
			if beta.requiresGrad {
				beta.Grad[i] += dy[i]
			}
		}
		if !x.requiresGrad {
			continue
		}
		mg, mgx := float32(sumG/float64(d)), float32(sumGX/float64(d))
		gx := x.Grad[r*d : (r+1)*d]
		for i, v := range xr {
			xh := (v - mean) * rstd
			setOrAdd(gx, i, rstd*(dy[i]*gamma.Data[i]-mg-xh*mgx), xSet)
		}
	}
}

// Embedding looks up rows of table [V, D] for ids, giving [len(ids), D]. An id
// outside [0, V) is recorded as the graph's error and yields a zero row.
func (g *Graph) Embedding(ids []int32, table *Tensor) *Tensor {
	if table.Rank() != 2 {
		panic(fmt.Sprintf("tensor: Embedding: table %v is not [V, D]", table.shape))
	}
	v, d := table.shape[0], table.shape[1]
	grad := g.wants(table)
	y := g.alloc(grad, len(ids), d)
	for i, id := range ids {
		row := y.Data[i*d : (i+1)*d]
		if id < 0 || int(id) >= v {
			g.fail(fmt.Errorf("tensor: Embedding: id %d at position %d outside the table's %d rows", id, i, v))
			clear(row)
			continue
		}
		copy(row, table.Data[int(id)*d:(int(id)+1)*d])
	}
	if grad {
		nd := g.record(opEmbedding, y, table, nil, nil)
		nd.idx = append(nd.idx[:0], ids...)
	}
	return y
}

func (g *Graph) embeddingBackward(nd *node) {
	table, y := nd.a, nd.out
	// Rows the ids miss get nothing, and repeated ids add up. Only the
	// live rows of y count (see live_rows.go).
	g.ready(table)
	d := table.shape[1]
	v := table.shape[0]
	for i, id := range nd.idx[:live(y)] {
		if id < 0 || int(id) >= v {
			continue
		}
		dst := table.Grad[int(id)*d : (int(id)+1)*d]
		for j, gv := range y.Grad[i*d : (i+1)*d] {
			dst[j] += gv
		}
	}
}
