package core

import (
	"fmt"
	"strings"
	"testing"
)

func TestCoordinatorScripts(t *testing.T) { runScripts(t, "coordinator", newCoordinatorHandler) }

// newCoordinatorHandler drives one Coordinator per script:
//
//	new-coordinator samples=10 batch=3 epochs=2 start=0 step=0 workers=a,b
//	begin
//	done w=a epoch=0 seq=1
//	evaluated epoch=0
//	checkpointed epoch=0
//	leave w=a
//	join w=c
//	state      phase, progress, and each batch's owner (* when done)
func newCoordinatorHandler() handler {
	var co *Coordinator
	return func(c scriptCmd) []string {
		step := func(ev CoordinatorEvent) []string {
			if co == nil {
				panic(argError{"no coordinator: use new-coordinator first"})
			}
			return actionLines(co.Step(ev))
		}
		switch c.name {
		case "new-coordinator":
			nc, err := NewCoordinator(CoordinatorConfig{
				Samples: c.int("samples"), BatchSize: c.int("batch"), Epochs: c.int("epochs"),
				StartEpoch: c.intOr("start", 0), StartStep: c.intOr("step", 0), Workers: c.workers("workers"),
			})
			if err != nil {
				return errLine(err)
			}
			co = nc
			return nil
		case "begin":
			return step(Begin{})
		case "done":
			return step(BatchDone{Worker: WorkerID(c.str("w")), Epoch: c.int("epoch"), Seq: c.int("seq")})
		case "evaluated":
			return step(Evaluated{Epoch: c.int("epoch")})
		case "checkpointed":
			return step(Checkpointed{Epoch: c.int("epoch")})
		case "leave":
			return step(WorkerLeft{Worker: WorkerID(c.str("w"))})
		case "join":
			return step(WorkerJoined{Worker: WorkerID(c.str("w"))})
		case "state":
			p := co.Progress()
			var owners strings.Builder
			for b := range co.Batches() {
				w, done, _ := co.Owner(b)
				if w == "" {
					w = "-"
				}
				fmt.Fprintf(&owners, " %d=%s", b, w)
				if done {
					owners.WriteByte('*')
				}
			}
			return []string{
				fmt.Sprintf("phase=%s epoch=%d done=%d/%d step=%d orphaned=%d live=%v", p.Phase, p.Epoch, p.Done, p.Batches, p.Step, p.Orphaned, p.Live),
				"owners:" + owners.String(),
			}
		}
		return unknownCmd(c)
	}
}
