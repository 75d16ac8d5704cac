package core

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func mustStore(t testing.TB, n int) *ScoreStore {
	t.Helper()
	s, err := NewScoreStore(n)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestScoreStoreRecord(t *testing.T) {
	s := mustStore(t, 3)
	if _, at := s.Get(1); at != NeverScored {
		t.Fatalf("new store: step %d, want NeverScored", at)
	}
	if !s.Record(1, 2.5, 10) {
		t.Fatal("first measurement not kept")
	}
	// An older measurement arriving late, a NaN, an infinity and a
	// negative step are all refused and change nothing.
	for _, c := range []struct {
		loss float32
		step int64
	}{{1, 9}, {float32(math.NaN()), 11}, {float32(math.Inf(1)), 11}, {1, -1}} {
		if s.Record(1, c.loss, c.step) {
			t.Errorf("Record(1, %v, %d) kept, want refused", c.loss, c.step)
		}
	}
	if l, at := s.Get(1); l != 2.5 || at != 10 {
		t.Errorf("Get(1) = %v at %d, want 2.5 at 10", l, at)
	}
	if !s.Record(1, 0.5, 10) || !s.Record(1, 0.25, 12) {
		t.Error("same-step or newer measurement refused")
	}
	if l, at := s.Get(1); l != 0.25 || at != 12 {
		t.Errorf("Get(1) = %v at %d, want 0.25 at 12", l, at)
	}
}

func TestScoreStoreFresh(t *testing.T) {
	s := mustStore(t, 2)
	s.Record(0, 1, 100)
	cases := []struct {
		id        int
		now       int64
		staleness int
		want      bool
	}{
		{0, 100, 0, true},
		{0, 101, 0, false},
		{0, 105, 5, true},
		{0, 106, 5, false},
		{0, 90, 0, true}, // measured ahead of the asker: another replica
		{1, 0, 1000, false},
	}
	for _, c := range cases {
		if got := s.Fresh(c.id, c.now, c.staleness); got != c.want {
			t.Errorf("Fresh(%d, now %d, staleness %d) = %v, want %v", c.id, c.now, c.staleness, got, c.want)
		}
	}
}

func TestNewScoreStoreRejectsSize(t *testing.T) {
	for _, n := range []int{0, -1} {
		if _, err := NewScoreStore(n); !errors.Is(err, ErrConfig) {
			t.Errorf("NewScoreStore(%d) = %v, want ErrConfig", n, err)
		}
	}
}

// naiveOldest sorts every sample by (step, id).
func naiveOldest(s *ScoreStore, k int) []int {
	ids := make([]int, s.Len())
	for i := range ids {
		ids[i] = i
	}
	slices.SortStableFunc(ids, func(a, b int) int {
		_, sa := s.Get(a)
		_, sb := s.Get(b)
		switch {
		case sa < sb:
			return -1
		case sa > sb:
			return 1
		}
		return a - b
	})
	return ids[:min(max(k, 0), len(ids))]
}

func TestScoreStoreOldestAgainstSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 300 {
		n := 1 + rng.IntN(200)
		s := mustStore(t, n)
		// Few distinct steps, so that ties are the common case.
		for id := range n {
			if rng.IntN(4) > 0 {
				s.Record(id, rng.Float32(), int64(rng.IntN(6)))
			}
		}
		k := rng.IntN(n+3) - 1
		skip := func(id int) bool { return id%5 == trial%5 }
		if trial%2 == 0 {
			skip = nil
		}
		got := s.Oldest(k, []int{-7}, skip)
		want := []int{-7}
		for _, id := range naiveOldest(s, s.Len()) {
			if len(want) <= k && (skip == nil || !skip(id)) {
				want = append(want, id)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("trial %d: n=%d k=%d: Oldest = %v, want %v", trial, n, k, got, want)
		}
	}
}

func TestSmallestPartitions(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 500 {
		a := make([]uint64, rng.IntN(64))
		for i := range a {
			a[i] = uint64(rng.IntN(8))
		}
		k := 0
		if len(a) > 0 {
			k = rng.IntN(len(a) + 1)
		}
		want := slices.Sorted(slices.Values(a))[:k]
		smallest(a, k)
		got := slices.Sorted(slices.Values(a[:k]))
		if !slices.Equal(got, want) {
			t.Fatalf("trial %d: the %d smallest are %v, want %v", trial, k, got, want)
		}
	}
}
