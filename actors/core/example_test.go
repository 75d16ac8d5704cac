package core_test

import (
	"fmt"

	"github.com/troupe-ml/troupe/actors/core"
)

// A loader and one consumer joined by a credit link, with the message
// passing an actor system would do written out as plain queues (the
// sender's is drained first). The consumer finishes each batch as soon as it
// arrives; the grants that come back after the epoch ended stay with the
// sender as credit for the next one.
func Example_creditLink() {
	s, _ := core.NewSender(core.SenderConfig{Links: []core.LinkConfig{{Consumer: "trainer", Window: 2}}})
	r, _ := core.NewReceiver(core.ReceiverConfig{Consumer: "trainer", Window: 2})

	var toSender []core.SenderEvent
	var toReceiver []core.ReceiverEvent
	fromReceiver := func(acts []core.ReceiverAction, err error) {
		for _, a := range acts {
			fmt.Println("  receiver:", a)
			if g, ok := a.(core.Grant); ok {
				toSender = append(toSender, g)
			}
		}
	}
	fromSender := func(acts []core.SenderAction, err error) {
		for _, a := range acts {
			fmt.Println("  sender:", a)
			switch a := a.(type) {
			case core.Produce:
				// The loader would read a batch here, then report it made.
				toSender = append(toSender, core.Produced(a))
			case core.Send:
				toReceiver = append(toReceiver, core.Arrived{Epoch: a.Epoch, Seq: a.Seq}, core.Done{Seq: a.Seq})
			case core.EndOfEpoch:
				toReceiver = append(toReceiver, a)
			}
		}
	}

	fromReceiver(r.Step(core.Open{}))
	fromSender(s.Step(core.StartEpoch{Epoch: 0, Batches: 3}))
	for len(toSender)+len(toReceiver) > 0 {
		if len(toSender) > 0 {
			ev := toSender[0]
			toSender = toSender[1:]
			fromSender(s.Step(ev))
			continue
		}
		ev := toReceiver[0]
		toReceiver = toReceiver[1:]
		fromReceiver(r.Step(ev))
	}
	// Output:
	//   receiver: Grant trainer n=2 acked=0
	//   sender: Produce trainer
	//   sender: Produce trainer
	//   sender: Send trainer epoch=0 seq=0
	//   sender: Send trainer epoch=0 seq=1
	//   receiver: Grant trainer n=1 acked=1
	//   sender: Produce trainer
	//   sender: Send trainer epoch=0 seq=2
	//   sender: EndOfEpoch trainer epoch=0 batches=3
	//   receiver: Grant trainer n=1 acked=2
	//   receiver: Grant trainer n=1 acked=3
	//   receiver: AllArrived epoch=0 batches=3
}

// A BSP parameter server with two workers: the second push of step 0
// completes the average, which releases the first worker's pull for step 1.
func ExampleClock() {
	k, _ := core.NewClock(core.ClockConfig{Mode: core.BSP, Workers: []core.WorkerID{"w0", "w1"}})
	for _, ev := range []core.ClockEvent{
		core.Pull{Worker: "w0", Step: 0},
		core.Pull{Worker: "w1", Step: 0},
		core.Push{Worker: "w0", Step: 0, Version: 0},
		core.Pull{Worker: "w0", Step: 1},
		core.Push{Worker: "w1", Step: 0, Version: 0},
	} {
		acts, err := k.Step(ev)
		fmt.Printf("%T: %v %v\n", ev, acts, err)
	}
	// Output:
	// core.Pull: [Reply w0 step=0 version=0] <nil>
	// core.Pull: [Reply w1 step=0 version=0] <nil>
	// core.Push: [] <nil>
	// core.Pull: [] <nil>
	// core.Push: [Apply [w0@0/v0 w1@0/v0] scale=0.5 version=1 Reply w0 step=1 version=1] <nil>
}
