package actors

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/troupe-ml/troupe/actors/wire"
	"github.com/troupe-ml/troupe/engine/compress"
	"github.com/troupe-ml/troupe/messages"
)

// Gradient compression (the job's compress setting). A replica encodes its
// push to each shard with one compress.Encoder per segment, which keeps that
// segment's top-k residual: the error feedback lives with the gradient, on
// the replica, before the shard's optimizer and its momentum see it. A
// shard decodes a compressed push into its own memory at once, checking
// every packet first, so a compressed push lends the shard nothing. With
// compress none the push carries the gradient tensors as it always did.

// maxWholePush bounds a compressed push to a shard in another process. The
// link chunks float32 tensors only, so a compressed push travels whole, and
// gRPC's limit on one send must hold it with the other messages batched
// with it.
const maxWholePush = wire.DefaultChunkBytes

// pushCodec is a replica's encoding state, owned by its actor.
type pushCodec struct {
	mode compress.Mode
	enc  [][]*compress.Encoder // [shard][segment]
	pkt  compress.Packet       // scratch
}

// compressMode reads the job's setting; the job was validated, so an error
// here is a job that bypassed validation.
func compressMode(setting string) (compress.Mode, error) {
	m, err := compress.Parse(setting)
	if err != nil {
		return compress.Mode{}, fmt.Errorf("job field compress: %w", err)
	}
	return m, nil
}

// plumbCompression sets the replica's pushes up for the job's compression:
// packets in place of gradient tensors, and an encoder per segment.
func (w *worker) plumbCompression() error {
	m, err := compressMode(w.p.job.Compress)
	if err != nil || m.Kind == compress.None {
		return err
	}
	w.codec = &pushCodec{mode: m, enc: make([][]*compress.Encoder, len(w.pushes))}
	for k, push := range w.pushes {
		push.Grads = nil
		push.Compression = messages.CompressionOf(m.Kind)
		for j, g := range w.p.parts[k] {
			// Distinct, reproducible rounding streams per replica, shard
			// and segment.
			seed := w.p.job.Seed*0x9e3779b97f4a7c15 ^ uint64(w.i)<<40 ^ uint64(k)<<20 ^ uint64(j)
			e, err := compress.NewEncoder(m, g.len(), seed)
			if err != nil {
				return fmt.Errorf("gradient %q at offset %d: %w", g.name, g.lo, err)
			}
			w.codec.enc[k] = append(w.codec.enc[k], e)
			push.Packets = append(push.Packets, &messages.GradPacket{Name: g.name, Offset: uint64(g.lo)})
		}
	}
	return nil
}

// encodePush fills the push to shard k from the Grad buffers, when the job
// compresses; the previous push's packets are free again, since the shard
// has answered this step's pull.
func (w *worker) encodePush(k int) error {
	c := w.codec
	if c == nil {
		return nil
	}
	push := w.pushes[k]
	for j, g := range w.p.parts[k] {
		if err := c.enc[k][j].Encode(w.params[g.param].Grad[g.lo:g.hi], &c.pkt); err != nil {
			return fmt.Errorf("encoding gradient %q at offset %d: %w", g.name, g.lo, err)
		}
		push.Packets[j].SetPacket(&c.pkt)
	}
	return nil
}

// sizePush returns the bytes the push to shard k takes on the wire, and
// refuses a compressed push too large to travel whole to another process.
func (w *worker) sizePush(ctx actor.Context, k int) (int, error) {
	push := w.pushes[k]
	n := proto.Size(push)
	if w.codec != nil && n > maxWholePush {
		if pid := w.t.shards[k]; pid != nil && pid.GetAddress() != ctx.ActorSystem().Address() {
			return 0, fmt.Errorf("a %s push to %s is %d bytes, more than the %d a compressed push may have across processes (compressed pushes are not chunked): use more ps shards",
				w.codec.mode, shardName(k), n, maxWholePush)
		}
	}
	return n, nil
}

// shardCodec is a shard's decoding state, owned by its actor.
type shardCodec struct {
	pkt  compress.Packet // scratch
	mode *compress.Mode  // the job's, once read
}

// jobMode returns the job's compression mode.
func (s *shard) jobMode() (compress.Mode, error) {
	if s.codec.mode == nil {
		m, err := compressMode(s.p.job.Compress)
		if err != nil {
			return m, err
		}
		s.codec.mode = &m
	}
	return *s.codec.mode, nil
}

// received returns the gradient that push m from worker w carries: views of
// the pusher's tensors (lent), or a compressed push decoded into the
// shard's own memory after every packet was checked.
func (s *shard) received(w int, m *messages.PushGradients) (held, error) {
	if m.GetCompression() == messages.Compression_COMPRESSION_NONE && len(m.GetPackets()) == 0 {
		want, err := s.jobMode()
		if err != nil {
			return held{}, err
		}
		if want.Kind != compress.None {
			return held{}, fmt.Errorf("gradients from %s: uncompressed, the job compresses with %v", workerName(w), want)
		}
		grads, err := matchTensors(s.grads[w], s.segs, m.GetGrads())
		if err != nil {
			return held{}, fmt.Errorf("gradients from %s: %w", workerName(w), err)
		}
		s.grads[w] = grads
		return held{g: grads, lent: true}, nil
	}
	own := s.ownBuffers()
	if err := s.decode(m, own); err != nil {
		s.spare = append(s.spare, own)
		return held{}, fmt.Errorf("gradients from %s: %w", workerName(w), err)
	}
	return held{g: own}, nil
}

// ownBuffers returns free gradient buffers of the shard's own.
func (s *shard) ownBuffers() [][]float32 {
	if n := len(s.spare); n > 0 {
		own := s.spare[n-1]
		s.spare = s.spare[:n-1]
		return own
	}
	return s.newBuffers()
}

// decode checks and decodes m's packets into out, one per segment. The
// push must use the job's compression: the replicas encode with it, so
// anything else is a peer that does not run this job.
func (s *shard) decode(m *messages.PushGradients, out [][]float32) error {
	kind, err := m.GetCompression().Kind()
	if err != nil {
		return err
	}
	want, err := s.jobMode()
	if err != nil {
		return err
	}
	if kind != want.Kind {
		return fmt.Errorf("compressed with %v, the job compresses with %v", kind, want.Kind)
	}
	if len(m.GetGrads()) != 0 {
		return fmt.Errorf("a compressed push with %d gradient tensors besides its packets", len(m.GetGrads()))
	}
	ps := m.GetPackets()
	if len(ps) != len(s.segs) {
		return fmt.Errorf("%d packets, want %d", len(ps), len(s.segs))
	}
	for i, g := range s.segs {
		gp := ps[i]
		if gp.GetName() != g.name || gp.GetOffset() != uint64(g.lo) {
			return fmt.Errorf("packet %d is %q at offset %d, want %q at %d", i, gp.GetName(), gp.GetOffset(), g.name, g.lo)
		}
		if err := gp.Packet(kind, &s.codec.pkt); err != nil {
			return fmt.Errorf("tensor %q at offset %d: %w", g.name, g.lo, err)
		}
		if err := compress.Decode(&s.codec.pkt, out[i]); err != nil {
			return fmt.Errorf("tensor %q at offset %d: %w", g.name, g.lo, err)
		}
	}
	return nil
}
