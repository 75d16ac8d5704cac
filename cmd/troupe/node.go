package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/troupe-ml/troupe/actors/cluster"
	"github.com/troupe-ml/troupe/engine/data"
	"github.com/troupe-ml/troupe/engine/spec"
)

const nodeUsage = `Usage:
  troupe node --role worker|ps --join HOST:PORT [--listen HOST:PORT] [--advertise HOST:PORT]
              [--threads N] [--data DIR] [--tls-cert F --tls-key F --tls-ca F] [--json]

Joins the coordinator (troupe train --nodes N --listen HOST:PORT) at --join,
hosts the model replicas (worker) or parameter-server shards (ps) it places
here, and exits when the job is over. See docs/cluster.md.

`

func runNode(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("node", flag.ContinueOnError)
	var ep endpointFlags
	ep.bind(fs, "host:port to listen at (default 127.0.0.1 and a free port)")
	role := fs.String("role", "", "worker (model replicas) or ps (parameter-server shards)")
	join := fs.String("join", "", "the coordinator's host:port")
	threads := fs.Int("threads", 0, "CPU threads for the replicas here (0: the job's setting)")
	dataDir := fs.String("data", "", "directory holding the MNIST IDX files (default: the job's folder if it exists here, then $TROUPE_DATA, then the GoMNIST module copy)")
	jsonLog := fs.Bool("json", false, "log JSON lines on stderr")
	if err := parseFlags(fs, args, stderr); err != nil {
		if err == flag.ErrHelp {
			fmt.Fprint(stderr, nodeUsage)
		}
		return err
	}
	r, err := cluster.ParseRole(*role)
	if err != nil {
		return fmt.Errorf("node: --role: %v: %w", err, errUsage)
	}
	if *join == "" {
		return fmt.Errorf("node: --join HOST:PORT is required: %w", errUsage)
	}
	return cluster.RunNode(ctx, cluster.NodeConfig{
		Endpoint: ep.endpoint(stderr, *jsonLog),
		Role:     r, Join: *join, Threads: *threads,
		Data: func(job spec.Job) (*data.Dataset, *data.Dataset, error) {
			// The job's folder is the coordinator's: use it where it
			// exists here too, else look as train does without --data.
			dir := *dataDir
			if dir == "" && job.Data != "" {
				if _, err := data.LocateMNIST(job.Data); err == nil {
					dir = job.Data
				}
			}
			dir, err := data.LocateMNIST(dir)
			if err != nil {
				return nil, nil, err
			}
			return data.LoadMNIST(dir)
		},
	})
}
