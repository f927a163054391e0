// Package loadgen is the load generator behind "live bench". It speaks the
// reference protocol only, so it can measure any compatible server, and it
// measures the way shared/reference-bench.md prescribes: one WebSocket and
// one reader goroutine per simulated client, frames parsed as one JSON
// object or an array of objects, a 1 s warm-up excluded, latency from frame
// written to reply read, and the server's CPU time per operation read from
// /proc/<pid>/stat when the server's pid is given.
package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Scenarios.
const (
	ScenarioMount   = "mount"
	ScenarioActions = "actions"
	ScenarioFanout  = "fanout"
	ScenarioIdle    = "idle"
	ScenarioChurn   = "churn"
)

// Config is one benchmark run.
type Config struct {
	URL       string        // WebSocket URL, e.g. ws://127.0.0.1:8080/api/live/ws
	Scenario  string        // mount, actions, fanout, idle or churn
	Clients   int           // simulated clients (default 100)
	Duration  time.Duration // measured window for actions and fanout (default 10 s)
	Warmup    time.Duration // excluded warm-up (default 1 s)
	Senders   int           // fanout: concurrent senders (default min(Clients, 10))
	Component string        // component to mount (default Counter; SingletonCounter for fanout)
	Action    string        // action to call (default increment)
	InFlight  int           // mount: connects+mounts in flight (default 100)
	Idle      time.Duration // idle: how long clients stay idle before RSS is read (default 5 s)
	PID       int           // server pid for CPU and RSS figures (0: not measured)
	Progress  io.Writer     // progress lines once per second (nil: none)

	// Churn: Clients is the concurrency, Cycles the measured
	// connect+mount+close cycles (default 60,000), after min(1,000, Cycles)
	// warm-up cycles. Before each reading (baseline, final) the run waits up
	// to Settle (default 45 s, more than the default 30 s resume grace) for
	// the server to report no connection and no component, then up to
	// GCWait (default 5 min; negative: no wait) for the server's runtime to
	// complete GCs garbage collections of its own (default 2; an idle Go
	// process runs one at least every 2 minutes, and its scavenger returns
	// a peak's memory only after the second), then Quiet (default 3 s;
	// negative: none) for it to return freed memory.
	Cycles int
	// Drop ends each churn cycle by dropping the connection without a
	// close frame (a network failure) instead of closing it with 1000 (a
	// client that leaves). A dropped client's component is kept for the
	// server's resume grace, so this measures the grace's memory.
	Drop   bool
	Settle time.Duration
	GCs    int
	GCWait time.Duration
	Quiet  time.Duration
}

// Result is what a run measured. JSON names are stable (machines read them).
type Result struct {
	Scenario          string  `json:"scenario"`
	Clients           int     `json:"clients"`
	Senders           int     `json:"senders,omitempty"`
	Component         string  `json:"component"`
	Seconds           float64 `json:"seconds"`
	Ops               int64   `json:"ops"`
	OpsPerSec         float64 `json:"ops_per_sec"`
	Deliveries        int64   `json:"deliveries,omitempty"`
	DeliveriesPerSec  float64 `json:"deliveries_per_sec,omitempty"`
	P50ms             float64 `json:"p50_ms"`
	P99ms             float64 `json:"p99_ms"`
	Errors            int64   `json:"errors"`
	ServerCPUSeconds  float64 `json:"server_cpu_s,omitempty"`
	ServerCPUPerOpUS  float64 `json:"server_cpu_us_per_op,omitempty"`
	ServerCPUPerDelUS float64 `json:"server_cpu_us_per_delivery,omitempty"`
	RSSBeforeKiB      float64 `json:"rss_before_kib,omitempty"`
	RSSAfterKiB       float64 `json:"rss_after_kib,omitempty"`
	RSSPerClientKiB   float64 `json:"rss_per_client_kib,omitempty"`

	// fanout: the largest any one send queue of the server has been since
	// it started (GET {prefix}/stats queuePeakBytes; 0 when unavailable).
	QueueMaxBytes int `json:"queue_max_bytes,omitempty"`

	// churn (see Config.Cycles for the method). The baseline is read after
	// the warm-up, the final figures after the measured cycles, each once
	// the server is quiet. Goroutines are the server process's, from GET
	// {prefix}/stats; RSS is VmRSS from /proc (needs PID).
	Cycles                int     `json:"cycles,omitempty"`
	Close                 string  `json:"close,omitempty"` // churn: how cycles end: "1000" or "drop"
	WarmupCycles          int     `json:"warmup_cycles,omitempty"`
	RSSBaselineKiB        float64 `json:"rss_baseline_kib,omitempty"`
	RSSPeakKiB            float64 `json:"rss_peak_kib,omitempty"`
	RSSFinalKiB           float64 `json:"rss_final_kib,omitempty"`
	RSSRatio              float64 `json:"rss_ratio,omitempty"`
	RetainedBytesPerCycle float64 `json:"retained_bytes_per_cycle,omitempty"`
	GoroutinesBaseline    int     `json:"goroutines_baseline,omitempty"`
	GoroutinesPeak        int     `json:"goroutines_peak,omitempty"`
	GoroutinesFinal       int     `json:"goroutines_final,omitempty"`
	GoroutinesRatio       float64 `json:"goroutines_ratio,omitempty"`
	ComponentsPeak        int     `json:"components_peak,omitempty"`
	RSSAtEmptyKiB         float64 `json:"rss_at_empty_kib,omitempty"` // after the run, once the server was empty, before the GC wait
	HeapLiveBaseline      uint64  `json:"heap_live_baseline_bytes,omitempty"`
	HeapLiveFinal         uint64  `json:"heap_live_final_bytes,omitempty"`
	GCs                   uint64  `json:"server_gcs,omitempty"` // server collections between baseline and final
}

func (c *Config) defaults() error {
	if c.URL == "" {
		return errors.New("loadgen: URL is required")
	}
	if c.Clients <= 0 {
		c.Clients = 100
	}
	if c.Duration <= 0 {
		c.Duration = 10 * time.Second
	}
	if c.Warmup < 0 {
		c.Warmup = 0
	} else if c.Warmup == 0 {
		c.Warmup = time.Second
	}
	if c.Senders <= 0 {
		c.Senders = min(c.Clients, 10)
	}
	c.Senders = min(c.Senders, c.Clients)
	if c.Component == "" {
		c.Component = "Counter"
		if c.Scenario == ScenarioFanout {
			c.Component = "SingletonCounter"
		}
	}
	if c.Action == "" {
		c.Action = "increment"
	}
	if c.InFlight <= 0 {
		c.InFlight = 100
	}
	if c.Idle <= 0 {
		c.Idle = 5 * time.Second
	}
	if c.Cycles <= 0 {
		c.Cycles = 60000
	}
	if c.Settle <= 0 {
		c.Settle = 45 * time.Second
	}
	if c.GCWait < 0 {
		c.GCWait = 0
	} else if c.GCWait == 0 {
		c.GCWait = 5 * time.Minute
	}
	if c.GCs <= 0 {
		c.GCs = 2
	}
	if c.Quiet < 0 {
		c.Quiet = 0
	} else if c.Quiet == 0 {
		c.Quiet = 3 * time.Second
	}
	switch c.Scenario {
	case ScenarioMount, ScenarioActions, ScenarioFanout, ScenarioIdle, ScenarioChurn:
	default:
		return fmt.Errorf("loadgen: unknown scenario %q (mount, actions, fanout, idle, churn)", c.Scenario)
	}
	if c.Scenario == ScenarioIdle && c.PID == 0 {
		return errors.New("loadgen: the idle scenario needs the server's pid (-pid)")
	}
	return nil
}

// Run executes one scenario.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.defaults(); err != nil {
		return Result{}, err
	}
	switch cfg.Scenario {
	case ScenarioMount:
		return runMount(ctx, cfg)
	case ScenarioActions:
		return runActions(ctx, cfg)
	case ScenarioFanout:
		return runFanout(ctx, cfg)
	case ScenarioChurn:
		return runChurn(ctx, cfg)
	default:
		return runIdle(ctx, cfg)
	}
}

// ---- one simulated client ----

type message struct {
	Type        string          `json:"type"`
	ComponentID string          `json:"componentId"`
	RequestID   string          `json:"requestId"`
	Success     *bool           `json:"success"`
	Error       string          `json:"error"`
	Result      json.RawMessage `json:"result"`
	Payload     struct {
		Delta map[string]json.RawMessage `json:"delta"`
		State map[string]json.RawMessage `json:"state"`
	} `json:"payload"`
}

type client struct {
	ws      *websocket.Conn
	id      string // mounted component id
	count   atomic.Int64
	mu      sync.Mutex
	notify  chan struct{}
	replies chan message
	done    chan struct{}
	errs    *atomic.Int64
}

func dial(ctx context.Context, url string, errs *atomic.Int64) (*client, error) {
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(64 << 20)
	c := &client{ws: ws, notify: make(chan struct{}), replies: make(chan message, 16), done: make(chan struct{}), errs: errs}
	go c.read()
	return c, nil
}

func (c *client) read() {
	defer close(c.done)
	var buf bytes.Buffer // reused: a room member reads many large frames
	for {
		_, r, err := c.ws.Reader(context.Background())
		if err != nil {
			return
		}
		buf.Reset()
		if _, err := buf.ReadFrom(r); err != nil {
			return
		}
		// Parsed as one object or an array of objects, like the reference's
		// harness; only the messages the client acts on are decoded.
		bad := false
		if splitFrame(buf.Bytes(), func(msg []byte, need bool) {
			if bad || !need {
				return
			}
			var m message
			if json.Unmarshal(msg, &m) != nil {
				bad = true
				return
			}
			c.handle(m)
		}) != nil || bad {
			c.errs.Add(1)
		}
	}
}

func (c *client) handle(m message) {
	switch m.Type {
	case "STATE_DELTA", "STATE_UPDATE":
		if c.id != "" && m.ComponentID != c.id {
			return
		}
		raw := m.Payload.Delta["count"]
		if m.Type == "STATE_UPDATE" {
			raw = m.Payload.State["count"]
		}
		if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil && n > c.count.Load() {
			c.count.Store(n)
			c.mu.Lock()
			close(c.notify)
			c.notify = make(chan struct{})
			c.mu.Unlock()
		}
	case "ERROR":
		// A reply to our request, or a protocol error such as "Rate limit
		// exceeded" that carries no requestId: with one request in flight
		// per client it answers that request too.
		select {
		case c.replies <- m:
		default:
		}
	case "CONNECTION_ESTABLISHED":
	default:
		if m.RequestID != "" {
			c.replies <- m
		}
	}
}

// requestTimeout bounds one request, so a lost reply costs an error, not
// a hung run.
const requestTimeout = 10 * time.Second

// request sends frame and waits for the reply to it.
func (c *client) request(ctx context.Context, frame []byte) (message, error) {
	if err := c.ws.Write(ctx, websocket.MessageText, frame); err != nil {
		return message{}, err
	}
	timer := time.NewTimer(requestTimeout)
	defer timer.Stop()
	select {
	case <-timer.C:
		return message{}, errors.New("no reply within " + requestTimeout.String())
	case m := <-c.replies:
		if m.Success != nil && !*m.Success || m.Type == "ERROR" {
			return m, fmt.Errorf("server: %s", m.Error)
		}
		return m, nil
	case <-c.done:
		return message{}, errors.New("connection closed")
	case <-ctx.Done():
		return message{}, ctx.Err()
	}
}

func (c *client) mount(ctx context.Context, component string) error {
	frame := []byte(`{"type":"COMPONENT_MOUNT","componentId":"mount-` + component + `","payload":{"component":"` + component +
		`","props":{}},"requestId":"mount","expectResponse":true}`)
	m, err := c.request(ctx, frame)
	if err != nil {
		return err
	}
	var r struct {
		ComponentID string `json:"componentId"`
	}
	if err := json.Unmarshal(m.Result, &r); err != nil || r.ComponentID == "" {
		return fmt.Errorf("mount reply without componentId: %s", m.Result)
	}
	c.id = r.ComponentID
	return nil
}

func (c *client) actionFrame(action string) []byte {
	return []byte(`{"type":"CALL_ACTION","componentId":"` + c.id + `","action":"` + action +
		`","payload":{},"requestId":"a","expectResponse":true}`)
}

// waitCount blocks until the client has seen count ≥ n.
func (c *client) waitCount(ctx context.Context, n int64) error {
	for {
		c.mu.Lock()
		ch := c.notify
		c.mu.Unlock()
		if c.count.Load() >= n {
			return nil
		}
		select {
		case <-ch:
		case <-c.done:
			return errors.New("connection closed")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (c *client) close() {
	_ = c.ws.Close(websocket.StatusNormalClosure, "")
	<-c.done
}

// drop closes the TCP connection without a close frame, as a network
// failure would.
func (c *client) drop() {
	_ = c.ws.CloseNow()
	<-c.done
}

// connectAll dials and mounts n clients with at most inFlight in progress,
// returning the clients and the latency of each connect+mount.
func connectAll(ctx context.Context, cfg Config, n int, errs *atomic.Int64) ([]*client, []time.Duration, error) {
	clients := make([]*client, n)
	lat := make([]time.Duration, n)
	sem := make(chan struct{}, cfg.InFlight)
	var wg sync.WaitGroup
	var firstErr atomic.Pointer[error]
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			start := time.Now()
			c, err := dial(ctx, cfg.URL, errs)
			if err == nil {
				if err = c.mount(ctx, cfg.Component); err != nil {
					c.close()
				}
			}
			if err != nil {
				errs.Add(1)
				firstErr.CompareAndSwap(nil, &err)
				return
			}
			clients[i], lat[i] = c, time.Since(start)
		}()
	}
	wg.Wait()
	if p := firstErr.Load(); p != nil {
		closeAll(clients)
		return nil, nil, fmt.Errorf("loadgen: connect+mount: %w", *p)
	}
	return clients, lat, nil
}

func closeAll(clients []*client) {
	var wg sync.WaitGroup
	for _, c := range clients {
		if c != nil {
			wg.Add(1)
			go func() { defer wg.Done(); c.close() }()
		}
	}
	wg.Wait()
}

// ---- scenarios ----

func runMount(ctx context.Context, cfg Config) (Result, error) {
	var errs atomic.Int64
	cpu0 := cpuSeconds(cfg.PID)
	start := time.Now()
	clients, lat, err := connectAll(ctx, cfg, cfg.Clients, &errs)
	elapsed := time.Since(start)
	cpu := cpuSeconds(cfg.PID) - cpu0
	if err != nil {
		return Result{}, err
	}
	closeAll(clients)
	return timedResult(cfg, elapsed, int64(cfg.Clients), errs.Load(), lat, cpu), nil
}

func runActions(ctx context.Context, cfg Config) (Result, error) {
	var errs atomic.Int64
	clients, _, err := connectAll(ctx, cfg, cfg.Clients, &errs)
	if err != nil {
		return Result{}, err
	}
	defer closeAll(clients)
	var (
		measuring atomic.Bool
		stop      atomic.Bool
		ops       atomic.Int64
		mu        sync.Mutex
		lat       = make([]time.Duration, 0, 1<<16)
		wg        sync.WaitGroup
	)
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			frame := c.actionFrame(cfg.Action)
			local := make([]time.Duration, 0, 1024)
			for !stop.Load() {
				t0 := time.Now()
				if _, err := c.request(ctx, frame); err != nil {
					errs.Add(1)
					if ctx.Err() != nil {
						break
					}
					continue
				}
				if measuring.Load() {
					local = append(local, time.Since(t0))
					ops.Add(1)
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	cpu, elapsed := measureWindow(ctx, cfg, &measuring, &ops, &errs)
	stop.Store(true)
	wg.Wait()
	return timedResult(cfg, elapsed, ops.Load(), errs.Load(), lat, cpu), nil
}

func runFanout(ctx context.Context, cfg Config) (Result, error) {
	var errs atomic.Int64
	clients, _, err := connectAll(ctx, cfg, cfg.Clients, &errs)
	if err != nil {
		return Result{}, err
	}
	defer closeAll(clients)
	var (
		measuring atomic.Bool
		stop      atomic.Bool
		ops       atomic.Int64
		mu        sync.Mutex
		lat       []time.Duration
		wg        sync.WaitGroup
	)
	for _, sender := range clients[:cfg.Senders] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			frame := sender.actionFrame(cfg.Action)
			var local []time.Duration
			for !stop.Load() && ctx.Err() == nil {
				t0 := time.Now()
				m, err := sender.request(ctx, frame)
				if err != nil {
					errs.Add(1)
					continue
				}
				var res struct {
					Count int64 `json:"count"`
				}
				if json.Unmarshal(m.Result, &res) != nil || res.Count == 0 {
					errs.Add(1)
					continue
				}
				// Wait until every client has the update.
				ok := true
				for _, c := range clients {
					if err := c.waitCount(ctx, res.Count); err != nil {
						errs.Add(1)
						ok = false
						break
					}
				}
				if ok && measuring.Load() {
					local = append(local, time.Since(t0))
					ops.Add(1)
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	cpu, elapsed := measureWindow(ctx, cfg, &measuring, &ops, &errs)
	stop.Store(true)
	wg.Wait()
	r := timedResult(cfg, elapsed, ops.Load(), errs.Load(), lat, cpu)
	r.Senders = cfg.Senders
	r.Deliveries = r.Ops * int64(cfg.Clients)
	r.DeliveriesPerSec = float64(r.Deliveries) / elapsed.Seconds()
	if r.Deliveries > 0 && cpu > 0 {
		r.ServerCPUPerDelUS = cpu * 1e6 / float64(r.Deliveries)
	}
	if st, err := fetchStats(ctx, cfg.URL); err == nil {
		r.QueueMaxBytes = st.QueuePeakBytes
	} else if cfg.Progress != nil {
		fmt.Fprintf(cfg.Progress, "  server stats unavailable: %v\n", err)
	}
	return r, nil
}

func runIdle(ctx context.Context, cfg Config) (Result, error) {
	var errs atomic.Int64
	before := rssKiB(cfg.PID)
	clients, _, err := connectAll(ctx, cfg, cfg.Clients, &errs)
	if err != nil {
		return Result{}, err
	}
	defer closeAll(clients)
	select {
	case <-time.After(cfg.Idle):
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
	after := rssKiB(cfg.PID)
	r := Result{Scenario: cfg.Scenario, Clients: cfg.Clients, Component: cfg.Component, Seconds: cfg.Idle.Seconds(),
		Ops: int64(cfg.Clients), Errors: errs.Load(), RSSBeforeKiB: before, RSSAfterKiB: after}
	r.RSSPerClientKiB = (after - before) / float64(cfg.Clients)
	return r, nil
}

// measureWindow runs the warm-up, then the measured window, printing
// progress; it returns the server CPU seconds used in the window.
func measureWindow(ctx context.Context, cfg Config, measuring *atomic.Bool, ops, errs *atomic.Int64) (float64, time.Duration) {
	sleep(ctx, cfg.Warmup)
	cpu0 := cpuSeconds(cfg.PID)
	start := time.Now()
	measuring.Store(true)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	end := time.After(cfg.Duration)
	for done := false; !done; {
		select {
		case <-tick.C:
			if cfg.Progress != nil {
				s := time.Since(start).Seconds()
				fmt.Fprintf(cfg.Progress, "  %4.0fs  %9d ops  %9.0f ops/s  %d errors\n", s, ops.Load(), float64(ops.Load())/s, errs.Load())
			}
		case <-end:
			done = true
		case <-ctx.Done():
			done = true
		}
	}
	measuring.Store(false)
	return cpuSeconds(cfg.PID) - cpu0, time.Since(start)
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
}

// timedResult is the Result of a measured window: ops operations and errs
// errors in elapsed, with their latencies and the server's CPU seconds.
func timedResult(cfg Config, elapsed time.Duration, ops, errs int64, lat []time.Duration, cpu float64) Result {
	r := Result{Scenario: cfg.Scenario, Clients: cfg.Clients, Component: cfg.Component, Seconds: elapsed.Seconds(),
		Ops: ops, Errors: errs}
	r.OpsPerSec = float64(r.Ops) / elapsed.Seconds()
	r.P50ms, r.P99ms = percentiles(lat)
	r.setCPU(cfg.PID, cpu)
	return r
}

func (r *Result) setCPU(pid int, cpu float64) {
	if pid == 0 || cpu <= 0 {
		return
	}
	r.ServerCPUSeconds = cpu
	if r.Ops > 0 {
		r.ServerCPUPerOpUS = cpu * 1e6 / float64(r.Ops)
	}
}

func percentiles(d []time.Duration) (p50, p99 float64) {
	if len(d) == 0 {
		return 0, 0
	}
	slices.Sort(d)
	at := func(q float64) float64 {
		i := int(q * float64(len(d)-1))
		return float64(d[i]) / float64(time.Millisecond)
	}
	return at(0.50), at(0.99)
}

// clockTicks is USER_HZ, the unit of utime/stime in /proc (100 on Linux).
const clockTicks = 100

// cpuSeconds returns utime+stime of pid in seconds (0 when unknown).
func cpuSeconds(pid int) float64 {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the ")" that ends the command name; utime and stime are
	// the 14th and 15th fields of the whole line.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / clockTicks
}

// rssKiB returns VmRSS of pid in KiB.
func rssKiB(pid int) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return n
		}
	}
	return 0
}

// Table writes r as a human-readable table.
func (r Result) Table(w io.Writer) {
	row := func(k, v string) { fmt.Fprintf(w, "  %-28s %s\n", k, v) }
	row("scenario", r.Scenario)
	row("clients", strconv.Itoa(r.Clients))
	if r.Senders > 0 {
		row("senders", strconv.Itoa(r.Senders))
	}
	row("component", r.Component)
	row("window", fmt.Sprintf("%.1f s", r.Seconds))
	row("operations", fmt.Sprintf("%d (%.0f/s)", r.Ops, r.OpsPerSec))
	if r.Deliveries > 0 {
		row("deliveries", fmt.Sprintf("%d (%.0f/s)", r.Deliveries, r.DeliveriesPerSec))
	}
	if r.Scenario != ScenarioIdle {
		row("latency p50 / p99", fmt.Sprintf("%.3f ms / %.3f ms", r.P50ms, r.P99ms))
	}
	row("errors", strconv.FormatInt(r.Errors, 10))
	if r.ServerCPUSeconds > 0 {
		row("server CPU", fmt.Sprintf("%.2f s", r.ServerCPUSeconds))
		row("server CPU per operation", fmt.Sprintf("%.1f µs", r.ServerCPUPerOpUS))
	}
	if r.ServerCPUPerDelUS > 0 {
		row("server CPU per delivery", fmt.Sprintf("%.2f µs", r.ServerCPUPerDelUS))
	}
	if r.Scenario == ScenarioFanout {
		row("send queue high-water", fmt.Sprintf("%d bytes (largest single queue since the server started)", r.QueueMaxBytes))
	}
	if r.Scenario == ScenarioChurn {
		row("cycles (warm-up)", fmt.Sprintf("%d (%d), ending with %s", r.Cycles, r.WarmupCycles, map[bool]string{true: "a dropped connection", false: "a close with 1000"}[r.Close == "drop"]))
		row("server goroutines", fmt.Sprintf("baseline %d, peak %d, final %d (ratio %.3f)", r.GoroutinesBaseline, r.GoroutinesPeak, r.GoroutinesFinal, r.GoroutinesRatio))
		row("server components peak", strconv.Itoa(r.ComponentsPeak))
		if r.RSSBaselineKiB > 0 {
			row("server RSS", fmt.Sprintf("baseline %.0f KiB, peak %.0f KiB, empty %.0f KiB, final %.0f KiB (ratio %.3f)",
				r.RSSBaselineKiB, r.RSSPeakKiB, r.RSSAtEmptyKiB, r.RSSFinalKiB, r.RSSRatio))
			row("retained per cycle", fmt.Sprintf("%.1f bytes", r.RetainedBytesPerCycle))
		}
		row("server live heap", fmt.Sprintf("baseline %d KiB, final %d KiB (%d GCs between)", r.HeapLiveBaseline>>10, r.HeapLiveFinal>>10, r.GCs))
	}
	if r.RSSPerClientKiB != 0 {
		row("server RSS before / after", fmt.Sprintf("%.0f KiB / %.0f KiB", r.RSSBeforeKiB, r.RSSAfterKiB))
		row("server RSS per client", fmt.Sprintf("%.1f KiB", r.RSSPerClientKiB))
	}
}
