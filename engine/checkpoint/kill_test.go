package checkpoint

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// writerDirEnv makes the test binary a checkpoint writer (see
// TestKilledWriterLeavesNoPartialFile).
const writerDirEnv = "TROUPE_CHECKPOINT_WRITER_DIR"

// A process killed outright (SIGKILL) while it writes checkpoints never
// leaves a partial file under a checkpoint's name: the test kills a child
// that writes 1 MB checkpoints in a loop, over two names, at random
// moments, and after each kill every file under a final name loads with a
// valid checksum. Temporary files may stay behind; they show that kills
// landed mid-write.
func TestKilledWriterLeavesNoPartialFile(t *testing.T) {
	if dir := os.Getenv(writerDirEnv); dir != "" {
		writeForever(dir)
		return
	}
	if testing.Short() {
		t.Skip("starts and kills child processes")
	}
	dir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	loaded := 0
	for range 8 {
		cmd := exec.Command(exe, "-test.run=^TestKilledWriterLeavesNoPartialFile$")
		cmd.Env = append(os.Environ(), writerDirEnv+"="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// The child says when its first checkpoint is written, however
		// slowly it started (-race), and then writes on.
		if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("the writer stopped before its first checkpoint: %v", err)
		}
		time.Sleep(time.Duration(rand.IntN(100)) * time.Millisecond)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		es, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if strings.HasPrefix(e.Name(), ".") {
				continue // a temporary file
			}
			ts, meta, err := Read(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatalf("after a kill: %v", err)
			}
			if len(ts) != 1 || meta["i"] == "" {
				t.Fatalf("%s: %d tensors, meta %v", e.Name(), len(ts), meta)
			}
			loaded++
		}
	}
	temps, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*"))
	t.Logf("%d checkpoints loaded after kills, %d temporary files left by kills mid-write", loaded, len(temps))
	if len(temps) == 0 {
		t.Error("no kill landed during a write: the test proved nothing")
	}
}

// writeForever writes checkpoints into dir until the process is killed.
func writeForever(dir string) {
	data := make([]float32, 1<<18)
	for i := 0; ; i++ {
		for j := range data {
			data[j] = float32(i + j)
		}
		path := filepath.Join(dir, fmt.Sprintf("model-%d.safetensors", i%2))
		if err := Write(path, []Tensor{{Name: "w", Shape: []int{len(data)}, Data: data}}, map[string]string{"i": strconv.Itoa(i)}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if i == 0 {
			fmt.Println("written")
		}
	}
}
