package actors

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-ml/troupe/actors/core"
	"github.com/troupe-ml/troupe/messages"
)

// shardEval is a shard's part in the evaluations a job's eval_every asks
// for in mid-epoch (see the coordinator's evalEvery): the coordinator asks
// for the parameters at a version; the shard sends them once it gets
// there and holds its replies to the replicas until the coordinator says
// the evaluation is over, so that evaluating does not overlap training and
// its time can be left out of the training time.
type shardEval struct {
	at     uint64     // version to answer at; 0: no request pending
	from   *actor.PID // who asked
	paused bool
	held   []core.WorkerID // replicas whose replies wait for the evaluation
}

// midEvaluate takes a mid-epoch request for the parameters at version
// m.Step, answering it now if they are there already.
func (s *shard) midEvaluate(ctx actor.Context, from *actor.PID, m *messages.Evaluate) {
	s.every.at, s.every.from = m.GetStep(), from
	s.evalReached(ctx)
}

// evalReached answers a pending mid-epoch request once the parameters have
// reached its version, and pauses the replies.
func (s *shard) evalReached(ctx actor.Context) {
	if s.every.at == 0 || s.version < s.every.at {
		return
	}
	s.sendEvalParams(ctx)
	s.every.paused = true
}

// flushEval answers a mid-epoch request still pending when the epoch ends
// (its version was beyond the epoch's last): the coordinator then takes
// these parameters for it, and nothing pauses.
func (s *shard) flushEval(ctx actor.Context) {
	if s.every.at != 0 {
		s.sendEvalParams(ctx)
	}
}

// sendEvalParams sends the owned parameters, without the optimizer state
// that only a checkpoint needs.
func (s *shard) sendEvalParams(ctx actor.Context) {
	ts := sliceTensors(s.segs, func(i int, _ segment) []float32 { return s.params[i].Data })
	if s.every.from != nil {
		ctx.Send(s.every.from, &messages.Params{Version: s.version, Shard: uint32(s.k), Params: ts})
	}
	s.every.at, s.every.from = 0, nil
}

// holdReply reports whether the reply to w waits for an evaluation to end,
// noting it if so.
func (s *shard) holdReply(w core.WorkerID) bool {
	if s.every.paused {
		s.every.held = append(s.every.held, w)
	}
	return s.every.paused
}

// resumeEval ends the pause: the evaluation is over (an EvalResult from
// the coordinator), and the held replies go out in the order they were due.
func (s *shard) resumeEval(ctx actor.Context) {
	held := s.every.held
	s.every.paused, s.every.held = false, nil
	for _, w := range held {
		s.keep(w)
		ctx.Send(s.t.workers[s.index[w]], s.reply(s.index[w]))
	}
}
