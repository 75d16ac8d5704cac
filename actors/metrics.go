package actors

import (
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/troupe-ml/troupe/messages"
)

// Stage is what one pipeline stage measured over a window: an epoch, or the
// whole run.
type Stage struct {
	Name          string  // "loader", "augmenter/1", "worker/0", "ps/2"
	Samples       uint64  // samples the stage handled
	Seconds       float64 // length of the window
	SamplesPerSec float64
	// QueueDepth is the most messages that were waiting at the stage, or
	// being handled, at once (for a replica, also the batches it held).
	QueueDepth int
	// WaitFraction is the share of the window the stage sat idle with no
	// input: starved by its upstream (the loader: by its consumers' demand).
	WaitFraction float64
	// BlockedFraction is the share it held input but waited on another
	// peer: a replica waiting for parameters or for its start signal.
	BlockedFraction float64
	// Forwarded and Dropped count the samples a replica's data selection
	// kept for the backward pass and skipped or only scored (both 0
	// without selection).
	Forwarded, Dropped uint64
	// ForwardSamples and BackwardSamples count the samples a replica ran
	// forward and backward passes on, with or without selection (a sample
	// scored and then trained on counts twice forward).
	ForwardSamples, BackwardSamples uint64
	// Steps counts a replica's steps, and PushBytes the bytes of the
	// gradient pushes it sent to the shards over them, as encoded for the
	// wire (whether or not a push crossed one).
	Steps, PushBytes uint64
}

// BytesPerStep is the gradient bytes a replica pushed per step (0 before
// its first step).
func (s Stage) BytesPerStep() float64 {
	if s.Steps == 0 {
		return 0
	}
	return float64(s.PushBytes) / float64(s.Steps)
}

// Metrics are the pipeline's per-stage measurements.
type Metrics struct {
	Loader     Stage
	Augmenters []Stage // empty without augmentation
	Workers    []Stage
	Shards     []Stage
	// MaxInFlight[i] is the most batches the loader ever had in flight
	// towards worker i at once (being made, on the way, or held there).
	// Credit flow control keeps it at or below Config.Prefetch.
	MaxInFlight []int
}

// BytesPerStep is the gradient bytes a replica pushed per step, averaged
// over the replicas' steps.
func (m Metrics) BytesPerStep() float64 {
	var all Stage
	for _, w := range m.Workers {
		all.Steps += w.Steps
		all.PushBytes += w.PushBytes
	}
	return all.BytesPerStep()
}

func newMetrics(p *plan) Metrics {
	m := Metrics{
		Loader:      Stage{Name: loaderName},
		Augmenters:  make([]Stage, p.augmenters),
		Workers:     make([]Stage, p.workers),
		Shards:      make([]Stage, p.shards),
		MaxInFlight: make([]int, p.workers),
	}
	for i := range m.Augmenters {
		m.Augmenters[i].Name = augmenterName(i)
	}
	for i := range m.Workers {
		m.Workers[i].Name = workerName(i)
	}
	for i := range m.Shards {
		m.Shards[i].Name = shardName(i)
	}
	return m
}

// stages lists every stage in a fixed order.
func (m *Metrics) stages() []*Stage {
	out := []*Stage{&m.Loader}
	for _, list := range [][]Stage{m.Augmenters, m.Workers, m.Shards} {
		for i := range list {
			out = append(out, &list[i])
		}
	}
	return out
}

// set records one stage report, found by its stage name; a loader link
// report ("loader/worker/3") gives MaxInFlight.
func (m *Metrics) set(r *messages.Metrics) error {
	name := r.GetStage()
	if w, ok := strings.CutPrefix(name, loaderName+"/"); ok {
		for i := range m.MaxInFlight {
			if w == workerName(i) {
				m.MaxInFlight[i] = int(r.GetQueueDepth())
				return nil
			}
		}
	}
	for _, s := range m.stages() {
		if s.Name == name {
			*s = Stage{
				Name: name, Samples: r.GetSamples(), Seconds: r.GetSeconds(), SamplesPerSec: r.GetSamplesPerSec(),
				QueueDepth: int(r.GetQueueDepth()), WaitFraction: r.GetWaitFraction(), BlockedFraction: r.GetBlockedFraction(),
				Forwarded: r.GetForwarded(), Dropped: r.GetDropped(),
				ForwardSamples: r.GetForwardSamples(), BackwardSamples: r.GetBackwardSamples(),
				Steps: r.GetSteps(), PushBytes: r.GetPushBytes(),
			}
			return nil
		}
	}
	return fmt.Errorf("actors: metrics from unknown stage %q", name)
}

// add folds an epoch's metrics into a run's: counts and times add up,
// depths keep their maximum, fractions are weighted by time.
func (m *Metrics) add(e Metrics) {
	a, b := m.stages(), e.stages()
	for i, s := range a {
		o := b[i]
		total := s.Seconds + o.Seconds
		if total > 0 {
			s.WaitFraction = (s.WaitFraction*s.Seconds + o.WaitFraction*o.Seconds) / total
			s.BlockedFraction = (s.BlockedFraction*s.Seconds + o.BlockedFraction*o.Seconds) / total
			s.SamplesPerSec = float64(s.Samples+o.Samples) / total
		}
		s.Samples += o.Samples
		s.Forwarded += o.Forwarded
		s.Dropped += o.Dropped
		s.ForwardSamples += o.ForwardSamples
		s.BackwardSamples += o.BackwardSamples
		s.Steps += o.Steps
		s.PushBytes += o.PushBytes
		s.Seconds = total
		s.QueueDepth = max(s.QueueDepth, o.QueueDepth)
	}
	for i, n := range e.MaxInFlight {
		m.MaxInFlight[i] = max(m.MaxInFlight[i], n)
	}
}

func (m Metrics) clone() Metrics {
	m.Augmenters = append([]Stage(nil), m.Augmenters...)
	m.Workers = append([]Stage(nil), m.Workers...)
	m.Shards = append([]Stage(nil), m.Shards...)
	m.MaxInFlight = append([]int(nil), m.MaxInFlight...)
	return m
}

// activity is what a stage is doing, for its meter.
type activity int

const (
	idle    activity = iota // no input: waiting on upstream
	busy                    // computing
	blocked                 // holding input, waiting on another peer
)

// meter times a stage's activities over a window that opens at its first
// activity after a report and closes at the next report. It belongs to one
// actor.
type meter struct {
	open    bool
	from    time.Time
	at      time.Time // start of the current activity
	cur     activity
	spent   [3]time.Duration
	samples uint64
	gauge   *depthGauge
	held    int // a replica's own buffered batches, the most at once
	// steps and pushBytes: a replica's steps and the wire size of the
	// gradient pushes they sent.
	steps, pushBytes uint64
}

// set switches to activity a.
func (m *meter) set(a activity) {
	now := time.Now()
	if !m.open {
		m.open, m.from, m.at = true, now, now
	}
	m.spent[m.cur] += now.Sub(m.at)
	m.at, m.cur = now, a
}

// report closes the window, returns it as a stage report and opens a new
// one at the next activity.
func (m *meter) report(stage string) *messages.Metrics {
	m.set(m.cur)
	win := m.at.Sub(m.from)
	r := &messages.Metrics{Stage: stage, Samples: m.samples, Seconds: win.Seconds(), QueueDepth: uint32(m.held),
		Steps: m.steps, PushBytes: m.pushBytes}
	if m.gauge != nil {
		r.QueueDepth = uint32(max(m.held, m.gauge.takeMax()))
	}
	if win > 0 {
		r.SamplesPerSec = float64(m.samples) / win.Seconds()
		r.WaitFraction = float64(m.spent[idle]) / float64(win)
		r.BlockedFraction = float64(m.spent[blocked]) / float64(win)
	}
	*m = meter{cur: m.cur, gauge: m.gauge}
	return r
}

// depthGauge counts the messages in an actor's mailbox, and the most at
// once, as a protoactor mailbox middleware. Senders post from their own
// goroutines, hence the atomics.
type depthGauge struct {
	depth, max atomic.Int64
}

func (g *depthGauge) MailboxStarted() {}
func (g *depthGauge) MailboxEmpty()   {}

func (g *depthGauge) MessagePosted(any) {
	d := g.depth.Add(1)
	for {
		m := g.max.Load()
		if d <= m || g.max.CompareAndSwap(m, d) {
			return
		}
	}
}

func (g *depthGauge) MessageReceived(any) { g.depth.Add(-1) }

// takeMax returns the most seen since the last call and starts again from
// the depth now.
func (g *depthGauge) takeMax() int { return int(g.max.Swap(g.depth.Load())) }
