//go:build amd64 && !noasm

package kernels

const errMaxPoolRows = "kernels: maxPool2x2: slice too short for the rows"

// maxPool2x2AVX512Slices is maxPool2x2AVX512 with its bounds checked; see
// maxPool2x2Go for the arguments.
func maxPool2x2AVX512Slices(rows int, x []float32, w, base int, y []float32, arg []int32) {
	if rows <= 0 || len(y) == 0 {
		return
	}
	n := len(y) / rows
	if len(y) != rows*n || 2*n > w || len(x) < (2*rows-1)*w+2*n || (arg != nil && len(arg) < len(y)) {
		panic(errMaxPoolRows)
	}
	var a *int32
	if arg != nil {
		a = &arg[0]
	}
	maxPool2x2AVX512(rows, n, &x[0], w, &y[0], a, base)
}
