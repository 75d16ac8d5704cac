package core

import (
	"fmt"
	"testing"
)

func TestClockScripts(t *testing.T) { runScripts(t, "clock", newClockHandler) }

// newClockHandler drives one Clock per script:
//
//	new-clock mode=bsp|ssp|async staleness=1 workers=a,b step=0 version=0
//	push w=a step=0 version=0
//	pull w=a step=0
//	leave w=a
//	join w=a
//	state
func newClockHandler() handler {
	var k *Clock
	return func(c scriptCmd) []string {
		step := func(ev ClockEvent) []string {
			if k == nil {
				panic(argError{"no clock: use new-clock first"})
			}
			return actionLines(k.Step(ev))
		}
		switch c.name {
		case "new-clock":
			mode, err := ParseConsistency(c.str("mode"))
			if err != nil {
				return errLine(err)
			}
			nk, err := NewClock(ClockConfig{
				Mode: mode, Staleness: c.intOr("staleness", 0), Workers: c.workers("workers"),
				Step: c.intOr("step", 0), Version: uint64(c.intOr("version", 0)),
			})
			if err != nil {
				return errLine(err)
			}
			k = nk
			return nil
		case "push":
			return step(Push{Worker: WorkerID(c.str("w")), Step: c.int("step"), Version: uint64(c.int("version"))})
		case "pull":
			return step(Pull{Worker: WorkerID(c.str("w")), Step: c.int("step")})
		case "leave":
			return step(WorkerLeft{Worker: WorkerID(c.str("w"))})
		case "join":
			return step(WorkerJoined{Worker: WorkerID(c.str("w"))})
		case "state":
			st := k.Status()
			out := []string{fmt.Sprintf("version=%d min=%d pending=%v", st.Version, st.Min, Apply{Grads: st.Pending}.Grads)}
			for _, w := range st.Workers {
				out = append(out, fmt.Sprintf("%s: clock=%d waiting=%t", w.Worker, w.Clock, w.Waiting))
			}
			return out
		}
		return unknownCmd(c)
	}
}
