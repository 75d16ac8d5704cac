// Package augment holds the data-augmentation transforms that troupe's
// augmenter actors run; the actors only move samples, all computation lives
// here.
//
// # What it does
//
// Samples are float32 images in CHW layout of any shape (Shape), raw or
// normalised: no transform assumes a value range. Out-of-image pixels take
// a fill value, by default the background value given to New (the
// normalised black of the data set, about -0.4242 for MNIST).
//
// Transforms (the Transform interface, with the names Parse accepts):
//   - affine: random rotation, scale, x-shear and translation about the
//     image centre, resampled bilinearly through the inverse map
//     (AffineMatrix, WarpAffine, Remap);
//   - elastic: the elastic distortion of Simard, Steinkraus and Platt
//     (2003), uniform random displacement fields smoothed by a separable
//     Gaussian and scaled by alpha (defaults alpha=34, sigma=4);
//   - noise: additive Gaussian noise;
//   - crop (random crop with padding), hflip, vflip, cutout, brightness and
//     contrast.
//
// Batch mixes (the Mixer interface) combine each sample with a partner from
// its batch and give it two labels with weights λ and 1−λ, for the loss
// tensor.Graph.SoftmaxCrossEntropyTargets:
//   - mixup: blend whole images with λ ~ Beta(alpha, alpha) (Zhang et al.
//     2018; Mixup);
//   - cutmix: paste a box of the partner, λ = 1 − box area / image area
//     (Yun et al. 2019; CutMix, CutBox).
//
// A spec names at most one mix, after the per-sample transforms; a Worker
// runs the per-sample steps with Apply or ApplyBatch and the mix with
// MixBatch, on a whole batch.
//
// A Pipeline is built from a spec string (Parse: "affine,elastic(p=0.5),noise")
// or from []Config, validated with errors that name the step, transform and
// parameter (*Error, wrapping ErrSpec). Each step runs with its probability p.
//
// Randomness derives only from (seed, epoch, sample id), mixed with
// SplitMix64 (SampleKey, SampleRNG), and each step of a sample draws from its
// own stream, so the output of a sample is the same bits whatever the number
// of Workers or the order in which they see samples. A batch mix draws in the
// same way from (seed, epoch, the batch's sample ids in order), its BatchKey.
// A Worker owns its generator (a PCG reseeded per step) and its scratch
// buffers and does not allocate once it has seen a shape and batch size.
//
// # What it does not do
//
// It does not load or batch data (see engine/data) and does not compute the
// mixed loss (package tensor does). It does not clip values to a range.
// Transforms run on the CPU only. Geometry is resampled
// with bilinear interpolation only; there is no nearest or bicubic mode.
package augment
