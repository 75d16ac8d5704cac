package data

import (
	"errors"
	"fmt"
	"math/rand/v2"
)

// Loader walks a Dataset in batches. The order of an epoch is a function of
// (seed, epoch) only, so resuming at any epoch reproduces the original run.
// A Loader is not safe for concurrent use.
type Loader struct {
	ds       *Dataset
	batch    int
	seed     uint64
	shuffle  bool
	dropLast bool

	// The generator is reseeded by every Epoch; rand.Rand keeps no state of
	// its own beyond the source, so reusing it does not leak history.
	pcg rand.PCG
	rng *rand.Rand

	perm    []int
	pos     int // start of the next batch in perm
	cur     []int
	started bool
}

// NewLoader returns a Loader over ds yielding batches of batch samples. With
// shuffle each epoch visits the samples in a pseudo-random order derived from
// seed and the epoch number; without it, in index order. With dropLast a
// final batch smaller than batch is skipped.
func NewLoader(ds *Dataset, batch int, seed uint64, shuffle, dropLast bool) (*Loader, error) {
	if ds == nil {
		return nil, errors.New("data: NewLoader: nil dataset")
	}
	if err := ds.Validate(); err != nil {
		return nil, fmt.Errorf("data: NewLoader: %w", err)
	}
	if batch < 1 {
		return nil, fmt.Errorf("data: NewLoader on %s: batch size %d, want ≥ 1", ds.Name, batch)
	}
	if dropLast && batch > ds.N {
		return nil, fmt.Errorf("data: NewLoader on %s: batch size %d exceeds the %d samples and dropLast is set, so an epoch would be empty", ds.Name, batch, ds.N)
	}
	l := &Loader{ds: ds, batch: batch, seed: seed, shuffle: shuffle, dropLast: dropLast, perm: make([]int, ds.N)}
	l.rng = rand.New(&l.pcg)
	return l, nil
}

// Epoch starts epoch number epoch. It does not allocate.
func (l *Loader) Epoch(epoch int) {
	for i := range l.perm {
		l.perm[i] = i
	}
	if l.shuffle {
		l.pcg.Seed(l.seed, uint64(epoch))
		l.rng.Shuffle(len(l.perm), func(i, j int) { l.perm[i], l.perm[j] = l.perm[j], l.perm[i] })
	}
	l.pos, l.cur, l.started = 0, nil, true
}

// Next fills x and y with the next batch of the epoch and returns its size;
// ok is false once the epoch is exhausted. x needs room for BatchSize()*C*H*W
// values and y for BatchSize() labels; the last batch may be smaller unless
// dropLast was set. It does not allocate. Calling Next before Epoch panics.
func (l *Loader) Next(x []float32, y []int32) (n int, ok bool) {
	if !l.started {
		panic("data: Loader.Next called before Loader.Epoch")
	}
	n = min(l.batch, len(l.perm)-l.pos)
	if n == 0 || (l.dropLast && n < l.batch) {
		l.cur = nil
		return 0, false
	}
	l.cur = l.perm[l.pos : l.pos+n]
	l.pos += n
	l.ds.Fill(l.cur, x, y)
	return n, true
}

// Indices returns the dataset indices of the batch the last Next filled, in
// batch order. The slice is the Loader's own: read it, do not keep or modify
// it past the next Epoch.
func (l *Loader) Indices() []int { return l.cur }

// Order returns the epoch's visiting order: batch i is Order()[i*BatchSize():],
// at most BatchSize() entries. It is a view, valid until the next Epoch; a
// caller that moves the data itself (such as a GPU trainer gathering
// batches on the device) uses it instead of Next.
func (l *Loader) Order() []int { return l.perm }

// BatchesPerEpoch is the number of batches Next yields per epoch.
func (l *Loader) BatchesPerEpoch() int {
	if l.dropLast {
		return l.ds.N / l.batch
	}
	return (l.ds.N + l.batch - 1) / l.batch
}

// BatchSize is the batch size the Loader was built with.
func (l *Loader) BatchSize() int { return l.batch }

// Dataset is the data set the Loader walks.
func (l *Loader) Dataset() *Dataset { return l.ds }
