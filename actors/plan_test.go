package actors

import (
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/troupe-ml/troupe/actors/core"
	"github.com/troupe-ml/troupe/engine/nn"
	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/tensor"
	"github.com/troupe-ml/troupe/messages"
)

func fakeParams(sizes ...int) []nn.Param {
	ps := make([]nn.Param, len(sizes))
	for i, n := range sizes {
		ps[i] = nn.Param{Name: string(rune('a' + i)), T: tensor.New(n)}
	}
	return ps
}

// The shards' ranges cover the flattened parameters once, in order, and
// differ in size by at most one element.
func TestPartitionCoversOnceBalanced(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		sizes := make([]int, 1+r.IntN(6))
		total := 0
		for i := range sizes {
			sizes[i] = 1 + r.IntN(20)
			total += sizes[i]
		}
		k := 1 + r.IntN(total)
		parts, err := partition(fakeParams(sizes...), k)
		if err != nil {
			t.Fatal(err)
		}
		pi, off := 0, 0
		lo, hi := total, 0
		for s, segs := range parts {
			n := 0
			for _, g := range segs {
				if g.param != pi || g.lo != off || g.hi <= g.lo || g.hi > sizes[pi] {
					t.Fatalf("sizes %v, %d shards: shard %d segment %+v, want param %d from %d", sizes, k, s, g, pi, off)
				}
				n += g.len()
				off = g.hi
				if off == sizes[pi] {
					pi, off = pi+1, 0
				}
			}
			lo, hi = min(lo, n), max(hi, n)
		}
		if pi != len(sizes) || hi-lo > 1 {
			t.Fatalf("sizes %v, %d shards: covered %d params, shard sizes from %d to %d", sizes, k, pi, lo, hi)
		}
	}
	if _, err := partition(fakeParams(2, 1), 4); err == nil {
		t.Error("4 shards for 3 parameters accepted")
	}
}

func TestMatchTensorsNamesTheMismatch(t *testing.T) {
	segs := []segment{{param: 0, name: "w", lo: 2, hi: 5}}
	good := []*messages.NamedTensor{{Name: "w", Offset: 2, Tensor: messages.FromFloat32([]float32{1, 2, 3}, []int{3})}}
	if v, err := matchTensors(nil, segs, good); err != nil || len(v[0]) != 3 {
		t.Fatalf("matching slice: %v, %v", v, err)
	}
	for _, tc := range []struct {
		ts   []*messages.NamedTensor
		want string
	}{
		{nil, "0 tensors"},
		{[]*messages.NamedTensor{{Name: "b", Offset: 2, Tensor: good[0].Tensor}}, `"b"`},
		{[]*messages.NamedTensor{{Name: "w", Offset: 0, Tensor: good[0].Tensor}}, "offset 0"},
		{[]*messages.NamedTensor{{Name: "w", Offset: 2, Tensor: messages.FromFloat32([]float32{1}, []int{1})}}, "1 values"},
		{[]*messages.NamedTensor{{Name: "w", Offset: 2}}, "nil tensor"},
	} {
		if _, err := matchTensors(nil, segs, tc.ts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one saying %s", tc.ts, err, tc.want)
		}
	}
}

func TestReorderRestoresLinkOrder(t *testing.T) {
	r := reorder{early: map[uint64]*messages.Batch{}}
	for _, s := range []uint64{2, 0, 1} {
		if err := r.add(&messages.Batch{LinkSeq: s}, 0, 3); err != nil {
			t.Fatal(err)
		}
	}
	for want := range uint64(3) {
		if b := r.next(want); b == nil || b.LinkSeq != want {
			t.Fatalf("next(%d) = %v", want, b)
		}
	}
	if r.next(3) != nil {
		t.Error("next beyond the held batches returned one")
	}
	if err := r.add(&messages.Batch{LinkSeq: 1}, 3, 3); !errors.Is(err, core.ErrDuplicate) {
		t.Errorf("a batch behind the link: %v, want ErrDuplicate", err)
	}
	if err := r.add(&messages.Batch{LinkSeq: 6}, 3, 3); !errors.Is(err, core.ErrProtocol) {
		t.Errorf("a batch beyond the window: %v, want ErrProtocol", err)
	}
}

func TestMetricsAddWeighsByTime(t *testing.T) {
	p := &plan{workers: 1, shards: 1}
	run := newMetrics(p)
	e := newMetrics(p)
	for _, r := range []*messages.Metrics{
		{Stage: "loader", Samples: 100, Seconds: 1, WaitFraction: 0.5, QueueDepth: 3},
		{Stage: "loader/worker/0", QueueDepth: 2},
		{Stage: "worker/0", Samples: 100, Seconds: 1, BlockedFraction: 0.2},
	} {
		if err := e.set(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.set(&messages.Metrics{Stage: "selector"}); err == nil {
		t.Error("metrics of an unknown stage accepted")
	}
	run.add(e)
	e.Loader = Stage{Name: "loader", Samples: 300, Seconds: 3, WaitFraction: 0.1, QueueDepth: 1}
	e.MaxInFlight[0] = 1
	run.add(e)
	l := run.Loader
	if l.Samples != 400 || l.Seconds != 4 || l.SamplesPerSec != 100 || l.QueueDepth != 3 || l.WaitFraction != 0.2 {
		t.Errorf("loader over the run: %+v, want 400 samples in 4 s, depth 3, waiting 0.2", l)
	}
	if run.MaxInFlight[0] != 2 {
		t.Errorf("max in flight %d, want 2", run.MaxInFlight[0])
	}
}

func TestConfigErrors(t *testing.T) {
	ds := synth(8, 1)
	small := &spec.Model{Input: []int{1, 2, 2}, Layers: []spec.Layer{{Type: spec.Flatten}, {Type: spec.Linear, Out: 2}}}
	for _, tc := range []struct {
		name string
		cfg  func(*Config)
		want string
	}{
		{"workers", func(c *Config) { c.Workers = -1 }, "Workers -1"},
		{"shards", func(c *Config) { c.PSShards = 10000000 }, "10000000 parameter-server shards"},
		{"staleness", func(c *Config) { c.Staleness = 2 }, "staleness 2"},
		{"augment", func(c *Config) { c.Augment = "warp" }, "Config.Augment"},
		{"job", func(c *Config) { c.Job.Batch = 0 }, "batch"},
		{"model", func(c *Config) { c.Job.Model, c.Job.ModelSpec = "", small }, "model wants [1 2 2]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Job: tinyJob(1)}
			tc.cfg(&cfg)
			if _, _, err := Run(t.Context(), cfg, ds, ds); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
	if _, _, err := Run(t.Context(), Config{Job: tinyJob(1)}, ds, nil); err == nil || !strings.Contains(err.Error(), "test data set") {
		t.Errorf("no test set: %v", err)
	}
}

func TestConfigFromJob(t *testing.T) {
	job := spec.Default()
	job.Workers, job.PSShards, job.Sync, job.Staleness, job.Augment = 3, 2, spec.SSP, 4, "noise"
	cfg, err := ConfigFromJob(job)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Workers != 3 || cfg.PSShards != 2 || cfg.Sync != core.SSP || cfg.Staleness != 4 || cfg.Augment != "noise" ||
		cfg.Augmenters != job.Augmenters || cfg.Prefetch != job.Prefetch {
		t.Errorf("config %+v does not carry the job's pipeline fields", cfg)
	}
	job.Workers = 0
	if cfg, _ := ConfigFromJob(job); cfg.Workers != 1 {
		t.Errorf("workers 0 became %d, want 1", cfg.Workers)
	}
	job.Sync = "bulk"
	if _, err := ConfigFromJob(job); err == nil || !strings.Contains(err.Error(), "sync") {
		t.Errorf("unknown sync: %v, want an error naming the field", err)
	}
}

// protoactor's own log goes to Config.Logger, never to standard output.
func TestLoggerReceivesProtoactorLog(t *testing.T) {
	var buf strings.Builder
	cfg := Config{Job: tinyJob(1), Logger: slog.New(slog.NewTextHandler(&lockedWriter{w: &buf}, nil))}
	if _, _, err := Run(t.Context(), cfg, synth(64, 1), synth(10, 2)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "lib=protoactor") {
		t.Errorf("logger got %q, want protoactor's records", buf.String())
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
