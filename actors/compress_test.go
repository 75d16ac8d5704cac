package actors

import (
	"math"
	"strings"
	"testing"

	"github.com/troupe-ml/troupe/engine/compress"
	"github.com/troupe-ml/troupe/messages"
)

// A job written before compression existed has no compress setting; it
// must train exactly as compress none, which pushes plain tensors. (One
// replica: with several, which replica gets which batch depends on timing.)
func TestCompressUnsetIsNone(t *testing.T) {
	noLeak(t)
	trainSet, testSet := synth(128, 1), synth(50, 2)
	params := map[string]map[string][]float32{}
	for _, setting := range []string{"", "none"} {
		job := tinyJob(1)
		job.Compress = setting
		job.Out = t.TempDir()
		res, met, err := Run(t.Context(), Config{Job: job, Workers: 1, PSShards: 2}, trainSet, testSet)
		if err != nil {
			t.Fatal(err)
		}
		if met.BytesPerStep() <= 0 {
			t.Errorf("compress %q: %v bytes per step, want > 0", setting, met.BytesPerStep())
		}
		params[setting] = checkpointParams(t, res.Checkpoint)
	}
	sameBits(t, params["none"], params[""])
}

// Every mode trains the small model about as well as none, and the pushes
// shrink by what the mode promises, as measured on the encoded messages.
func TestCompressedPushesTrain(t *testing.T) {
	noLeak(t)
	trainSet, testSet := synth(640, 1), synth(200, 2)
	run := func(setting string) (acc, bytes float64) {
		t.Helper()
		job := tinyJob(3)
		job.Compress = setting
		res, met, err := Run(t.Context(), Config{Job: job, Workers: 2, PSShards: 2}, trainSet, testSet)
		if err != nil {
			t.Fatalf("compress %s: %v", setting, err)
		}
		for _, w := range met.Workers {
			if w.Steps == 0 || w.PushBytes == 0 {
				t.Errorf("compress %s: %s reports %d steps and %d push bytes", setting, w.Name, w.Steps, w.PushBytes)
			}
		}
		return res.Epochs[len(res.Epochs)-1].TestAccuracy, met.BytesPerStep()
	}
	baseAcc, baseBytes := run("none")
	if baseAcc < 0.9 {
		t.Fatalf("compress none: accuracy %.3f, want ≥ 0.9 on an easy task", baseAcc)
	}
	for _, tc := range []struct {
		setting string
		shrink  float64 // bytes per step of none over the mode's, at least
	}{
		{"fp16", 1.9}, {"bf16", 1.9}, {"int8", 3.5}, {"topk:0.05", 8},
	} {
		acc, bytes := run(tc.setting)
		t.Logf("compress %s: accuracy %.3f (none %.3f), %.0f bytes per step (none %.0f)", tc.setting, acc, baseAcc, bytes, baseBytes)
		if acc < baseAcc-0.05 {
			t.Errorf("compress %s: accuracy %.3f, want within 0.05 of none's %.3f", tc.setting, acc, baseAcc)
		}
		if r := baseBytes / bytes; !(r >= tc.shrink) {
			t.Errorf("compress %s: pushes %.1fx smaller than none's, want ≥ %.1fx", tc.setting, r, tc.shrink)
		}
	}
}

// A shard checks every packet of a compressed push before it keeps any of
// it, and names the tensor and the peer when one is wrong.
func TestShardRejectsMalformedPackets(t *testing.T) {
	job := tinyJob(1)
	job.Compress = "int8"
	p, err := newPlan(Config{Job: job, Workers: 2, PSShards: 1}, synth(64, 1), synth(10, 2))
	if err != nil {
		t.Fatal(err)
	}
	s := newShard(p, nil, newOutcome(), 0, &depthGauge{})
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	// A valid push, as a replica encodes it.
	valid := func() *messages.PushGradients {
		m := &messages.PushGradients{Worker: 1, Compression: messages.Compression_COMPRESSION_INT8}
		for _, g := range s.segs {
			grad := make([]float32, g.len())
			for i := range grad {
				grad[i] = float32(math.Sin(float64(i)))
			}
			enc, err := compress.NewEncoder(compress.Mode{Kind: compress.Int8}, len(grad), 1)
			if err != nil {
				t.Fatal(err)
			}
			var pkt compress.Packet
			if err := enc.Encode(grad, &pkt); err != nil {
				t.Fatal(err)
			}
			gp := &messages.GradPacket{Name: g.name, Offset: uint64(g.lo)}
			gp.SetPacket(&pkt)
			m.Packets = append(m.Packets, gp)
		}
		return m
	}
	h, err := s.received(1, valid())
	if err != nil {
		t.Fatalf("a valid push: %v", err)
	}
	for i, g := range h.g {
		for j, v := range g {
			if want := math.Sin(float64(j)); math.Abs(float64(v)-want) > 1.01/127 {
				t.Fatalf("decoded %s[%d] = %v, want %v within one int8 step", s.segs[i].name, j, v, want)
			}
		}
	}
	last := len(s.segs) - 1
	name := s.segs[last].name
	for _, tc := range []struct {
		what  string
		spoil func(m *messages.PushGradients)
		want  string
	}{
		{"NaN scale", func(m *messages.PushGradients) { copy(m.Packets[last].Scales, []byte{0, 0, 0xc0, 0x7f}) }, "scale 0 is NaN"},
		{"short codes", func(m *messages.PushGradients) { m.Packets[last].Data = m.Packets[last].Data[1:] }, "want 10 codes"},
		{"wrong tensor", func(m *messages.PushGradients) { m.Packets[last].Name = "other" }, `is "other" at offset 0`},
		{"other mode", func(m *messages.PushGradients) { m.Compression = messages.Compression_COMPRESSION_FP16 }, "the job compresses with int8"},
		{"unknown mode", func(m *messages.PushGradients) { m.Compression = 42 }, "unknown compression 42"},
		{"missing packet", func(m *messages.PushGradients) { m.Packets = m.Packets[:last] }, "packets, want"},
		{"uncompressed", func(m *messages.PushGradients) {
			m.Compression, m.Packets = messages.Compression_COMPRESSION_NONE, nil
		}, "uncompressed, the job compresses with int8"},
	} {
		m := valid()
		tc.spoil(m)
		err := s.push(nil, m)
		if err == nil || !strings.Contains(err.Error(), "worker/1") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one naming worker/1 and containing %q", tc.what, err, tc.want)
		}
		if tc.what == "NaN scale" || tc.what == "short codes" {
			if !strings.Contains(err.Error(), name) {
				t.Errorf("%s: error %v does not name tensor %q", tc.what, err, name)
			}
		}
		if len(s.pushed) != 0 {
			t.Fatalf("%s: the shard holds %d pushes after rejecting one", tc.what, len(s.pushed))
		}
	}
}

// The job refuses an unknown mode before anything starts.
func TestCompressSettingValidated(t *testing.T) {
	job := tinyJob(1)
	job.Compress = "topk:2"
	_, err := newPlan(Config{Job: job}, synth(64, 1), synth(10, 2))
	if err == nil || !strings.Contains(err.Error(), "compress: topk fraction") {
		t.Fatalf("compress topk:2: error %v, want one naming compress", err)
	}
}
