package core

import (
	"fmt"
	"testing"
)

// permutations returns every order of ws.
func permutations(ws []WorkerID) [][]WorkerID {
	if len(ws) <= 1 {
		return [][]WorkerID{append([]WorkerID(nil), ws...)}
	}
	var out [][]WorkerID
	for i := range ws {
		rest := append(append([]WorkerID(nil), ws[:i]...), ws[i+1:]...)
		for _, p := range permutations(rest) {
			out = append(out, append([]WorkerID{ws[i]}, p...))
		}
	}
	return out
}

// TestClockAdmitIndependentOfLeaveOrder feeds the same leaves, in every
// order, to clocks in the same state, as shards see replicas that stop at
// nearly the same time: the next worker must be admitted at the same step
// on all of them, else the shards split.
func TestClockAdmitIndependentOfLeaveOrder(t *testing.T) {
	ws := []WorkerID{"a", "b", "c", "d"}
	cases := []struct {
		mode      Consistency
		staleness int
		steps     map[WorkerID]int // pushes per worker before the leaves
		want      int
	}{
		{Async, 0, map[WorkerID]int{"a": 3, "b": 5, "c": 4, "d": 5}, 15},
		{SSP, 3, map[WorkerID]int{"a": 3, "b": 5, "c": 4, "d": 6}, 16},
		{SSP, 0, map[WorkerID]int{"a": 3, "b": 4, "c": 3, "d": 4}, 14},
		// BSP: b and d pushed the open step 13, a and c did not.
		{BSP, 0, map[WorkerID]int{"a": 3, "b": 4, "c": 3, "d": 4}, 14},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s-s%d", tc.mode, tc.staleness), func(t *testing.T) {
			for _, order := range permutations(ws) {
				k, err := NewClock(ClockConfig{Mode: tc.mode, Staleness: tc.staleness, Workers: ws, Step: 10})
				if err != nil {
					t.Fatal(err)
				}
				// Round-robin pushes keep SSP within its bound and let BSP
				// complete each step.
				for round := range 10 {
					for _, w := range ws {
						if round >= tc.steps[w] {
							continue
						}
						if _, err := k.Step(Push{Worker: w, Step: 10 + round, Version: k.Status().Version}); err != nil {
							t.Fatalf("setup: %v", err)
						}
					}
				}
				for _, w := range order {
					if _, err := k.Step(WorkerLeft{Worker: w}); err != nil {
						t.Fatalf("leave %s: %v", w, err)
					}
				}
				acts, err := k.Step(WorkerJoined{Worker: "e"})
				if err != nil {
					t.Fatal(err)
				}
				want := Admit{Worker: "e", Step: tc.want}
				if len(acts) != 1 || acts[0] != ClockAction(want) {
					t.Errorf("leaves in order %v: join gives %v, want [%v]", order, acts, want)
				}
			}
		})
	}
}
