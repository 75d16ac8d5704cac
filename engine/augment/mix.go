package augment

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Mixer is a batch-level augmentation: it combines every sample of a batch
// with a partner from the same batch and says how much of each sample's own
// label the result carries. Mix writes into dst the n = len(perm) samples of
// shape s from src, sample i combined with src's sample perm[i], and sets
// lambda[i] to the weight of sample i's own label; its partner's label gets
// 1 − lambda[i]. dst and src hold n samples each and must not overlap. All
// randomness comes from rng.
//
// A Mixer is immutable after construction and may be shared by any number of
// goroutines, each with its own rng.
type Mixer interface {
	Name() string
	Mix(dst, src []float32, s Shape, perm []int, rng *rand.Rand, lambda []float32)
}

// MixStep is a Pipeline's batch mix and the probability that it runs on a
// given batch.
type MixStep struct {
	M Mixer
	P float64
}

// Mixup blends whole images (Zhang et al. 2018): one λ ~ Beta(Alpha, Alpha)
// per batch, and sample i becomes λ·x_i + (1−λ)·x_perm[i], with label
// weights λ and 1−λ.
type Mixup struct {
	Alpha float64 // > 0; small values keep most samples close to one image
}

// Name is "mixup".
func (*Mixup) Name() string { return "mixup" }

// Mix implements Mixer.
func (m *Mixup) Mix(dst, src []float32, s Shape, perm []int, rng *rand.Rand, lambda []float32) {
	mustFitBatch("mixup", dst, src, s, perm, lambda)
	// The images are blended with the float32 λ that the labels get, so the
	// two weights agree exactly.
	lam := float32(betaDraw(rng, m.Alpha, m.Alpha))
	n := s.Len()
	for i, j := range perm {
		a, b, out := src[i*n:(i+1)*n], src[j*n:(j+1)*n], dst[i*n:(i+1)*n]
		for k := range out {
			out[k] = lam*a[k] + (1-lam)*b[k]
		}
		lambda[i] = lam
	}
}

// CutMix pastes a box of the partner into each image (Yun et al. 2019):
// λ₀ ~ Beta(Alpha, Alpha) sets the box to round(H·√(1−λ₀)) ×
// round(W·√(1−λ₀)) pixels, centred on a uniformly random pixel and clipped to
// the image, the same box for the whole batch and every channel; the label
// weight is then λ = 1 − box area / image area, the share of pixels that
// stay the sample's own.
type CutMix struct {
	Alpha float64 // > 0
}

// Name is "cutmix".
func (*CutMix) Name() string { return "cutmix" }

// Box is a rectangle of pixels, rows Y0 to Y1−1 and columns X0 to X1−1.
type Box struct {
	Y0, X0, Y1, X1 int
}

// Area is the number of pixels in b.
func (b Box) Area() int { return max(b.Y1-b.Y0, 0) * max(b.X1-b.X0, 0) }

// CutBox returns the box CutMix pastes for a drawn λ₀ in [0, 1] and a centre
// (cy, cx) inside an image of shape s, after clipping to the image.
func CutBox(s Shape, lam0 float64, cy, cx int) Box {
	r := math.Sqrt(1 - lam0)
	bh, bw := int(math.Round(r*float64(s.H))), int(math.Round(r*float64(s.W)))
	y0, x0 := cy-bh/2, cx-bw/2
	return Box{Y0: max(y0, 0), X0: max(x0, 0), Y1: min(y0+bh, s.H), X1: min(x0+bw, s.W)}
}

// Mix implements Mixer.
func (m *CutMix) Mix(dst, src []float32, s Shape, perm []int, rng *rand.Rand, lambda []float32) {
	mustFitBatch("cutmix", dst, src, s, perm, lambda)
	box := CutBox(s, betaDraw(rng, m.Alpha, m.Alpha), rng.IntN(s.H), rng.IntN(s.W))
	lam := float32(1 - float64(box.Area())/float64(s.Plane()))
	n := s.Len()
	copy(dst[:len(perm)*n], src)
	for i, j := range perm {
		for c := range s.C {
			base := c * s.Plane()
			for y := box.Y0; y < box.Y1; y++ {
				row := base + y*s.W
				copy(dst[i*n+row+box.X0:i*n+row+box.X1], src[j*n+row+box.X0:j*n+row+box.X1])
			}
		}
		lambda[i] = lam
	}
}

// mustFitBatch panics when the buffers of a batch mix do not fit: wrong
// lengths are programmer errors.
func mustFitBatch(op string, dst, src []float32, s Shape, perm []int, lambda []float32) {
	if s.C < 1 || s.H < 1 || s.W < 1 {
		panic(fmt.Sprintf("augment: %s: shape C=%d H=%d W=%d, want all ≥ 1", op, s.C, s.H, s.W))
	}
	n := len(perm)
	if len(dst) != n*s.Len() || len(src) != n*s.Len() || len(lambda) != n {
		panic(fmt.Sprintf("augment: %s: %d samples of %dx%dx%d: len(dst)=%d, len(src)=%d, len(lambda)=%d, want %d, %d, %d",
			op, n, s.C, s.H, s.W, len(dst), len(src), len(lambda), n*s.Len(), n*s.Len(), n))
	}
}
