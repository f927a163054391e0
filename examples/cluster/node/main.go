// Command node runs one node of the cluster example: a live.Server serving
// the example's components (a per-connection Counter, the SharedCounter and
// TodoList singletons, a Chat in the "lobby" room) and its page, joined to
// the other nodes through Redis or NATS.
//
// Start two or more on different addresses, with the same backend, prefix
// and secret:
//
//	export LIVE_STATE_SECRET=$(openssl rand -hex 32)
//	go run -C examples/cluster ./node -addr 127.0.0.1:8081 -redis 127.0.0.1:6379
//	go run -C examples/cluster ./node -addr 127.0.0.1:8082 -redis 127.0.0.1:6379
//
// Each node serves the page at "/", its status (who owns each singleton) at
// "/cluster" and the live routes under "/api/live/". Once listening it
// prints "node <id> listening on http://<addr> (<backend>)" on standard
// output; logs go to standard error. SIGINT or SIGTERM shuts it down
// gracefully: its singletons are handed to another node at once and its
// clients are told to reconnect.
//
// Flags:
//
//	-addr ADDR            listen address; port 0 picks a free port (default 127.0.0.1:8081)
//	-redis HOST:PORT      join the cluster through this Redis server
//	-nats URL             join the cluster through this NATS server (JetStream enabled)
//	-prefix NAME          backend key and subject prefix (default: the backend's own)
//	-node ID              node id, unique in the cluster (default: random)
//	-secret S             state secret, the same on every node, at least 32 bytes
//	                      (default: $LIVE_STATE_SECRET)
//	-lease D              singleton lease TTL (default 15s)
//	-action-timeout D     bound of an action forwarded to a singleton's owner (default 5s)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/live-go/live/examples/cluster/internal/clusterapp"
)

// Timeouts of the node's life cycle.
const (
	connectTimeout  = 10 * time.Second // joining the backend
	shutdownTimeout = 10 * time.Second // graceful shutdown
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "node:", err)
		stop()
		os.Exit(1)
	}
}

// config is the parsed command line.
type config struct {
	addr          string
	backend       clusterapp.Backend
	nodeID        string
	secret        string
	lease         time.Duration
	actionTimeout time.Duration
}

// parseFlags parses args; getenv supplies the secret's default.
func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("node", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8081", "listen `address` (port 0 picks a free port)")
	fs.StringVar(&c.backend.Redis, "redis", "", "join the cluster through the Redis server at `host:port`")
	fs.StringVar(&c.backend.NATS, "nats", "", "join the cluster through the NATS server at `url` (JetStream enabled)")
	fs.StringVar(&c.backend.Prefix, "prefix", "", "backend key and subject `prefix` (default: the backend's own)")
	fs.StringVar(&c.nodeID, "node", "", "node `id`, unique in the cluster (default: random)")
	fs.StringVar(&c.secret, "secret", getenv("LIVE_STATE_SECRET"), "state `secret`, the same on every node, at least 32 bytes (default: $LIVE_STATE_SECRET)")
	fs.DurationVar(&c.lease, "lease", 0, "singleton lease `TTL` (default 15s)")
	fs.DurationVar(&c.actionTimeout, "action-timeout", 0, "`bound` of an action forwarded to a singleton's owner (default 5s)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	case c.backend.Redis == "" && c.backend.NATS == "":
		return c, errors.New("pass -redis HOST:PORT or -nats URL (for two nodes in one process without either, run the parent example: go run -C examples/cluster .)")
	case len(c.secret) < clusterapp.MinSecret:
		return c, fmt.Errorf("pass -secret or set LIVE_STATE_SECRET: at least %d bytes, the same on every node (e.g. $(openssl rand -hex 32))", clusterapp.MinSecret)
	case c.lease < 0 || c.actionTimeout < 0:
		return c, errors.New("-lease and -action-timeout must not be negative")
	}
	return c, nil
}

// run runs the node until ctx ends, then shuts it down gracefully.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, os.Getenv, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	cctx, cancel := context.WithTimeout(ctx, connectTimeout)
	cluster, err := cfg.backend.Open(cctx, cfg.nodeID, log)
	cancel()
	if err != nil {
		return err
	}
	node, err := clusterapp.NewNode(clusterapp.NodeConfig{
		Cluster:       cluster,
		Backend:       cfg.backend.String(),
		Secret:        []byte(cfg.secret),
		LeaseTTL:      cfg.lease,
		ActionTimeout: cfg.actionTimeout,
		Logger:        log,
	})
	if err != nil {
		_ = cluster.Close()
		return err
	}
	l, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		_ = node.Shutdown(context.Background())
		return fmt.Errorf("listen: %w", err)
	}
	ln := &onceCloseListener{Listener: l}
	hs := &http.Server{Handler: node.Handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	fmt.Fprintf(stdout, "node %s listening on http://%s (%s)\n", node.ID(), ln.Addr(), cfg.backend)

	select {
	case <-ctx.Done():
	case err := <-served:
		_ = node.Shutdown(context.Background())
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("shutting down", "node", node.ID())
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	// Stop accepting first, so that clients told to reconnect go to
	// another node; then the live server closes its connections and hands
	// its singletons over, while hs waits for its other requests.
	_ = ln.Close()
	httpDone := make(chan error, 1)
	go func() { httpDone <- hs.Shutdown(sctx) }()
	err = node.Shutdown(sctx)
	if herr := <-httpDone; herr != nil {
		err = errors.Join(err, fmt.Errorf("http shutdown: %w", herr))
	}
	<-served
	if err != nil {
		return err
	}
	log.Info("stopped", "node", node.ID())
	return nil
}

// onceCloseListener lets the listener be closed before http.Server.Shutdown,
// which closes it again.
type onceCloseListener struct {
	net.Listener
	once sync.Once
	err  error
}

func (l *onceCloseListener) Close() error {
	l.once.Do(func() { l.err = l.Listener.Close() })
	return l.err
}
