package core

import "fmt"

// ConsumerID names the downstream end of a flow-controlled link.
type ConsumerID string

// Unbounded as StartEpoch.Batches means the sender does not know how many
// batches the epoch holds; the shell steps Exhausted when its source runs dry.
const Unbounded = -1

// SenderEvent is an input to Sender.Step.
type SenderEvent interface{ senderEvent() }

// SenderAction is an output of Sender.Step.
type SenderAction interface {
	senderAction()
	String() string
}

// ReceiverEvent is an input to Receiver.Step.
type ReceiverEvent interface{ receiverEvent() }

// ReceiverAction is an output of Receiver.Step.
type ReceiverAction interface {
	receiverAction()
	String() string
}

// Grant carries credit from a consumer to its sender: an action of Receiver
// and an event of Sender. N new batches may be sent; Acked counts the batches
// the consumer has finished since the link opened, so the sender knows its
// true in-flight count without trusting the credit arithmetic alone.
type Grant struct {
	Consumer ConsumerID
	N        int
	Acked    uint64
}

// EndOfEpoch follows the last batch of an epoch on a link: an action of
// Sender and an event of Receiver. Batches is how many batches the epoch put
// on this link, so the receiver can check that it has them all.
type EndOfEpoch struct {
	Consumer ConsumerID
	Epoch    int
	Batches  int
}

// StartEpoch opens an epoch at the sender; epoch numbers must increase.
// Batches ≥ 0 is a budget shared by all consumers; Unbounded leaves the end
// to Exhausted. Credit granted before or between epochs is kept.
type StartEpoch struct {
	Epoch   int
	Batches int
}

// Produced reports that the shell finished producing the batch that a
// Produce action asked for.
type Produced struct {
	Consumer ConsumerID
}

// Exhausted reports that the source has no more batches this epoch. The
// shell steps it once it holds no half-made batch; Produce requests it has not
// begun are forgotten and their credit returns to the consumers.
type Exhausted struct{}

// AddConsumer opens a link to a new consumer, which may hold at most Window
// batches at once (its prefetch depth; the receiver must use the same value).
type AddConsumer struct {
	Consumer ConsumerID
	Window   int
}

// RemoveConsumer closes a link. The shell drops the Produce requests it had
// not met for that consumer; with a known budget their batches go back to
// the epoch's budget and are produced for the others. Batches already sent
// to it are lost to flow control; the coordinator reassigns their samples.
type RemoveConsumer struct {
	Consumer ConsumerID
}

// Produce asks the shell to make one batch for Consumer, against credit the
// consumer has granted, and to step Produced when the batch is ready.
type Produce struct {
	Consumer ConsumerID
}

// Send tells the shell to send the batch just produced for Consumer, numbered
// Seq. Seq counts up by one per batch on a link and never restarts, so a
// receiver detects loss and repeats.
type Send struct {
	Consumer ConsumerID
	Epoch    int
	Seq      uint64
}

func (Grant) senderEvent()          {}
func (StartEpoch) senderEvent()     {}
func (Produced) senderEvent()       {}
func (Exhausted) senderEvent()      {}
func (AddConsumer) senderEvent()    {}
func (RemoveConsumer) senderEvent() {}

func (Produce) senderAction()    {}
func (Send) senderAction()       {}
func (EndOfEpoch) senderAction() {}

func (g Grant) String() string {
	return fmt.Sprintf("Grant %s n=%d acked=%d", g.Consumer, g.N, g.Acked)
}

func (e EndOfEpoch) String() string {
	return fmt.Sprintf("EndOfEpoch %s epoch=%d batches=%d", e.Consumer, e.Epoch, e.Batches)
}

func (p Produce) String() string { return "Produce " + string(p.Consumer) }

func (s Send) String() string {
	return fmt.Sprintf("Send %s epoch=%d seq=%d", s.Consumer, s.Epoch, s.Seq)
}
