package augment

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Elastic is the elastic distortion of Simard, Steinkraus and Platt (2003):
// per sample, displacement fields dx and dy with values uniform in [-1, 1]
// at every pixel are smoothed by a Gaussian of standard deviation Sigma,
// scaled by Alpha and used to resample the image bilinearly: output pixel
// (x, y) takes the source value at (x+dx, y+dy), every channel alike.
//
// The Gaussian is normalised to sum 1, truncated at radius ceil(3σ) and
// applied separably with zeros beyond the border (as the widely used
// scipy gaussian_filter(mode="constant") version does), so fields fade near
// the edges. Build it with NewElastic, which precomputes the kernel.
type Elastic struct {
	alpha, sigma float64
	fill         float32
	// Taps of the normalised Gaussian at offsets 0..r, the kernel being
	// symmetric; halfAlpha holds them times alpha for the second pass.
	half, halfAlpha []float32
}

// NewElastic returns the elastic distortion with strength alpha in [0, 1e4]
// (pixels of displacement per unit of smoothed field) and smoothness sigma
// in (0, 100] pixels; out-of-image pixels take fill.
func NewElastic(alpha, sigma float64, fill float32) (*Elastic, error) {
	if !(alpha >= 0 && alpha <= 1e4) {
		return nil, fmt.Errorf("augment: elastic: alpha %g, want 0 ≤ alpha ≤ 1e4", alpha)
	}
	if !(sigma > 0 && sigma <= 100) {
		return nil, fmt.Errorf("augment: elastic: sigma %g, want 0 < sigma ≤ 100", sigma)
	}
	if math.IsNaN(float64(fill)) || math.IsInf(float64(fill), 0) {
		return nil, fmt.Errorf("augment: elastic: fill %g, want a finite value", fill)
	}
	k := GaussianKernel(sigma)
	half := k[len(k)/2:]
	ha := make([]float32, len(half))
	for i, v := range half {
		ha[i] = v * float32(alpha)
	}
	return &Elastic{alpha: alpha, sigma: sigma, fill: fill, half: half, halfAlpha: ha}, nil
}

// GaussianKernel returns the taps of a Gaussian of standard deviation sigma
// at offsets -r..r, r = ceil(3σ), normalised to sum 1.
func GaussianKernel(sigma float64) []float32 {
	r := int(math.Ceil(3 * sigma))
	k := make([]float64, 2*r+1)
	sum := 0.0
	for i := range k {
		d := float64(i - r)
		k[i] = math.Exp(-d * d / (2 * sigma * sigma))
		sum += k[i]
	}
	out := make([]float32, len(k))
	for i, v := range k {
		out[i] = float32(v / sum)
	}
	return out
}

// Name is "elastic".
func (*Elastic) Name() string { return "elastic" }

// Alpha returns the displacement scale in pixels.
func (e *Elastic) Alpha() float64 { return e.alpha }

// Sigma returns the smoothing standard deviation in pixels.
func (e *Elastic) Sigma() float64 { return e.sigma }

// Field draws the displacement fields of one sample into dx and dy (H*W
// values each, row-major), as Apply would with the same generator state.
func (e *Elastic) Field(dx, dy []float32, h, w int, rng *rand.Rand, sc *Scratch) {
	if h < 1 || w < 1 || len(dx) != h*w || len(dy) != h*w {
		panic(fmt.Sprintf("augment: Elastic.Field: len(dx)=%d, len(dy)=%d, want H*W=%d (H=%d, W=%d)", len(dx), len(dy), h*w, h, w))
	}
	if sc == nil {
		sc = new(Scratch)
	}
	e.field(dx, dy, h, w, rng, sc, false)
}

// Apply implements Transform.
func (e *Elastic) Apply(dst, src []float32, s Shape, rng *rand.Rand, sc *Scratch) {
	mustFit("elastic", dst, src, s)
	if sc == nil {
		sc = new(Scratch)
	}
	n := s.Plane()
	mx, my := grow(&sc.mapX, n), grow(&sc.mapY, n)
	e.field(mx, my, s.H, s.W, rng, sc, true)
	Remap(dst, src, s, mx, my, e.fill)
}

// field draws the noise a row at a time, blurs each row into a buffer that
// has r zero rows above and below and holds dx and dy side by side, then
// blurs the columns of that buffer, so neither pass tests for the border.
// With coords it adds each pixel's own coordinates, giving Remap's maps.
func (e *Elastic) field(dx, dy []float32, h, w int, rng *rand.Rand, sc *Scratch, coords bool) {
	r := len(e.half) - 1
	w2, wp := 2*w, w+2*r
	pad := grow(&sc.blur, (h+2*r)*w2)
	clear(pad[:r*w2])
	clear(pad[(h+r)*w2:])
	line := grow(&sc.line, 2*wp+w2)
	lx, ly, acc := line[:wp], line[wp:2*wp], line[2*wp:]
	clear(lx)
	clear(ly)
	for y := range h {
		drawNoise(lx[r:r+w], ly[r:r+w], rng)
		row := pad[(y+r)*w2 : (y+r+1)*w2]
		symConv(row[:w], lx, r, 1, e.half)
		symConv(row[w:], ly, r, 1, e.half)
	}
	ka := e.halfAlpha
	for y := range h {
		symConv(acc, pad, (y+r)*w2, w2, ka)
		ox, oy := dx[y*w:(y+1)*w], dy[y*w:(y+1)*w]
		copy(ox, acc[:w])
		copy(oy, acc[w:])
		if coords {
			fy := float32(y)
			for x := range ox {
				ox[x] += float32(x)
				oy[x] += fy
			}
		}
	}
}

// drawNoise fills nx and ny with values uniform in [-1, 1), two 24-bit
// values per 64-bit draw to halve the generator calls.
func drawNoise(nx, ny []float32, rng *rand.Rand) {
	const scale = 0x1p-23 // maps [0, 2^24) onto [0, 2)
	ny = ny[:len(nx)]
	for i := range nx {
		u := rng.Uint64()
		nx[i] = float32(u>>40)*scale - 1
		ny[i] = float32((u>>8)&(1<<24-1))*scale - 1
	}
}

// symConv convolves with a symmetric kernel whose taps at offsets 0..r
// are taps: o[x] = Σ_d taps[|d|]·src[c + d·stride + x] for d in -r..r. src
// must hold every value read, the zero padding included. It sweeps o once
// per two tap pairs rather than summing each output in turn, since the
// sums of different outputs are independent and one output's sum is a
// chain of dependent additions.
func symConv(o, src []float32, c, stride int, taps []float32) {
	n := len(o)
	for x, v := range src[c : c+n] {
		o[x] = taps[0] * v
	}
	d := 1
	for ; d+1 < len(taps); d += 2 {
		lo, hi := c-d*stride, c+d*stride
		a1, b1 := src[lo:lo+n], src[hi:hi+n]
		a2, b2 := src[lo-stride:lo-stride+n], src[hi+stride:hi+stride+n]
		k1, k2 := taps[d], taps[d+1]
		// Equal lengths stated up front let the compiler drop the bounds
		// checks from the loop.
		b1, a2, b2, o := b1[:len(a1)], a2[:len(a1)], b2[:len(a1)], o[:len(a1)]
		for x, v := range a1 {
			o[x] += k1*(v+b1[x]) + k2*(a2[x]+b2[x])
		}
	}
	if d < len(taps) {
		a, b, k := src[c-d*stride:c-d*stride+n], src[c+d*stride:c+d*stride+n], taps[d]
		b, o := b[:len(a)], o[:len(a)]
		for x, v := range a {
			o[x] += k * (v + b[x])
		}
	}
}
