package live_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	live "github.com/live-go/live"
)

// ---- test components ----

type Counter struct {
	live.Base
	Count      int     `json:"count"`
	LastAction *string `json:"lastAction"`
	hits       int     // server-only
}

type CountResult struct {
	Success bool `json:"success"`
	Count   int  `json:"count"`
}

func (c *Counter) Increment(ctx *live.Ctx) (CountResult, error) {
	c.Count++
	c.hits++
	a := "increment"
	c.LastAction = &a
	return CountResult{Success: true, Count: c.Count}, nil
}

func (c *Counter) Decrement(ctx *live.Ctx) (CountResult, error) {
	c.Count--
	a := "decrement"
	c.LastAction = &a
	return CountResult{Success: true, Count: c.Count}, nil
}

type AddArgs struct {
	N int `json:"n"`
}

func (a AddArgs) Validate() error {
	if a.N < 0 || a.N > 1000 {
		return errors.New("n must be in [0, 1000]")
	}
	return nil
}

func (c *Counter) Add(ctx *live.Ctx, p AddArgs) (int, error) {
	c.Count += p.N
	return c.Count, nil
}

func (c *Counter) Fail(ctx *live.Ctx) error {
	c.Count = 99 // changes before the error are still synced
	return &live.Error{Message: "nope"}
}

func (c *Counter) Shout(ctx *live.Ctx) error {
	return c.Emit("shout", map[string]any{"msg": "hi"})
}

func (c *Counter) Boom(ctx *live.Ctx) error { panic("kaboom") }

// Secret exists but is not in the allow-list.
func (c *Counter) Secret(ctx *live.Ctx) error { return nil }

type Todo struct {
	ID   int    `json:"id"`
	Text string `json:"text"`
	Done bool   `json:"done"`
}

type TodoList struct {
	live.Base
	Todos  []Todo `json:"todos"`
	nextID int
	joins  []string
}

type TextArgs struct {
	Text string `json:"text"`
}

func (t *TodoList) AddTodo(ctx *live.Ctx, p TextArgs) (Todo, error) {
	t.nextID++
	td := Todo{ID: t.nextID, Text: p.Text}
	t.Todos = append(t.Todos, td)
	return td, nil
}

func (t *TodoList) OnClientJoin(ctx *live.Ctx, connID string, count int) {
	t.joins = append(t.joins, fmt.Sprintf("join:%d", count))
}

type Profile struct {
	live.Base
	Name     string            `json:"name"`
	Settings map[string]any    `json:"settings"`
	Tags     []string          `json:"tags"`
	Meta     map[string]string `json:"meta"`
	Role     string            `json:"role"` // not writable
}

func (p *Profile) Touch(ctx *live.Ctx) error {
	delete(p.Settings, "theme")
	p.Settings["lang"] = "pt"
	return nil
}

func newTestServer(t *testing.T, opts live.Options) (*live.Server, *httptest.Server) {
	t.Helper()
	if opts.StateSecret == nil {
		opts.StateSecret = []byte("test-secret-test-secret-test-secret")
	}
	srv, err := live.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	must(t, live.Register(srv, live.Component[Counter]{
		Name:     "Counter",
		Actions:  []string{"increment", "decrement", "add", "fail", "shout", "boom"},
		Writable: []string{"count"},
	}))
	must(t, live.Register(srv, live.Component[TodoList]{
		Name:      "TodoList",
		Actions:   []string{"addTodo"},
		Singleton: true,
	}))
	must(t, live.Register(srv, live.Component[Profile]{
		Name:     "Profile",
		Actions:  []string{"touch"},
		Writable: []string{"name", "settings", "tags"},
		New: func() *Profile {
			return &Profile{Name: "anon", Settings: map[string]any{"theme": "dark"}, Role: "user"}
		},
	}))
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		hs.Close()
	})
	return srv, hs
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wsURL(hs *httptest.Server) string {
	return "ws" + strings.TrimPrefix(hs.URL, "http") + "/api/live/ws"
}

// rawClient speaks raw frames, as an independent client written from the
// spec would.
type rawClient struct {
	t      *testing.T
	c      *websocket.Conn
	mu     sync.Mutex
	queue  []map[string]any
	frames []string
	bins   [][]byte
	ch     chan struct{}
	done   chan struct{}
	err    error
	connID string
}

func dialRaw(t *testing.T, hs *httptest.Server, hdr http.Header) *rawClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, wsURL(hs), &websocket.DialOptions{HTTPHeader: hdr})
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(64 << 20)
	rc := &rawClient{t: t, c: c, ch: make(chan struct{}, 1), done: make(chan struct{})}
	go rc.readLoop()
	t.Cleanup(func() { rc.c.CloseNow(); <-rc.done })
	est := rc.expect("CONNECTION_ESTABLISHED")
	rc.connID, _ = est["connectionId"].(string)
	if len(rc.connID) != 8 {
		t.Fatalf("connectionId %q: want 8 chars", rc.connID)
	}
	return rc
}

func (rc *rawClient) readLoop() {
	defer close(rc.done)
	for {
		typ, data, err := rc.c.Read(context.Background())
		rc.mu.Lock()
		if err != nil {
			rc.err = err
			rc.mu.Unlock()
			rc.signal()
			return
		}
		if typ == websocket.MessageBinary {
			rc.bins = append(rc.bins, data)
		}
		if typ == websocket.MessageText {
			rc.frames = append(rc.frames, string(data))
			if len(data) > 0 && data[0] == '[' {
				var arr []map[string]any
				if err := json.Unmarshal(data, &arr); err != nil {
					rc.err = fmt.Errorf("bad array frame %s: %w", data, err)
				}
				rc.queue = append(rc.queue, arr...)
			} else {
				var m map[string]any
				if err := json.Unmarshal(data, &m); err != nil {
					rc.err = fmt.Errorf("bad frame %s: %w", data, err)
				}
				rc.queue = append(rc.queue, m)
			}
		}
		rc.mu.Unlock()
		rc.signal()
	}
}

func (rc *rawClient) signal() {
	select {
	case rc.ch <- struct{}{}:
	default:
	}
}

func (rc *rawClient) send(v any) {
	rc.t.Helper()
	var data []byte
	switch x := v.(type) {
	case string:
		data = []byte(x)
	case []byte:
		data = x
	default:
		var err error
		data, err = json.Marshal(v)
		if err != nil {
			rc.t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rc.c.Write(ctx, websocket.MessageText, data); err != nil {
		rc.t.Fatalf("write: %v", err)
	}
}

// next returns the next inbound message (arrays are split), failing the
// test after a timeout (generous: a 10 MB message under -race on a loaded
// 2-core machine takes seconds).
func (rc *rawClient) next() map[string]any {
	rc.t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		rc.mu.Lock()
		if len(rc.queue) > 0 {
			m := rc.queue[0]
			rc.queue = rc.queue[1:]
			rc.mu.Unlock()
			return m
		}
		err := rc.err
		rc.mu.Unlock()
		if err != nil {
			rc.t.Fatalf("connection ended while waiting for a message: %v", err)
		}
		select {
		case <-rc.ch:
		case <-deadline:
			rc.t.Fatal("timed out waiting for a message")
		}
	}
}

// expect returns the next message, which must have type typ.
func (rc *rawClient) expect(typ string) map[string]any {
	rc.t.Helper()
	m := rc.next()
	if m["type"] != typ {
		rc.t.Fatalf("got %v, want a %s", m, typ)
	}
	return m
}

// quiet asserts that no message arrives before a PING round trip: it sends
// a marker request that produces a known reply and checks nothing came
// before it.
func (rc *rawClient) quiet() {
	rc.t.Helper()
	rc.send(map[string]any{"type": "COMPONENT_UNMOUNT", "componentId": "quiet-marker", "requestId": "quiet"})
	m := rc.next()
	if m["requestId"] != "quiet" {
		rc.t.Fatalf("unexpected message before marker: %v", m)
	}
}

func (rc *rawClient) mount(name string, props map[string]any) (id string, reply map[string]any) {
	rc.t.Helper()
	if props == nil {
		props = map[string]any{}
	}
	rc.send(map[string]any{"type": "COMPONENT_MOUNT", "componentId": "mount-" + name,
		"payload": map[string]any{"component": name, "props": props}, "requestId": "m-" + name, "expectResponse": true})
	upd := rc.expect("STATE_UPDATE")
	reply = rc.expect("MESSAGE_RESPONSE")
	if reply["success"] != true {
		rc.t.Fatalf("mount failed: %v", reply)
	}
	res := reply["result"].(map[string]any)
	id = res["componentId"].(string)
	if upd["componentId"] != id {
		rc.t.Fatalf("STATE_UPDATE for %v, mount reply for %v", upd["componentId"], id)
	}
	return id, reply
}

func (rc *rawClient) call(id, action string, payload any, expect bool, reqID string) {
	rc.t.Helper()
	msg := map[string]any{"type": "CALL_ACTION", "componentId": id, "action": action, "payload": payload}
	if reqID != "" {
		msg["requestId"] = reqID
	}
	if expect {
		msg["expectResponse"] = true
	}
	rc.send(msg)
}

func newHTTPTest(t *testing.T, srv *live.Server) *httptest.Server {
	t.Helper()
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		hs.Close()
	})
	return hs
}

// nextBinary returns the next binary frame.
func (rc *rawClient) nextBinary() []byte {
	rc.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		rc.mu.Lock()
		if len(rc.bins) > 0 {
			b := rc.bins[0]
			rc.bins = rc.bins[1:]
			rc.mu.Unlock()
			return b
		}
		err := rc.err
		rc.mu.Unlock()
		if err != nil {
			rc.t.Fatalf("connection ended while waiting for a binary frame: %v", err)
		}
		select {
		case <-rc.ch:
		case <-deadline:
			rc.t.Fatal("timed out waiting for a binary frame")
		}
	}
}
