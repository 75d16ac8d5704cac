package core

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

func TestCreditScripts(t *testing.T) { runScripts(t, "credit", newCreditHandler) }

// newCreditHandler drives one Sender or one Receiver per script:
//
//	new-sender links=c1:2,c2:3       consumer:window, in order
//	start epoch=0 batches=3          batches=unbounded for Unbounded
//	grant c=c1 n=2 acked=0
//	produced c=c1
//	exhausted
//	add c=c3 window=2
//	remove c=c1
//	new-receiver c=c1 window=3 min-grant=2
//	open
//	arrived epoch=0 seq=0
//	done seq=0
//	end c=c1 epoch=0 batches=2
//	state
func newCreditHandler() handler {
	var s *Sender
	var r *Receiver
	return func(c scriptCmd) []string {
		sender := func(ev SenderEvent) []string {
			if s == nil {
				panic(argError{"no sender: use new-sender first"})
			}
			return actionLines(s.Step(ev))
		}
		receiver := func(ev ReceiverEvent) []string {
			if r == nil {
				panic(argError{"no receiver: use new-receiver first"})
			}
			return actionLines(r.Step(ev))
		}
		switch c.name {
		case "new-sender":
			var cfg SenderConfig
			for _, l := range c.list("links") {
				id, w, _ := strings.Cut(l, ":")
				n, err := strconv.Atoi(w)
				if err != nil {
					panic(argError{fmt.Sprintf("link %q: %v", l, err)})
				}
				cfg.Links = append(cfg.Links, LinkConfig{Consumer: ConsumerID(id), Window: n})
			}
			ns, err := NewSender(cfg)
			if err != nil {
				return errLine(err)
			}
			s = ns
			return nil
		case "start":
			n := Unbounded
			if c.str("batches") != "unbounded" {
				n = c.int("batches")
			}
			return sender(StartEpoch{Epoch: c.int("epoch"), Batches: n})
		case "grant":
			return sender(Grant{Consumer: ConsumerID(c.str("c")), N: c.int("n"), Acked: uint64(c.int("acked"))})
		case "produced":
			return sender(Produced{Consumer: ConsumerID(c.str("c"))})
		case "exhausted":
			return sender(Exhausted{})
		case "add":
			return sender(AddConsumer{Consumer: ConsumerID(c.str("c")), Window: c.int("window")})
		case "remove":
			return sender(RemoveConsumer{Consumer: ConsumerID(c.str("c"))})
		case "new-receiver":
			nr, err := NewReceiver(ReceiverConfig{Consumer: ConsumerID(c.str("c")), Window: c.int("window"), MinGrant: c.intOr("min-grant", 0)})
			if err != nil {
				return errLine(err)
			}
			r = nr
			return nil
		case "open":
			return receiver(Open{})
		case "arrived":
			return receiver(Arrived{Epoch: c.int("epoch"), Seq: uint64(c.int("seq"))})
		case "done":
			return receiver(Done{Seq: uint64(c.int("seq"))})
		case "end":
			return receiver(EndOfEpoch{Consumer: ConsumerID(c.str("c")), Epoch: c.int("epoch"), Batches: c.int("batches")})
		case "state":
			if s != nil {
				return senderState(s)
			}
			if r != nil {
				st := r.Status()
				return []string{fmt.Sprintf("outstanding=%d held=%d free=%d next=%d done=%d epoch=%d open=%t arrived=%d",
					st.Outstanding, st.Held, st.Free, st.Next, st.Done, st.Epoch, st.EpochOpen, st.Arrived)}
			}
			panic(argError{"state with no machine"})
		}
		return unknownCmd(c)
	}
}

func senderState(s *Sender) []string {
	out := []string{fmt.Sprintf("running=%t", s.Running())}
	for _, id := range s.Consumers() {
		l, _ := s.Link(id)
		out = append(out, fmt.Sprintf("%s: window=%d credit=%d producing=%d sent=%d acked=%d in-flight=%d epoch-sent=%d ended=%t",
			id, l.Window, l.Credit, l.Producing, l.Sent, l.Acked, l.InFlight(), l.EpochSent, l.Ended))
	}
	return out
}
