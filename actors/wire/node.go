package wire

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
)

// Defaults for Config's zero fields.
const (
	// DefaultChunkBytes bounds one tensor slice on the wire.
	DefaultChunkBytes = 4 << 20
	// writerBatch is how many queued messages one gRPC send may carry; with
	// chunks of at most ChunkBytes the limit below is never reached.
	writerBatch = 8
	// DefaultKeepalive is the ping interval after which an idle link is
	// probed; a peer that does not answer within keepaliveTimeout is dead.
	DefaultKeepalive = 10 * time.Second
	keepaliveTimeout = 3 * time.Second
)

// Config describes one node's endpoint.
type Config struct {
	// Listen is host:port; port 0 picks a free one. Empty means
	// 127.0.0.1:0: nodes listen on loopback unless told otherwise.
	Listen string
	// Advertise is the address peers should use, when it differs from
	// Listen (e.g. behind NAT or in a pod).
	Advertise string
	TLS       TLSFiles
	// ChunkBytes bounds each message's tensor payload (default 4 MiB).
	ChunkBytes int
	// Keepalive is the idle-link ping interval (default 10 s).
	Keepalive time.Duration
	// Kinds are the actor kinds peers may spawn here. They are registered
	// before the endpoint opens, since protoactor reads them from the
	// goroutine that serves spawn requests.
	Kinds []*remote.Kind
	// ConnectAttempts bounds how often a link to a peer is dialled before
	// the peer counts as gone (default protoactor's 5). protoactor waits
	// 2 s between attempts on a goroutine that outlives the endpoint's
	// Stop until it gives up, so a short-lived node (a test) sets 1.
	ConnectAttempts int
}

// MaxMessageBytes is the gRPC limit a node sets on each send: a full
// writer batch of chunks plus headroom for the other fields.
func (c Config) MaxMessageBytes() int { return writerBatch*c.chunkBytes() + 16<<20 }

func (c Config) chunkBytes() int {
	if c.ChunkBytes <= 0 {
		return DefaultChunkBytes
	}
	return c.ChunkBytes
}

// Node is a started remote endpoint.
type Node struct {
	Remote *remote.Remote
	// Addr is the address peers reach this node at.
	Addr string
	cfg  Config
}

// Start opens sys's remote endpoint as c describes.
func Start(sys *actor.ActorSystem, c Config) (n *Node, err error) {
	listen := c.Listen
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	host, portText, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("wire: listen address %q: %w", listen, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("wire: listen address %q: bad port", listen)
	}
	ka := c.Keepalive
	if ka <= 0 {
		ka = DefaultKeepalive
	}
	limit := c.MaxMessageBytes()
	serverOpts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(limit),
		grpc.MaxSendMsgSize(limit),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: ka, Timeout: keepaliveTimeout}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: ka / 2, PermitWithoutStream: true}),
	}
	// WithDialOptions replaces protoactor's defaults, insecure credentials
	// included, so credentials are always given explicitly.
	dialOpts := []grpc.DialOption{
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(limit), grpc.MaxCallSendMsgSize(limit)),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: ka, Timeout: keepaliveTimeout, PermitWithoutStream: true}),
	}
	if c.TLS.Enabled() {
		server, client, err := c.TLS.configs()
		if err != nil {
			return nil, err
		}
		serverOpts = append(serverOpts, grpc.Creds(credentials.NewTLS(server)))
		dialOpts = append(dialOpts, grpc.WithTransportCredentials(credentials.NewTLS(client)))
	} else {
		dialOpts = append(dialOpts, grpc.WithTransportCredentials(insecure.NewCredentials()))
	}
	opts := []remote.ConfigOption{
		remote.WithServerOptions(serverOpts...),
		remote.WithDialOptions(dialOpts...),
		remote.WithEndpointWriterBatchSize(writerBatch),
		remote.WithKinds(c.Kinds...),
	}
	if c.ConnectAttempts > 0 {
		opts = append(opts, func(rc *remote.Config) { rc.MaxRetryCount = c.ConnectAttempts })
	}
	if c.Advertise != "" {
		opts = append(opts, remote.WithAdvertisedHost(c.Advertise))
	}
	r := remote.NewRemote(sys, remote.Configure(host, port, opts...))
	// protoactor's Start panics when it cannot listen; turn that into an
	// error naming the address.
	defer func() {
		if p := recover(); p != nil {
			n, err = nil, fmt.Errorf("wire: listening on %s: %v", listen, p)
		}
	}()
	r.Start()
	return &Node{Remote: r, Addr: sys.Address(), cfg: c}, nil
}

// ChunkBytes is the node's bound on one message's tensor payload.
func (n *Node) ChunkBytes() int { return n.cfg.chunkBytes() }

// Stop closes the endpoint at once (in-flight messages are dropped).
func (n *Node) Stop() { n.Remote.Shutdown(false) }
