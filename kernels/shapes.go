package kernels

import "fmt"

// Shape is one SGEMM benchmark problem: C (M×N) = op(A) (M×K) · op(B) (K×N).
type Shape struct {
	Name           string
	TransA, TransB bool
	M, N, K        int
}

// String names s as name_MxNxK_XY, where X and Y are N or T for whether
// A and B are transposed, e.g. lenet/fc1/fwd_64x300x784_NT.
func (s Shape) String() string {
	return fmt.Sprintf("%s_%dx%dx%d_%c%c", s.Name, s.M, s.N, s.K, nt(s.TransA), nt(s.TransB))
}

func nt(trans bool) byte {
	if trans {
		return 'T'
	}
	return 'N'
}

// Flops returns the floating-point operations of one product, 2·M·N·K.
func (s Shape) Flops() float64 { return 2 * float64(s.M) * float64(s.N) * float64(s.K) }

// Lds returns the minimal leading dimensions of A, B and C for s, row-major.
func (s Shape) Lds() (lda, ldb, ldc int) {
	lda, ldb = s.K, s.N
	if s.TransA {
		lda = s.M
	}
	if s.TransB {
		ldb = s.K
	}
	return lda, ldb, s.N
}

// BenchShapes returns the products SGEMM is benchmarked on: squares from 128
// to 2048, and the three products of each layer of LeNet-300-100 trained
// with a batch of 64. Weights are stored out×in, so the forward pass is
// Y = X·Wᵀ (B transposed), the input gradient dX = dY·W and the weight
// gradient dW = dYᵀ·X (A transposed).
func BenchShapes() []Shape {
	shapes := []Shape{
		{Name: "square128", M: 128, N: 128, K: 128},
		{Name: "square256", M: 256, N: 256, K: 256},
		{Name: "square512", M: 512, N: 512, K: 512},
		{Name: "square1024", M: 1024, N: 1024, K: 1024},
		{Name: "square2048", M: 2048, N: 2048, K: 2048},
	}
	const batch = 64
	layers := []struct {
		name    string
		in, out int
	}{{"fc1", 784, 300}, {"fc2", 300, 100}, {"fc3", 100, 10}}
	for _, l := range layers {
		shapes = append(shapes,
			Shape{Name: "lenet/" + l.name + "/fwd", TransB: true, M: batch, N: l.out, K: l.in},
			Shape{Name: "lenet/" + l.name + "/dX", M: batch, N: l.in, K: l.out},
			Shape{Name: "lenet/" + l.name + "/dW", TransA: true, M: l.out, N: l.in, K: batch},
		)
	}
	return shapes
}
