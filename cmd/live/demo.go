package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime/metrics"
	rtpprof "runtime/pprof"
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

// demoDevSecret signs the demo's component state when neither -secret nor
// LIVE_STATE_SECRET is given: fixed, so that browser tabs survive a restart
// of the demo with their state, and public, so that anyone can forge state
// for a server that uses it. runDemo warns loudly when it does.
const demoDevSecret = "live-demo-development-secret-do-not-use-in-production"

// minDemoSecret is the shortest secret -secret and LIVE_STATE_SECRET may
// give.
const minDemoSecret = 32

// demoFlags are the flags of live demo.
type demoFlags struct {
	addr        string
	logLevel    string
	secret      string
	rateLimit   int
	pprof       string
	cpuProfile  string
	resumeGrace time.Duration
}

var demoCommand = &command{
	name:  "demo",
	usage: "live demo [-addr ADDR] [-log-level LEVEL] [-secret SECRET]",
	short: "run the demo server (counter, todos, chat, uploads, monitor)",
	long: `Demo serves the showcase page, from memory, with no setup: a counter of its
own in every browser tab, a todo list shared by all tabs, a chat room with
presence, image uploads with a progress bar, and a live monitor of the
server's connections, components and actions per second. Open the printed
URL in two tabs and watch them stay in sync.

The page is served at /, the WebSocket endpoint at /api/live/ws, the browser
client at /api/live/client.js, the statistics at /api/live/stats and the
uploaded images under /uploads/. Once the server is listening, demo logs a
line with msg=listening and the real address (useful with port 0), and
prints the URL on standard output. Logs go to standard error.

Component state sent to the browsers is signed with -secret, else with
LIVE_STATE_SECRET (prefer the variable: flags show in process lists); both
need at least 32 bytes. With neither, a fixed development secret is used and
a warning is logged: tabs still get their state back after a restart of the
demo, but anyone can forge state for it, so never expose such a server.

SIGINT (Ctrl-C) or SIGTERM stops the server gracefully: open connections are
flushed and closed with code 1001. A second signal ends the process at once.
`,
	flags: func(fs *flag.FlagSet) any {
		f := &demoFlags{}
		fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "listen on `ADDR` (host:port; port 0 picks a free port)")
		fs.StringVar(&f.logLevel, "log-level", "info", "log `LEVEL`: debug, info, warn or error")
		fs.IntVar(&f.rateLimit, "rate-limit", 0, "per-connection frame burst `N` (refill 50/s); 0 = default 100, -1 = off (for benchmarks)")
		fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to `FILE` (for benchmarks)")
		fs.DurationVar(&f.resumeGrace, "resume-grace", 0, "keep a closed tab's components this long for it to resume (0 = default 30s, negative = destroy at once)")
		fs.StringVar(&f.secret, "secret", "", "sign component state with `SECRET` (at least 32 bytes; default $LIVE_STATE_SECRET, else a public development secret)")
		fs.StringVar(&f.pprof, "pprof", "", "serve net/http/pprof on `ADDR` (a separate listener; keep it on loopback); empty = off")
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
	secret, source := f.secret, "-secret"
	if secret == "" {
		secret, source = os.Getenv("LIVE_STATE_SECRET"), "LIVE_STATE_SECRET"
	}
	if secret != "" && len(secret) < minDemoSecret {
		return usageErrorf("the secret from %s is %d bytes: it needs at least %d", source, len(secret), minDemoSecret)
	}
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
	if secret == "" {
		secret = demoDevSecret
		logger.Warn("INSECURE: no -secret and no LIVE_STATE_SECRET: signing component state with the public " +
			"development secret, so anyone can forge state for this server; set LIVE_STATE_SECRET (32+ bytes) " +
			"for anything but a local demo")
	}

	if f.cpuProfile != "" {
		pf, err := os.Create(f.cpuProfile)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		if err := rtpprof.StartCPUProfile(pf); err != nil {
			pf.Close()
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer func() {
			rtpprof.StopCPUProfile()
			pf.Close()
		}()
	}

	d := demo.New()
	srv, err := live.New(d.Options(live.Options{Logger: logger, StateSecret: []byte(secret), RateLimitBurst: f.rateLimit, MaxConnections: 20000,
		ResumeGrace: f.resumeGrace}))
	if err != nil {
		return fmt.Errorf("new server: %w", err)
	}
	if err := d.Register(srv); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	hs := &http.Server{
		Handler:           d.Handler(srv),
		ReadHeaderTimeout: demoReadHeaderTimeout,
		IdleTimeout:       demoIdleTimeout,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	if f.pprof != "" {
		stop, err := servePprof(f.pprof, logger)
		if err != nil {
			_ = hs.Close()
			<-served
			return err
		}
		defer stop()
	}

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
	d.Wait()
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

// servePprof serves the runtime profiles on their own listener at addr, so
// they are never reachable through the public handler. stop closes it.
func servePprof(addr string, logger *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("pprof listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/runtime-metrics", serveRuntimeMetrics)
	ps := &http.Server{Handler: mux, ReadHeaderTimeout: demoReadHeaderTimeout}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = ps.Serve(ln)
	}()
	logger.Info("pprof listening", "addr", ln.Addr().String())
	return func() { _ = ps.Close(); <-done }, nil
}

// serveRuntimeMetrics writes every scalar runtime/metrics sample as a
// "name value" line: where the process's memory is (heap, spans, stacks,
// GC metadata, free pages kept or released) in more detail than the
// profiles give.
func serveRuntimeMetrics(w http.ResponseWriter, _ *http.Request) {
	descs := metrics.All()
	samples := make([]metrics.Sample, len(descs))
	for i := range descs {
		samples[i].Name = descs[i].Name
	}
	metrics.Read(samples)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	for _, s := range samples {
		switch s.Value.Kind() {
		case metrics.KindUint64:
			fmt.Fprintf(w, "%s %d\n", s.Name, s.Value.Uint64())
		case metrics.KindFloat64:
			fmt.Fprintf(w, "%s %g\n", s.Name, s.Value.Float64())
		}
	}
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
