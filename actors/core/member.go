package core

import "fmt"

// WorkerID names a training worker (a model-shard replica) to the parameter
// server clock and the coordinator. The shell maps actor addresses to IDs.
type WorkerID string

// WorkerLeft reports that a worker is gone (crashed, partitioned or shut
// down). Both Clock and Coordinator take it; stepping it for a worker that is
// not live is a no-op, so a shell may broadcast it more than once.
type WorkerLeft struct {
	Worker WorkerID
}

// WorkerJoined reports that a worker is (again) available. Stepping it for a
// worker that is already live is a no-op.
type WorkerJoined struct {
	Worker WorkerID
}

// roster is a set of live workers that remembers join order, so that every
// decision that walks the members is deterministic (map order is not).
type roster struct {
	order []WorkerID
}

func (r *roster) index(w WorkerID) int {
	for i, id := range r.order {
		if id == w {
			return i
		}
	}
	return -1
}

func (r *roster) has(w WorkerID) bool { return r.index(w) >= 0 }

func (r *roster) add(w WorkerID) { r.order = append(r.order, w) }

func (r *roster) remove(w WorkerID) {
	i := r.index(w)
	if i < 0 {
		return
	}
	r.order = append(r.order[:i], r.order[i+1:]...)
}

func (r *roster) len() int { return len(r.order) }

// checkWorkers validates an initial worker list: non-empty IDs, no repeats.
func checkWorkers(ws []WorkerID) error {
	seen := make(map[WorkerID]bool, len(ws))
	for _, w := range ws {
		if w == "" {
			return fmt.Errorf("empty worker ID: %w", ErrConfig)
		}
		if seen[w] {
			return fmt.Errorf("worker %s listed twice: %w", w, ErrConfig)
		}
		seen[w] = true
	}
	return nil
}
