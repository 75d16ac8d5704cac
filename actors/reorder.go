package actors

import (
	"fmt"

	"github.com/troupe-ml/troupe/actors/core"
	"github.com/troupe-ml/troupe/messages"
)

// reorder restores a link's order in front of a replica's core.Receiver,
// which takes batches only in sequence: a pool of augmenters lets batches
// overtake each other, and the loader's end-of-epoch marker, sent directly,
// can overtake them all. Credit bounds what can be early to the window.
type reorder struct {
	early map[uint64]*messages.Batch // by link sequence number
	end   *messages.EpochEnd         // waits until its batches are in
}

// add holds b until the link reaches it; next is the sequence number the
// receiver expects.
func (r *reorder) add(b *messages.Batch, next uint64, window int) error {
	s := b.GetLinkSeq()
	switch {
	case s < next:
		return fmt.Errorf("batch %d of epoch %d again (link seq %d, expecting %d): %w", b.GetSeq(), b.GetEpoch(), s, next, core.ErrDuplicate)
	case s >= next+uint64(window):
		return fmt.Errorf("batch %d of epoch %d with link seq %d, beyond the window of %d from %d: %w", b.GetSeq(), b.GetEpoch(), s, window, next, core.ErrProtocol)
	case r.early[s] != nil:
		return fmt.Errorf("link seq %d twice: %w", s, core.ErrDuplicate)
	}
	r.early[s] = b
	return nil
}

// next removes and returns the batch with sequence number seq, if held.
func (r *reorder) next(seq uint64) *messages.Batch {
	b := r.early[seq]
	delete(r.early, seq)
	return b
}
