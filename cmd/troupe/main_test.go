package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/json"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/troupe-ml/troupe/engine/augment"
	"github.com/troupe-ml/troupe/engine/data/datatest"
	"github.com/troupe-ml/troupe/kernels/cuda"
)

func TestMain(m *testing.M) {
	// The cluster tests run this binary as troupe (cluster_test.go).
	if os.Getenv(asTroupeEnv) == "1" {
		os.Exit(runAsTroupe())
	}
	goleak.VerifyTestMain(m)
}

// run executes a command line and returns its exit code, stdout and stderr.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := execute(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// writeIDX writes an IDX file of unsigned bytes, gzip-compressed when gz.
func writeIDX(t *testing.T, path string, magic uint32, dims []int, body []byte, gz bool) {
	t.Helper()
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, magic)
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(body)
	data := b.Bytes()
	if gz {
		var z bytes.Buffer
		w := gzip.NewWriter(&z)
		w.Write(data)
		w.Close()
		data = z.Bytes()
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// synthMNIST writes a small learnable MNIST-shaped data set as IDX files,
// training files gzip-compressed and test files raw.
func synthMNIST(t *testing.T, nTrain, nTest int) string {
	t.Helper()
	dir := t.TempDir()
	labelBytes := func(ls []int32) []byte {
		b := make([]byte, len(ls))
		for i, l := range ls {
			b[i] = byte(l)
		}
		return b
	}
	tr, te := datatest.MNISTLike(nTrain, 5), datatest.MNISTLike(nTest, 6)
	writeIDX(t, filepath.Join(dir, "train-images-idx3-ubyte.gz"), 0x803, []int{nTrain, 28, 28}, tr.Pixels, true)
	writeIDX(t, filepath.Join(dir, "train-labels-idx1-ubyte.gz"), 0x801, []int{nTrain}, labelBytes(tr.Labels), true)
	writeIDX(t, filepath.Join(dir, "t10k-images-idx3-ubyte"), 0x803, []int{nTest, 28, 28}, te.Pixels, false)
	writeIDX(t, filepath.Join(dir, "t10k-labels-idx1-ubyte"), 0x801, []int{nTest}, labelBytes(te.Labels), false)
	return dir
}

func decodeLines(t *testing.T, stdout string) []map[string]any {
	t.Helper()
	var evs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("stdout line is not JSON: %q", line)
		}
		evs = append(evs, m)
	}
	return evs
}

func TestTrainJSONContractAndEval(t *testing.T) {
	dir := synthMNIST(t, 600, 200)
	out := t.TempDir()
	code, stdout, stderr := run(t, "train", "--data", dir, "--out", out, "--epochs", "2", "--batch", "32", "--json", "--threads", "1")
	if code != 0 {
		t.Fatalf("exit %d, stderr: %s", code, stderr)
	}
	evs := decodeLines(t, stdout)
	if len(evs) != 3 {
		t.Fatalf("got %d JSON lines, want 2 epochs + done:\n%s", len(evs), stdout)
	}
	for i, ev := range evs[:2] {
		if ev["event"] != "epoch" || ev["epoch"] != float64(i+1) {
			t.Errorf("line %d: %v, want epoch event %d", i, ev, i+1)
		}
		for _, k := range []string{"train_loss", "test_accuracy", "samples_per_sec"} {
			if _, ok := ev[k].(float64); !ok {
				t.Errorf("epoch line %d lacks number %q: %v", i, k, ev)
			}
		}
	}
	done := evs[2]
	if done["event"] != "done" || done["checkpoint"] != filepath.Join(out, "model.safetensors") {
		t.Fatalf("done line %v", done)
	}
	acc := done["test_accuracy"].(float64)
	if acc < 0.9 {
		t.Errorf("test accuracy %.3f on an easy synthetic task, want ≥ 0.9", acc)
	}
	if acc != evs[1]["test_accuracy"] {
		t.Errorf("done accuracy %v differs from the last epoch's %v", acc, evs[1]["test_accuracy"])
	}
	for _, f := range []string{"model.safetensors", "metrics.jsonl", "curves.png", "job.json"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s missing or empty in --out: %v", f, err)
		}
	}
	metrics, _ := os.ReadFile(filepath.Join(out, "metrics.jsonl"))
	if strings.TrimSpace(string(metrics)) != strings.TrimSpace(stdout) {
		t.Errorf("metrics.jsonl differs from the --json output:\n%s\nvs\n%s", metrics, stdout)
	}

	code, stdout, stderr = run(t, "eval", "--checkpoint", filepath.Join(out, "model.safetensors"), "--data", dir, "--json")
	if code != 0 {
		t.Fatalf("eval exit %d: %s", code, stderr)
	}
	ev := decodeLines(t, stdout)
	if len(ev) != 1 || ev[0]["event"] != "eval" || ev[0]["test_accuracy"] != acc {
		t.Fatalf("eval printed %v, want test_accuracy %v", ev, acc)
	}
}

func TestTrainDeterministic(t *testing.T) {
	dir := synthMNIST(t, 300, 100)
	final := func() any {
		code, stdout, stderr := run(t, "train", "--data", dir, "--out", t.TempDir(), "--epochs", "1", "--batch", "16", "--json", "--threads", "1", "--seed", "7")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		evs := decodeLines(t, stdout)
		return evs[len(evs)-1]["final_train_loss"]
	}
	a, b := final(), final()
	if a != b || a == nil {
		t.Fatalf("two runs with the same seed ended with losses %v and %v", a, b)
	}
}

// TestBadInput checks that every kind of bad input exits non-zero with one
// line naming what is wrong, and never with a Go panic.
func TestBadInput(t *testing.T) {
	good := synthMNIST(t, 100, 50)
	tmp := t.TempDir()
	copyDir := func(name string) string {
		d := filepath.Join(tmp, name)
		os.MkdirAll(d, 0o755)
		ents, _ := os.ReadDir(good)
		for _, e := range ents {
			b, _ := os.ReadFile(filepath.Join(good, e.Name()))
			os.WriteFile(filepath.Join(d, e.Name()), b, 0o644)
		}
		return d
	}
	truncated := copyDir("truncated")
	b, _ := os.ReadFile(filepath.Join(truncated, "t10k-images-idx3-ubyte"))
	os.WriteFile(filepath.Join(truncated, "t10k-images-idx3-ubyte"), b[:len(b)/2], 0o644)
	magic := copyDir("magic")
	writeIDX(t, filepath.Join(magic, "t10k-images-idx3-ubyte"), 0x901, []int{50, 28, 28}, make([]byte, 50*784), false)
	huge := copyDir("huge")
	writeIDX(t, filepath.Join(huge, "t10k-images-idx3-ubyte"), 0x803, []int{1 << 30, 28, 28}, make([]byte, 784), false)
	labels := copyDir("labels")
	writeIDX(t, filepath.Join(labels, "t10k-labels-idx1-ubyte"), 0x801, []int{50}, bytes.Repeat([]byte{11}, 50), false)
	count := copyDir("count")
	writeIDX(t, filepath.Join(count, "t10k-labels-idx1-ubyte"), 0x801, []int{49}, make([]byte, 49), false)

	cfg := filepath.Join(tmp, "job.yaml")
	os.WriteFile(cfg, []byte("epochs: 1\nlearning_rate: 0.1\n"), 0o644)
	ckDir := t.TempDir()
	if code, _, stderr := run(t, "train", "--data", good, "--out", ckDir, "--epochs", "1", "--json"); code != 0 {
		t.Fatalf("training the checkpoint: %s", stderr)
	}
	ck, _ := os.ReadFile(filepath.Join(ckDir, "model.safetensors"))
	truncCk := filepath.Join(tmp, "trunc.safetensors")
	os.WriteFile(truncCk, ck[:len(ck)-100], 0o644)

	cases := []struct {
		name string
		args []string
		want string // substring of the one error line
	}{
		{"truncated idx", []string{"train", "--data", truncated}, "t10k-images-idx3-ubyte"},
		{"wrong magic", []string{"train", "--data", magic}, "magic"},
		{"header claims too much", []string{"train", "--data", huge}, "t10k-images-idx3-ubyte"},
		{"label out of range", []string{"train", "--data", labels}, "t10k-labels-idx1-ubyte"},
		{"count mismatch", []string{"train", "--data", count}, "t10k-labels-idx1-ubyte"},
		{"unknown config field", []string{"train", "--data", good, "--config", cfg}, "learning_rate"},
		{"negative lr", []string{"train", "--data", good, "--lr", "-0.1"}, "lr"},
		{"zero batch", []string{"train", "--data", good, "--batch", "0"}, "batch"},
		{"unknown optimizer", []string{"train", "--optimizer", "sgdd"}, "sgdd"},
		{"unknown model", []string{"train", "--data", good, "--model", "resnet"}, "resnet"},
		{"missing data", []string{"train", "--data", filepath.Join(tmp, "nowhere")}, "nowhere"},
		{"truncated checkpoint", []string{"eval", "--data", good, "--checkpoint", truncCk}, "trunc.safetensors"},
		{"checkpoint shape mismatch", []string{"eval", "--data", good, "--checkpoint", filepath.Join(ckDir, "model.safetensors"), "--model", "lenet5"}, "layers.0.weight"},
		{"missing checkpoint", []string{"eval", "--data", good, "--checkpoint", filepath.Join(tmp, "none.safetensors")}, "none.safetensors"},
		{"unknown command", []string{"fly"}, "fly"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := c.args
			if args[0] == "train" {
				args = append(args, "--out", t.TempDir())
			}
			code, _, stderr := run(t, args...)
			if code == 0 {
				t.Fatal("exit code 0, want failure")
			}
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			last := lines[len(lines)-1]
			if !strings.HasPrefix(last, "troupe: ") || !strings.Contains(last, c.want) {
				t.Errorf("error line %q does not name %q", last, c.want)
			}
			if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine ") {
				t.Errorf("stderr shows a panic:\n%s", stderr)
			}
		})
	}
}

func TestBenchTrainJSON(t *testing.T) {
	dir := synthMNIST(t, 640, 100)
	code, stdout, stderr := run(t, "bench", "train", "--data", dir, "--batch", "32", "--threads", "1", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	evs := decodeLines(t, stdout)
	if len(evs) != 1 {
		t.Fatalf("want one JSON line, got %q", stdout)
	}
	ev := evs[0]
	if ev["bench"] != "train" || ev["model"] != "mlp" || ev["batch"] != float64(32) || ev["threads"] != float64(1) {
		t.Errorf("bench line %v", ev)
	}
	if sps, _ := ev["samples_per_sec"].(float64); sps <= 0 {
		t.Errorf("samples_per_sec %v, want > 0", ev["samples_per_sec"])
	}
	if a, ok := ev["allocs_per_step"].(float64); !ok || a < 0 {
		t.Errorf("allocs_per_step %v", ev["allocs_per_step"])
	}
}

func TestTrainPipelineJSON(t *testing.T) {
	dir := synthMNIST(t, 640, 200)
	out := t.TempDir()
	code, stdout, stderr := run(t, "train", "--data", dir, "--out", out, "--epochs", "2", "--batch", "32", "--lr", "0.02",
		"--workers", "2", "--ps-shards", "2", "--sync", "ssp", "--staleness", "1", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	evs := decodeLines(t, stdout)
	if len(evs) != 3 || evs[2]["event"] != "done" {
		t.Fatalf("want 2 epoch lines and done, got:\n%s", stdout)
	}
	if acc := evs[2]["test_accuracy"].(float64); acc < 0.9 {
		t.Errorf("pipeline test accuracy %.3f, want ≥ 0.9 on the easy task", acc)
	}
	stages, ok := evs[1]["stages"].([]any)
	if !ok || len(stages) < 5 { // loader, 2 workers, 2 shards
		t.Fatalf("epoch line lacks per-stage metrics: %v", evs[1])
	}
	for _, s := range stages {
		m := s.(map[string]any)
		if _, ok := m["wait_fraction"].(float64); !ok || m["stage"] == "" {
			t.Errorf("stage metrics %v", m)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "model.safetensors")); err != nil {
		t.Errorf("pipeline wrote no checkpoint: %v", err)
	}
	code, stdout, stderr = run(t, "eval", "--checkpoint", filepath.Join(out, "model.safetensors"), "--data", dir, "--json")
	if code != 0 {
		t.Fatalf("eval exit %d: %s", code, stderr)
	}
	if ev := decodeLines(t, stdout); ev[0]["test_accuracy"] != evs[2]["test_accuracy"] {
		t.Errorf("eval %v, training reported %v", ev[0]["test_accuracy"], evs[2]["test_accuracy"])
	}
}

func TestBenchPipelineJSON(t *testing.T) {
	dir := synthMNIST(t, 640, 100)
	code, stdout, stderr := run(t, "bench", "pipeline", "--data", dir, "--batch", "32", "--threads", "1", "--rounds", "3", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	evs := decodeLines(t, stdout)
	if len(evs) != 1 || evs[0]["bench"] != "pipeline" {
		t.Fatalf("want one pipeline line, got %q", stdout)
	}
	loop, _ := evs[0]["loop_samples_per_sec"].(float64)
	pipe, _ := evs[0]["pipeline_samples_per_sec"].(float64)
	over, _ := evs[0]["overhead"].(float64)
	lo, _ := evs[0]["overhead_min"].(float64)
	hi, _ := evs[0]["overhead_max"].(float64)
	if loop <= 0 || pipe <= 0 || !(lo <= over && over <= hi) || evs[0]["rounds"] != float64(3) {
		t.Errorf("pipeline bench line %v is inconsistent", evs[0])
	}
}

func TestBenchGemmJSON(t *testing.T) {
	code, stdout, stderr := run(t, "bench", "gemm", "--threads", "1", "--rounds", "1", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	evs := decodeLines(t, stdout)
	if len(evs) < 10 {
		t.Fatalf("want a line per product, got %d", len(evs))
	}
	for _, ev := range evs {
		if ev["bench"] != "gemm" || ev["threads"] != float64(1) {
			t.Errorf("line %v", ev)
		}
		if g, _ := ev["gflops"].(float64); g <= 0 {
			t.Errorf("gflops %v in %v", ev["gflops"], ev)
		}
	}
	if code, _, _ := run(t, "bench", "gemm", "--impl", "sse9"); code == 0 {
		t.Error("an unknown implementation was accepted")
	}
}

// TestCUDAWithoutGPU checks what a machine without a GPU says for every
// command that takes --device cuda: one clear line, a non-zero exit, no
// panic.
func TestCUDAWithoutGPU(t *testing.T) {
	if d, err := cuda.Open(cuda.Options{}); err == nil {
		d.Close()
		t.Skip("a GPU is present")
	}
	dir := synthMNIST(t, 64, 32)
	for _, args := range [][]string{
		{"train", "--device", "cuda", "--data", dir, "--epochs", "1"},
		{"bench", "train", "--device", "cuda", "--data", dir},
		{"bench", "gemm", "--device", "cuda"},
	} {
		code, _, stderr := run(t, args...)
		if code == 0 || !strings.Contains(stderr, "no CUDA device") || strings.Contains(stderr, "panic") {
			t.Errorf("troupe %v: exit %d, stderr %q; want a non-zero exit and a no-CUDA-device message", args, code, stderr)
		}
	}
}

func TestAugmentPreview(t *testing.T) {
	dir := synthMNIST(t, 64, 32)
	out := filepath.Join(t.TempDir(), "grid.png")
	code, stdout, stderr := run(t, "augment", "preview", "--augment", "affine(degrees=30),cutout", "--data", dir,
		"--samples", "3", "--variants", "4", "--scale", "2", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "wrote") {
		t.Errorf("stdout %q", stdout)
	}
	img := decodePNG(t, out)
	// 5 columns and 3 rows of 28×2-pixel cells with 2-pixel gaps.
	if b := img.Bounds(); b.Dx() != 5*58+2 || b.Dy() != 3*58+2 {
		t.Errorf("image %v, want %dx%d", b, 5*58+2, 3*58+2)
	}
	// The original (column 0) and an augmented copy (column 1) differ.
	same := true
	for y := 2; y < 58; y++ {
		for x := 2; x < 58; x++ {
			if img.At(x, y) != img.At(x+58, y) {
				same = false
			}
		}
	}
	if same {
		t.Error("augmented sample identical to the original")
	}
	// A batch mix blends each row with another: the mixed column differs
	// from the original too.
	mixOut := filepath.Join(t.TempDir(), "mix.png")
	if code, _, stderr := run(t, "augment", "preview", "--augment", "mixup(alpha=1)", "--data", dir,
		"--samples", "3", "--variants", "1", "--scale", "1", "--out", mixOut); code != 0 {
		t.Fatalf("mixup preview: exit %d: %s", code, stderr)
	}
	if mixed := decodePNG(t, mixOut); sameCells(mixed, 1, 28+2, 30) {
		t.Error("mixup preview: the mixed column equals the originals")
	}
	for _, args := range [][]string{
		{"augment", "preview", "--data", dir},                                    // no --out
		{"augment", "preview", "--augment", "spin", "--data", dir, "--out", out}, // unknown transform
		{"augment"},
	} {
		if code, _, stderr := run(t, args...); code == 0 || strings.Count(strings.TrimSpace(stderr), "\n") > 8 {
			t.Errorf("troupe %v: exit %d, stderr %q", args, code, stderr)
		}
	}
}

// decodePNG reads the PNG image at path.
func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// sameCells reports whether column 0 and column c of a preview grid with
// cells of the given pitch (cell size plus gap) hold the same pixels over
// every row of the image.
func sameCells(img image.Image, c, pitch, cell int) bool {
	b := img.Bounds()
	for y := 2; y < b.Dy(); y++ {
		for x := 2; x < 2+cell; x++ {
			if img.At(x, y) != img.At(x+c*pitch, y) {
				return false
			}
		}
	}
	return true
}

func TestBenchAugmentJSON(t *testing.T) {
	dir := synthMNIST(t, 64, 32)
	code, stdout, stderr := run(t, "bench", "augment", "--data", dir, "--seconds", "0.01", "--augment", "affine,noise", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if want := 2 * (len(augment.Names()) + 1); len(lines) != want {
		t.Fatalf("%d lines, want %d", len(lines), want)
	}
	for _, l := range lines {
		var r benchAugmentResult
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		if r.Bench != "augment" || r.Augment == "" || (r.Augmenters != 1 && r.Augmenters != 2) || !(r.SamplesPerSec > 0) {
			t.Errorf("bad line %s", l)
		}
	}
}

// TestTrainResume stops nothing but resumes a finished 2-epoch job for a
// third epoch: only epoch 3 runs, from the checkpoint's step, and the
// output folder's metrics keep the earlier epochs.
func TestTrainResume(t *testing.T) {
	dir := synthMNIST(t, 300, 100)
	out := t.TempDir()
	if code, _, stderr := run(t, "train", "--data", dir, "--out", out, "--epochs", "2", "--batch", "32", "--json", "--threads", "1"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	code, stdout, stderr := run(t, "train", "--resume", out, "--epochs", "3", "--data", dir, "--json")
	if code != 0 {
		t.Fatalf("resume: exit %d: %s", code, stderr)
	}
	evs := decodeLines(t, stdout)
	if len(evs) != 2 || evs[0]["epoch"] != float64(3) || evs[0]["step"] != float64(30) {
		t.Fatalf("resumed run printed %v, want epoch 3 at step 30 (10 steps per epoch), then done", evs)
	}
	metrics, err := os.ReadFile(filepath.Join(out, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var epochs []float64
	for _, ev := range decodeLines(t, string(metrics)) {
		if ev["event"] == "epoch" {
			epochs = append(epochs, ev["epoch"].(float64))
		}
	}
	if len(epochs) != 3 || epochs[0] != 1 || epochs[2] != 3 {
		t.Errorf("metrics.jsonl epochs %v, want 1 2 3", epochs)
	}
	for _, args := range [][]string{
		{"train", "--resume", out, "--data", dir},                         // already at epoch 3 of 3
		{"train", "--resume", t.TempDir(), "--data", dir},                 // no checkpoint
		{"train", "--resume", out, "--config", "job.yaml", "--data", dir}, // both
	} {
		if code, _, stderr := run(t, args...); code == 0 || strings.Contains(stderr, "panic") {
			t.Errorf("troupe %v: exit %d, %s", args, code, stderr)
		}
	}
}
