package actors

import (
	"errors"
	"fmt"
	"slices"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-ml/troupe/actors/core"
	"github.com/troupe-ml/troupe/engine/optim"
	"github.com/troupe-ml/troupe/engine/train"
	"github.com/troupe-ml/troupe/messages"
)

// shard is one parameter-server shard. It owns a contiguous slice of the
// flattened parameters, the optimizer state for that slice, and a
// core.Clock that decides, under the configured consistency, when a pull
// is answered and which pushed gradients form one update.
type shard struct {
	p    *plan
	t    *topology
	out  *outcome
	k    int
	name string
	segs []segment

	params []optim.Param // the owned slices, with their gradient accumulators
	opt    optim.Optimizer
	sched  optim.Schedule
	clk    *core.Clock
	// pushed holds gradients, as views into their messages, until an Apply
	// names them.
	pushed  map[gradKey][][]float32
	version uint64 // the clock's: updates applied so far
	index   map[core.WorkerID]int
	m       meter
}

type gradKey struct {
	w    core.WorkerID
	step int
}

func newShard(p *plan, t *topology, out *outcome, k int, g *depthGauge) *shard {
	s := &shard{p: p, t: t, out: out, k: k, name: shardName(k), segs: p.parts[k],
		pushed: map[gradKey][][]float32{}, index: map[core.WorkerID]int{}}
	for i := range p.workers {
		s.index[workerID(i)] = i
	}
	s.m.gauge = g
	return s
}

func (s *shard) Receive(ctx actor.Context) {
	if s.out.ended() {
		return
	}
	var err error
	switch m := ctx.Message().(type) {
	case *actor.Started:
		err = s.start()
	case *messages.PullParams:
		s.m.set(busy)
		acts, serr := s.clk.Step(core.Pull{Worker: workerID(int(m.GetWorker())), Step: int(m.GetStep())})
		err = s.do(ctx, acts, serr)
		s.m.set(idle)
	case *messages.PushGradients:
		s.m.set(busy)
		err = s.push(ctx, m)
		s.m.set(idle)
	case *messages.Presence:
		err = s.presence(ctx, m)
	case *messages.Evaluate:
		ctx.Respond(s.snapshot())
	case *messages.EpochEnd:
		ctx.Respond(s.m.report(s.name))
	}
	if err != nil {
		s.out.fail(fmt.Errorf("actors: %s: %w", s.name, err))
	}
}

// start takes the shard's slices of the job's initial parameters: the
// model built from the job's seed, as the plain loop builds it.
func (s *shard) start() error {
	model, err := train.NewModel(s.p.job)
	if err != nil {
		return err
	}
	full := model.Params()
	for _, g := range s.segs {
		data := slices.Clone(full[g.param].T.Data[g.lo:g.hi])
		s.params = append(s.params, optim.Param{Name: g.name, Data: data, Grad: make([]float32, len(data)), NoDecay: g.noDecay})
	}
	if s.opt, err = train.NewOptimizerFor(s.p.job, s.params); err != nil {
		return err
	}
	if s.sched, err = train.NewSchedule(s.p.job, s.p.stepsPerEpoch); err != nil {
		return err
	}
	s.clk, err = core.NewClock(core.ClockConfig{Mode: s.p.sync, Staleness: s.p.staleness})
	return err
}

func (s *shard) push(ctx actor.Context, m *messages.PushGradients) error {
	w := int(m.GetWorker())
	if w >= s.p.workers || int(m.GetShard()) != s.k {
		return fmt.Errorf("push from worker %d for shard %d: %w", w, m.GetShard(), core.ErrProtocol)
	}
	grads, err := matchTensors(s.segs, m.GetGrads(), fmt.Sprintf("gradients from %s", workerName(w)))
	if err != nil {
		return err
	}
	key := gradKey{w: workerID(w), step: int(m.GetStep())}
	if _, dup := s.pushed[key]; dup {
		return nil // a repeat of a push that is still pending
	}
	s.pushed[key] = grads
	acts, err := s.clk.Step(core.Push{Worker: key.w, Step: key.step, Version: m.GetParamVersion()})
	if err != nil {
		delete(s.pushed, key)
		if errors.Is(err, core.ErrDuplicate) {
			return nil
		}
		return err
	}
	s.m.samples += uint64(m.GetSamples())
	return s.do(ctx, acts, nil)
}

// presence moves a replica in or out of the clock. A join comes from the
// coordinator, which gets the step the replica is admitted at.
func (s *shard) presence(ctx actor.Context, m *messages.Presence) error {
	w := int(m.GetWorker())
	if w >= s.p.workers {
		return fmt.Errorf("presence of unknown worker %d: %w", w, core.ErrUnknown)
	}
	if !m.GetActive() {
		acts, err := s.clk.Step(core.WorkerLeft{Worker: workerID(w)})
		return s.do(ctx, acts, err)
	}
	acts, err := s.clk.Step(core.WorkerJoined{Worker: workerID(w)})
	if err != nil {
		return err
	}
	for _, a := range acts {
		if a, ok := a.(core.Admit); ok {
			ctx.Respond(&messages.Presence{Worker: uint32(w), Active: true, Epoch: m.GetEpoch(), Step: uint64(a.Step)})
		}
	}
	return nil
}

func (s *shard) do(ctx actor.Context, acts []core.ClockAction, err error) error {
	if err != nil {
		return err
	}
	for _, a := range acts {
		switch a := a.(type) {
		case core.Apply:
			if err := s.apply(a); err != nil {
				return err
			}
		case core.Reply:
			ctx.Send(s.t.workers[s.index[a.Worker]], s.snapshot())
		}
	}
	return nil
}

// apply adds Scale × the named gradients, in worker order so that the sum
// does not depend on arrival order, and steps the optimizer with the
// schedule's rate for the version before this update, as the plain loop
// uses its step count. The first term is a product rather than an added
// one, so that a lone gradient with scale 1 arrives bit for bit.
func (s *shard) apply(a core.Apply) error {
	refs := slices.Clone(a.Grads)
	slices.SortFunc(refs, func(x, y core.GradRef) int {
		if d := s.index[x.Worker] - s.index[y.Worker]; d != 0 {
			return d
		}
		return x.Step - y.Step
	})
	for n, r := range refs {
		key := gradKey{w: r.Worker, step: r.Step}
		g, ok := s.pushed[key]
		if !ok {
			return fmt.Errorf("apply names gradient %s@%d, which is not held: %w", r.Worker, r.Step, core.ErrProtocol)
		}
		delete(s.pushed, key)
		for i, p := range s.params {
			acc, src := p.Grad, g[i]
			if n == 0 {
				for j := range acc {
					acc[j] = src[j] * a.Scale
				}
				continue
			}
			for j := range acc {
				acc[j] += src[j] * a.Scale
			}
		}
	}
	s.opt.Step(s.sched.LR(int(a.Version) - 1))
	s.version = a.Version
	return nil
}

// snapshot copies the owned parameters into a Params message.
func (s *shard) snapshot() *messages.Params {
	ts := sliceTensors(s.segs, func(i int, _ segment) []float32 { return s.params[i].Data })
	return &messages.Params{Version: s.version, Shard: uint32(s.k), Params: ts}
}
