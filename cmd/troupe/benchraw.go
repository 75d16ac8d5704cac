package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/troupe-ml/troupe/actors/wire"
	"github.com/troupe-ml/troupe/messages"
)

// rawWindow is how many messages the raw reference keeps in flight: the
// pipeline has one push in flight per replica and shard, but a transport
// measurement wants the link busy, and an unbounded burst would only
// measure protoactor's queue.
const rawWindow = 4

// benchRaw measures plain protoactor remote sends between two endpoints on
// loopback: count PushGradients of about size bytes each, acknowledged one
// by one, with rawWindow in flight.
func benchRaw(ctx context.Context, size, count int) (benchRawResult, error) {
	res := benchRawResult{Bench: "cluster-raw", Messages: count, Window: rawWindow}
	quiet := func() *actor.ActorSystem {
		return actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
			return slog.New(slog.NewTextHandler(io.Discard, nil))
		}))
	}
	var nodes []*wire.Node
	var systems []*actor.ActorSystem
	defer func() {
		for _, n := range nodes {
			n.Stop()
		}
		for _, s := range systems {
			s.Shutdown()
		}
	}()
	for range 2 {
		sys := quiet()
		systems = append(systems, sys)
		n, err := wire.Start(sys, wire.Config{})
		if err != nil {
			return res, fmt.Errorf("bench cluster: raw reference: %w", err)
		}
		nodes = append(nodes, n)
	}
	sink, err := systems[1].Root.SpawnNamed(actor.PropsFromFunc(func(c actor.Context) {
		if _, ok := c.Message().(*messages.PushGradients); ok {
			c.Respond(&messages.Credit{N: 1})
		}
	}), "sink")
	if err != nil {
		return res, fmt.Errorf("bench cluster: raw reference: %w", err)
	}
	msg := &messages.PushGradients{Packets: []*messages.GradPacket{{Name: "g", Data: make([]byte, max(0, size-16))}}}
	res.MessageBytes = messageSize(msg)
	done := make(chan time.Duration, 1)
	d := &rawDriver{sink: sink, msg: msg, count: count, done: done}
	drv, err := systems[0].Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return d }), "driver")
	if err != nil {
		return res, fmt.Errorf("bench cluster: raw reference: %w", err)
	}
	defer systems[0].Root.Stop(drv)
	select {
	case d := <-done:
		res.MessagesPerSec = float64(count) / d.Seconds()
		res.MBPerSec = res.MessagesPerSec * float64(res.MessageBytes) / 1e6
		return res, nil
	case <-ctx.Done():
		return res, ctx.Err()
	case <-time.After(5 * time.Minute):
		return res, fmt.Errorf("bench cluster: raw reference: %d messages of %d bytes not acknowledged within 5 minutes", count, res.MessageBytes)
	}
}

// rawDriver sends the reference's messages, keeping rawWindow in flight,
// and reports the time from the first send to the last acknowledgement.
type rawDriver struct {
	sink        *actor.PID
	msg         *messages.PushGradients
	count       int
	sent, acked int
	start       time.Time
	done        chan<- time.Duration
}

func (d *rawDriver) Receive(c actor.Context) {
	switch c.Message().(type) {
	case *actor.Started:
		d.start = time.Now()
		for d.sent < min(rawWindow, d.count) {
			d.send(c)
		}
	case *messages.Credit:
		if d.acked++; d.acked == d.count {
			d.done <- time.Since(d.start)
			return
		}
		if d.sent < d.count {
			d.send(c)
		}
	}
}

func (d *rawDriver) send(c actor.Context) {
	d.sent++
	// A message sent is never modified, so the same one goes every time.
	c.Request(d.sink, d.msg)
}

// messageSize is m's size on the wire.
func messageSize(m *messages.PushGradients) int { return proto.Size(m) }
