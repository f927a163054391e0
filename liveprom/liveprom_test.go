package liveprom_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	live "github.com/live-go/live"
	"github.com/live-go/live/client"
	"github.com/live-go/live/liveprom"
)

type Counter struct {
	live.Base
	Count int `json:"count"`
}

func (c *Counter) Increment(ctx *live.Ctx) (int, error) { c.Count++; return c.Count, nil }
func (c *Counter) Fail(ctx *live.Ctx) error             { return errors.New("broken") }

// startServer runs a live server with the Prometheus observer and
// collector on a real HTTP listener: the live routes under /api/live/ and
// the registry at /metrics.
func startServer(t *testing.T) (*live.Server, *httptest.Server) {
	t.Helper()
	reg := prometheus.NewRegistry()
	obs, err := liveprom.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := live.New(live.Options{Observer: obs, StateSecret: []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	reg.MustRegister(liveprom.NewCollector(srv))
	// Three calls per connection per hour: the fourth is rate limited.
	if err := live.Register(srv, live.Component[Counter]{Name: "Counter", Actions: []string{"increment", "fail"},
		ActionRateLimit: &live.ActionRateLimit{MaxCalls: 3, Window: time.Hour}}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/live/", srv)
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		hs.Close()
		if err := srv.Shutdown(context.Background()); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return srv, hs
}

// scrape fetches /metrics over HTTP and parses the text exposition format.
func scrape(t *testing.T, hs *httptest.Server) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(hs.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return mfs
}

// value returns the counter or gauge value, or the histogram's sample
// count, of the sample of family name whose labels are exactly labels
// ("k=v,k=v"; "" for none). It reports false when there is none.
func value(mfs map[string]*dto.MetricFamily, name, labels string) (float64, bool) {
	mf := mfs[name]
	if mf == nil {
		return 0, false
	}
	for _, m := range mf.GetMetric() {
		var got []string
		for _, l := range m.GetLabel() {
			got = append(got, l.GetName()+"="+l.GetValue())
		}
		if strings.Join(got, ",") != labels {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

func TestMetricsOverHTTP(t *testing.T) {
	srv, hs := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/api/live/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	comp, err := c.Mount(ctx, "Counter", nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := comp.Call(ctx, "increment", nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := comp.Call(ctx, "fail", nil); err == nil {
		t.Fatal("fail succeeded")
	}
	if _, err := comp.Call(ctx, "increment", nil); err == nil || !strings.Contains(err.Error(), "rate limit") {
		t.Fatalf("fourth call: %v, want the action rate limit", err)
	}
	if _, err := comp.Call(ctx, "drop_tables", nil); err == nil {
		t.Fatal("an unregistered action succeeded")
	}
	if _, err := c.Request(ctx, map[string]any{"type": "ROOM_JOIN", "componentId": comp.ID(), "roomId": "lobby"}); err != nil {
		t.Fatal(err)
	}
	if n, err := srv.EmitToRoom("lobby", "news", "hello"); err != nil || n != 1 {
		t.Fatalf("EmitToRoom = %d, %v; want 1 member reached", n, err)
	}

	mfs := scrape(t, hs)
	for _, tc := range []struct {
		name, labels string
		want         float64
	}{
		{"live_connections_opened_total", "", 1},
		{"live_connections_active", "", 1},
		{"live_component_mounts_total", "component=Counter,kind=mount", 1},
		// Histograms: sample counts.
		{"live_action_duration_seconds", "action=increment,component=Counter", 3},
		{"live_action_duration_seconds", "action=fail,component=Counter", 1},
		{"live_action_duration_seconds", "action=_unregistered,component=Counter", 1},
		{"live_action_errors_total", "action=increment,component=Counter", 1},
		{"live_action_errors_total", "action=fail,component=Counter", 1},
		{"live_action_errors_total", "action=_unregistered,component=Counter", 1},
		{"live_deltas_total", "component=Counter", 2},
		{"live_rate_limited_total", "action=increment,component=Counter,kind=action", 1},
		{"live_room_joins_total", "typed=false", 1},
		{"live_room_events_total", "typed=false", 1},
		{"live_room_event_recipients_total", "typed=false", 1},
		{"live_components", "", 1},
		{"live_rooms", "", 1},
	} {
		got, ok := value(mfs, tc.name, tc.labels)
		if !ok {
			t.Errorf("%s{%s} missing", tc.name, tc.labels)
			continue
		}
		if got != tc.want {
			t.Errorf("%s{%s} = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
	for _, name := range []string{"live_delta_bytes_total", "live_bytes_written_total", "live_frames_written_total"} {
		if got := sum(mfs, name); got <= 0 {
			t.Errorf("%s = %v, want > 0", name, got)
		}
	}
	if got := sum(mfs, "live_send_queue_depth_bytes"); got < 1 {
		t.Errorf("live_send_queue_depth_bytes has %v samples, want at least one per frame", got)
	}
	// No label value may come from an unbounded set.
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "component" && l.GetValue() != "Counter" && l.GetValue() != "" {
					t.Errorf("%s has component label %q", name, l.GetValue())
				}
				if l.GetName() == "action" && l.GetValue() == "drop_tables" {
					t.Errorf("%s is labelled with a client-chosen action name", name)
				}
			}
		}
	}
}

func TestConnectionClosedMetrics(t *testing.T) {
	srv, hs := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/api/live/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Mount(ctx, "Counter", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	// The server tears the connection down after the client's close;
	// Shutdown waits for that teardown.
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	mfs := scrape(t, hs)
	want := map[string]float64{
		"live_connections_opened_total": 1,
		"live_connections_closed_total": 1,
		"live_connections_active":       0,
		"live_component_unmounts_total": 1,
	}
	got := map[string]float64{}
	for name := range want {
		got[name] = sum(mfs, name)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after close (-want +got):\n%s", diff)
	}
}

// TestDocsListMetrics checks that docs/monitoring.md names every metric
// the Observer and the Collector export.
func TestDocsListMetrics(t *testing.T) {
	_, hs := startServer(t)
	doc, err := os.ReadFile("../docs/monitoring.md")
	if err != nil {
		t.Fatal(err)
	}
	mfs := scrape(t, hs)
	// Vectors appear once they have a sample; the fresh server has only
	// the plain metrics, so list the vectors' names too.
	names := []string{"live_component_mounts_total", "live_component_unmounts_total", "live_action_duration_seconds",
		"live_action_errors_total", "live_deltas_total", "live_delta_bytes_total", "live_rate_limited_total",
		"live_room_joins_total", "live_room_leaves_total", "live_room_events_total", "live_room_event_recipients_total",
		"live_cluster_events_total"}
	for name := range mfs {
		names = append(names, name)
	}
	if len(mfs) < 10 {
		t.Fatalf("scraped %d metric families; want the plain metrics of both", len(mfs))
	}
	for _, name := range names {
		if !strings.Contains(string(doc), "`"+name+"`") {
			t.Errorf("docs/monitoring.md does not list %s", name)
		}
	}
}

func TestNewRegistersOnce(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := liveprom.New(reg); err != nil {
		t.Fatal(err)
	}
	var are prometheus.AlreadyRegisteredError
	if _, err := liveprom.New(reg); !errors.As(err, &are) {
		t.Fatalf("second New on one registry: %v, want AlreadyRegisteredError", err)
	}
}

// sum adds up the values (sample counts for histograms) of every sample of
// family name.
func sum(mfs map[string]*dto.MetricFamily, name string) float64 {
	var total float64
	for _, m := range mfs[name].GetMetric() {
		switch {
		case m.Counter != nil:
			total += m.GetCounter().GetValue()
		case m.Gauge != nil:
			total += m.GetGauge().GetValue()
		case m.Histogram != nil:
			total += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return total
}
