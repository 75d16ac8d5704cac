package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"

	"github.com/troupe-ml/troupe/actors/cluster"
)

const launchUsage = `Usage:
  troupe launch --workers N --ps M [--threads T] [--tls-cert F --tls-key F --tls-ca F] -- [train flags]

Runs a whole cluster on this machine, on loopback: a coordinator
(troupe train --nodes N+M, with --workers N --ps-shards M unless the train
flags say otherwise) and N worker and M ps nodes (troupe node), as child
processes of this one. Their output comes here, the nodes' prefixed; the
exit status is the coordinator's. An interrupt stops them all.

`

func runLaunch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	// Everything after "--" belongs to train.
	var trainArgs []string
	if i := slices.Index(args, "--"); i >= 0 {
		args, trainArgs = args[:i], args[i+1:]
	}
	fs := flag.NewFlagSet("launch", flag.ContinueOnError)
	workers := fs.Int("workers", 1, "worker nodes, one model replica each")
	ps := fs.Int("ps", 1, "parameter-server nodes, one shard each")
	threads := fs.Int("threads", 0, "CPU threads of each worker node (0: the cores divided among the workers)")
	var tls endpointFlags
	fs.StringVar(&tls.tls.Cert, "tls-cert", "", "mutual TLS for every process: certificate (PEM, valid for 127.0.0.1)")
	fs.StringVar(&tls.tls.Key, "tls-key", "", "mutual TLS: the certificate's private key (PEM)")
	fs.StringVar(&tls.tls.CA, "tls-ca", "", "mutual TLS: the CA (PEM)")
	if err := parseFlags(fs, args, stderr); err != nil {
		if err == flag.ErrHelp {
			fmt.Fprint(stderr, launchUsage)
		}
		return err
	}
	if *workers < 0 || *ps < 0 || *workers+*ps == 0 {
		return fmt.Errorf("launch: --workers %d --ps %d: want at least one node: %w", *workers, *ps, errUsage)
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("launch: finding this program: %w", err)
	}
	t := *threads
	if t <= 0 {
		t = max(1, runtime.NumCPU()/max(*workers, 1))
	}
	var tlsArgs []string
	if tls.tls.Enabled() {
		tlsArgs = []string{"--tls-cert", tls.tls.Cert, "--tls-key", tls.tls.Key, "--tls-ca", tls.tls.CA}
	}
	return cluster.Launch(ctx, cluster.LaunchConfig{
		Exe: exe, Workers: *workers, PS: *ps,
		Train: trainArgs, Node: []string{"--threads", strconv.Itoa(t)}, TLS: tlsArgs,
		Stdout: stdout, Stderr: stderr,
	})
}
