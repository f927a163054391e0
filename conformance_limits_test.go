package live_test

import (
	"context"
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

// Limits (spec §1.3 steps 1–4, §6.2) and origin checks (spec §1.2, §6.3).

const rateLimited = `{"type":"ERROR","error":"Rate limit exceeded"}`

// TestConformanceRateLimitDefault replays the reference scenario: with the
// default bucket (100 tokens, 50/s), 120 back-to-back actions after a mount
// get some bare "Rate limit exceeded" ERRORs, and the socket stays open.
func TestConformanceRateLimitDefault(t *testing.T) {
	srv, hs := newConfServer(t, live.Options{})
	rc := dialRaw(t, hs, nil)
	id, _ := rc.mount("Counter", nil) // 1 token

	const n = 120
	var b strings.Builder
	for i := range n {
		b.Reset()
		fmt.Fprintf(&b, `{"type":"CALL_ACTION","componentId":%q,"action":"increment","payload":{},"requestId":"r%d","expectResponse":true}`, id, i)
		rc.sendRaw(b.String())
	}
	served, limited := 0, 0
	for served+limited < n {
		m := rc.next()
		switch m["type"] {
		case "STATE_DELTA":
		case "ACTION_RESPONSE":
			if m["success"] != true {
				t.Fatalf("served call failed: %s", jsonText(m))
			}
			served++
			// Served calls are the first ones in order, interleaved with
			// the refused ones, so the count only grows.
			if c := obj(t, m["result"], "result")["count"]; c != float64(served) {
				t.Fatalf("served call #%d has count %v", served, c)
			}
		case "ERROR":
			wantJSON(t, m, rateLimited) // no requestId, no componentId
			limited++
		default:
			t.Fatalf("unexpected %s", jsonText(m))
		}
	}
	// Bucket of 100, one token spent on the mount: at most 21 refusals;
	// 120 small frames take far less than the 420 ms needed to refill 21.
	if limited < 1 || limited > n+1-100 || served < 99 {
		t.Fatalf("served %d, limited %d: want 99+ served and 1..21 limited", served, limited)
	}
	if got := srv.Stats().RateLimited; got != uint64(limited) {
		t.Fatalf("Stats().RateLimited = %d, client counted %d", got, limited)
	}

	// The socket stays open: once tokens refill, requests are served.
	deadline := time.Now().Add(5 * time.Second)
	for i := 0; ; i++ {
		rid := fmt.Sprintf("after-%d", i)
		rc.unmount("probe", rid)
		m := rc.next()
		if m["requestId"] == rid {
			wantMsg(t, m, fmt.Sprintf(`{"type":"MESSAGE_RESPONSE","componentId":"probe","success":true,"requestId":%q}`, rid))
			break
		}
		wantJSON(t, m, rateLimited)
		if time.Now().After(deadline) {
			t.Fatal("still rate limited after 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestConformanceRateLimitEveryFrame uses a bucket that does not refill
// during the test: every frame costs a token, PING and binary included, and
// refused frames are dropped unprocessed.
func TestConformanceRateLimitEveryFrame(t *testing.T) {
	srv, hs := newConfServer(t, live.Options{RateLimitBurst: 6, RateLimitPerSecond: 0.0001})
	rc := dialRaw(t, hs, nil)
	id, _ := rc.mount("Counter", nil) // 5 left
	rc.sendRaw(`{"type":"PING"}`)     // 4
	rc.sendRaw(`{"type":"PING"}`)     // 3
	rc.send([]byte(nil))              // empty text frame → Invalid JSON, 2
	wantJSON(t, rc.next(), `{"type":"ERROR","error":"Invalid JSON"}`)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	must(t, rc.c.Write(ctx, websocket.MessageBinary, []byte{9, 9, 9})) // 1
	rc.call(id, "increment", nil, true, "last")                        // 0
	rc.expect("STATE_DELTA")
	rc.expect("ACTION_RESPONSE")

	// Empty bucket: every frame is refused with exactly one bare ERROR, in
	// order, and dropped unprocessed. (A served frame would answer
	// differently or not at all, so five refusals in a row prove all five
	// were refused.)
	rc.sendRaw(`{"type":"PING"}`)
	must(t, rc.c.Write(ctx, websocket.MessageBinary, []byte{1, 2, 3}))
	rc.sendRaw(`not json`)
	rc.call(id, "increment", nil, true, "refused")
	rc.unmount(id, "refused-unmount")
	for range 5 {
		wantJSON(t, rc.next(), rateLimited)
	}
	st := srv.Stats()
	if st.Actions != 1 || st.Components != 1 || st.RateLimited != 5 {
		t.Fatalf("stats %+v: want 1 action run, 1 component alive, 5 refusals", st)
	}
}

// TestConformanceGarbageBurst: one client floods 400 garbage frames while
// another keeps working; the flood is answered frame by frame and the other
// client is unaffected.
func TestConformanceGarbageBurst(t *testing.T) {
	_, hs := newConfServer(t, live.Options{})
	g := dialRaw(t, hs, nil)
	w := dialRaw(t, hs, nil)
	id, _ := w.mount("Counter", nil)

	const n = 400
	errc := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for i := range n {
			if err := g.c.Write(ctx, websocket.MessageText, fmt.Appendf(nil, "garbage %d {[", i)); err != nil {
				errc <- fmt.Errorf("write %d: %w", i, err)
				return
			}
		}
		errc <- nil
	}()
	for i := range 20 {
		rid := fmt.Sprintf("w%d", i)
		w.call(id, "increment", nil, true, rid)
		w.expect("STATE_DELTA")
		r := w.expect("ACTION_RESPONSE")
		if r["requestId"] != rid || obj(t, r["result"], "result")["count"] != float64(i+1) {
			t.Fatalf("worker reply %s", jsonText(r))
		}
	}
	must(t, <-errc)
	invalid, limited := 0, 0
	for range n {
		m := g.next()
		switch m["error"] {
		case "Invalid JSON":
			wantJSON(t, m, `{"type":"ERROR","error":"Invalid JSON"}`)
			invalid++
		case "Rate limit exceeded":
			wantJSON(t, m, rateLimited)
			limited++
		default:
			t.Fatalf("unexpected %s", jsonText(m))
		}
	}
	if invalid < 100 || limited == 0 {
		t.Fatalf("invalid %d, limited %d: the first 100 frames fit the bucket, the rest cannot all", invalid, limited)
	}
	w.quiet()
}

func TestConformanceMessageTooLarge(t *testing.T) {
	_, hs := newConfServer(t, live.Options{})
	rc := dialRaw(t, hs, nil)
	const limit = 4 << 20
	const tooLarge = `{"type":"ERROR","error":"Message too large"}`
	ping := func(size int) string {
		const pre, post = `{"type":"PING","pad":"`, `"}`
		return pre + strings.Repeat("x", size-len(pre)-len(post)) + post
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	// One byte over: refused before any parsing, even when the frame is
	// not JSON or is deeply nested.
	rc.sendRaw(ping(limit + 1))
	wantJSON(t, rc.next(), tooLarge)
	rc.sendRaw(strings.Repeat("x", limit+1))
	wantJSON(t, rc.next(), tooLarge)
	rc.sendRaw(strings.Repeat("[", limit+1))
	wantJSON(t, rc.next(), tooLarge)
	must(t, rc.c.Write(ctx, websocket.MessageBinary, make([]byte, limit+1)))
	wantJSON(t, rc.next(), tooLarge)

	// Exactly at the limit: accepted (a PING, so no reply).
	rc.sendRaw(ping(limit))
	// Small binary frames that are not upload chunks are ignored.
	must(t, rc.c.Write(ctx, websocket.MessageBinary, []byte{0, 0, 0, 0, 1}))
	rc.quiet()

	// The connection is still usable.
	id, _ := rc.mount("Counter", nil)
	rc.call(id, "increment", nil, true, "i")
	rc.expect("STATE_DELTA")
	rc.expect("ACTION_RESPONSE")
}

func TestConformanceJSONDepth(t *testing.T) {
	// call builds a CALL_ACTION for an unknown component whose payload is
	// the given JSON text; when it passes the scan it is answered with
	// COMPONENT_REHYDRATION_REQUIRED, proving it was parsed.
	call := func(payload string) string {
		return `{"type":"CALL_ACTION","componentId":"c","action":"a","requestId":"r","payload":` + payload + `}`
	}
	nest := func(open, close string, n int) string {
		return strings.Repeat(open, n) + strings.Repeat(close, n)
	}
	objects := func(n int) string { // n nested objects
		return strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n)
	}
	const passed = `{"type":"ACTION_RESPONSE","componentId":"c","success":false,"error":"COMPONENT_REHYDRATION_REQUIRED:c","requestId":"r"}`
	tests := []struct {
		name     string
		maxDepth int
		frame    string
		want     string
	}{
		// The envelope object is level 1.
		{"32 levels pass", 0, call(nest("[", "]", 31)), passed},
		{"33 levels refused", 0, call(nest("[", "]", 32)), `{"type":"ERROR","error":"JSON nesting too deep (max 32)"}`},
		{"33 levels of objects refused", 0, call(objects(32)), `{"type":"ERROR","error":"JSON nesting too deep (max 32)"}`},
		{"32 levels of objects pass", 0, call(objects(31)), passed},
		{"mixed 33 levels refused", 0, call(strings.Repeat(`[{"a":`, 16) + "1" + strings.Repeat("}]", 16)), `{"type":"ERROR","error":"JSON nesting too deep (max 32)"}`},
		{"brackets in strings do not count", 0, call(`"` + strings.Repeat("[{", 40) + `"`), passed},
		{"escaped quote keeps the string open", 0, call(`"x\"` + strings.Repeat("[", 40) + `"`), passed},
		{"escaped backslash closes the string", 0, call(`["x\\",` + nest("[", "]", 32) + `]`), `{"type":"ERROR","error":"JSON nesting too deep (max 32)"}`},
		// The scan runs before parsing: deep invalid JSON is a depth error.
		{"depth checked before JSON validity", 0, strings.Repeat("[", 40), `{"type":"ERROR","error":"JSON nesting too deep (max 32)"}`},
		{"shallow invalid JSON", 0, strings.Repeat("[", 10), `{"type":"ERROR","error":"Invalid JSON"}`},
		{"custom limit", 4, call(nest("[", "]", 4)), `{"type":"ERROR","error":"JSON nesting too deep (max 4)"}`},
		{"custom limit passes", 4, call(nest("[", "]", 3)), passed},
		{"check disabled", -1, call(nest("[", "]", 60)), passed},
	}
	servers := map[int]*httptest.Server{}
	for _, tc := range tests {
		if servers[tc.maxDepth] == nil {
			_, servers[tc.maxDepth] = newConfServer(t, live.Options{MaxJSONDepth: tc.maxDepth})
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc := dialRaw(t, servers[tc.maxDepth], nil)
			rc.sendRaw(tc.frame)
			wantMsg(t, rc.next(), tc.want)
			rc.quiet()
		})
	}
}

// dialOrigin opens a WebSocket with the given Origin header ("" for none)
// and reports whether the server established the connection or closed it,
// with which status and reason.
func dialOrigin(t *testing.T, hs *httptest.Server, origin string) (established bool, status websocket.StatusCode, reason string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	hdr := http.Header{}
	if origin != "" {
		hdr.Set("Origin", origin)
	}
	c, _, err := websocket.Dial(ctx, wsURL(hs), &websocket.DialOptions{HTTPHeader: hdr})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.CloseNow()
	_, data, err := c.Read(ctx)
	if err == nil {
		if !strings.Contains(string(data), `"CONNECTION_ESTABLISHED"`) {
			t.Fatalf("first frame %s", data)
		}
		_ = c.Close(websocket.StatusNormalClosure, "")
		return true, 0, ""
	}
	var ce websocket.CloseError
	if !errors.As(err, &ce) {
		t.Fatalf("read ended without a close frame: %v", err)
	}
	return false, websocket.CloseStatus(err), ce.Reason
}

func TestConformanceOrigin(t *testing.T) {
	_, defHS := newConfServer(t, live.Options{})
	srv, listHS := newConfServer(t, live.Options{AllowedOrigins: []string{"https://app.example", "http://other.example:8080"}})
	_, starHS := newConfServer(t, live.Options{AllowedOrigins: []string{"*"}})
	tests := []struct {
		name   string
		hs     *httptest.Server
		origin string // "self" = the server's own origin
		ok     bool
	}{
		{"default: no Origin", defHS, "", true},
		{"default: same origin", defHS, "self", true},
		{"default: foreign origin", defHS, "http://evil.example", false},
		{"default: opaque origin", defHS, "null", false},
		{"default: same host, other port", defHS, "http://127.0.0.1:1", false},
		{"list: exact match", listHS, "https://app.example", true},
		{"list: second entry", listHS, "http://other.example:8080", true},
		{"list: trailing slash", listHS, "https://app.example/", false},
		{"list: case differs", listHS, "https://APP.example", false},
		{"list: scheme differs", listHS, "http://app.example", false},
		{"list: port missing", listHS, "http://other.example", false},
		{"list: no Origin", listHS, "", false},
		{"list: same origin not listed", listHS, "self", false},
		{"star: anything", starHS, "http://evil.example", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			origin := tc.origin
			if origin == "self" {
				origin = tc.hs.URL
			}
			ok, status, reason := dialOrigin(t, tc.hs, origin)
			if ok != tc.ok {
				t.Fatalf("established=%v, want %v (status %d %q)", ok, tc.ok, status, reason)
			}
			if !ok && (status != 4003 || reason != "Origin not allowed") {
				t.Fatalf("closed with %d %q, want 4003 \"Origin not allowed\"", status, reason)
			}
		})
	}
	waitFor(t, "connections to drain", func() bool { return srv.Stats().Connections == 0 })
}

// TestConformanceConcurrentClients runs several clients at once, each with
// its own component, and checks that nobody sees anyone else's traffic.
func TestConformanceConcurrentClients(t *testing.T) {
	_, hs := newConfServer(t, live.Options{})
	const clients, calls = 4, 15
	rcs := make([]*rawClient, clients)
	ids := make([]string, clients)
	for i := range rcs {
		rcs[i] = dialRaw(t, hs, nil)
		ids[i], _ = rcs[i].mount("Counter", nil)
	}
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i, rc := range rcs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			for j := range calls {
				msg := fmt.Sprintf(`{"type":"CALL_ACTION","componentId":%q,"action":"add","payload":{"n":%d},"requestId":"c%d","expectResponse":true}`, ids[i], i+1, j)
				if err := rc.c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i, rc := range rcs {
		for j := range calls {
			d := rc.expect("STATE_DELTA")
			if d["componentId"] != ids[i] {
				t.Fatalf("client %d got a delta for %v", i, d["componentId"])
			}
			r := rc.expect("ACTION_RESPONSE")
			if r["requestId"] != fmt.Sprintf("c%d", j) || r["result"] != float64((i+1)*(j+1)) {
				t.Fatalf("client %d reply %s", i, jsonText(r))
			}
		}
		rc.quiet()
	}
}
