package actors

import (
	"fmt"
	"log/slog"
	"math"
	"math/bits"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/troupe-ml/troupe/actors/wire"
	"github.com/troupe-ml/troupe/messages"
)

// A link is one actor's end of the wire in a placed run (see Placement).
// gRPC limits the size of one transfer, and protoactor batches several
// messages into one, so a message for another process whose tensors hold
// more than the link's chunk bytes travels in pieces: first a header, a
// copy of the message whose tensors are placeholders (dtype and shape, no
// data), then the tensors' data as NamedTensor chunks of at most chunk bytes,
// placeholder by placeholder, all with the same sender. The receiving link
// fills the header in and hands the actor the whole message, which owns its
// memory. Local messages and small ones pass untouched.
//
// A link is owned by one actor and used on its goroutine only.
type link struct {
	name  string // the actor's, for errors
	chunk int
	log   *slog.Logger
	// fail ends the run when a peer sends what the protocol forbids.
	fail func(error)
	// open holds the messages being assembled, by sender: messages from
	// one sender arrive in the order sent, so its chunks follow its header.
	open map[string]*assembly
}

func newLink(name string, chunk int, log *slog.Logger, fail func(error)) *link {
	return &link{name: name, chunk: chunk, log: log, fail: fail, open: map[string]*assembly{}}
}

// maxAssembled bounds the bytes one header may announce, so that a peer
// cannot make a receiver allocate without limit (protobuf's own bound on a
// bytes field).
const maxAssembled = math.MaxInt32

// chunkName is the name chunks of a Batch's inputs carry.
const chunkName = "inputs"

// tensorRef is one tensor a message carries and the way to replace it in
// that message.
type tensorRef struct {
	name string
	t    *messages.Tensor
	set  func(*messages.Tensor)
}

// tensorsOf lists the tensors of the message types that carry large ones,
// in a fixed order; nil for any other message.
func tensorsOf(m any) []tensorRef {
	switch m := m.(type) {
	case *messages.Params:
		return namedRefs(m.GetParams())
	case *messages.PushGradients:
		return namedRefs(m.GetGrads())
	case *messages.Batch:
		return []tensorRef{{name: chunkName, t: m.GetInputs(), set: func(t *messages.Tensor) { m.Inputs = t }}}
	}
	return nil
}

func namedRefs(ts []*messages.NamedTensor) []tensorRef {
	out := make([]tensorRef, len(ts))
	for i, nt := range ts {
		out[i] = tensorRef{name: nt.GetName(), t: nt.GetTensor(), set: func(t *messages.Tensor) { nt.Tensor = t }}
	}
	return out
}

// shallowCopy returns a new message with every field of m, sharing their
// memory: the copy's tensors are then replaced, never modified, so the sent
// message m stays as its sender left it.
func shallowCopy[T proto.Message](m T) T {
	src := m.ProtoReflect()
	dst := src.New()
	src.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		dst.Set(fd, v)
		return true
	})
	return dst.Interface().(T)
}

func copyNamed(ts []*messages.NamedTensor) []*messages.NamedTensor {
	out := make([]*messages.NamedTensor, len(ts))
	for i, nt := range ts {
		out[i] = shallowCopy(nt)
	}
	return out
}

// cut returns the header and chunks that carry m when its tensors hold more
// than limit bytes, or a nil header when m goes whole. The chunks are copies,
// so m's memory is not read after cut returns.
func cut(m any, limit int) (header any, chunks []*messages.NamedTensor, err error) {
	refs := tensorsOf(m)
	total := 0
	for _, r := range refs {
		total += len(r.t.GetData())
	}
	if total <= limit {
		return nil, nil, nil
	}
	switch m := m.(type) {
	case *messages.Params:
		h := shallowCopy(m)
		h.Params = copyNamed(m.GetParams())
		header = h
	case *messages.PushGradients:
		h := shallowCopy(m)
		h.Grads = copyNamed(m.GetGrads())
		header = h
	case *messages.Batch:
		header = shallowCopy(m)
	}
	for i, r := range tensorsOf(header) {
		src := refs[i].t
		if len(src.GetData()) == 0 {
			continue
		}
		vals, err := src.Float32()
		if err != nil {
			return nil, nil, fmt.Errorf("tensor %q of a %T: %w", r.name, m, err)
		}
		chunks = append(chunks, wire.Split(r.name, vals, limit)...)
		r.set(&messages.Tensor{Dtype: src.GetDtype(), Shape: src.GetShape()})
	}
	return header, chunks, nil
}

// send delivers msg to pid: whole through direct when pid is in this
// process or msg is small, else as a header and chunks from self.
func (l *link) send(ctx actor.Context, pid *actor.PID, msg any, direct func()) {
	if pid == nil || pid.GetAddress() == ctx.ActorSystem().Address() || l.chunk <= 0 {
		direct()
		return
	}
	header, chunks, err := cut(msg, l.chunk)
	if err != nil {
		l.fail(fmt.Errorf("actors: %s: sending to %s: %w", l.name, pid, err))
		return
	}
	if header == nil {
		direct()
		return
	}
	self := ctx.Self()
	ctx.RequestWithCustomSender(pid, header, self)
	for _, c := range chunks {
		ctx.RequestWithCustomSender(pid, c, self)
	}
}

// assembly is a header waiting for its chunks.
type assembly struct {
	msg   any
	slots []slot
	cur   int // the placeholder the next chunk belongs to
}

type slot struct {
	shape []int
	dst   []float32
	asm   *wire.Assembler
	set   func(*messages.Tensor)
}

// placeholder reports whether t announces data that chunks will bring.
func placeholder(t *messages.Tensor) bool {
	if t == nil || len(t.GetData()) > 0 {
		return false
	}
	for _, d := range t.GetShape() {
		if d == 0 {
			return false
		}
	}
	return true
}

// openAssembly returns the assembly msg starts, or nil when msg has no
// placeholder. It checks what a header announces before allocating for it.
func openAssembly(msg any) (*assembly, error) {
	var a *assembly
	total := uint64(0)
	for _, r := range tensorsOf(msg) {
		if !placeholder(r.t) {
			continue
		}
		if r.t.GetDtype() != messages.DType_F32 {
			return nil, fmt.Errorf("placeholder %q of dtype %v, only F32 travels in chunks", r.name, r.t.GetDtype())
		}
		dims, err := r.t.Dims()
		if err != nil {
			return nil, fmt.Errorf("placeholder %q: %w", r.name, err)
		}
		n := uint64(1)
		for _, d := range dims {
			hi, lo := bits.Mul64(n, uint64(d))
			if hi != 0 || lo > maxAssembled {
				return nil, fmt.Errorf("placeholder %q of shape %v is too large", r.name, dims)
			}
			n = lo
		}
		if total += 4 * n; total > maxAssembled {
			return nil, fmt.Errorf("a %T announcing more than %d bytes of tensors", msg, maxAssembled)
		}
		if a == nil {
			a = &assembly{msg: msg}
		}
		dst := make([]float32, n)
		a.slots = append(a.slots, slot{shape: dims, dst: dst, asm: wire.NewAssembler(r.name, dst), set: r.set})
	}
	return a, nil
}

// add takes the next chunk; done reports that the header is whole.
func (a *assembly) add(nt *messages.NamedTensor) (done bool, err error) {
	s := &a.slots[a.cur]
	full, err := s.asm.Add(nt)
	if err != nil {
		return false, err
	}
	if full {
		s.set(messages.ViewFloat32(s.dst, s.shape))
		a.cur++
	}
	return a.cur == len(a.slots), nil
}

func senderKey(pid *actor.PID) string {
	if pid == nil {
		return ""
	}
	return pid.GetAddress() + "/" + pid.GetId()
}

// receive returns the message the actor should handle for the one in ctx:
// that message itself, or a header made whole by its last chunk. It returns
// false while a message is incomplete, and for input the protocol forbids,
// which it logs and fails the run with rather than deliver.
func (l *link) receive(ctx actor.Context) (any, bool) {
	msg := ctx.Message()
	key := senderKey(ctx.Sender())
	if a := l.open[key]; a != nil {
		nt, ok := msg.(*messages.NamedTensor)
		if !ok {
			delete(l.open, key)
			l.reject(key, fmt.Errorf("a %T while the chunks of a %T were due", msg, a.msg))
			return nil, false
		}
		done, err := a.add(nt)
		if err != nil {
			delete(l.open, key)
			l.reject(key, fmt.Errorf("a chunk of a %T: %w", a.msg, err))
			return nil, false
		}
		if !done {
			return nil, false
		}
		delete(l.open, key)
		return a.msg, true
	}
	if _, ok := msg.(*messages.NamedTensor); ok {
		l.reject(key, fmt.Errorf("a tensor chunk with no message before it"))
		return nil, false
	}
	a, err := openAssembly(msg)
	if err != nil {
		l.reject(key, err)
		return nil, false
	}
	if a == nil {
		return msg, true
	}
	l.open[key] = a
	return nil, false
}

func (l *link) reject(from string, err error) {
	err = fmt.Errorf("actors: %s rejected a message from %s: %w", l.name, from, err)
	l.log.Error("rejected a message from a peer", "actor", l.name, "from", from, "error", err)
	l.fail(err)
}

// linkContext is what an actor of a placed run sees as its context: the
// message its link assembled, and sends that go through the link.
type linkContext struct {
	actor.Context
	l   *link
	msg any
}

func (c linkContext) Message() any { return c.msg }

func (c linkContext) Send(pid *actor.PID, msg any) {
	c.l.send(c.Context, pid, msg, func() { c.Context.Send(pid, msg) })
}

func (c linkContext) Request(pid *actor.PID, msg any) {
	c.l.send(c.Context, pid, msg, func() { c.Context.Request(pid, msg) })
}

func (c linkContext) Respond(msg any) {
	c.l.send(c.Context, c.Context.Sender(), msg, func() { c.Context.Respond(msg) })
}

// linked wraps an actor of a placed run that lives in the coordinator's
// process with its link.
type linked struct {
	l     *link
	inner actor.Actor
}

func (a *linked) Receive(ctx actor.Context) {
	msg, ok := a.l.receive(ctx)
	if !ok {
		return
	}
	a.inner.Receive(linkContext{Context: ctx, l: a.l, msg: msg})
}
