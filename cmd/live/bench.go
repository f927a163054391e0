package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"github.com/live-go/live/internal/loadgen"
)

type benchFlags struct {
	url       string
	scenario  string
	clients   int
	duration  time.Duration
	warmup    time.Duration
	senders   int
	component string
	action    string
	idle      time.Duration
	pid       int
	json      bool

	cpuProfile string
	cycles     int
	drop       bool
	settle     time.Duration
	gcs        int
	gcWait     time.Duration
	quiet      time.Duration
}

var benchCommand = &command{
	name:  "bench",
	usage: "live bench -url ws://HOST:PORT/api/live/ws -scenario mount|actions|fanout|idle|churn [flags]",
	short: "measure a live server (any server speaking the protocol)",
	long: `Bench runs a load scenario against a live server and prints a results table
(or, with -json, one JSON object as the last line).

Scenarios (shared/reference-bench.md describes the method):
  mount    N clients connect and mount, at most 100 in flight; mounts/s
  actions  N clients, each with its own component, closed-loop actions;
           actions/s and round-trip p50/p99
  fanout   N clients on one shared component (a singleton, or a component
           whose instances share a room); S senders act in a loop and wait
           until every client has received the update; actions/s,
           deliveries/s and fan-out p50/p99, and the server's largest
           send queue (from its stats route)
  idle     N clients mount and stay idle; server RSS per client (needs -pid)
  churn    -cycles connect+mount+close cycles, N at a time, after 1,000
           warm-up cycles; the server's RSS (with -pid) and goroutines (from
           its stats route) once it is quiet after the warm-up (baseline)
           and after the cycles (final), and their ratios. "Quiet" means
           no connection and no component left (closed clients' components
           outlive them by the resume grace, 30 s by default; -settle bounds
           the wait), then until the server's runtime has run -gcs garbage
           collections of its own (an idle Go server runs one at least
           every 2 minutes, and returns a peak's memory to the OS only after
           the second; -gc-wait bounds the wait, nothing forces one), then
           -quiet more for the runtime to return freed memory. Cycles close
           with 1000 (a client that leaves: the server destroys its
           component at once); with -drop they end without a close frame
           (a network failure: the component is kept for the resume grace)

With -pid, the server's CPU time (utime+stime from /proc) over the measured
window is divided by the operations (and deliveries): the fair comparison
figure on a small machine, where the load generator saturates first.
Everything runs on loopback addresses you give; runs are bounded by -duration.
`,
	flags: func(fs *flag.FlagSet) any {
		f := &benchFlags{}
		fs.StringVar(&f.url, "url", "ws://127.0.0.1:8080/api/live/ws", "WebSocket `URL` of the server")
		fs.StringVar(&f.scenario, "scenario", "actions", "mount, actions, fanout, idle or churn")
		fs.IntVar(&f.clients, "clients", 100, "simulated clients `N` (churn: cycles in flight)")
		fs.DurationVar(&f.duration, "duration", 10*time.Second, "measured window (actions, fanout)")
		fs.DurationVar(&f.warmup, "warmup", time.Second, "warm-up excluded from the window")
		fs.IntVar(&f.senders, "senders", 0, "fanout senders `S` (default min(N, 10))")
		fs.StringVar(&f.component, "component", "", "component to mount (default Counter; SingletonCounter for fanout)")
		fs.StringVar(&f.action, "action", "increment", "action to call")
		fs.DurationVar(&f.idle, "idle", 5*time.Second, "idle: time before RSS is read")
		fs.IntVar(&f.pid, "pid", 0, "server process `pid` for CPU and RSS figures")
		fs.BoolVar(&f.json, "json", false, "print the result as one JSON object")
		fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the load generator to `FILE`")
		fs.IntVar(&f.cycles, "cycles", 60000, "churn: measured connect+mount+close `cycles`")
		fs.BoolVar(&f.drop, "drop", false, "churn: drop each connection without a close frame instead of closing with 1000")
		fs.DurationVar(&f.settle, "settle", 45*time.Second, "churn: longest wait for the server to have no connection and no component")
		fs.IntVar(&f.gcs, "gcs", 2, "churn: server GCs to wait for once it is empty")
		fs.DurationVar(&f.gcWait, "gc-wait", 5*time.Minute, "churn: longest wait for those GCs (0: none)")
		fs.DurationVar(&f.quiet, "quiet", 3*time.Second, "churn: wait after that, before reading RSS")
		return f
	},
	run: func(ctx context.Context, e *env, flags any, args []string) error {
		f := flags.(*benchFlags)
		if len(args) > 0 {
			return usageErrorf("unexpected arguments: %q", args)
		}
		cfg := loadgen.Config{URL: f.url, Scenario: f.scenario, Clients: f.clients, Duration: f.duration,
			Warmup: f.warmup, Senders: f.senders, Component: f.component, Action: f.action, Idle: f.idle, PID: f.pid,
			Cycles: f.cycles, Drop: f.drop, Settle: f.settle, GCs: f.gcs, GCWait: f.gcWait, Quiet: f.quiet}
		if f.quiet == 0 {
			cfg.Quiet = -1 // explicit zero: read at once
		}
		if f.gcWait == 0 {
			cfg.GCWait = -1
		}
		if f.warmup == 0 {
			cfg.Warmup = -1 // explicit zero: no warm-up
		}
		if !f.json || isTerminal(e.stderr) {
			cfg.Progress = e.stderr
			fmt.Fprintf(e.stderr, "live bench: %s, %d clients, %s\n", f.scenario, f.clients, f.url)
		}
		if f.cpuProfile != "" {
			pf, err := os.Create(f.cpuProfile)
			if err != nil {
				return fmt.Errorf("cpu profile: %w", err)
			}
			if err := pprof.StartCPUProfile(pf); err != nil {
				pf.Close()
				return fmt.Errorf("cpu profile: %w", err)
			}
			defer func() {
				pprof.StopCPUProfile()
				pf.Close()
			}()
		}
		r, err := loadgen.Run(ctx, cfg)
		if err != nil {
			return err
		}
		if f.json {
			b, _ := json.Marshal(r)
			_, err = fmt.Fprintln(e.stdout, string(b))
			return err
		}
		r.Table(e.stdout)
		return nil
	},
}

// isTerminal reports whether w is a character device (a terminal), so
// progress and colour are only used interactively.
func isTerminal(w any) bool {
	f, ok := w.(interface{ Stat() (os.FileInfo, error) })
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
