// Command cluster starts two nodes of one live cluster in one process,
// behind one page whose two columns talk to one node each: the shared
// counter and todo list (singletons owned by one node) and the chat room
// stay in sync across the columns.
//
//	go run -C examples/cluster .                         # in-memory cluster, no setup
//	go run -C examples/cluster . -redis 127.0.0.1:6379   # the nodes meet in Redis
//	go run -C examples/cluster . -nats nats://127.0.0.1:4222
//
// Then open http://127.0.0.1:8080. Node A is served under /a/ and node B
// under /b/ (each with its own page, status at /a/cluster, /b/cluster).
// With -redis or -nats, nodes started elsewhere with the same backend,
// prefix and secret (go run -C examples/cluster ./node) join the same
// cluster; see docs/cluster.md.
//
// Flags:
//
//	-addr ADDR        listen address (default 127.0.0.1:8080)
//	-redis HOST:PORT  cluster through this Redis server
//	-nats URL         cluster through this NATS server (JetStream enabled)
//	-prefix NAME      backend key and subject prefix (default: the backend's own)
//	-secret S         state secret, at least 32 bytes (default: $LIVE_STATE_SECRET,
//	                  else a random one: then only these two nodes accept each
//	                  other's signed states)
//	-lease D          singleton lease TTL (default 15s)
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	live "github.com/live-go/live"
	"github.com/live-go/live/examples/cluster/internal/clusterapp"
)

const (
	connectTimeout  = 10 * time.Second
	shutdownTimeout = 10 * time.Second
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "cluster:", err)
		stop()
		os.Exit(1)
	}
}

// config is the parsed command line.
type config struct {
	addr    string
	backend clusterapp.Backend
	secret  []byte
	lease   time.Duration
}

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var (
		c      config
		secret string
	)
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "listen `address`")
	fs.StringVar(&c.backend.Redis, "redis", "", "cluster through the Redis server at `host:port`")
	fs.StringVar(&c.backend.NATS, "nats", "", "cluster through the NATS server at `url` (JetStream enabled)")
	fs.StringVar(&c.backend.Prefix, "prefix", "", "backend key and subject `prefix` (default: the backend's own)")
	fs.StringVar(&secret, "secret", getenv("LIVE_STATE_SECRET"), "state `secret`, at least 32 bytes (default: $LIVE_STATE_SECRET, else random)")
	fs.DurationVar(&c.lease, "lease", 0, "singleton lease `TTL` (default 15s)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	case c.lease < 0:
		return c, errors.New("-lease must not be negative")
	case secret == "":
		c.secret = []byte(rand.Text() + rand.Text())
	case len(secret) < clusterapp.MinSecret:
		return c, fmt.Errorf("-secret: at least %d bytes", clusterapp.MinSecret)
	default:
		c.secret = []byte(secret)
	}
	return c, nil
}

// app is two nodes behind one page.
type app struct {
	nodes   [2]*clusterapp.Node
	backend string // description
	handler http.Handler
}

// newApp starts the two nodes: on a shared MemoryCluster when backend names
// no server, else each with its own connection to the backend.
func newApp(ctx context.Context, cfg config, log *slog.Logger) (*app, error) {
	var mem *live.MemoryCluster
	if cfg.backend.Redis == "" && cfg.backend.NATS == "" {
		mem = live.NewMemoryCluster()
	}
	suffix := rand.Text()[:4] // two processes on one backend get distinct node ids
	a := &app{backend: cfg.backend.String()}
	if mem != nil {
		a.backend = "memory (this process)"
	}
	for i, label := range []string{"a", "b"} {
		var (
			c   live.Cluster
			err error
		)
		if mem != nil {
			c = mem.Node("node-" + label)
		} else if c, err = cfg.backend.Open(ctx, "node-"+label+"-"+suffix, log); err != nil {
			_ = a.shutdown(context.Background())
			return nil, err
		}
		n, err := clusterapp.NewNode(clusterapp.NodeConfig{Cluster: c, Backend: a.backend, Secret: cfg.secret, LeaseTTL: cfg.lease, Logger: log.With("node", label)})
		if err != nil {
			_ = c.Close()
			_ = a.shutdown(context.Background())
			return nil, err
		}
		a.nodes[i] = n
	}
	mux := http.NewServeMux()
	mux.Handle("/a/", http.StripPrefix("/a", a.nodes[0].Handler()))
	mux.Handle("/b/", http.StripPrefix("/b", a.nodes[1].Handler()))
	mux.Handle("GET /{$}", clusterapp.PageHandler())
	mux.Handle("GET /panels", clusterapp.PanelsHandler([]clusterapp.Panel{
		{Name: a.nodes[0].ID(), Base: "./a/"},
		{Name: a.nodes[1].ID(), Base: "./b/"},
	}))
	a.handler = mux
	return a, nil
}

// shutdown shuts both nodes down, one after the other (the second takes
// over the first one's singletons, then hands them on to nodes elsewhere,
// if any).
func (a *app) shutdown(ctx context.Context) error {
	var err error
	for _, n := range a.nodes {
		if n != nil {
			err = errors.Join(err, n.Shutdown(ctx))
		}
	}
	return err
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, os.Getenv, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	cctx, cancel := context.WithTimeout(ctx, connectTimeout)
	a, err := newApp(cctx, cfg, log)
	cancel()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		_ = a.shutdown(context.Background())
		return fmt.Errorf("listen: %w", err)
	}
	hs := &http.Server{Handler: a.handler, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	fmt.Fprintf(stdout, "two nodes (%s, %s) on %s: open http://%s\n", a.nodes[0].ID(), a.nodes[1].ID(), a.backend, ln.Addr())
	select {
	case <-ctx.Done():
	case err := <-served:
		_ = a.shutdown(context.Background())
		return fmt.Errorf("serve: %w", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	httpDone := make(chan error, 1)
	go func() { httpDone <- hs.Shutdown(sctx) }()
	err = a.shutdown(sctx)
	if herr := <-httpDone; herr != nil {
		err = errors.Join(err, fmt.Errorf("http shutdown: %w", herr))
	}
	<-served
	return err
}
