package main

import (
	"fmt"
	"testing"
	"time"
)

// Online selection across processes: the selector actor stays with the
// coordinator, the replica runs on a worker node. Selective backprop's
// replica asks the selector which of its samples to train and reports every
// loss; importance sampling's selector plans the loader's batches from the
// losses the remote replica reports. Both must finish, train fewer samples
// backwards than they pass forwards, and learn the synthetic task.
func TestLaunchSelects(t *testing.T) {
	const nTrain, epochs = 1200, 3
	dir := synthMNIST(t, nTrain, 200)
	for _, tc := range []struct {
		flags []string
		// most backward samples: selective backprop keeps about half of
		// each batch at β = 1; importance trains ⌈0.5·B⌉ per batch.
		maxBackward float64
	}{
		{[]string{"--select", "selective-backprop", "--select-beta", "1"}, 0.75},
		{[]string{"--select", "importance", "--select-fraction", "0.5"}, 0.55},
	} {
		t.Run(tc.flags[1], func(t *testing.T) {
			args := append([]string{"launch", "--workers", "1", "--ps", "1", "--threads", "1", "--",
				"--data", dir, "--epochs", fmt.Sprint(epochs), "--batch", "32", "--json", "--out", ""}, tc.flags...)
			p := startTroupe(t, args...)
			if code := p.wait(t, 2*time.Minute); code != 0 {
				t.Fatalf("troupe launch exited %d; stderr:\n%s", code, p.err.String())
			}
			done := checkDone(t, p, epochs)
			fwd, _ := done["forward_samples"].(float64)
			bwd, _ := done["backward_samples"].(float64)
			acc, _ := done["test_accuracy"].(float64)
			t.Logf("forward %v, backward %v samples, test accuracy %v", fwd, bwd, acc)
			if bwd <= 0 || bwd >= fwd || bwd > tc.maxBackward*epochs*nTrain {
				t.Errorf("forward %v, backward %v samples over %d epochs of %d: want 0 < backward < forward and backward ≤ %.2f of the samples",
					fwd, bwd, epochs, nTrain, tc.maxBackward)
			}
			if acc < 0.9 {
				t.Errorf("test accuracy %v, want ≥ 0.9 on the synthetic task", acc)
			}
			checkNoneLeft(t, p)
		})
	}
}
