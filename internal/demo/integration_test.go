package demo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"

	live "github.com/live-go/live"
	"github.com/live-go/live/internal/demo"
)

const testSecret = "demo-test-secret-demo-test-secret"

// waitTimeout bounds every wait for a server message.
const waitTimeout = 10 * time.Second

// startDemo serves the demo handler on an httptest server.
func startDemo(tb testing.TB, opts live.Options) *httptest.Server {
	tb.Helper()
	opts.StateSecret = []byte(testSecret)
	d := demo.New()
	srv, err := live.New(d.Options(opts))
	if err != nil {
		tb.Fatal(err)
	}
	if err := d.Register(srv); err != nil {
		tb.Fatal(err)
	}
	hs := httptest.NewServer(d.Handler(srv))
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			tb.Errorf("shutdown: %v", err)
		}
		d.Wait()
		hs.Close()
	})
	return hs
}

// client is a raw-protocol test client: it keeps a mirror of every
// component's state, applying STATE_UPDATE and STATE_DELTA as the demo
// page does.
type client struct {
	tb     testing.TB
	conn   *websocket.Conn
	msgs   chan map[string]any
	done   chan struct{}
	states map[string]map[string]any
	seq    int
	// lastSigned is the signedState of the last mount reply.
	lastSigned any
}

func dial(tb testing.TB, hs *httptest.Server) *client {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/api/live/ws"
	conn, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	conn.SetReadLimit(1 << 20)
	c := &client{tb: tb, conn: conn, msgs: make(chan map[string]any, 256), done: make(chan struct{}), states: map[string]map[string]any{}}
	go c.readLoop()
	tb.Cleanup(func() {
		_ = conn.CloseNow()
		<-c.done
	})
	if m := c.next(); m["type"] != "CONNECTION_ESTABLISHED" {
		tb.Fatalf("first message %v, want CONNECTION_ESTABLISHED", m)
	}
	return c
}

// readLoop splits frames (one object or an array of objects) into
// messages. It closes msgs when the connection ends.
func (c *client) readLoop() {
	defer close(c.done)
	defer close(c.msgs)
	for {
		typ, data, err := c.conn.Read(context.Background())
		if err != nil {
			return
		}
		if typ != websocket.MessageText {
			continue
		}
		var batch []map[string]any
		if len(data) > 0 && data[0] == '[' {
			err = json.Unmarshal(data, &batch)
		} else {
			var m map[string]any
			err = json.Unmarshal(data, &m)
			batch = append(batch, m)
		}
		if err != nil {
			batch = []map[string]any{{"type": "TEST_BAD_FRAME", "error": err.Error(), "frame": string(data)}}
		}
		for _, m := range batch {
			c.msgs <- m
		}
	}
}

// next returns the next message after applying it to the mirror.
func (c *client) next() map[string]any {
	c.tb.Helper()
	select {
	case m, ok := <-c.msgs:
		if !ok {
			c.tb.Fatal("connection closed while waiting for a message")
		}
		if m["type"] == "TEST_BAD_FRAME" {
			c.tb.Fatalf("undecodable frame: %v", m)
		}
		c.apply(m)
		return m
	case <-time.After(waitTimeout):
		c.tb.Fatal("timed out waiting for a message")
		return nil
	}
}

func (c *client) apply(m map[string]any) {
	id, _ := m["componentId"].(string)
	payload, _ := m["payload"].(map[string]any)
	switch m["type"] {
	case "STATE_UPDATE", "STATE_REHYDRATED":
		if st, ok := payload["state"].(map[string]any); ok {
			c.states[id] = st
		}
	case "STATE_DELTA":
		if d, ok := payload["delta"].(map[string]any); ok {
			if c.states[id] == nil {
				c.states[id] = map[string]any{}
			}
			applyDelta(c.states[id], d, 0)
		}
	}
}

// applyDelta merges delta into dst with the protocol's rules: null at depth
// 0 is a value, null deeper deletes, objects merge, the rest replaces.
func applyDelta(dst, delta map[string]any, depth int) {
	for k, v := range delta {
		switch v := v.(type) {
		case nil:
			if depth == 0 {
				dst[k] = nil
			} else {
				delete(dst, k)
			}
		case map[string]any:
			if cur, ok := dst[k].(map[string]any); ok {
				applyDelta(cur, v, depth+1)
			} else {
				dst[k] = v
			}
		default:
			dst[k] = v
		}
	}
}

func (c *client) send(msg map[string]any) {
	c.tb.Helper()
	data, err := json.Marshal(msg)
	if err != nil {
		c.tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, data); err != nil {
		c.tb.Fatalf("write: %v", err)
	}
}

// request sends msg with a fresh requestId and expectResponse and returns
// the reply, applying every message that arrives before it.
func (c *client) request(msg map[string]any) map[string]any {
	c.tb.Helper()
	c.seq++
	reqID := fmt.Sprintf("req-%d", c.seq)
	msg["requestId"] = reqID
	msg["expectResponse"] = true
	c.send(msg)
	for {
		if m := c.next(); m["requestId"] == reqID {
			return m
		}
	}
}

// mount mounts name and returns its component id.
func (c *client) mount(name string) string {
	c.tb.Helper()
	r := c.request(map[string]any{"type": "COMPONENT_MOUNT", "componentId": "mount-" + name,
		"payload": map[string]any{"component": name, "props": map[string]any{}}})
	if r["type"] != "MESSAGE_RESPONSE" || r["success"] != true {
		c.tb.Fatalf("mount %s: %v", name, r)
	}
	res, _ := r["result"].(map[string]any)
	id, _ := res["componentId"].(string)
	c.lastSigned = res["signedState"]
	if c.states[id] == nil {
		c.tb.Fatalf("mount %s: no STATE_UPDATE for %q before the reply", name, id)
	}
	if diff := cmp.Diff(res["initialState"], c.states[id]); diff != "" {
		c.tb.Fatalf("mount %s: initialState differs from the STATE_UPDATE (-reply +mirror):\n%s", name, diff)
	}
	return id
}

// call runs action and returns the ACTION_RESPONSE.
func (c *client) call(id, action string, payload any) map[string]any {
	c.tb.Helper()
	r := c.request(map[string]any{"type": "CALL_ACTION", "componentId": id, "action": action, "payload": payload})
	if r["type"] != "ACTION_RESPONSE" {
		c.tb.Fatalf("%s: got %v, want an ACTION_RESPONSE", action, r)
	}
	return r
}

// mustCall runs action, which must succeed, and returns its result.
func (c *client) mustCall(id, action string, payload any) any {
	c.tb.Helper()
	r := c.call(id, action, payload)
	if r["success"] != true {
		c.tb.Fatalf("%s failed: %v", action, r["error"])
	}
	return r["result"]
}

// waitState reads messages until the mirror of id equals want.
func (c *client) waitState(id string, want map[string]any) {
	c.tb.Helper()
	for !cmp.Equal(c.states[id], want) {
		select {
		case m, ok := <-c.msgs:
			if !ok {
				c.tb.Fatal("connection closed while waiting for state")
			}
			c.apply(m)
		case <-time.After(waitTimeout):
			c.tb.Fatalf("state of %s never converged (-want +got):\n%s", id, cmp.Diff(want, c.states[id]))
		}
	}
}

// todo builds the JSON form of a todo as a decoded mirror holds it.
func todo(id int, text string, done bool) map[string]any {
	return map[string]any{"id": float64(id), "text": text, "done": done}
}

func todos(items ...map[string]any) map[string]any {
	list := make([]any, len(items))
	for i, it := range items {
		list[i] = it
	}
	return map[string]any{"todos": list}
}

func TestDemoCounter(t *testing.T) {
	hs := startDemo(t, live.Options{})
	a := dial(t, hs)
	id := a.mount("Counter")
	if diff := cmp.Diff(map[string]any{"count": 0.0, "lastAction": nil}, a.states[id]); diff != "" {
		t.Fatalf("initial state (-want +got):\n%s", diff)
	}
	steps := []struct {
		action string
		result map[string]any
		state  map[string]any
	}{
		{"increment", map[string]any{"success": true, "count": 1.0}, map[string]any{"count": 1.0, "lastAction": "increment"}},
		{"increment", map[string]any{"success": true, "count": 2.0}, map[string]any{"count": 2.0, "lastAction": "increment"}},
		{"decrement", map[string]any{"success": true, "count": 1.0}, map[string]any{"count": 1.0, "lastAction": "decrement"}},
		{"reset", map[string]any{"success": true, "count": 0.0}, map[string]any{"count": 0.0, "lastAction": "reset"}},
	}
	for _, s := range steps {
		got := a.mustCall(id, s.action, map[string]any{})
		if diff := cmp.Diff(s.result, got); diff != "" {
			t.Errorf("%s result (-want +got):\n%s", s.action, diff)
		}
		// The delta precedes the reply, so the mirror is already current.
		if diff := cmp.Diff(s.state, a.states[id]); diff != "" {
			t.Errorf("after %s (-want +got):\n%s", s.action, diff)
		}
	}

	// Counters are per connection.
	b := dial(t, hs)
	idB := b.mount("Counter")
	if idB == id {
		t.Fatal("two connections share one Counter")
	}
	b.mustCall(idB, "increment", map[string]any{})
	a.mustCall(id, "decrement", map[string]any{})
	if b.states[idB]["count"] != 1.0 || a.states[id]["count"] != -1.0 {
		t.Fatalf("counters interfere: a=%v b=%v", a.states[id], b.states[idB])
	}
}

func TestDemoTodoListSync(t *testing.T) {
	hs := startDemo(t, live.Options{})
	a, b := dial(t, hs), dial(t, hs)
	idA, idB := a.mount("TodoList"), b.mount("TodoList")
	if idA != idB {
		t.Fatalf("TodoList is not a singleton: %s vs %s", idA, idB)
	}
	id := idA
	if diff := cmp.Diff(todos(), a.states[id]); diff != "" {
		t.Fatalf("initial state (-want +got):\n%s", diff)
	}

	got := a.mustCall(id, "addTodo", map[string]any{"text": "  milk  "})
	if diff := cmp.Diff(todo(1, "milk", false), got); diff != "" {
		t.Errorf("addTodo result (-want +got):\n%s", diff)
	}
	b.waitState(id, todos(todo(1, "milk", false)))

	b.mustCall(id, "addTodo", map[string]any{"text": "eggs"})
	got = b.mustCall(id, "toggleTodo", map[string]any{"id": 1})
	if diff := cmp.Diff(todo(1, "milk", true), got); diff != "" {
		t.Errorf("toggleTodo result (-want +got):\n%s", diff)
	}
	a.mustCall(id, "toggleTodo", map[string]any{"id": 2})

	want := todos(todo(1, "milk", true), todo(2, "eggs", true))
	a.waitState(id, want)
	b.waitState(id, want)

	// A third connection joining late gets the same list in its snapshot.
	c := dial(t, hs)
	if c.mount("TodoList") != id {
		t.Fatal("late joiner got another instance")
	}
	if diff := cmp.Diff(want, c.states[id]); diff != "" {
		t.Errorf("late joiner state (-want +got):\n%s", diff)
	}
}

func TestDemoTodoListErrors(t *testing.T) {
	hs := startDemo(t, live.Options{})
	a := dial(t, hs)
	id := a.mount("TodoList")
	a.mustCall(id, "addTodo", map[string]any{"text": "only"})
	tests := []struct {
		name, action string
		payload      any
		wantErr      string
	}{
		{"empty text", "addTodo", map[string]any{"text": "   "}, "todo text must not be empty"},
		{"long text", "addTodo", map[string]any{"text": strings.Repeat("x", 201)}, "todo text must be at most 200 characters"},
		{"missing text", "addTodo", map[string]any{}, "todo text must not be empty"},
		{"unknown field", "addTodo", map[string]any{"text": "x", "done": true}, "Action 'addTodo' payload validation failed"},
		{"wrong type", "addTodo", map[string]any{"text": 5}, "Action 'addTodo' payload validation failed"},
		{"unknown id", "toggleTodo", map[string]any{"id": 99}, "todo 99 not found"},
		{"fractional id", "toggleTodo", map[string]any{"id": 1.5}, "Action 'toggleTodo' payload validation failed"},
		{"not an action", "removeTodo", map[string]any{"id": 1}, "Action 'removeTodo' is not callable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := a.tb
			a.tb = t
			defer func() { a.tb = parent }()
			r := a.call(id, tt.action, tt.payload)
			msg, _ := r["error"].(string)
			if r["success"] != false || !strings.HasPrefix(msg, tt.wantErr) {
				t.Errorf("reply %v, want an error starting with %q", r, tt.wantErr)
			}
		})
	}
	// Nothing changed the list.
	if diff := cmp.Diff(todos(todo(1, "only", false)), a.states[id]); diff != "" {
		t.Errorf("state after rejected calls (-want +got):\n%s", diff)
	}
}

func TestDemoTodoListSurvivesLastLeave(t *testing.T) {
	hs := startDemo(t, live.Options{})
	a := dial(t, hs)
	id := a.mount("TodoList")
	a.mustCall(id, "addTodo", map[string]any{"text": "keep me"})
	// The unmount reply comes after the singleton was destroyed.
	if r := a.request(map[string]any{"type": "COMPONENT_UNMOUNT", "componentId": id}); r["success"] != true {
		t.Fatalf("unmount: %v", r)
	}
	again := a.mount("TodoList")
	if again == id {
		t.Fatal("the singleton was not recreated after its last connection left")
	}
	if diff := cmp.Diff(todos(todo(1, "keep me", false)), a.states[again]); diff != "" {
		t.Errorf("state after re-mount (-want +got):\n%s", diff)
	}
	if got := a.mustCall(again, "addTodo", map[string]any{"text": "next"}); got.(map[string]any)["id"] != 2.0 {
		t.Errorf("id after re-mount = %v, want 2", got)
	}
}

func TestDemoPage(t *testing.T) {
	hs := startDemo(t, live.Options{})
	resp, err := hs.Client().Get(hs.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "/api/live/ws") {
		t.Fatalf("GET / = %d, body without the WebSocket path", resp.StatusCode)
	}
}

func BenchmarkIncrementRoundTrip(b *testing.B) {
	hs := startDemo(b, live.Options{RateLimitBurst: -1})
	c := dial(b, hs)
	id := c.mount("Counter")
	b.ReportAllocs()
	for b.Loop() {
		c.mustCall(id, "increment", map[string]any{})
	}
}
