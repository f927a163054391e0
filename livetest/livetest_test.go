package livetest_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	live "github.com/live-go/live"
	"github.com/live-go/live/livetest"
)

func newServer(t *testing.T, setup ...func(*live.Server) error) *livetest.Server {
	t.Helper()
	return livetest.NewServer(t, live.Options{}, setup...)
}

func types(msgs []livetest.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Type
	}
	return out
}

func TestMountCallState(t *testing.T) {
	t.Parallel()
	s := newServer(t, registerCounter)
	conn := s.Connect()
	c := conn.Mount("Counter", map[string]any{"step": 2, "count": 99})
	if c.ID() == "" || c.Name() != "Counter" || c.Conn() != conn {
		t.Fatalf("component handle: id %q name %q", c.ID(), c.Name())
	}
	// count is not writable: the prop is ignored; step is.
	if diff := cmp.Diff(map[string]any{"count": 0.0, "step": 2.0, "label": ""}, c.State()); diff != "" {
		t.Fatalf("initial state (-want +got):\n%s", diff)
	}
	if res, err := c.Call("increment", nil); err != nil || res != nil {
		t.Fatalf("increment = %s, %v; want no result", res, err)
	}
	res := c.MustCall("add", AddArgs{N: 5})
	if string(res) != "7" {
		t.Fatalf("add result = %s, want 7", res)
	}
	var got Counter
	c.Decode(&got)
	if got.Count != 7 || got.Step != 2 {
		t.Fatalf("decoded state = %+v", got)
	}
	if st := c.State(); st["count"] != 7.0 {
		t.Fatalf("State()[count] = %v", st["count"])
	}
	// The state mirror is a copy: changing it changes nothing.
	c.State()["count"] = 1000.0
	if st := c.State(); st["count"] != 7.0 {
		t.Fatalf("State() aliased the mirror: %v", st["count"])
	}
}

func TestCallErrors(t *testing.T) {
	t.Parallel()
	s := newServer(t, registerCounter)
	c := s.Connect().Mount("Counter", nil)
	tests := []struct {
		name, action string
		payload      any
		wantErr      string
		wantEvent    bool // the failure is also emitted as a component ERROR
	}{
		{"action error", "add", AddArgs{N: -1}, "n must not be negative", true},
		{"not allowed", "reset", nil, "Action 'reset' is not callable", true},
		{"action auth", "secret", nil, "AUTH_DENIED", false},
		{"bad payload", "add", map[string]any{"n": "x"}, "", true},
		{"unknown field", "add", map[string]any{"m": 1}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.TakeEvents()
			res, err := c.Call(tt.action, tt.payload)
			var re *livetest.ReplyError
			if !errors.As(err, &re) {
				t.Fatalf("Call = %s, %v; want a *ReplyError", res, err)
			}
			if tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %q, want it to contain %q", err, tt.wantErr)
			}
			if re.Reply.Type != "ACTION_RESPONSE" || re.Reply.Success || re.Message != err.Error() {
				t.Fatalf("reply = %+v", re.Reply)
			}
			evs := c.TakeEvents()
			hasErr := slices.ContainsFunc(evs, func(m livetest.Message) bool {
				return m.Type == "ERROR" && m.Action == tt.action && m.Error == err.Error()
			})
			if hasErr != tt.wantEvent {
				t.Fatalf("ERROR event emitted = %v, want %v; events %v", hasErr, tt.wantEvent, evs)
			}
		})
	}
	if got := c.State()["count"]; got != 0.0 {
		t.Fatalf("failed calls changed the state: count %v", got)
	}
}

func TestEvents(t *testing.T) {
	t.Parallel()
	s := newServer(t, registerCounter)
	conn := s.Connect()
	c := conn.Mount("Counter", nil)
	other := conn.Mount("Counter", nil)
	c.MustCall("increment", nil)
	c.MustCall("notify", nil)
	evs := c.Events()
	if diff := cmp.Diff([]string{"counted"}, types(evs)); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}
	var p struct{ Count int }
	if err := evs[0].Decode(&p); err != nil || p.Count != 1 {
		t.Fatalf("event data = %+v, %v (raw %s)", p, err, evs[0].Raw)
	}
	if evs[0].ComponentID != c.ID() {
		t.Fatalf("event component %q, want %q", evs[0].ComponentID, c.ID())
	}
	if got := other.Events(); len(got) != 0 {
		t.Fatalf("another component got events %v", got)
	}
	if got := c.TakeEvents(); len(got) != 1 {
		t.Fatalf("TakeEvents = %v", got)
	}
	if got := c.Events(); len(got) != 0 {
		t.Fatalf("Events after TakeEvents = %v", got)
	}
	c.MustCall("notify", nil)
	if got := c.WaitEvent("counted"); got.ComponentID != c.ID() {
		t.Fatalf("WaitEvent = %v", got)
	}
}

func TestMessagesRecordEverythingButBarriers(t *testing.T) {
	t.Parallel()
	s := newServer(t, registerCounter)
	conn := s.Connect()
	if conn.ID() == "" {
		t.Fatal("no connection id")
	}
	c := conn.Mount("Counter", nil)
	c.MustCall("increment", nil)
	conn.Sync()
	s.Sync()
	want := []string{"CONNECTION_ESTABLISHED", "STATE_UPDATE", "MESSAGE_RESPONSE", "STATE_DELTA", "ACTION_RESPONSE"}
	msgs := conn.Messages()
	if diff := cmp.Diff(want, types(msgs)); diff != "" {
		t.Fatalf("messages (-want +got):\n%s", diff)
	}
	if d := msgs[3]; d.ComponentID != c.ID() || string(d.Data) != `{"count":1}` {
		t.Fatalf("delta = %+v", d)
	}
	for _, m := range msgs {
		if !json.Valid(m.Raw) {
			t.Fatalf("raw message %q is not JSON", m.Raw)
		}
	}
}

func TestSendAndSync(t *testing.T) {
	t.Parallel()
	s := newServer(t, registerCounter)
	conn := s.Connect()
	c := conn.Mount("Counter", nil)
	// A fire-and-forget action: no reply, Sync waits for its effects.
	if err := conn.Send(map[string]any{"type": "CALL_ACTION", "componentId": c.ID(), "action": "increment", "payload": map[string]any{}}); err != nil {
		t.Fatal(err)
	}
	conn.Sync()
	if got := c.State()["count"]; got != 1.0 {
		t.Fatalf("count after Send+Sync = %v", got)
	}
	if err := conn.Send(make(chan int)); err == nil {
		t.Fatal("Send of a value JSON cannot encode succeeded")
	}
	if _, err := c.Call("add", make(chan int)); err == nil {
		t.Fatal("Call with a payload JSON cannot encode succeeded")
	}
	if err := conn.Send(json.RawMessage(`{"type":"NOPE"}`)); err != nil {
		t.Fatal(err)
	}
	s.Sync()
	msgs := conn.Messages()
	if last := msgs[len(msgs)-1]; last.Type != "MESSAGE_RESPONSE" || last.Success || last.Error != "Unknown message type" {
		t.Fatalf("unknown type answered with %v", last)
	}
}

func TestSetProperty(t *testing.T) {
	t.Parallel()
	s := newServer(t, registerCounter)
	c := s.Connect().Mount("Counter", nil)
	if err := c.Set("step", 3); err != nil {
		t.Fatal(err)
	}
	c.MustCall("increment", nil)
	if got := c.State(); got["step"] != 3.0 || got["count"] != 3.0 {
		t.Fatalf("state = %v", got)
	}
	err := c.Set("count", 50)
	var re *livetest.ReplyError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "not an updatable field") {
		t.Fatalf("Set(count) = %v, want a refusal", err)
	}
}

func TestIdentity(t *testing.T) {
	t.Parallel()
	s := newServer(t, registerCounter, registerVault)
	tests := []struct {
		name      string
		opts      []livetest.ConnOption
		wantWho   string
		wantVault bool
	}{
		{"anonymous", nil, "anonymous", false},
		{"user", []livetest.ConnOption{livetest.WithIdentity(&live.Identity{ID: "u1"})}, "u1", false},
		{"admin", []livetest.ConnOption{livetest.WithIdentity(&live.Identity{ID: "a1", Roles: []string{"admin"}})}, "a1", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := s.Connect(tt.opts...)
			who := conn.Mount("Counter", nil).MustCall("whoami", nil)
			if string(who) != `"`+tt.wantWho+`"` {
				t.Fatalf("whoami = %s, want %q", who, tt.wantWho)
			}
			v, err := conn.TryMount("Vault", nil)
			if tt.wantVault {
				if err != nil || v.State()["secret"] != "s3cret" {
					t.Fatalf("Vault mount = %v", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), "AUTH_DENIED") {
				t.Fatalf("Vault mount error = %v, want AUTH_DENIED", err)
			}
		})
	}
}

func TestIdentityThroughRequest(t *testing.T) {
	t.Parallel()
	fromHeader := func(_ context.Context, r *live.Request) (*live.Identity, error) {
		if u := r.Header.Get("X-User"); u != "" {
			return &live.Identity{ID: u}, nil
		}
		return nil, nil
	}
	s := livetest.NewServer(t, live.Options{Identify: fromHeader}, registerCounter)
	conn := s.Connect(livetest.WithRequest(live.Request{Header: map[string][]string{"X-User": {"bob"}}}))
	if who := conn.Mount("Counter", nil).MustCall("whoami", nil); string(who) != `"bob"` {
		t.Fatalf("whoami = %s", who)
	}
	// WithIdentity wins over the server's own Identify.
	conn = s.Connect(livetest.WithIdentity(&live.Identity{ID: "alice"}), livetest.WithRequest(live.Request{Header: map[string][]string{"X-User": {"bob"}}}))
	if who := conn.Mount("Counter", nil).MustCall("whoami", nil); string(who) != `"alice"` {
		t.Fatalf("whoami = %s", who)
	}
}

func TestNewWrapsExistingServer(t *testing.T) {
	t.Parallel()
	plain, err := live.New(live.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = plain.Shutdown(context.Background()) })
	if err := registerCounter(plain); err != nil {
		t.Fatal(err)
	}
	s := livetest.New(t, plain)
	if s.Live() != plain {
		t.Fatal("Live() is not the wrapped server")
	}
	if c := s.Connect().Mount("Counter", nil); c.MustCall("add", AddArgs{N: 2}) == nil {
		t.Fatal("no result")
	}
	if _, err := s.Dial(livetest.WithIdentity(&live.Identity{ID: "x"})); err == nil || !strings.Contains(err.Error(), "livetest.Identify") {
		t.Fatalf("WithIdentity on a server without livetest.Identify: %v", err)
	}

	wrapped, err := live.New(live.Options{Identify: livetest.Identify(nil)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = wrapped.Shutdown(context.Background()) })
	if err := registerCounter(wrapped); err != nil {
		t.Fatal(err)
	}
	conn := livetest.New(t, wrapped).Connect(livetest.WithIdentity(&live.Identity{ID: "x"}))
	if who := conn.Mount("Counter", nil).MustCall("whoami", nil); string(who) != `"x"` {
		t.Fatalf("whoami = %s", who)
	}
}

func TestDialRefused(t *testing.T) {
	t.Parallel()
	s := livetest.NewServer(t, live.Options{Identify: refuseAll})
	conn, err := s.Dial()
	var ce *livetest.CloseError
	if conn != nil || !errors.As(err, &ce) || ce.Code != live.CloseUnauthorized || ce.Reason != "Unauthorized" {
		t.Fatalf("Dial = %v, %v; want close 4001", conn, err)
	}
	if !errors.Is(err, livetest.ErrClosed) {
		t.Fatalf("%v does not match ErrClosed", err)
	}
}

func TestShutdownClosesConnections(t *testing.T) {
	t.Parallel()
	s := newServer(t, registerCounter)
	conn := s.Connect()
	c := conn.Mount("Counter", nil)
	if err := s.Live().Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !conn.Closed() {
		t.Fatal("connection open after Shutdown")
	}
	code, reason, byServer := conn.CloseStatus()
	if code != live.CloseGoingAway || reason != "server shutdown" || !byServer {
		t.Fatalf("close status = %d %q %v", code, reason, byServer)
	}
	_, err := c.Call("increment", nil)
	var ce *livetest.CloseError
	if !errors.As(err, &ce) || ce.Code != live.CloseGoingAway || !errors.Is(err, livetest.ErrClosed) {
		t.Fatalf("Call after shutdown = %v", err)
	}
	conn.Sync() // returns on a closed connection
	s.Sync()
}

func TestCloseRunsDisconnectHooks(t *testing.T) {
	t.Parallel()
	log := &hookLog{}
	s := livetest.NewServer(t, live.Options{ResumeGrace: -1}, func(srv *live.Server) error {
		return live.Register(srv, live.Component[Lifecycle]{Name: "Lifecycle", New: func() *Lifecycle { return &Lifecycle{log: log} }})
	})
	conn := s.Connect()
	conn.Mount("Lifecycle", nil).Unmount()
	if diff := cmp.Diff([]string{"destroy"}, log.get()); diff != "" {
		t.Fatalf("after Unmount (-want +got):\n%s", diff)
	}
	conn.Mount("Lifecycle", nil)
	conn.Close()
	conn.Close() // a second Close does nothing
	if diff := cmp.Diff([]string{"destroy", "disconnect", "destroy"}, log.get()); diff != "" {
		t.Fatalf("after Close (-want +got):\n%s", diff)
	}
	if _, _, byServer := conn.CloseStatus(); byServer || !conn.Closed() {
		t.Fatal("client close reported as a server close")
	}
	if _, err := conn.TryMount("Lifecycle", nil); !errors.Is(err, livetest.ErrClosed) {
		t.Fatalf("mount on a closed connection = %v", err)
	}
}

func TestSingletonConverges(t *testing.T) {
	t.Parallel()
	s := newServer(t, registerBoard)
	a := s.Connect().Mount("Board", nil)
	b := s.Connect().Mount("Board", nil)
	if a.ID() != b.ID() {
		t.Fatalf("singleton ids differ: %s %s", a.ID(), b.ID())
	}
	a.MustCall("post", map[string]string{"text": "one"})
	b.MustCall("post", map[string]string{"text": "two"})
	s.Sync()
	want := map[string]any{"notes": []any{"one", "two"}}
	for name, c := range map[string]*livetest.Component{"a": a, "b": b} {
		if diff := cmp.Diff(want, c.State()); diff != "" {
			t.Fatalf("%s state (-want +got):\n%s", name, diff)
		}
	}
}

func TestBroadcast(t *testing.T) {
	t.Parallel()
	s := newServer(t, registerCounter)
	a := s.Connect().Mount("Counter", nil, livetest.InRoom("lobby"))
	b := s.Connect().Mount("Counter", nil, livetest.InRoom("lobby"))
	elsewhere := s.Connect().Mount("Counter", nil, livetest.InRoom("attic"))
	a.MustCall("shout", map[string]string{"text": "hi"})
	s.Sync()
	got := b.Events()
	if len(got) != 1 || got[0].Type != "BROADCAST" || got[0].Event != "shout" || string(got[0].Data) != `"hi"` ||
		got[0].RoomID != "lobby" || got[0].ComponentID != a.ID() {
		t.Fatalf("b events = %v", got)
	}
	if evs := a.Events(); len(evs) != 0 {
		t.Fatalf("the sender got its own broadcast: %v", evs)
	}
	if evs := elsewhere.Events(); len(evs) != 0 {
		t.Fatalf("another room got the broadcast: %v", evs)
	}
}

func TestRooms(t *testing.T) {
	t.Parallel()
	s := newServer(t, registerCounter)
	a := s.Connect().Mount("Counter", nil)
	b := s.Connect().Mount("Counter", nil)
	ra, rb := a.Room("chat:1"), b.Room("chat:1")
	if ra.ID() != "chat:1" {
		t.Fatalf("room id %q", ra.ID())
	}
	if err := ra.Emit("early", nil); err == nil || !strings.Contains(err.Error(), "Not a member") {
		t.Fatalf("Emit before Join = %v", err)
	}
	if err := ra.Join(map[string]any{"topic": "go"}); err != nil {
		t.Fatal(err)
	}
	if err := rb.Join(nil); err != nil {
		t.Fatal(err)
	}
	if err := rb.Emit("typing", map[string]bool{"on": true}); err != nil {
		t.Fatal(err)
	}
	if err := rb.SetState(map[string]any{"topic": "rust"}); err != nil {
		t.Fatal(err)
	}
	s.Sync()
	var got []string
	for _, e := range ra.Events() {
		got = append(got, e.Type+" "+e.Event+" "+string(e.Data))
	}
	want := []string{
		`ROOM_SYSTEM $sub:join {"subscriberId":"` + b.ID() + `","count":2}`,
		`ROOM_EVENT typing {"on":true}`,
		`ROOM_STATE $state:update {"state":{"topic":"rust"}}`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("a's room events (-want +got):\n%s", diff)
	}
	st, err := ra.State()
	if err != nil || st["topic"] != "rust" {
		t.Fatalf("State = %v, %v", st, err)
	}
	if err := rb.Leave(); err != nil {
		t.Fatal(err)
	}
	if _, err := rb.State(); err == nil {
		t.Fatal("State after Leave succeeded")
	}
	if err := a.Room("bad room!").Join(nil); err == nil {
		t.Fatal("joining an invalid room id succeeded")
	}
}

func TestTypedRoomFrames(t *testing.T) {
	t.Parallel()
	s := newServer(t, registerArena)
	p := s.Connect().Mount("Player", nil)
	q := s.Connect().Mount("Player", nil)
	p.MustCall("enter", ArenaArgs{Arena: "1"})
	q.MustCall("enter", ArenaArgs{Arena: "1"})
	q.MustCall("cheer", ArenaArgs{Arena: "1"})
	q.MustCall("nextRound", ArenaArgs{Arena: "1"})
	s.Sync()
	if err := p.Room("arena:1").Join(nil); err == nil {
		t.Fatal("a client joined a typed room")
	}
	var got []string
	for _, e := range p.Room("arena:1").Events() {
		got = append(got, e.Type+" "+e.Event+" "+string(e.Data))
		if e.ComponentID != p.ID() {
			t.Fatalf("room frame for %q, want %q", e.ComponentID, p.ID())
		}
	}
	want := []string{
		`ROOM_JOINED $room:joined {"state":{"round":0}}`,
		`ROOM_EVENT $sub:join {"subscriberId":"` + q.ID() + `","count":2}`,
		`ROOM_EVENT cheer {"loud":true}`,
		`ROOM_STATE $state:update {"state":{"round":1}}`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("room traffic (-want +got):\n%s", diff)
	}
	evs := p.Room("arena:1").Events()
	if evs[0].Binary || !evs[1].Binary || evs[1].Raw[0] != 0x02 || evs[3].Raw[0] != 0x03 {
		t.Fatalf("binary flags: %v", evs)
	}
}

func TestRehydrate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		testRehydrate(t)
	})
}

func testRehydrate(t *testing.T) {
	s := newServer(t, registerCounter)
	first := s.Connect()
	c := first.Mount("Counter", nil)
	mounted := c.SignedState()
	c.MustCall("add", AddArgs{N: 41})
	if got := c.SignedState(); string(got) != string(mounted) {
		t.Fatal("signature renewed before its interval")
	}
	s.Advance(live.DefaultSignatureRenew) // the renewed signature holds count 41
	signed := c.SignedState()
	if string(signed) == string(mounted) {
		t.Fatal("no renewed signed state")
	}
	first.Close()
	second := s.Connect()
	r, err := second.Rehydrate("Counter", signed)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.State()["count"]; got != 41.0 {
		t.Fatalf("rehydrated count = %v", got)
	}
	r.MustCall("increment", nil)
	if got := r.State()["count"]; got != 42.0 {
		t.Fatalf("count after increment = %v", got)
	}
	// A signed state rehydrates once.
	if _, err := s.Connect().Rehydrate("Counter", signed); err == nil {
		t.Fatal("second rehydrate of the same state succeeded")
	}
	tampered := strings.Replace(string(signed), `\"count\":41`, `\"count\":4100`, 1)
	if _, err := s.Connect().Rehydrate("Counter", json.RawMessage(tampered)); err == nil {
		t.Fatal("tampered state rehydrated")
	}
}

func TestRequest(t *testing.T) {
	t.Parallel()
	s := newServer(t, registerCounter)
	conn := s.Connect()
	msg := map[string]any{"type": "AUTH", "payload": map[string]any{"token": "x"}}
	reply, err := conn.Request(msg)
	var re *livetest.ReplyError
	if !errors.As(err, &re) || reply.Type != "AUTH_RESPONSE" || re.Message != "Authentication failed" {
		t.Fatalf("AUTH = %v, %v", reply, err)
	}
	if _, ok := msg["requestId"]; ok {
		t.Fatal("Request modified its argument")
	}
}

func TestAdvanceInBubble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newServer(t, registerClock)
		c := s.Connect().Mount("Clock", nil)
		s.Advance(3 * time.Second)
		if got := c.State()["ticks"]; got != 3.0 {
			t.Fatalf("ticks after 3s = %v", got)
		}
		s.Advance(500 * time.Millisecond)
		if got := c.State()["ticks"]; got != 3.0 {
			t.Fatalf("ticks after 3.5s = %v", got)
		}
		s.Advance(500 * time.Millisecond)
		s.Sync()
		if got := c.State()["ticks"]; got != 4.0 {
			t.Fatalf("ticks after 4s = %v", got)
		}
		// The engine's own timers run on fake time too: the state changed, so
		// a renewed signature has been sent.
		sig := 0
		for _, m := range c.Conn().Messages() {
			if m.Type == "STATE_SIGNATURE" {
				sig++
			}
		}
		if sig == 0 {
			t.Fatal("no STATE_SIGNATURE after the state changed")
		}
	})
}

func TestWaitForOutsideBubble(t *testing.T) {
	t.Parallel()
	s := newServer(t, registerClockEvery(10*time.Millisecond))
	c := s.Connect(livetest.WithTimeout(5*time.Second)).Mount("Clock", nil)
	// Real time: the first tick comes after 10ms.
	c.WaitFor(func(st map[string]any) bool { return st["ticks"].(float64) >= 1 })
	s.Advance(0) // outside a bubble: no sleep, then a sync
}

func TestWaitTimesOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newServer(t, registerCounter)
		ft := &fakeTB{TB: t}
		start := time.Now()
		done := make(chan struct{})
		go func() {
			defer close(done)
			c := livetest.New(ft, s.Live()).Connect(livetest.WithTimeout(time.Minute)).Mount("Counter", nil)
			c.WaitFor(func(st map[string]any) bool { return st["count"] == 1.0 })
		}()
		<-done
		if !ft.failed() || !strings.Contains(ft.msg(), "timed out") || time.Since(start) != time.Minute {
			t.Fatalf("WaitFor: failed=%v %q after %v; want a timeout after 1m of fake time", ft.failed(), ft.msg(), time.Since(start))
		}
		ft.cleanup()
	})
}

func TestParallelServers(t *testing.T) {
	t.Parallel()
	for i := range 4 {
		t.Run("server", func(t *testing.T) {
			t.Parallel()
			s := newServer(t, registerCounter)
			c := s.Connect().Mount("Counter", nil)
			for range i + 1 {
				c.MustCall("increment", nil)
			}
			if got := c.State()["count"]; got != float64(i+1) {
				t.Fatalf("count = %v, want %d", got, i+1)
			}
		})
	}
}

func TestSetupErrorFailsTest(t *testing.T) {
	ft := &fakeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		livetest.NewServer(ft, live.Options{}, registerCounter, registerCounter)
	}()
	<-done
	ft.cleanup()
	if !ft.failed() || !strings.Contains(ft.msg(), "already registered") {
		t.Fatalf("duplicate registration: failed=%v %q", ft.failed(), ft.msg())
	}
}
