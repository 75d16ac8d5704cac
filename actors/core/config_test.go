package core

import (
	"errors"
	"testing"
)

func TestConfigsValidate(t *testing.T) {
	cases := []struct {
		name  string
		build func() error
		ok    bool
	}{
		{"sender ok", func() error { _, err := NewSender(SenderConfig{Links: []LinkConfig{{"a", 1}, {"b", 4}}}); return err }, true},
		{"sender no links", func() error { _, err := NewSender(SenderConfig{}); return err }, true},
		{"sender empty id", func() error { _, err := NewSender(SenderConfig{Links: []LinkConfig{{"", 1}}}); return err }, false},
		{"sender zero window", func() error { _, err := NewSender(SenderConfig{Links: []LinkConfig{{"a", 0}}}); return err }, false},
		{"sender twice", func() error { _, err := NewSender(SenderConfig{Links: []LinkConfig{{"a", 1}, {"a", 1}}}); return err }, false},
		{"receiver ok", func() error { _, err := NewReceiver(ReceiverConfig{Consumer: "a", Window: 3, MinGrant: 3}); return err }, true},
		{"receiver zero window", func() error { _, err := NewReceiver(ReceiverConfig{Consumer: "a"}); return err }, false},
		{"receiver negative min grant", func() error {
			_, err := NewReceiver(ReceiverConfig{Consumer: "a", Window: 2, MinGrant: -1})
			return err
		}, false},
		{"receiver empty id", func() error { _, err := NewReceiver(ReceiverConfig{Window: 2}); return err }, false},
		{"clock ok", func() error {
			_, err := NewClock(ClockConfig{Mode: SSP, Staleness: 3, Workers: []WorkerID{"a"}})
			return err
		}, true},
		{"clock no mode", func() error { _, err := NewClock(ClockConfig{}); return err }, false},
		{"clock negative step", func() error { _, err := NewClock(ClockConfig{Mode: BSP, Step: -1}); return err }, false},
		{"clock empty worker", func() error { _, err := NewClock(ClockConfig{Mode: BSP, Workers: []WorkerID{""}}); return err }, false},
		{"coordinator ok", func() error {
			_, err := NewCoordinator(CoordinatorConfig{Samples: 5, BatchSize: 2, Epochs: 3, StartEpoch: 2})
			return err
		}, true},
		{"coordinator negative start", func() error {
			_, err := NewCoordinator(CoordinatorConfig{Samples: 5, BatchSize: 2, Epochs: 3, StartEpoch: -1})
			return err
		}, false},
		{"coordinator negative step", func() error {
			_, err := NewCoordinator(CoordinatorConfig{Samples: 5, BatchSize: 2, Epochs: 3, StartStep: -1})
			return err
		}, false},
	}
	for _, c := range cases {
		err := c.build()
		if c.ok && err != nil {
			t.Errorf("%s: %v, want success", c.name, err)
		}
		if !c.ok && !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", c.name, err)
		}
	}
}

func TestConsistencyNames(t *testing.T) {
	for _, c := range []Consistency{BSP, SSP, Async} {
		got, err := ParseConsistency(c.String())
		if err != nil || got != c {
			t.Errorf("ParseConsistency(%q) = %v, %v; want %v", c.String(), got, err, c)
		}
	}
	if got, err := ParseConsistency("SSP"); err != nil || got != SSP {
		t.Errorf("ParseConsistency is case-sensitive: %v, %v", got, err)
	}
	if Consistency(9).String() != "Consistency(9)" || Phase(9).String() != "Phase(9)" {
		t.Error("unknown enum values do not print their number")
	}
}

func TestCoordinatorBatchRange(t *testing.T) {
	co, err := NewCoordinator(CoordinatorConfig{Samples: 10, BatchSize: 4, Epochs: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := [][2]int{{0, 4}, {4, 8}, {8, 10}}
	if co.Batches() != len(want) {
		t.Fatalf("%d batches, want %d", co.Batches(), len(want))
	}
	for b, w := range want {
		lo, hi, ok := co.BatchRange(b)
		if !ok || lo != w[0] || hi != w[1] {
			t.Errorf("BatchRange(%d) = %d, %d, %t; want %d, %d", b, lo, hi, ok, w[0], w[1])
		}
	}
	for _, b := range []int{-1, 3} {
		if _, _, ok := co.BatchRange(b); ok {
			t.Errorf("BatchRange(%d) ok, want out of range", b)
		}
		if _, _, ok := co.Owner(b); ok {
			t.Errorf("Owner(%d) ok, want out of range", b)
		}
	}
}

func TestWriteRanges(t *testing.T) {
	for _, tc := range []struct {
		in   []int
		want string
	}{
		{nil, ""},
		{[]int{3}, "3"},
		{[]int{0, 1, 2, 5, 7, 8}, "0-2,5,7-8"},
	} {
		if got := (Assign{Worker: "w", Seqs: tc.in}).String(); got != "Assign w epoch=0 seqs="+tc.want {
			t.Errorf("%v printed as %q", tc.in, got)
		}
	}
}
