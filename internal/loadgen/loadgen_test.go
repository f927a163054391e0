package loadgen_test

import (
	"context"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	live "github.com/live-go/live"
	"github.com/live-go/live/internal/loadgen"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type Counter struct {
	live.Base
	Count      int     `json:"count"`
	LastAction *string `json:"lastAction"`
}

type countResult struct {
	Success bool `json:"success"`
	Count   int  `json:"count"`
}

func (c *Counter) Increment(ctx *live.Ctx) (countResult, error) {
	c.Count++
	a := "increment"
	c.LastAction = &a
	return countResult{true, c.Count}, nil
}

func server(t *testing.T) string { return serverWithLimit(t, -1) }

func serverWithLimit(t *testing.T, burst int) string {
	t.Helper()
	srv, err := live.New(live.Options{StateSecret: []byte("loadgen-test-secret-loadgen-test"), RateLimitBurst: burst, RateLimitPerSecond: 50,
		ResumeGrace: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []live.Component[Counter]{
		{Name: "Counter", Actions: []string{"increment"}},
		{Name: "SingletonCounter", Actions: []string{"increment"}, Singleton: true},
	} {
		if err := live.Register(srv, c); err != nil {
			t.Fatal(err)
		}
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		_ = srv.Shutdown(context.Background())
		hs.Close()
	})
	return "ws" + strings.TrimPrefix(hs.URL, "http") + "/api/live/ws"
}

func TestScenarios(t *testing.T) {
	url := server(t)
	pid := os.Getpid() // the server runs in this process
	ctx := context.Background()
	for _, tc := range []loadgen.Config{
		{Scenario: loadgen.ScenarioMount, Clients: 30},
		{Scenario: loadgen.ScenarioActions, Clients: 8, Duration: 400 * time.Millisecond, Warmup: 100 * time.Millisecond},
		{Scenario: loadgen.ScenarioFanout, Clients: 25, Senders: 3, Duration: 400 * time.Millisecond, Warmup: 100 * time.Millisecond},
		{Scenario: loadgen.ScenarioIdle, Clients: 40, Idle: 100 * time.Millisecond},
		{Scenario: loadgen.ScenarioChurn, Clients: 4, Cycles: 150, Settle: 10 * time.Second, GCWait: -1, Quiet: -1},
		{Scenario: loadgen.ScenarioChurn, Clients: 4, Cycles: 150, Settle: 10 * time.Second, GCWait: -1, Quiet: -1, Drop: true},
	} {
		name := tc.Scenario
		if tc.Drop {
			name += "-drop"
		}
		t.Run(name, func(t *testing.T) {
			tc.URL, tc.PID = url, pid
			r, err := loadgen.Run(ctx, tc)
			if err != nil {
				t.Fatal(err)
			}
			if r.Errors != 0 || r.Ops <= 0 {
				t.Fatalf("result %+v", r)
			}
			switch tc.Scenario {
			case loadgen.ScenarioIdle:
				if r.RSSAfterKiB <= 0 || r.RSSBeforeKiB <= 0 {
					t.Fatalf("no RSS figures: %+v", r)
				}
			case loadgen.ScenarioFanout:
				if r.Deliveries != r.Ops*int64(tc.Clients) || r.Senders != 3 || r.Component != "SingletonCounter" {
					t.Fatalf("fanout result %+v", r)
				}
				// At least CONNECTION_ESTABLISHED was queued, and the
				// queue's hard bound (2 × the 4 MiB default) held.
				if r.QueueMaxBytes <= 0 || r.QueueMaxBytes > 8<<20 {
					t.Fatalf("fanout queue_max_bytes = %d", r.QueueMaxBytes)
				}
				fallthrough
			case loadgen.ScenarioChurn:
				if tc.Scenario == loadgen.ScenarioChurn {
					// The server runs in this process: its goroutines
					// include the test's own, so only sanity is checked.
					if r.Ops != int64(tc.Cycles) || r.Cycles != tc.Cycles || r.WarmupCycles != tc.Cycles ||
						r.GoroutinesBaseline <= 0 || r.GoroutinesFinal <= 0 || r.GoroutinesRatio <= 0 ||
						r.RSSBaselineKiB <= 0 || r.RSSFinalKiB <= 0 || r.RSSPeakKiB <= 0 || r.RSSRatio <= 0 ||
						r.Close != map[bool]string{false: "1000", true: "drop"}[tc.Drop] {
						t.Fatalf("churn result %+v", r)
					}
				}
				fallthrough
			default:
				if r.P50ms <= 0 || r.P99ms < r.P50ms || r.OpsPerSec <= 0 {
					t.Fatalf("latency figures %+v", r)
				}
			}
			var b strings.Builder
			r.Table(&b)
			if !strings.Contains(b.String(), tc.Scenario) {
				t.Fatalf("table:\n%s", b.String())
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []loadgen.Config{
		{},
		{URL: "ws://x", Scenario: "nope"},
		{URL: "ws://x", Scenario: loadgen.ScenarioIdle},
		{URL: "ws://127.0.0.1:1/api/live/ws", Scenario: loadgen.ScenarioChurn}, // no stats route, no pid
	} {
		if _, err := loadgen.Run(context.Background(), c); err == nil {
			t.Fatalf("config %+v accepted", c)
		}
	}
}

func TestMountFailureIsReported(t *testing.T) {
	url := server(t)
	_, err := loadgen.Run(context.Background(), loadgen.Config{URL: url, Scenario: loadgen.ScenarioMount, Clients: 2, Component: "Nope"})
	if err == nil || !strings.Contains(err.Error(), "Component 'Nope' not found") {
		t.Fatalf("err = %v", err)
	}
}

// A rate-limited server answers some actions with an ERROR that has no
// requestId: the run counts them as errors instead of hanging.
func TestRateLimitedServerDoesNotHang(t *testing.T) {
	url := serverWithLimit(t, 20)
	r, err := loadgen.Run(context.Background(), loadgen.Config{URL: url, Scenario: loadgen.ScenarioActions, Clients: 1,
		Duration: 500 * time.Millisecond, Warmup: -1})
	if err != nil {
		t.Fatal(err)
	}
	if r.Errors == 0 || r.Ops == 0 {
		t.Fatalf("want both served and rate-limited actions: %+v", r)
	}
}

// The calibration server answers every measured scenario without errors:
// mounts get an id, increments count up per client, and a singleton's
// increments reach every member (the fan-out waits for each of them).
func TestEchoServesScenarios(t *testing.T) {
	echo := loadgen.NewEcho()
	hs := httptest.NewServer(echo)
	t.Cleanup(func() {
		echo.Close()
		hs.Close()
	})
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/api/live/ws"
	for _, tc := range []loadgen.Config{
		{Scenario: loadgen.ScenarioMount, Clients: 20},
		{Scenario: loadgen.ScenarioActions, Clients: 5, Duration: 300 * time.Millisecond, Warmup: 50 * time.Millisecond},
		{Scenario: loadgen.ScenarioFanout, Clients: 15, Senders: 3, Component: "SingletonCounter", Duration: 300 * time.Millisecond, Warmup: 50 * time.Millisecond},
	} {
		t.Run(tc.Scenario, func(t *testing.T) {
			tc.URL = url
			r, err := loadgen.Run(context.Background(), tc)
			if err != nil {
				t.Fatal(err)
			}
			if r.Errors != 0 || r.Ops == 0 {
				t.Fatalf("result %+v: want operations and no errors", r)
			}
		})
	}
}
