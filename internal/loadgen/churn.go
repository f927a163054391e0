package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// serverStats is the part of GET {prefix}/stats that the scenarios read.
type serverStats struct {
	Connections    int    `json:"connections"`
	Components     int    `json:"components"`
	Goroutines     int    `json:"goroutines"`
	QueuePeakBytes int    `json:"queuePeakBytes"`
	GCCycles       uint64 `json:"gcCycles"`
	HeapLiveBytes  uint64 `json:"heapLiveBytes"`
}

// statsClient keeps no idle connection, so that reading the server's
// goroutine count does not itself leave a goroutine behind on the server.
var statsClient = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// statsURL derives the monitoring URL from the WebSocket URL:
// ws://host/api/live/ws → http://host/api/live/stats.
func statsURL(wsURL string) (string, error) {
	u, err := url.Parse(wsURL)
	if err != nil {
		return "", fmt.Errorf("loadgen: parse URL: %w", err)
	}
	switch u.Scheme {
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	}
	u.Path = strings.TrimSuffix(u.Path, "/ws") + "/stats"
	u.RawQuery = ""
	return u.String(), nil
}

// fetchStats reads the server's statistics.
func fetchStats(ctx context.Context, wsURL string) (serverStats, error) {
	su, err := statsURL(wsURL)
	if err != nil {
		return serverStats{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, su, nil)
	if err != nil {
		return serverStats{}, fmt.Errorf("loadgen: stats request: %w", err)
	}
	resp, err := statsClient.Do(req)
	if err != nil {
		return serverStats{}, fmt.Errorf("loadgen: stats: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return serverStats{}, fmt.Errorf("loadgen: stats: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return serverStats{}, fmt.Errorf("loadgen: stats: %s", resp.Status)
	}
	var v struct {
		Server *serverStats `json:"server"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return serverStats{}, fmt.Errorf("loadgen: stats: %w", err)
	}
	if v.Server == nil {
		return serverStats{}, errors.New("loadgen: stats: no server object")
	}
	return *v.Server, nil
}

// churnWarmupCycles is the warm-up before the baseline: enough for the
// server's lazily built pools, maps and goroutine stacks to exist.
const churnWarmupCycles = 1000

// runChurn measures whether connect+mount+close cycles leave memory or
// goroutines behind: warm-up cycles, baseline once the server is quiet,
// the measured cycles with at most Clients at once, final reading once the
// server is quiet again.
func runChurn(ctx context.Context, cfg Config) (Result, error) {
	if _, err := fetchStats(ctx, cfg.URL); err != nil && cfg.PID == 0 {
		return Result{}, fmt.Errorf("loadgen: churn needs the server's stats route or its pid (-pid): %w", err)
	}
	var errs atomic.Int64
	warm := min(churnWarmupCycles, cfg.Cycles)
	if cfg.Progress != nil {
		fmt.Fprintf(cfg.Progress, "  warm-up: %d cycles\n", warm)
	}
	if _, err := churnCycles(ctx, cfg, warm, &errs, nil); err != nil {
		return Result{}, err
	}
	base, _, err := quietReading(ctx, cfg, "baseline")
	if err != nil {
		return Result{}, err
	}

	r := Result{Scenario: cfg.Scenario, Clients: cfg.Clients, Component: cfg.Component, Cycles: cfg.Cycles, WarmupCycles: warm, Close: "1000",
		RSSBaselineKiB: base.rss, GoroutinesBaseline: base.goroutines, HeapLiveBaseline: base.heapLive}
	if cfg.Drop {
		r.Close = "drop"
	}
	var done atomic.Int64
	peak := func(rd reading) {
		r.RSSPeakKiB = max(r.RSSPeakKiB, rd.rss)
		r.GoroutinesPeak = max(r.GoroutinesPeak, rd.goroutines)
		r.ComponentsPeak = max(r.ComponentsPeak, rd.components)
	}
	start := time.Now()
	stopTicker := make(chan struct{})
	tickerDone := make(chan struct{})
	go func() { // progress and peaks, once a second, until the cycles end
		defer close(tickerDone)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
			case <-stopTicker:
				return
			}
			rd := read(ctx, cfg)
			peak(rd)
			if cfg.Progress != nil {
				s := time.Since(start).Seconds()
				fmt.Fprintf(cfg.Progress, "  %4.0fs  %9d cycles  %7.0f cycles/s  %d errors  server: %d conns, %d components, %d goroutines, RSS %.0f KiB\n",
					s, done.Load(), float64(done.Load())/s, errs.Load(), rd.connections, rd.components, rd.goroutines, rd.rss)
			}
		}
	}()
	lat, err := churnCycles(ctx, cfg, cfg.Cycles, &errs, &done)
	elapsed := time.Since(start)
	close(stopTicker)
	<-tickerDone
	if err != nil {
		return Result{}, err
	}
	peak(read(ctx, cfg))
	final, atEmpty, err := quietReading(ctx, cfg, "final")
	if err != nil {
		return Result{}, err
	}
	r.Seconds = elapsed.Seconds()
	r.Ops, r.Errors = done.Load(), errs.Load()
	r.OpsPerSec = float64(r.Ops) / elapsed.Seconds()
	r.P50ms, r.P99ms = percentiles(lat)
	r.RSSAtEmptyKiB = atEmpty.rss
	r.RSSFinalKiB, r.GoroutinesFinal, r.HeapLiveFinal = final.rss, final.goroutines, final.heapLive
	r.GCs = final.gcCycles - base.gcCycles
	if base.rss > 0 {
		r.RSSRatio = final.rss / base.rss
		r.RetainedBytesPerCycle = (final.rss - base.rss) * 1024 / float64(cfg.Cycles)
	}
	if base.goroutines > 0 {
		r.GoroutinesRatio = float64(final.goroutines) / float64(base.goroutines)
	}
	return r, nil
}

// churnCycles runs n connect+mount+close cycles, at most cfg.Clients at
// once, and returns the latency of each (dial to close handshake done).
// A failed cycle counts as an error; the run goes on.
func churnCycles(ctx context.Context, cfg Config, n int, errs, done *atomic.Int64) ([]time.Duration, error) {
	var (
		next   atomic.Int64
		mu     sync.Mutex
		lat    = make([]time.Duration, 0, n)
		wg     sync.WaitGroup
		failed atomic.Int64
	)
	for range min(cfg.Clients, n) {
		wg.Go(func() {
			local := make([]time.Duration, 0, n/cfg.Clients+1)
			for next.Add(1) <= int64(n) && ctx.Err() == nil {
				t0 := time.Now()
				c, err := dial(ctx, cfg.URL, errs)
				if err == nil {
					err = c.mount(ctx, cfg.Component)
					if cfg.Drop {
						c.drop()
					} else {
						c.close()
					}
				}
				if err != nil {
					errs.Add(1)
					if failed.Add(1) > int64(n/10)+10 {
						return // the server is not serving: give up rather than spin
					}
					continue
				}
				local = append(local, time.Since(t0))
				if done != nil {
					done.Add(1)
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("loadgen: churn: %w", err)
	}
	if f := failed.Load(); f > int64(n/10)+10 {
		return nil, fmt.Errorf("loadgen: churn: %d of %d cycles failed", f, n)
	}
	return lat, nil
}

// reading is one look at the server: process RSS and statistics.
type reading struct {
	rss         float64 // KiB; 0 without a pid
	goroutines  int     // 0 without the stats route
	connections int
	components  int
	gcCycles    uint64
	heapLive    uint64
	stats       bool // the stats route answered
}

func read(ctx context.Context, cfg Config) reading {
	rd := reading{rss: rssKiB(cfg.PID)}
	if st, err := fetchStats(ctx, cfg.URL); err == nil {
		rd.goroutines, rd.connections, rd.components = st.Goroutines, st.Connections, st.Components
		rd.gcCycles, rd.heapLive, rd.stats = st.GCCycles, st.HeapLiveBytes, true
	}
	return rd
}

// quietReading waits (at most cfg.Settle) until the server reports no
// connection and no component — closed clients' components outlive them by
// the server's resume grace — and reads the RSS then (atEmpty). It then
// waits (at most cfg.GCWait) until the server's runtime has completed
// cfg.GCs garbage collections of its own since it became empty — an idle Go
// process collects at least every 2 minutes; nothing here forces one — and
// cfg.Quiet more for the runtime to return freed memory, and reads again
// (rd). Two collections, because the runtime's scavenger sizes what it
// keeps by the heap goal of the collection before the last one: after one
// collection it still keeps memory for the peak's heap goal.
func quietReading(ctx context.Context, cfg Config, what string) (rd, atEmpty reading, err error) {
	start := time.Now()
	deadline := start.Add(cfg.Settle)
	for {
		atEmpty = read(ctx, cfg)
		if !atEmpty.stats || atEmpty.connections == 0 && atEmpty.components == 0 {
			break // without the stats route, Settle cannot be observed
		}
		if time.Now().After(deadline) {
			return rd, atEmpty, fmt.Errorf("loadgen: churn %s: the server still has %d connections and %d components after %s",
				what, atEmpty.connections, atEmpty.components, cfg.Settle)
		}
		sleep(ctx, 250*time.Millisecond)
		if err := ctx.Err(); err != nil {
			return rd, atEmpty, fmt.Errorf("loadgen: churn: %w", err)
		}
	}
	if cfg.Progress != nil {
		fmt.Fprintf(cfg.Progress, "  %s: server empty after %.1f s (RSS %.0f KiB, %d goroutines)\n",
			what, time.Since(start).Seconds(), atEmpty.rss, atEmpty.goroutines)
	}
	if atEmpty.stats && cfg.GCWait > 0 && cfg.GCs > 0 {
		gcStart := time.Now()
		gcDeadline := gcStart.Add(cfg.GCWait)
		for time.Now().Before(gcDeadline) && ctx.Err() == nil {
			sleep(ctx, time.Second) // rarely: the reading's requests are the server's only traffic
			if st, err := fetchStats(ctx, cfg.URL); err == nil && st.GCCycles >= atEmpty.gcCycles+uint64(cfg.GCs) {
				break
			}
		}
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, "  %s: waited %.1f s for %d GCs of the server's own\n", what, time.Since(gcStart).Seconds(), cfg.GCs)
		}
	}
	sleep(ctx, cfg.Quiet)
	if err := ctx.Err(); err != nil {
		return rd, atEmpty, fmt.Errorf("loadgen: churn: %w", err)
	}
	rd = read(ctx, cfg)
	if cfg.Progress != nil {
		fmt.Fprintf(cfg.Progress, "  %s: RSS %.0f KiB, %d goroutines, live heap %d KiB (GC %d)\n",
			what, rd.rss, rd.goroutines, rd.heapLive>>10, rd.gcCycles)
	}
	return rd, atEmpty, nil
}
