package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	live "github.com/live-go/live"
	"github.com/live-go/live/internal/demo"
)

// Timeouts of the demo's HTTP server and of its graceful shutdown.
const (
	demoReadHeaderTimeout = 10 * time.Second
	demoIdleTimeout       = 2 * time.Minute
	demoShutdownTimeout   = 10 * time.Second
)

// demoFlags are the flags of live demo.
type demoFlags struct {
	addr     string
	logLevel string
}

var demoCommand = &command{
	name:  "demo",
	usage: "live demo [-addr ADDR] [-log-level LEVEL]",
	short: "run the demo server (a counter and a shared todo list)",
	long: `Demo serves a demo page with a counter of its own in every browser tab and
a todo list shared by all tabs, from memory, with no setup. Open the printed
URL in two tabs and watch the todo list stay in sync.

The page is served at / and the WebSocket endpoint at /api/live/ws. Once the
server is listening, demo logs a line with msg=listening and the real
address (useful with port 0), and prints the URL on standard output. Logs go
to standard error.

Signed component state is keyed by LIVE_STATE_SECRET (at least 32 bytes);
when it is unset, a random per-process secret is used and a warning is
logged.

SIGINT (Ctrl-C) or SIGTERM stops the server gracefully: open connections are
flushed and closed with code 1001. A second signal ends the process at once.
`,
	flags: func(fs *flag.FlagSet) any {
		f := &demoFlags{}
		fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "listen on `ADDR` (host:port; port 0 picks a free port)")
		fs.StringVar(&f.logLevel, "log-level", "info", "log `LEVEL`: debug, info, warn or error")
		return f
	},
	run: func(ctx context.Context, e *env, flags any, args []string) error {
		if len(args) > 0 {
			return usageErrorf("unexpected arguments: %q", args)
		}
		return runDemo(ctx, e, flags.(*demoFlags))
	},
}

// runDemo serves the demo until ctx is done, then shuts down gracefully.
func runDemo(ctx context.Context, e *env, f *demoFlags) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return usageErrorf("invalid -log-level %q: want debug, info, warn or error", f.logLevel)
	}
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))

	srv, err := live.New(live.Options{Logger: logger})
	if err != nil {
		return fmt.Errorf("new server: %w", err)
	}
	if err := demo.Register(srv); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	hs := &http.Server{
		Handler:           demo.Handler(srv),
		ReadHeaderTimeout: demoReadHeaderTimeout,
		IdleTimeout:       demoIdleTimeout,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()

	addr := ln.Addr().String()
	url := pageURL(ln.Addr())
	logger.Info("listening", "addr", addr, "url", url)
	fmt.Fprintf(e.stdout, "live demo: open %s in two browser tabs (Ctrl-C stops)\n", url)

	var serveErr error
	select {
	case <-ctx.Done():
		logger.Info("shutting down", "cause", context.Cause(ctx))
	case err := <-served: // Serve never returns nil
		logger.Error("server failed", "err", err)
		serveErr = fmt.Errorf("serve: %w", err)
		served <- nil // for the receive below
	}

	sctx, cancel := context.WithTimeout(context.Background(), demoShutdownTimeout)
	defer cancel()
	// The live server first: it closes its WebSockets (hijacked, so
	// invisible to http.Server.Shutdown) with 1001 and refuses new ones.
	if err := srv.Shutdown(sctx); err != nil {
		serveErr = errors.Join(serveErr, fmt.Errorf("live shutdown: %w", err))
	}
	if err := hs.Shutdown(sctx); err != nil {
		serveErr = errors.Join(serveErr, fmt.Errorf("http shutdown: %w", err))
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		serveErr = errors.Join(serveErr, fmt.Errorf("serve: %w", err))
	}
	if serveErr != nil {
		return serveErr
	}
	logger.Info("stopped")
	return nil
}

// pageURL returns the URL of the demo page on addr. An unspecified host
// (":8080", "0.0.0.0:8080") is shown as localhost, which a browser can open.
func pageURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String() + "/"
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}
