package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// testTimeout bounds every wait in the tests so a bug fails instead of hanging.
const testTimeout = 5 * time.Second

// peer is the server side of one fake connection, driven by a test script.
type peer struct {
	t    testing.TB
	conn *websocket.Conn
	ctx  context.Context
	req  *http.Request
	n    int // 1 for the server's first connection, 2 for the next, ...
}

// read returns the next text frame from the client decoded as an object, or
// nil after reporting an error.
func (p *peer) read() map[string]any {
	p.t.Helper()
	typ, data, err := p.conn.Read(p.ctx)
	if err != nil {
		p.t.Errorf("server read: %v", err)
		return nil
	}
	if typ != websocket.MessageText {
		p.t.Errorf("server read: got a %v frame, want text", typ)
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		p.t.Errorf("server read: %v in %s", err, data)
		return nil
	}
	return m
}

// send writes one text frame; %s verbs are filled from args.
func (p *peer) send(format string, args ...any) {
	p.t.Helper()
	frame := format
	if len(args) > 0 {
		frame = fmt.Sprintf(format, args...)
	}
	if err := p.conn.Write(p.ctx, websocket.MessageText, []byte(frame)); err != nil {
		p.t.Errorf("server write: %v", err)
	}
}

func (p *peer) sendBinary(frame []byte) {
	p.t.Helper()
	if err := p.conn.Write(p.ctx, websocket.MessageBinary, frame); err != nil {
		p.t.Errorf("server write: %v", err)
	}
}

// str returns m[k] as a string ("" when absent or not a string).
func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

type serverConfig struct {
	// noEstablish skips the CONNECTION_ESTABLISHED frame.
	noEstablish bool
	// lifetime bounds each server connection; default testTimeout.
	lifetime time.Duration
}

// startServer runs a fake live server whose every connection is handed to
// script after CONNECTION_ESTABLISHED. When script returns, the server keeps
// reading (so the client's close handshake completes) until the client goes
// away. It returns the ws:// URL.
func startServer(t testing.TB, cfg serverConfig, script func(p *peer)) string {
	t.Helper()
	var conns atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
		if err != nil {
			t.Errorf("accept: %v", err)
			return
		}
		defer conn.CloseNow()
		lifetime := cfg.lifetime
		if lifetime == 0 {
			lifetime = testTimeout
		}
		ctx, cancel := context.WithTimeout(context.Background(), lifetime)
		defer cancel()
		p := &peer{t: t, conn: conn, ctx: ctx, req: r, n: int(conns.Add(1))}
		if !cfg.noEstablish {
			p.send(`{"type":"CONNECTION_ESTABLISHED","connectionId":"Cn0nn-_1"}`)
		}
		if script != nil {
			script(p)
		}
		for {
			if _, _, err := conn.Read(ctx); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

// dial connects to url and closes the client at the end of the test.
func dial(t *testing.T, url string, opts *Options) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, err := Dial(ctx, url, opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// testCtx returns a context bounded by testTimeout.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// Frames from spec/transcript.md §3.1, with 0.11.0-style 8-character ids.
const (
	counterID     = "AdbEfd19"
	counterSigned = `{"data":"{\"count\":0,\"lastAction\":null,\"__componentName\":\"Counter\"}","signature":"9b83807ab17f22afed52283eaefd46f9f4a707d65e4279d50c7a838a2a34fc2c","timestamp":1795773727840,"version":1,"componentId":"AdbEfd19","compressed":false,"encrypted":false}`
)

// mountCounter answers the client's COMPONENT_MOUNT like the reference: the
// STATE_UPDATE first, then the MESSAGE_RESPONSE.
func mountCounter(p *peer) {
	p.t.Helper()
	m := p.read()
	if m == nil {
		return
	}
	p.send(`{"type":"STATE_UPDATE","componentId":"%s","payload":{"state":{"count":0,"lastAction":null},"signedState":%s}}`, counterID, counterSigned)
	p.send(`{"type":"MESSAGE_RESPONSE","componentId":"mount-Counter","success":true,"result":{"componentId":"%s","initialState":{"count":0,"lastAction":null},"signedState":%s},"requestId":"%s"}`, counterID, counterSigned, str(m, "requestId"))
}

// newTestClient returns a client without a connection, for driving the
// dispatcher directly.
func newTestClient(t testing.TB) *Client {
	t.Helper()
	o, err := (*Options)(nil).withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	c := newClient("", o)
	t.Cleanup(c.cancelStop)
	return c
}

// addComponent registers a component with the given id and state on a test
// client, replaying anything buffered for it.
func addComponent(c *Client, id string, state map[string]any) *Component {
	if state == nil {
		state = map[string]any{}
	}
	m := &Component{c: c, name: "Test", id: id, state: state}
	for _, msg := range c.register(m) {
		m.handle(msg)
	}
	return m
}

// fakeClock is a manually advanced clock for the unrouted buffer.
type fakeClock struct{ t time.Time }

func (f *fakeClock) now() time.Time          { return f.t }
func (f *fakeClock) advance(d time.Duration) { f.t = f.t.Add(d) }
