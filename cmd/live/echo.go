package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/live-go/live/internal/loadgen"
)

type echoFlags struct {
	addr string
}

var echoCommand = &command{
	name:  "echo",
	usage: "live echo [-addr ADDR]",
	short: "run the benchmark's calibration server (Go echo ceiling)",
	long: `Echo runs the calibration server of the benchmark method: a minimal Go
WebSocket server (coder/websocket, a reader goroutine per connection, one
encoding/json reply per message, one Write per member for a broadcast) that
answers the bench scenarios without components, diffs, queues or batching.
Measure it with live bench next to a live server on the same machine: the
ratio of the two CPU figures can be compared with the reference's ratio to
its own echo ceiling (shared/reference-bench.md), whatever the machine's
speed that day.

The WebSocket endpoint is /api/live/ws; any other path is 404. It prints
the URL once listening. SIGINT or SIGTERM stops it.
`,
	flags: func(fs *flag.FlagSet) any {
		f := &echoFlags{}
		fs.StringVar(&f.addr, "addr", "127.0.0.1:8090", "listen on `ADDR` (host:port; port 0 picks a free port)")
		return f
	},
	run: func(ctx context.Context, e *env, flags any, args []string) error {
		if len(args) > 0 {
			return usageErrorf("unexpected arguments: %q", args)
		}
		f := flags.(*echoFlags)
		ln, err := net.Listen("tcp", f.addr)
		if err != nil {
			return fmt.Errorf("listen: %w", err)
		}
		echo := loadgen.NewEcho()
		mux := http.NewServeMux()
		mux.Handle("/api/live/ws", echo)
		hs := &http.Server{Handler: mux, ReadHeaderTimeout: demoReadHeaderTimeout}
		served := make(chan error, 1)
		go func() { served <- hs.Serve(ln) }()
		fmt.Fprintf(e.stdout, "ws://%s/api/live/ws\n", ln.Addr())
		select {
		case err := <-served:
			echo.Close()
			return fmt.Errorf("serve: %w", err)
		case <-ctx.Done():
		}
		echo.Close() // hijacked connections are invisible to hs.Shutdown
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := hs.Shutdown(sctx); err != nil {
			return fmt.Errorf("shutdown: %w", err)
		}
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
		return nil
	},
}
