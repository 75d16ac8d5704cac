package augment

import "fmt"

// mixDomain separates the keys of batches from those of samples, so that a
// batch of one sample does not draw what that sample's transforms draw.
const mixDomain = 0x6d69786261746368 // "mixbatch"

// BatchKey is the 64-bit key all randomness of a batch mix derives from: it
// depends on seed, epoch and the batch's sample ids in order, never on which
// augmenter handles the batch or when.
func BatchKey(seed, epoch uint64, ids []int) uint64 {
	k := mix((mix(seed+golden) ^ mixDomain) + golden)
	k = mix((k ^ epoch) + golden)
	k = mix((k ^ uint64(len(ids))) + golden)
	for _, id := range ids {
		k = mix((k ^ uint64(id)) + golden)
	}
	return k
}

// mixScratch holds a Worker's buffers for batch mixes.
type mixScratch struct {
	src  []float32 // the batch before mixing, which partners are read from
	perm []int
}

// MixBatch applies the pipeline's batch mix, if it has one, in place to the
// n = len(ids) samples of shape s in x, ids being their data-set indices and
// labels their classes; run it after the per-sample steps (ApplyBatch). When
// the mix runs it writes each sample's partner class into mix and the weight
// of the sample's own label into lambda (both of length n) and returns true;
// the loss is then λ_i·CE(labels_i) + (1−λ_i)·CE(mix_i). It returns false,
// leaving everything untouched, when the pipeline has no mix or the batch's
// draw skips it.
//
// The partners (a uniformly random permutation of the batch), whether the
// mix runs, and λ derive from BatchKey(seed, epoch, ids) only, so any number
// of Workers produce the same bits for the same batch. A labels slice of the
// wrong length is an error; x, mix or lambda of the wrong length panics.
func (w *Worker) MixBatch(x []float32, s Shape, epoch uint64, ids []int, labels, mix []int32, lambda []float32) (bool, error) {
	n := len(ids)
	if len(x) != n*s.Len() || len(mix) != n || len(lambda) != n {
		panic(fmt.Sprintf("augment: MixBatch of %d samples of %dx%dx%d: len(x)=%d, len(mix)=%d, len(lambda)=%d, want %d, %d, %d",
			n, s.C, s.H, s.W, len(x), len(mix), len(lambda), n*s.Len(), n, n))
	}
	st := w.pipe.mix
	if st == nil || n == 0 {
		return false, nil
	}
	if len(labels) != n {
		return false, fmt.Errorf("augment: %s: %d labels for %d samples; a batch mix needs one class per sample", st.M.Name(), len(labels), n)
	}
	key := BatchKey(w.seed, epoch, ids)
	if unit(word(key, 2)) >= st.P {
		return false, nil
	}
	w.pcg.Seed(word(key, 0), word(key, 1))
	perm := w.mx.perm[:0]
	for i := range n {
		perm = append(perm, i)
	}
	w.mx.perm = perm
	for i := n - 1; i > 0; i-- {
		j := w.rng.IntN(i + 1)
		perm[i], perm[j] = perm[j], perm[i]
	}
	src := grow(&w.mx.src, len(x))
	copy(src, x)
	st.M.Mix(x, src, s, perm, w.rng, lambda)
	for i, j := range perm {
		mix[i] = labels[j]
	}
	return true, nil
}
