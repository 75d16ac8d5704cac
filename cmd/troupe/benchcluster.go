package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/troupe-ml/troupe/actors/cluster"
	"github.com/troupe-ml/troupe/engine/compress"
	"github.com/troupe-ml/troupe/engine/data"
	"github.com/troupe-ml/troupe/engine/nn"
)

// benchClusterResult is a JSON line of `troupe bench cluster`: one short
// run of a launched cluster.
type benchClusterResult struct {
	Bench         string  `json:"bench"` // "cluster"
	Compress      string  `json:"compress"`
	Workers       int     `json:"workers"`
	PS            int     `json:"ps"`
	Model         string  `json:"model"`
	Batch         int     `json:"batch"`
	Steps         int     `json:"steps"` // per worker
	SamplesPerSec float64 `json:"samples_per_sec"`
	BytesPerStep  float64 `json:"bytes_per_step"` // per worker, as the job reports it
	Seconds       float64 `json:"seconds"`        // the whole launch, start-up included
}

// benchRawResult is the reference line: plain protoactor remote sends of one
// push's size between two endpoints on loopback.
type benchRawResult struct {
	Bench          string  `json:"bench"` // "cluster-raw"
	Compress       string  `json:"compress"`
	MessageBytes   int     `json:"message_bytes"`
	Messages       int     `json:"messages"`
	Window         int     `json:"window"`
	MessagesPerSec float64 `json:"messages_per_sec"`
	MBPerSec       float64 `json:"mb_per_sec"`
}

// runBenchCluster launches, for each compression mode and worker count, a
// cluster on loopback as `troupe launch` does, trains --steps steps per
// worker on the first samples of MNIST, and reports the job's samples/s
// and bytes per step; then, per mode, the raw protoactor throughput for
// messages of that mode's push size.
func runBenchCluster(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench cluster", flag.ContinueOnError)
	modes := fs.String("modes", "none,fp16,bf16,int8,topk:0.01", "compression modes, comma-separated")
	workerList := fs.String("workers", "1,2", "worker counts, comma-separated")
	ps := fs.Int("ps", 1, "parameter-server nodes")
	steps := fs.Int("steps", 100, "optimizer steps per worker in each run (a fraction of an MNIST epoch)")
	batch := fs.Int("batch", 64, "batch size")
	model := fs.String("model", "mlp", "model preset: "+strings.Join(nn.PresetNames(), ", "))
	threads := fs.Int("threads", 0, "CPU threads of each worker node (0: the cores divided among the workers)")
	rawMessages := fs.Int("raw-messages", 200, "messages per raw protoactor reference measurement")
	dataDir := fs.String("data", "", "MNIST directory")
	js := fs.Bool("json", false, "print one JSON object per line")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	var ms []string
	for _, m := range strings.Split(*modes, ",") {
		if _, err := compress.Parse(m); err != nil {
			return fmt.Errorf("bench cluster: --modes: %w", err)
		}
		ms = append(ms, strings.TrimSpace(m))
	}
	var ws []int
	for _, w := range strings.Split(*workerList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(w))
		if err != nil || n < 1 {
			return fmt.Errorf("bench cluster: --workers %q: want counts ≥ 1: %w", *workerList, errUsage)
		}
		ws = append(ws, n)
	}
	switch {
	case *ps < 1 || *steps < 1 || *batch < 1 || *rawMessages < 1:
		return fmt.Errorf("bench cluster: --ps, --steps, --batch and --raw-messages must be ≥ 1: %w", errUsage)
	}
	if _, err := nn.Preset(*model); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("bench cluster: finding this program: %w", err)
	}
	dir, err := data.LocateMNIST(*dataDir)
	if err != nil {
		return err
	}
	trainSet, testSet, err := data.LoadMNIST(dir)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "troupe-bench-cluster-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	pushBytes := map[string]int{} // per mode: one push, from its first run
	for _, w := range ws {
		sub := filepath.Join(tmp, fmt.Sprintf("w%d", w))
		if err := writeMNISTSubset(sub, trainSet, min(trainSet.N, *steps**batch*w), testSet, min(testSet.N, 1000)); err != nil {
			return err
		}
		t := *threads
		if t <= 0 {
			t = max(1, runtime.NumCPU()/w)
		}
		for _, mode := range ms {
			r, err := benchClusterRun(ctx, exe, sub, mode, w, *ps, *batch, *model, t)
			if err != nil {
				return err
			}
			r.Steps = *steps
			if _, ok := pushBytes[mode]; !ok {
				pushBytes[mode] = int(r.BytesPerStep) / *ps
			}
			if err := writeBench(stdout, *js, r, fmt.Sprintf("cluster %-10s %d worker(s) %d ps: %8.0f samples/s, %10.0f bytes per step per worker",
				mode, w, *ps, r.SamplesPerSec, r.BytesPerStep)); err != nil {
				return err
			}
		}
	}
	for _, mode := range ms {
		r, err := benchRaw(ctx, pushBytes[mode], *rawMessages)
		if err != nil {
			return err
		}
		r.Compress = mode
		if err := writeBench(stdout, *js, r, fmt.Sprintf("raw protoactor %-10s %9d-byte messages: %8.0f messages/s, %8.1f MB/s",
			mode, r.MessageBytes, r.MessagesPerSec, r.MBPerSec)); err != nil {
			return err
		}
	}
	return nil
}

// benchClusterRun launches one cluster for one epoch of the subset in dir
// and reads the job's epoch line.
func benchClusterRun(ctx context.Context, exe, dir, mode string, workers, ps, batch int, model string, threads int) (benchClusterResult, error) {
	var out, errOut bytes.Buffer
	start := time.Now()
	err := cluster.Launch(ctx, cluster.LaunchConfig{
		Exe: exe, Workers: workers, PS: ps,
		Train: []string{"--data", dir, "--model", model, "--epochs", "1", "--batch", strconv.Itoa(batch),
			"--compress", mode, "--json", "--out", ""},
		Node:   []string{"--threads", strconv.Itoa(threads)},
		Stdout: &out, Stderr: &errOut,
	})
	res := benchClusterResult{Bench: "cluster", Compress: mode, Workers: workers, PS: ps, Model: model, Batch: batch,
		Seconds: time.Since(start).Seconds()}
	if err != nil {
		return res, fmt.Errorf("bench cluster: compress %s, %d workers: %w; its output:\n%s", mode, workers, err, tail(errOut.String(), 20))
	}
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ev epochEvent
		if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Event == "epoch" {
			res.SamplesPerSec, res.BytesPerStep = ev.SamplesPerSec, ev.BytesPerStep
			return res, nil
		}
	}
	return res, fmt.Errorf("bench cluster: compress %s, %d workers: no epoch line on the job's output:\n%s", mode, workers, tail(out.String(), 20))
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// writeMNISTSubset writes the first nTrain and nTest samples of the sets
// as MNIST IDX files into dir, where every process of a launch finds them
// through --data.
func writeMNISTSubset(dir string, trainSet *data.Dataset, nTrain int, testSet *data.Dataset, nTest int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		ds   *data.Dataset
		n    int
	}{{"train", trainSet, nTrain}, {"t10k", testSet, nTest}} {
		size := f.ds.SampleSize()
		if err := writeIDXFile(filepath.Join(dir, f.name+"-images-idx3-ubyte"), 0x803, []int{f.n, f.ds.H, f.ds.W}, f.ds.Pixels[:f.n*size]); err != nil {
			return err
		}
		labels := make([]byte, f.n)
		for i, l := range f.ds.Labels[:f.n] {
			labels[i] = byte(l)
		}
		if err := writeIDXFile(filepath.Join(dir, f.name+"-labels-idx1-ubyte"), 0x801, []int{f.n}, labels); err != nil {
			return err
		}
	}
	return nil
}

// writeIDXFile writes one IDX file: the magic, the dimensions, big-endian, and
// the bytes.
func writeIDXFile(path string, magic uint32, dims []int, body []byte) error {
	head := binary.BigEndian.AppendUint32(nil, magic)
	for _, d := range dims {
		head = binary.BigEndian.AppendUint32(head, uint32(d))
	}
	if err := os.WriteFile(path, append(head, body...), 0o644); err != nil {
		return fmt.Errorf("bench cluster: writing the data subset: %w", err)
	}
	return nil
}
