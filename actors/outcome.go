package actors

import (
	"sync"

	"github.com/troupe-ml/troupe/engine/train"
)

// outcome is where a run ends: the coordinator finishes it, or any actor,
// the supervisor or Run (on cancellation) fails it. The first word wins.
// It is the one piece of state the actors share, so it is safe for
// concurrent use. Across processes a Stop message would carry the failure;
// in one process a typed error keeps errors.Is working for callers.
type outcome struct {
	once sync.Once
	done chan struct{}
	res  train.Result
	met  Metrics
	err  error
}

func newOutcome() *outcome { return &outcome{done: make(chan struct{})} }

func (o *outcome) fail(err error) {
	o.once.Do(func() {
		o.err = err
		close(o.done)
	})
}

func (o *outcome) finish(res train.Result, met Metrics) {
	o.once.Do(func() {
		o.res, o.met = res, met
		close(o.done)
	})
}

// ended reports whether the run has ended, so that actors stop working
// for a run that is being torn down.
func (o *outcome) ended() bool {
	select {
	case <-o.done:
		return true
	default:
		return false
	}
}

// result is read once done is closed, which orders it after the write.
func (o *outcome) result() (train.Result, Metrics, error) {
	select {
	case <-o.done:
	default:
		return train.Result{}, Metrics{}, errStopped
	}
	if o.err != nil {
		return train.Result{}, Metrics{}, o.err
	}
	return o.res, o.met, nil
}
