package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"
)

// LaunchConfig describes a cluster of local processes.
type LaunchConfig struct {
	// Exe is the troupe binary every process runs (os.Executable()).
	Exe string
	// Workers and PS are how many worker and ps nodes to start.
	Workers, PS int
	// Train are the coordinator's `troupe train` flags. Launch adds
	// --listen, --nodes, --workers and --ps-shards before them (so the
	// latter two can be overridden).
	Train []string
	// Node are extra flags for every `troupe node` (e.g. --threads).
	Node []string
	// TLS, when set, is passed to every process.
	TLS []string
	// Stdout receives the coordinator's standard output as it is; Stderr
	// its standard error and every node's output, line by line, the
	// nodes' prefixed with their name.
	Stdout, Stderr io.Writer
	// Grace is how long processes get to exit after an interrupt, and
	// nodes after the coordinator, before they are killed (0: 10 s).
	Grace time.Duration
	// Env, when not nil, is the processes' environment.
	Env []string
}

// Launch runs a coordinator and cfg.Workers + cfg.PS nodes as child
// processes on loopback and returns when the coordinator exits: nil when
// it succeeded. Nodes exit when their job ends; any still running after the
// grace period are interrupted, then killed. A node that fails before the
// coordinator is done stops the whole cluster, and so does ctx ending.
// Children are killed if this process dies (on Linux), so none outlives
// it.
func Launch(ctx context.Context, cfg LaunchConfig) error {
	n := cfg.Workers + cfg.PS
	if cfg.Workers < 0 || cfg.PS < 0 || n == 0 {
		return fmt.Errorf("cluster: launch %d workers and %d ps nodes: want at least one node", cfg.Workers, cfg.PS)
	}
	grace := cfg.Grace
	if grace <= 0 {
		grace = 10 * time.Second
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	parent := ctx
	ctx, cancel := context.WithCancelCause(ctx)
	l := &launcher{cfg: cfg, ctx: ctx, grace: grace, exits: make(chan exit, n+1)}
	defer func() {
		cancel(nil)
		l.wg.Wait()
	}()

	coordArgs := append([]string{"train", "--listen", addr, "--nodes", strconv.Itoa(n),
		"--workers", strconv.Itoa(max(cfg.Workers, 1)), "--ps-shards", strconv.Itoa(max(cfg.PS, 1))}, cfg.TLS...)
	if err := l.start("coordinator", append(coordArgs, cfg.Train...), cfg.Stdout, ""); err != nil {
		return err
	}
	if err := l.listening(addr); err != nil {
		cancel(err)
		return err
	}
	for i := range n {
		role, name := RoleWorker, fmt.Sprintf("worker %d", i)
		if i >= cfg.Workers {
			role, name = RolePS, fmt.Sprintf("ps %d", i-cfg.Workers)
		}
		args := append([]string{"node", "--role", string(role), "--listen", "127.0.0.1:0", "--join", addr}, cfg.TLS...)
		if err := l.start(name, append(args, cfg.Node...), nil, "["+name+"] "); err != nil {
			cancel(err)
			return err
		}
	}
	// The coordinator's exit decides; a node that fails first ends the
	// cluster.
	var coordErr, failed error
	var lingering <-chan time.Time
	for left := n + 1; left > 0; left-- {
		var e exit
		select {
		case e = <-l.exits:
		case <-lingering:
			cancel(errors.New("nodes outlived the coordinator"))
			e = <-l.exits
		}
		switch {
		case e.name == "coordinator":
			coordErr = e.err
			lingering = time.After(grace)
		case e.err != nil && lingering == nil && ctx.Err() == nil:
			failed = fmt.Errorf("cluster: %s failed: %w", e.name, e.err)
			cancel(failed)
		}
	}
	switch {
	case failed != nil:
		return failed
	case coordErr != nil && parent.Err() != nil:
		return fmt.Errorf("cluster: interrupted: %w", parent.Err())
	case coordErr != nil:
		return fmt.Errorf("cluster: the coordinator failed: %w", coordErr)
	}
	return nil
}

// launcher starts and tracks the children.
type launcher struct {
	cfg   LaunchConfig
	ctx   context.Context
	grace time.Duration
	exits chan exit
	wg    sync.WaitGroup
	outMu sync.Mutex // one line at a time on Stderr
}

type exit struct {
	name string
	err  error
}

// start runs one child; stdout nil sends its standard output to Stderr
// like its standard error, each line prefixed.
func (l *launcher) start(name string, args []string, stdout io.Writer, prefix string) error {
	cmd := exec.CommandContext(l.ctx, l.cfg.Exe, args...)
	cmd.Env = l.cfg.Env
	errw := &lineWriter{mu: &l.outMu, w: l.cfg.Stderr, prefix: prefix}
	cmd.Stderr = errw
	cmd.Stdout = stdout
	if stdout == nil {
		cmd.Stdout = errw
	}
	// An interrupt lets the child stop its actors and tell its peers; one
	// that does not exit within the grace period is killed.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = l.grace
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("cluster: starting %s: %w", name, err)
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		err := cmd.Wait()
		errw.flush()
		l.exits <- exit{name: name, err: err}
	}()
	return nil
}

// listening waits until the coordinator accepts connections at addr, or
// exits.
func (l *launcher) listening(addr string) error {
	deadline := time.Now().Add(time.Minute)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return c.Close()
		}
		select {
		case e := <-l.exits:
			l.exits <- e // for the main loop's count
			return fmt.Errorf("cluster: the coordinator exited before listening: %v", e.err)
		case <-l.ctx.Done():
			return context.Cause(l.ctx)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cluster: the coordinator does not listen at %s: %w", addr, err)
		}
	}
}

// freeAddr returns a loopback address with a port free at the time of the
// call.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("cluster: finding a free port: %w", err)
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// lineWriter writes whole lines, each with a prefix, so that the output
// of several processes interleaves by line.
type lineWriter struct {
	mu     *sync.Mutex
	w      io.Writer
	prefix string
	buf    []byte
}

func (lw *lineWriter) Write(p []byte) (int, error) {
	lw.buf = append(lw.buf, p...)
	for {
		i := bytes.IndexByte(lw.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		lw.emit(lw.buf[:i+1])
		lw.buf = lw.buf[i+1:]
	}
}

// flush writes a last line that has no newline.
func (lw *lineWriter) flush() {
	if len(lw.buf) > 0 {
		lw.emit(append(lw.buf, '\n'))
		lw.buf = nil
	}
}

func (lw *lineWriter) emit(line []byte) {
	if lw.w == nil {
		return
	}
	lw.mu.Lock()
	defer lw.mu.Unlock()
	fmt.Fprintf(lw.w, "%s%s", lw.prefix, line)
}
