package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/rs/zerolog"

	"github.com/troupe-ml/troupe/actors"
	"github.com/troupe-ml/troupe/actors/cluster"
	"github.com/troupe-ml/troupe/actors/wire"
	"github.com/troupe-ml/troupe/engine/data"
	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/train"
)

// endpointFlags are how a cluster process listens; train, node and launch
// share them.
type endpointFlags struct {
	listen, advertise string
	tls               wire.TLSFiles
}

func (e *endpointFlags) bind(fs *flag.FlagSet, listenUsage string) {
	fs.StringVar(&e.listen, "listen", "", listenUsage)
	fs.StringVar(&e.advertise, "advertise", "", "host:port the other processes reach this one at, when not --listen (e.g. when listening on 0.0.0.0)")
	fs.StringVar(&e.tls.Cert, "tls-cert", "", "mutual TLS: this process's certificate (PEM), signed by --tls-ca")
	fs.StringVar(&e.tls.Key, "tls-key", "", "mutual TLS: the certificate's private key (PEM)")
	fs.StringVar(&e.tls.CA, "tls-ca", "", "mutual TLS: the CA every process's certificate must be signed by (PEM)")
}

// endpoint returns the cluster endpoint, logging to stderr (JSON lines
// with --json).
func (e *endpointFlags) endpoint(stderr io.Writer, jsonLog bool) cluster.Endpoint {
	var h slog.Handler = slog.NewTextHandler(stderr, nil)
	if jsonLog {
		h = slog.NewJSONHandler(stderr, nil)
	}
	return cluster.Endpoint{Listen: e.listen, Advertise: e.advertise, TLS: e.tls, Logger: slog.New(h)}
}

// clusterFlags are train's coordinator flags.
type clusterFlags struct {
	endpointFlags
	nodes int
}

func (c *clusterFlags) bind(fs *flag.FlagSet) {
	c.endpointFlags.bind(fs, "coordinator: host:port the nodes join (default 127.0.0.1 and a free port; needs --nodes)")
	fs.IntVar(&c.nodes, "nodes", 0, "train on this many nodes (troupe node) that join at --listen: replicas on worker nodes, shards on ps nodes (0: in this process)")
}

// runCluster trains job as the coordinator of c.nodes nodes.
func runCluster(ctx context.Context, c *clusterFlags, job spec.Job, trainSet, testSet *data.Dataset, rep *reporter, stderr io.Writer, from *train.Loaded, log zerolog.Logger) (train.Result, error) {
	if job.Device == spec.CUDA {
		return train.Result{}, fmt.Errorf("--nodes trains on the CPU: use --device cpu: %w", errUsage)
	}
	cfg, err := actors.ConfigFromJob(job)
	if err != nil {
		return train.Result{}, err
	}
	// A resumed job's shards on nodes get the checkpoint from here.
	cfg.Observer, cfg.From = rep, from
	coord, err := cluster.Listen(cluster.CoordinatorConfig{Endpoint: c.endpoint(stderr, job.JSON), Nodes: c.nodes})
	if err != nil {
		return train.Result{}, err
	}
	defer coord.Close()
	log.Info().Str("listen", coord.Addr()).Int("nodes", c.nodes).Msg("waiting for nodes")
	if _, err := coord.Wait(ctx); err != nil {
		return train.Result{}, err
	}
	res, _, err := coord.Train(ctx, cfg, trainSet, testSet)
	rep.replayed = coord.ReplayedSteps()
	return res, err
}
