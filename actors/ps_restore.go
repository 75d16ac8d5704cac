package actors

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-ml/troupe/actors/core"
	"github.com/troupe-ml/troupe/engine/optim"
	"github.com/troupe-ml/troupe/engine/train"
	"github.com/troupe-ml/troupe/messages"
)

// fence takes the coordinator's news that a replica is lost, and drops what
// a lost replica sent before it went but arrives after that news (it came
// on another connection); it takes the coordinator's restore (a Params
// message, see restoreMessage) too. It reports whether it consumed the
// message.
//
// The news is a leave that comes as a request: a replica leaves with a
// plain send, the coordinator asks. The shard takes the replica out of its
// clock as at a leave, so that a BSP round or an SSP bound stops waiting
// for it; a gradient it pushed for the open BSP round still counts. A join
// the coordinator asks for later readmits the replica.
func (s *shard) fence(ctx actor.Context) bool {
	var w int
	switch m := ctx.Message().(type) {
	case *messages.Presence:
		w = int(m.GetWorker())
		if ctx.Sender() == nil || w >= s.p.workers {
			return s.lost.has(w) // a lost replica's own leave, late
		}
		if m.GetActive() {
			s.lost.rejoin(w)
			return false
		}
		s.lost.lose(w, s.version)
		// Its lent gradients are copied, as before a reply to it: a replica
		// in this process may still run until its stop.
		s.keep(workerID(w))
		if err := s.presence(ctx, m); err != nil {
			s.out.fail(fmt.Errorf("actors: %s: the loss of %s: %w", s.name, workerName(w), err))
		}
		return true
	case *messages.Params:
		if err := s.restore(m); err != nil {
			s.out.fail(fmt.Errorf("actors: %s: %w", s.name, err))
		}
		return true
	case *messages.PullParams:
		w = int(m.GetWorker())
	case *messages.PushGradients:
		w = int(m.GetWorker())
	default:
		return false
	}
	return s.lost.has(w)
}

// shardLoss is what a shard knows of lost replicas: which, and where the
// learning-rate schedule is. Under BSP an epoch takes more updates once
// replicas are lost, each averaging fewer gradients, so from the first loss
// on an update moves the schedule on by the live share of the replicas, not
// by one: the schedule still spans the job's samples. Without a loss, or
// under SSP and async (where an update is one replica's anyway), the
// schedule's step is the version, as before.
type shardLoss struct {
	lost map[int]bool
	// pos is the schedule's step for the next update, counted like
	// versions, once a replica was lost (since then active).
	pos    float64
	active bool
}

func (l *shardLoss) has(w int) bool { return l.lost[w] }

func (l *shardLoss) lose(w int, version uint64) {
	if l.lost == nil {
		l.lost = map[int]bool{}
	}
	if !l.active {
		l.pos, l.active = float64(version), true
	}
	l.lost[w] = true
}

func (l *shardLoss) rejoin(w int) { delete(l.lost, w) }

// position returns the schedule's step, counted from the run's start, for
// the update that makes version.
func (l *shardLoss) position(p *plan, version uint64) int {
	if !l.active || p.sync != core.BSP {
		return int(version) - 1
	}
	at := int(l.pos)
	l.pos += float64(p.workers-len(l.lost)) / float64(p.workers)
	return at
}

// restoreMessage is the message that gives shard k the parameters and the
// optimizer state of checkpoint from, and tells it the optimizer steps
// taken before them (base), where its learning-rate schedule goes on. A
// shard in this process starts from the plan's checkpoint; one on a node,
// whose plan comes from the job alone, gets this message from the
// coordinator before any replica joins its clock.
func restoreMessage(p *plan, k int, from *train.Loaded, base int) (*messages.Params, error) {
	full := from.Model.Params()
	segs := p.parts[k]
	ts := sliceTensors(segs, func(_ int, g segment) []float32 { return full[g.param].T.Data[g.lo:g.hi] })
	state, err := cutState(from, segs)
	if err != nil {
		return nil, err
	}
	for _, st := range state {
		ts = append(ts, &messages.NamedTensor{Name: st.Name, Tensor: messages.FromFloat32(st.Data, []int{len(st.Data)})})
	}
	return &messages.Params{Shard: uint32(k), Version: uint64(base), Params: ts}, nil
}

// restore takes a restoreMessage. It must come before the first update.
func (s *shard) restore(m *messages.Params) error {
	if int(m.GetShard()) != s.k {
		return fmt.Errorf("restore for shard %d: %w", m.GetShard(), core.ErrProtocol)
	}
	if s.version != 0 {
		return fmt.Errorf("restore after %d updates: %w", s.version, core.ErrProtocol)
	}
	ts := m.GetParams()
	if len(ts) < len(s.segs) {
		return fmt.Errorf("restore: %d tensors, want at least the %d parameter slices", len(ts), len(s.segs))
	}
	vals, err := matchTensors(nil, s.segs, ts[:len(s.segs)])
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	var state []optim.StateTensor
	for _, nt := range ts[len(s.segs):] {
		v, err := nt.GetTensor().Float32()
		if err != nil {
			return fmt.Errorf("restore: optimizer state %q: %w", nt.GetName(), err)
		}
		state = append(state, optim.StateTensor{Name: nt.GetName(), Data: slices.Clone(v)})
	}
	if len(state) > 0 {
		if err := s.opt.LoadState(state); err != nil {
			return fmt.Errorf("restore: %w", err)
		}
	}
	// The replies may be views of the parameters: copy, never replace.
	for i, v := range vals {
		copy(s.params[i].Data, v)
	}
	if sh, ok := s.sched.(shifted); ok {
		s.sched = sh.Schedule
	}
	s.sched = shifted{Schedule: s.sched, by: int(m.GetVersion())}
	return nil
}

// shifted is a schedule that starts by steps in.
type shifted struct {
	optim.Schedule
	by int
}

func (s shifted) LR(step int) float32 { return s.Schedule.LR(step + s.by) }

// restorePlaced sends each shard placed on a node the checkpoint the job
// resumes from, before the first epoch joins any replica to its clock: the
// coordinator's messages to a node keep their order.
func (c *coordinator) restorePlaced(ctx actor.Context) error {
	if c.p.from == nil {
		return nil
	}
	for k, s := range c.t.shards {
		if s.GetAddress() == c.t.coordinator.GetAddress() {
			continue // started from the plan's checkpoint
		}
		m, err := restoreMessage(c.p, k, c.p.from, c.p.base)
		if err != nil {
			return fmt.Errorf("restoring %s: %w", shardName(k), err)
		}
		ctx.Send(s, m)
	}
	return nil
}

// ShardLostError is the error of a placed run that lost a parameter-server
// shard's node. The shard's state is gone with it, so the run stops; it can
// go on from its last checkpoint with a new shard in its place, which is
// what package cluster does.
type ShardLostError struct {
	Shard int    // the shard's index
	Node  string // the node's address
	// Step is the optimizer step the run had reached, counted from the
	// job's start as checkpoints count them.
	Step int
	Why  string
}

func (e *ShardLostError) Error() string {
	return fmt.Sprintf("actors: %s on %s was lost at step %d: %s", shardName(e.Shard), e.Node, e.Step, e.Why)
}

// shardLost is the monitor's news of a lost shard for the coordinator.
type shardLost struct {
	shard     int
	node, why string
}

// shardIndex returns k for the name of shard k.
func shardIndex(name string) (int, bool) {
	s, ok := strings.CutPrefix(name, "ps/")
	if !ok {
		return 0, false
	}
	k, err := strconv.Atoi(s)
	return k, err == nil
}

// loseShard fails the run with a ShardLostError.
func (c *coordinator) loseShard(m *shardLost) {
	c.out.fail(&ShardLostError{Shard: m.shard, Node: m.node, Step: c.p.base + int(c.ls.reached), Why: m.why})
}
