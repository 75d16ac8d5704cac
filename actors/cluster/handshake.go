package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-ml/troupe/actors/wire"
	"github.com/troupe-ml/troupe/messages"
)

// Role is what a node hosts.
type Role string

const (
	RoleWorker Role = "worker" // model replicas
	RolePS     Role = "ps"     // parameter-server shards
	// roleCoordinator is what the coordinator calls itself in its Hello.
	roleCoordinator = "coordinator"
)

// ParseRole accepts "worker" and "ps".
func ParseRole(s string) (Role, error) {
	switch Role(s) {
	case RoleWorker, RolePS:
		return Role(s), nil
	}
	return "", fmt.Errorf("cluster: role %q, want worker or ps", s)
}

// ErrIncompatible is returned when a peer speaks another message set than
// this build (another messages.ProtoVersion).
var ErrIncompatible = errors.New("cluster: incompatible peer")

// ErrRefused is returned by a node the coordinator refused to take; the
// error names the coordinator's reason.
var ErrRefused = errors.New("cluster: refused by the coordinator")

// Actor names every process of a cluster uses.
const (
	joinName = "cluster" // the coordinator's: takes Hellos
	nodeName = "node"    // a node's: takes the job and its end
)

// Timeouts of the protocol's requests.
const (
	helloTimeout = 10 * time.Second
	// jobTimeout covers a node loading its data.
	jobTimeout  = 2 * time.Minute
	stopTimeout = 2 * time.Second
	// defaultJoinTimeout is how long a node waits for its coordinator to
	// listen.
	defaultJoinTimeout = 2 * time.Minute
)

// Endpoint is how a process of a cluster listens.
type Endpoint struct {
	// Listen is host:port; empty is 127.0.0.1 with a free port: processes
	// listen on loopback unless told otherwise.
	Listen string
	// Advertise is the host:port peers reach this process at, when it
	// differs from Listen (listening on 0.0.0.0, behind NAT, in a pod).
	Advertise string
	// TLS enables mutual TLS on every link: a peer whose certificate the
	// CA did not sign can neither join nor deliver a message.
	TLS wire.TLSFiles
	// ChunkBytes bounds one message's tensor payload (0: 4 MiB); larger
	// tensors travel in chunks.
	ChunkBytes int
	// Logger receives this package's and protoactor's log (protoactor's
	// from warnings up); nil discards it.
	Logger *slog.Logger
}

func (e Endpoint) logger() *slog.Logger {
	if e.Logger == nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return e.Logger
}

// start opens an actor system and its endpoint with the given kinds.
// Setting quiet silences protoactor's log, which reports the peers'
// connections closing as errors when a job ends.
func (e Endpoint) start(cfg wire.Config, quiet *atomic.Bool) (*actor.ActorSystem, *wire.Node, error) {
	log := e.logger()
	lib := slog.New(minLevel{Handler: log.Handler(), min: slog.LevelWarn, quiet: quiet}).With("lib", "protoactor")
	sys := actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return lib }),
		actor.WithDeadLetterThrottleInterval(time.Second),
	)
	cfg.Listen, cfg.Advertise, cfg.TLS, cfg.ChunkBytes = e.Listen, e.Advertise, e.TLS, e.ChunkBytes
	ep, err := wire.Start(sys, cfg)
	if err != nil {
		sys.Shutdown()
		return nil, nil, fmt.Errorf("cluster: %w", err)
	}
	return sys, ep, nil
}

// minLevel drops records below min, and all of them once quiet is set.
type minLevel struct {
	slog.Handler
	min   slog.Level
	quiet *atomic.Bool
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && !h.quiet.Load() && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{Handler: h.Handler.WithAttrs(as), min: h.min, quiet: h.quiet}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{Handler: h.Handler.WithGroup(name), min: h.min, quiet: h.quiet}
}

// BuildVersion names this build: the main module's version and, when the
// binary was built from a checkout, its revision ("+dirty" when modified).
func BuildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	var rev string
	var dirty bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev != "" {
		v += " " + rev[:min(12, len(rev))]
		if dirty {
			v += "+dirty"
		}
	}
	return v
}

// checkHello checks that a peer's Hello is compatible with this build.
func checkHello(h *messages.Hello) error {
	if err := h.Compatible(); err != nil {
		return fmt.Errorf("%w: %v", ErrIncompatible, err)
	}
	return nil
}

// waitReachable waits until addr accepts TCP connections, so that a node
// started before its coordinator does not run into protoactor's slow
// reconnect backoff.
func waitReachable(ctx context.Context, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var d net.Dialer
	for {
		dctx, cancel := context.WithTimeout(ctx, time.Second)
		c, err := d.DialContext(dctx, "tcp", addr)
		cancel()
		if err == nil {
			return c.Close()
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cluster: nothing listens at %s after %v: %w", addr, timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
