package actors

import (
	"slices"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-ml/troupe/engine/train"
)

// Release ends the job the host holds, if any, and stops its actors, so
// that Prepare takes the next one: a coordinator whose run lost a
// parameter-server node runs the job again from its last checkpoint on the
// nodes left and a new one. The job ends as a success on this side, so the
// host reports no failure for it.
func (h *Host) Release() {
	h.mu.Lock()
	job := h.job
	h.job = nil
	var sys *actor.ActorSystem
	var pids []*actor.PID
	if job != nil {
		sys, pids = job.sys, slices.Clone(job.actors)
	}
	h.mu.Unlock()
	if job == nil {
		return
	}
	job.out.finish(train.Result{}, Metrics{})
	for _, pid := range pids {
		_ = sys.Root.StopFuture(pid).Wait()
	}
	job.cpu.Close()
}
