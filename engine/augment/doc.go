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
// A Pipeline is built from a spec string (Parse: "affine,elastic(p=0.5),noise")
// or from []Config, validated with errors that name the step, transform and
// parameter (*Error, wrapping ErrSpec). Each step runs with its probability p.
//
// Randomness derives only from (seed, epoch, sample id), mixed with
// SplitMix64 (SampleKey, SampleRNG), and each step of a sample draws from its
// own stream, so the output of a sample is the same bits whatever the number
// of Workers or the order in which they see samples. A Worker owns its
// generator (a PCG reseeded per step) and its scratch buffers and does not
// allocate once it has seen a shape.
//
// # What it does not do
//
// It does not load or batch data (see engine/data) and does not mix samples
// (mixup and cutmix work on batches and belong elsewhere). It does not clip
// values to a range. Transforms run on the CPU only. Geometry is resampled
// with bilinear interpolation only; there is no nearest or bicubic mode.
package augment
