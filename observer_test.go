package live_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	live "github.com/live-go/live"
	"github.com/live-go/live/livetest"
)

// recorder is an Observer that keeps every event it receives.
type recorder struct {
	live.NopObserver // RoomLeft, Resynced, SlowConsumer: not recorded

	mu       sync.Mutex
	opened   []live.ConnEvent
	closed   []live.ConnEvent
	mounted  []live.ComponentEvent
	unmount  []live.ComponentEvent
	actions  []live.ActionEvent
	deltas   []live.DeltaEvent
	flushes  []live.FlushEvent
	joined   []live.RoomEvent
	emitted  []live.RoomEvent
	limited  []live.RateLimitEvent
	errTexts []string // of actions, in order
	cluster  []live.ClusterEvent
}

func (r *recorder) Cluster(e live.ClusterEvent) {
	r.mu.Lock()
	r.cluster = append(r.cluster, e)
	r.mu.Unlock()
}

// clusterEvents returns the recorded cluster events.
func (r *recorder) clusterEvents() []live.ClusterEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.cluster)
}

func (r *recorder) ConnOpened(e live.ConnEvent) {
	r.mu.Lock()
	r.opened = append(r.opened, e)
	r.mu.Unlock()
}
func (r *recorder) ConnClosed(e live.ConnEvent) {
	r.mu.Lock()
	r.closed = append(r.closed, e)
	r.mu.Unlock()
}
func (r *recorder) ComponentMounted(e live.ComponentEvent) {
	r.mu.Lock()
	r.mounted = append(r.mounted, e)
	r.mu.Unlock()
}
func (r *recorder) ComponentUnmounted(e live.ComponentEvent) {
	r.mu.Lock()
	r.unmount = append(r.unmount, e)
	r.mu.Unlock()
}
func (r *recorder) ActionDone(e live.ActionEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	text := ""
	if e.Err != nil {
		text = e.Err.Error()
	}
	r.errTexts = append(r.errTexts, text)
	e.Err = nil // compared through errTexts
	r.actions = append(r.actions, e)
}
func (r *recorder) DeltaSent(e live.DeltaEvent) {
	r.mu.Lock()
	r.deltas = append(r.deltas, e)
	r.mu.Unlock()
}
func (r *recorder) Flushed(e live.FlushEvent) {
	r.mu.Lock()
	r.flushes = append(r.flushes, e)
	r.mu.Unlock()
}
func (r *recorder) RoomJoined(e live.RoomEvent) {
	r.mu.Lock()
	r.joined = append(r.joined, e)
	r.mu.Unlock()
}
func (r *recorder) RoomEmitted(e live.RoomEvent) {
	r.mu.Lock()
	r.emitted = append(r.emitted, e)
	r.mu.Unlock()
}
func (r *recorder) RateLimited(e live.RateLimitEvent) {
	r.mu.Lock()
	r.limited = append(r.limited, e)
	r.mu.Unlock()
}

func registerObserved(s *live.Server) error {
	if err := live.Register(s, live.Component[Counter]{Name: "Counter", Actions: []string{"increment", "fail"}}); err != nil {
		return err
	}
	return live.Register(s, live.Component[Counter]{Name: "Limited", Actions: []string{"increment"},
		ActionRateLimit: &live.ActionRateLimit{MaxCalls: 1, Window: time.Hour}})
}

func TestObserverEvents(t *testing.T) {
	rec := &recorder{}
	s := livetest.NewServer(t, live.Options{Observer: rec}, registerObserved)
	conn := s.Connect()
	counter := conn.Mount("Counter", nil)
	counter.MustCall("increment", nil)
	if _, err := counter.Call("fail", nil); err == nil {
		t.Fatal("fail succeeded")
	}
	if _, err := counter.Call("secret", nil); err == nil {
		t.Fatal("secret succeeded")
	}
	limited := conn.Mount("Limited", nil)
	limited.MustCall("increment", nil)
	if _, err := limited.Call("increment", nil); err == nil {
		t.Fatal("second call within the action rate limit succeeded")
	}
	room := counter.Room("lobby")
	if err := room.Join(nil); err != nil {
		t.Fatal(err)
	}
	if err := room.Emit("ping", 1); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Live().EmitToRoom("lobby", "news", "x"); err != nil || n != 1 {
		t.Fatalf("EmitToRoom = %d, %v; want 1 member reached", n, err)
	}
	limited.Unmount()
	conn.Close()

	rec.mu.Lock()
	defer rec.mu.Unlock()
	connEv := []live.ConnEvent{{ConnID: conn.ID()}}
	if diff := cmp.Diff(connEv, rec.opened, cmpopts.IgnoreFields(live.ConnEvent{}, "RemoteAddr")); diff != "" {
		t.Errorf("ConnOpened (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(connEv, rec.closed, cmpopts.IgnoreFields(live.ConnEvent{}, "RemoteAddr")); diff != "" {
		t.Errorf("ConnClosed (-want +got):\n%s", diff)
	}
	wantMounted := []live.ComponentEvent{
		{Component: "Counter", ComponentID: counter.ID(), ConnID: conn.ID(), Kind: live.MountNew},
		{Component: "Limited", ComponentID: limited.ID(), ConnID: conn.ID(), Kind: live.MountNew},
	}
	if diff := cmp.Diff(wantMounted, rec.mounted); diff != "" {
		t.Errorf("ComponentMounted (-want +got):\n%s", diff)
	}
	// Limited by its COMPONENT_UNMOUNT, Counter when the connection closed.
	wantUnmounted := []live.ComponentEvent{
		{Component: "Limited", ComponentID: limited.ID(), ConnID: conn.ID()},
		{Component: "Counter", ComponentID: counter.ID(), ConnID: conn.ID()},
	}
	if diff := cmp.Diff(wantUnmounted, rec.unmount); diff != "" {
		t.Errorf("ComponentUnmounted (-want +got):\n%s", diff)
	}
	wantActions := []live.ActionEvent{
		{Component: "Counter", ComponentID: counter.ID(), Action: "increment", Registered: true},
		{Component: "Counter", ComponentID: counter.ID(), Action: "fail", Registered: true},
		{Component: "Counter", ComponentID: counter.ID(), Action: "secret", Registered: false},
		{Component: "Limited", ComponentID: limited.ID(), Action: "increment", Registered: true},
		{Component: "Limited", ComponentID: limited.ID(), Action: "increment", Registered: true},
	}
	if diff := cmp.Diff(wantActions, rec.actions, cmpopts.IgnoreFields(live.ActionEvent{}, "Duration")); diff != "" {
		t.Errorf("ActionDone (-want +got):\n%s", diff)
	}
	wantErrs := []string{"", "nope", "Action 'secret' exists on 'Counter' but is not listed in publicActions. Add it to: Actions: []string{..., \"secret\"}", "", "Action rate limit exceeded (max 1 calls per 3600000ms)"}
	if diff := cmp.Diff(wantErrs, rec.errTexts); diff != "" {
		t.Errorf("ActionDone errors (-want +got):\n%s", diff)
	}
	// increment and fail (which changes count before failing) on Counter,
	// the first increment on Limited.
	var deltaIDs []string
	for _, d := range rec.deltas {
		if d.Bytes <= 0 {
			t.Errorf("delta of %s has %d bytes", d.ComponentID, d.Bytes)
		}
		deltaIDs = append(deltaIDs, d.Component+"/"+d.ComponentID)
	}
	wantDeltas := []string{"Counter/" + counter.ID(), "Counter/" + counter.ID(), "Limited/" + limited.ID()}
	if diff := cmp.Diff(wantDeltas, deltaIDs); diff != "" {
		t.Errorf("DeltaSent (-want +got):\n%s", diff)
	}
	wantJoined := []live.RoomEvent{{RoomID: "lobby", ComponentID: counter.ID()}}
	if diff := cmp.Diff(wantJoined, rec.joined); diff != "" {
		t.Errorf("RoomJoined (-want +got):\n%s", diff)
	}
	// The client's emit skips its own component; the server's reaches it.
	wantEmitted := []live.RoomEvent{
		{RoomID: "lobby", ComponentID: counter.ID(), Event: "ping", Recipients: 0},
		{RoomID: "lobby", Event: "news", Recipients: 1},
	}
	if diff := cmp.Diff(wantEmitted, rec.emitted); diff != "" {
		t.Errorf("RoomEmitted (-want +got):\n%s", diff)
	}
	wantLimited := []live.RateLimitEvent{{Kind: live.RateLimitAction, ConnID: conn.ID(), Component: "Limited", Action: "increment"}}
	if diff := cmp.Diff(wantLimited, rec.limited); diff != "" {
		t.Errorf("RateLimited (-want +got):\n%s", diff)
	}
	if len(rec.flushes) == 0 {
		t.Error("no Flushed events")
	}
	for _, f := range rec.flushes {
		if f.ConnID != conn.ID() || f.Bytes <= 0 || f.Queued < 0 {
			t.Errorf("Flushed %+v: want conn %s, Bytes > 0, Queued >= 0", f, conn.ID())
		}
	}
}

func TestObserverFrameRateLimit(t *testing.T) {
	rec := &recorder{}
	s := livetest.NewServer(t, live.Options{Observer: rec, RateLimitBurst: 1, RateLimitPerSecond: 1e-9}, registerObserved)
	conn := s.Connect()
	// The first frame takes the only token; the second is refused.
	if _, err := conn.TryMount("Counter", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.TryMount("Counter", nil); err == nil {
		t.Fatal("second frame was not rate limited")
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	want := []live.RateLimitEvent{{Kind: live.RateLimitFrame, ConnID: conn.ID()}}
	if diff := cmp.Diff(want, rec.limited); diff != "" {
		t.Errorf("RateLimited (-want +got):\n%s", diff)
	}
	if got := s.Live().Stats().RateLimited; got != 1 {
		t.Errorf("Stats().RateLimited = %d, want 1", got)
	}
}

// Sleeper's nap takes d of (fake, in a synctest bubble) time; its fail
// fails when told to.
type Sleeper struct {
	live.Base
	Naps int `json:"naps"`
}

type NapArgs struct {
	Seconds int  `json:"seconds"`
	Fail    bool `json:"fail"`
}

func (s *Sleeper) Nap(ctx *live.Ctx, a NapArgs) error {
	time.Sleep(time.Duration(a.Seconds) * time.Second)
	s.Naps++
	if a.Fail {
		return &live.Error{Message: "bad nap"}
	}
	return nil
}

// testSecret is a fixed state secret. Sleeper tests disable signature
// renewal: its timer would wait for the instance lock that a sleeping
// action holds, which synctest does not count as durably blocked.
var testSecret = []byte("0123456789abcdef0123456789abcdef")

func registerSleeper(s *live.Server) error {
	return live.Register(s, live.Component[Sleeper]{Name: "Sleeper", Actions: []string{"nap"}})
}

// logRecord is one captured log record: its message and attributes.
type logRecord struct {
	Level slog.Level
	Msg   string
	Attrs map[string]any
}

// captureHandler is a slog.Handler keeping every record it handles.
type captureHandler struct {
	mu      sync.Mutex
	records []logRecord
}

func (h *captureHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *captureHandler) Handle(_ context.Context, r slog.Record) error {
	rec := logRecord{Level: r.Level, Msg: r.Message, Attrs: map[string]any{}}
	r.Attrs(func(a slog.Attr) bool { rec.Attrs[a.Key] = a.Value.Any(); return true })
	h.mu.Lock()
	h.records = append(h.records, rec)
	h.mu.Unlock()
	return nil
}
func (h *captureHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *captureHandler) WithGroup(string) slog.Handler      { return h }

// warnings returns the captured records with message msg.
func (h *captureHandler) warnings(msg string) []logRecord {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []logRecord
	for _, r := range h.records {
		if r.Msg == msg {
			out = append(out, r)
		}
	}
	return out
}

func TestSlowActionWarning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logs := &captureHandler{}
		rec := &recorder{}
		s := livetest.NewServer(t, live.Options{Logger: slog.New(logs), Observer: rec, StateSecret: testSecret, SignatureRenewInterval: -1}, registerSleeper)
		c := s.Connect().Mount("Sleeper", nil)
		c.MustCall("nap", NapArgs{Seconds: 0})
		if got := logs.warnings("live: slow action"); len(got) != 0 {
			t.Fatalf("a fast action was logged as slow: %v", got)
		}
		c.MustCall("nap", NapArgs{Seconds: 2})
		c.MustCall("nap", NapArgs{Seconds: 3}) // same window: not logged again
		want := []logRecord{{Level: slog.LevelWarn, Msg: "live: slow action", Attrs: map[string]any{
			"component": "Sleeper", "action": "nap", "duration": 2 * time.Second,
			"threshold": live.DefaultSlowAction, "window": live.DefaultWarningWindow,
		}}}
		if diff := cmp.Diff(want, logs.warnings("live: slow action")); diff != "" {
			t.Fatalf("slow-action warnings (-want +got):\n%s", diff)
		}
		s.Advance(live.DefaultWarningWindow) // the next window
		c.MustCall("nap", NapArgs{Seconds: 4})
		want = append(want, want[0])
		want[1].Attrs = map[string]any{"component": "Sleeper", "action": "nap", "duration": 4 * time.Second,
			"threshold": live.DefaultSlowAction, "window": live.DefaultWarningWindow}
		if diff := cmp.Diff(want, logs.warnings("live: slow action")); diff != "" {
			t.Errorf("slow-action warnings after a window (-want +got):\n%s", diff)
		}
		// In a bubble the fake clock makes the observed durations exact.
		rec.mu.Lock()
		var durations []time.Duration
		for _, a := range rec.actions {
			durations = append(durations, a.Duration)
		}
		rec.mu.Unlock()
		if diff := cmp.Diff([]time.Duration{0, 2 * time.Second, 3 * time.Second, 4 * time.Second}, durations); diff != "" {
			t.Errorf("ActionDone durations (-want +got):\n%s", diff)
		}
	})
}

func TestActionWarningsDisabled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logs := &captureHandler{}
		s := livetest.NewServer(t, live.Options{Logger: slog.New(logs), StateSecret: testSecret, SignatureRenewInterval: -1,
			ActionWarnings: live.ActionWarningOptions{SlowAction: -1, ErrorRate: -1, ErrorRateMinCalls: 1}}, registerSleeper)
		c := s.Connect().Mount("Sleeper", nil)
		for range 3 {
			_, _ = c.Call("nap", NapArgs{Seconds: 5, Fail: true})
		}
		logs.mu.Lock()
		defer logs.mu.Unlock()
		for _, r := range logs.records {
			if r.Level >= slog.LevelWarn {
				t.Errorf("warning with both warnings disabled: %+v", r)
			}
		}
	})
}

func TestErrorRateWarning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logs := &captureHandler{}
		s := livetest.NewServer(t, live.Options{Logger: slog.New(logs), StateSecret: testSecret, SignatureRenewInterval: -1,
			ActionWarnings: live.ActionWarningOptions{ErrorRate: 0.75, ErrorRateMinCalls: 5, Window: 10 * time.Second}}, registerSleeper)
		c := s.Connect().Mount("Sleeper", nil)
		call := func(fail bool) {
			t.Helper()
			_, err := c.Call("nap", NapArgs{Fail: fail})
			if (err != nil) != fail {
				t.Fatalf("nap(fail=%v) = %v", fail, err)
			}
		}
		const msg = "live: high action error rate"
		for _, fail := range []bool{true, true, true, false} { // 3/4 failed, but under 5 calls
			call(fail)
		}
		if got := logs.warnings(msg); len(got) != 0 {
			t.Fatalf("warned under ErrorRateMinCalls: %v", got)
		}
		call(false) // 3/5 = 0.6 < 0.75
		if got := logs.warnings(msg); len(got) != 0 {
			t.Fatalf("warned under ErrorRate: %v", got)
		}
		call(true) // 4/6 < 0.75
		call(true) // 5/7 < 0.75
		call(true) // 6/8 = 0.75: warn
		want := []logRecord{{Level: slog.LevelWarn, Msg: msg, Attrs: map[string]any{
			"component": "Sleeper", "action": "nap", "calls": int64(8), "errors": int64(6), "window": 10 * time.Second,
		}}}
		if diff := cmp.Diff(want, logs.warnings(msg)); diff != "" {
			t.Fatalf("error-rate warnings (-want +got):\n%s", diff)
		}
		for range 10 { // still failing in the same window: no flood
			call(true)
		}
		if got := logs.warnings(msg); len(got) != 1 {
			t.Fatalf("%d error-rate warnings in one window, want 1", len(got))
		}
		// A new window starts from zero: four failures are under the minimum.
		s.Advance(10 * time.Second)
		for range 4 {
			call(true)
		}
		if got := logs.warnings(msg); len(got) != 1 {
			t.Fatalf("%d error-rate warnings, want 1 (new window under the minimum)", len(got))
		}
		call(true)
		got := logs.warnings(msg)
		want = append(want, logRecord{Level: slog.LevelWarn, Msg: msg, Attrs: map[string]any{
			"component": "Sleeper", "action": "nap", "calls": int64(5), "errors": int64(5), "window": 10 * time.Second,
		}})
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("error-rate warnings in the second window (-want +got):\n%s", diff)
		}
		if slices.ContainsFunc(got, func(r logRecord) bool { return r.Attrs["action"] != "nap" }) {
			t.Error("warning for another action")
		}
	})
}

func TestActionWarningOptionsValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		w    live.ActionWarningOptions
	}{
		{"negative window", live.ActionWarningOptions{Window: -time.Second}},
		{"error rate above 1", live.ActionWarningOptions{ErrorRate: 1.5}},
		{"negative min calls", live.ActionWarningOptions{ErrorRateMinCalls: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := live.New(live.Options{ActionWarnings: tc.w, StateSecret: testSecret, SignatureRenewInterval: -1}); err == nil {
				t.Error("New accepted invalid ActionWarnings")
			}
		})
	}
}

// Two nodes: the first mount makes node A the singleton's owner, an action
// from a client of node B is forwarded to A, and A hands the singleton over
// when it shuts down.
func TestObserverClusterEvents(t *testing.T) {
	mc := live.NewMemoryCluster()
	start := func(name string, rec *recorder) (*live.Server, *httptest.Server) {
		srv, err := live.New(live.Options{StateSecret: testSecret, Cluster: mc.Node(name), RateLimitBurst: -1, Observer: rec})
		must(t, err)
		must(t, live.Register(srv, live.Component[SharedCounter]{Name: "SharedCounter", Actions: []string{"bump"}, Singleton: true}))
		hs := httptest.NewServer(srv)
		t.Cleanup(func() {
			hs.Close()
			_ = srv.Shutdown(context.Background())
		})
		return srv, hs
	}
	recA, recB := &recorder{}, &recorder{}
	srvA, hsA := start("a", recA)
	_, hsB := start("b", recB)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	_, err := dialClient(t, hsA).Mount(ctx, "SharedCounter", nil)
	must(t, err)
	want := []live.ClusterEvent{{Kind: live.ClusterOwnershipAcquired, Component: "SharedCounter"}}
	if diff := cmp.Diff(want, recA.clusterEvents()); diff != "" {
		t.Fatalf("node A after the first mount (-want +got):\n%s", diff)
	}
	onB, err := dialClient(t, hsB).Mount(ctx, "SharedCounter", nil)
	must(t, err)
	if _, err := onB.Call(ctx, "bump", BumpArgs{Sender: "b"}); err != nil {
		t.Fatal(err)
	}
	want = []live.ClusterEvent{{Kind: live.ClusterForwarded, Component: "SharedCounter"}}
	if diff := cmp.Diff(want, recB.clusterEvents()); diff != "" {
		t.Errorf("node B after an action (-want +got):\n%s", diff)
	}
	must(t, srvA.Shutdown(ctx))
	want = []live.ClusterEvent{
		{Kind: live.ClusterOwnershipAcquired, Component: "SharedCounter"},
		{Kind: live.ClusterOwnershipReleased, Component: "SharedCounter"},
	}
	if diff := cmp.Diff(want, recA.clusterEvents()); diff != "" {
		t.Errorf("node A after shutdown (-want +got):\n%s", diff)
	}
}
