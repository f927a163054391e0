package live_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	live "github.com/live-go/live"
)

// The stream carries the exact headers, the session event first, then the
// frames as message events.
func TestSSEOpen(t *testing.T) {
	_, hs := newTransportServer(t, live.Options{}, live.SSEOptions{}, live.LongPollOptions{})
	resp, events := openSSE(t, hs.URL, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	wantHdr := map[string]string{
		"Content-Type":      "text/event-stream; charset=utf-8",
		"Cache-Control":     "no-cache, no-store, no-transform",
		"X-Accel-Buffering": "no",
		"Connection":        "keep-alive",
	}
	for k, v := range wantHdr {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	first, _ := nextEvent(t, events)
	if first.name != "session" || !strings.HasPrefix(first.data, `{"token":"`) {
		t.Fatalf("first event %+v", first)
	}
	tok := strings.TrimSuffix(strings.TrimPrefix(first.data, `{"token":"`), `"}`)
	if len(tok) != 64 || strings.Trim(tok, "0123456789abcdef") != "" {
		t.Fatalf("token %q: want 64 lowercase hex characters", tok)
	}
	est, _ := nextEvent(t, events)
	if est.name != "message" || !strings.Contains(est.data, `"type":"CONNECTION_ESTABLISHED"`) {
		t.Fatalf("second event %+v, want CONNECTION_ESTABLISHED", est)
	}

	// The token header name is case-insensitive on the wire.
	req, err := http.NewRequest(http.MethodPost, hs.URL+"/api/live/sse/send", strings.NewReader(`{"type":"NOPE","requestId":"lc"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header["x-live-session"] = []string{tok} // sent verbatim, not canonicalized
	if resp := doRead(t, req); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("lower-case token header: %d", resp.StatusCode)
	}
	if e, _ := nextEvent(t, events); !strings.Contains(e.data, `"requestId":"lc"`) {
		t.Fatalf("reply event %+v", e)
	}

	// A second stream gets another token.
	_, events2 := openSSE(t, hs.URL, nil)
	if second, _ := nextEvent(t, events2); second.data == first.data {
		t.Fatal("two sessions share a token")
	}
}

// Origins are checked at open (403 "Forbidden", no stream) and on every
// later request (403 "Origin mismatch").
func TestSSEOrigins(t *testing.T) {
	_, hs := newTransportServer(t, live.Options{AllowedOrigins: []string{"https://a.example", "https://b.example"}},
		live.SSEOptions{}, live.LongPollOptions{})

	for _, origin := range []string{"https://evil.example", ""} {
		resp, _ := openSSE(t, hs.URL, http.Header{"Origin": {origin}})
		if resp.StatusCode != http.StatusForbidden || bodyText(t, resp) != "Forbidden" {
			t.Errorf("origin %q: %d %q, want 403 Forbidden", origin, resp.StatusCode, bodyText(t, resp))
		}
		if ct := resp.Header.Get("Content-Type"); strings.HasPrefix(ct, "text/event-stream") {
			t.Errorf("origin %q: refused open has content type %q", origin, ct)
		}
	}

	c := dialSSERawHeader(t, hs.URL, http.Header{"Origin": {"https://a.example"}})
	sendURL := hs.URL + "/api/live/sse/send"
	tests := []struct {
		name   string
		origin string
		status int
		body   string
	}{
		{"same origin", "https://a.example", http.StatusNoContent, ""},
		{"no origin header", "", http.StatusNoContent, ""},
		{"other allowed origin", "https://b.example", http.StatusForbidden, "Origin mismatch"},
		{"foreign origin", "https://evil.example", http.StatusForbidden, "Origin mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hdr http.Header
			if tt.origin != "" {
				hdr = http.Header{"Origin": {tt.origin}}
			}
			resp := postFrame(t, sendURL, c.token, "application/json", `{"type":"PING"}`, hdr)
			if resp.StatusCode != tt.status || bodyText(t, resp) != tt.body {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, bodyText(t, resp), tt.status, tt.body)
			}
		})
	}
}

// A session opened without an Origin (a same-origin browser GET) accepts
// later requests from its own host and refuses foreign origins.
func TestSSEOriginRecordedEmpty(t *testing.T) {
	_, hs := newTransportServer(t, live.Options{}, live.SSEOptions{}, live.LongPollOptions{})
	c := dialSSERawHeader(t, hs.URL, nil)
	sendURL := hs.URL + "/api/live/sse/send"
	if resp := postFrame(t, sendURL, c.token, "application/json", `{"type":"PING"}`, http.Header{"Origin": {hs.URL}}); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("same-host origin: %d", resp.StatusCode)
	}
	if resp := postFrame(t, sendURL, c.token, "application/json", `{"type":"PING"}`, http.Header{"Origin": {"https://evil.example"}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("foreign origin: %d", resp.StatusCode)
	}
}

// POST /send: one frame per request, 204; unknown sessions 404; frames
// over MaxMessageSize 413, whether announced by Content-Length or not;
// text frames that are not UTF-8 400 (the session stays);
// application/octet-stream bodies are binary frames.
func TestSSESend(t *testing.T) {
	_, hs := newTransportServer(t, live.Options{MaxMessageSize: 64}, live.SSEOptions{}, live.LongPollOptions{})
	c := dialSSERawHeader(t, hs.URL, nil)
	sendURL := hs.URL + "/api/live/sse/send"
	big := `{"type":"NOPE","pad":"` + strings.Repeat("x", 64) + `"}`

	tests := []struct {
		name    string
		token   string
		ctype   string
		body    string
		chunked bool
		status  int
		text    string
	}{
		{"ok", c.token, "application/json", `{"type":"NOPE","requestId":"s1"}`, false, http.StatusNoContent, ""},
		{"no token", "", "application/json", `{"type":"PING"}`, false, http.StatusNotFound, "Unknown session"},
		{"malformed token", "abc", "application/json", `{"type":"PING"}`, false, http.StatusNotFound, "Unknown session"},
		{"unknown token", strings.Repeat("0", 64), "application/json", `{"type":"PING"}`, false, http.StatusNotFound, "Unknown session"},
		{"too large by Content-Length", c.token, "application/json", big, false, http.StatusRequestEntityTooLarge, "Payload too large"},
		{"too large while reading", c.token, "application/json", big, true, http.StatusRequestEntityTooLarge, "Payload too large"},
		{"exactly the limit", c.token, "application/json", `{"type":"NOPE","requestId":"` + strings.Repeat("y", 64-32) + `"}`, false, http.StatusNoContent, ""},
		{"text not UTF-8", c.token, "application/json", "{\"type\":\"NOPE\",\"requestId\":\"\xff\"}", false, http.StatusBadRequest, "Invalid UTF-8"},
		{"binary", c.token, "application/octet-stream", `{"type":"NOPE","requestId":"bin"}`, false, http.StatusNoContent, ""},
		{"binary not UTF-8", c.token, "application/octet-stream", "\xff\xfe", false, http.StatusNoContent, ""},
		{"binary with parameters", c.token, "Application/Octet-Stream; x=1", `{"type":"NOPE"}`, false, http.StatusNoContent, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, sendURL, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.chunked {
				req.ContentLength = -1 // unknown length: chunked encoding
				req.Body = io.NopCloser(struct{ io.Reader }{strings.NewReader(tt.body)})
			}
			if tt.token != "" {
				req.Header.Set(tokenHeader, tt.token)
			}
			req.Header.Set("Content-Type", tt.ctype)
			resp := doRead(t, req)
			if resp.StatusCode != tt.status || bodyText(t, resp) != tt.text {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, bodyText(t, resp), tt.status, tt.text)
			}
		})
	}
	// Only the accepted text frames reached the engine: two unknown-type
	// replies, none for the binary frames or the refused ones.
	wantMsg(t, c.next(), `{"type":"MESSAGE_RESPONSE","success":false,"error":"Unknown message type","requestId":"s1"}`)
	wantMsg(t, c.next(), `{"type":"MESSAGE_RESPONSE","success":false,"error":"Unknown message type","requestId":"`+strings.Repeat("y", 32)+`"}`)
	c.send(`{"type":"NOPE","requestId":"quiet"}`)
	if m := c.next(); m["requestId"] != "quiet" {
		t.Fatalf("unexpected %s", jsonText(m))
	}
}

// Routes answer 405 to other methods and 404 below the transport.
func TestSSERoutes(t *testing.T) {
	_, hs := newTransportServer(t, live.Options{}, live.SSEOptions{}, live.LongPollOptions{})
	tests := []struct {
		method, path string
		status       int
		allow        string
	}{
		{http.MethodPost, "/api/live/sse", http.StatusMethodNotAllowed, "GET"},
		{http.MethodGet, "/api/live/sse/send", http.StatusMethodNotAllowed, "POST"},
		{http.MethodGet, "/api/live/sse/other", http.StatusNotFound, ""},
		{http.MethodGet, "/api/live/ssefoo", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		req, err := http.NewRequest(tt.method, hs.URL+tt.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp := doRead(t, req)
		if resp.StatusCode != tt.status || resp.Header.Get("Allow") != tt.allow {
			t.Errorf("%s %s: %d Allow=%q, want %d Allow=%q", tt.method, tt.path, resp.StatusCode, resp.Header.Get("Allow"), tt.status, tt.allow)
		}
	}
}

// The transport can be disabled.
func TestSSEDisabled(t *testing.T) {
	_, hs := newTransportServer(t, live.Options{}, live.SSEOptions{Disabled: true}, live.LongPollOptions{Disabled: true})
	for _, path := range []string{"/api/live/sse", "/api/live/http"} {
		resp := doRead(t, mustRequest(t, http.MethodGet, hs.URL+path))
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, resp.StatusCode)
		}
	}
}

func mustRequest(t *testing.T, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// Shutdown ends every stream with close 1001 "server shutdown" after the
// frames queued before it.
func TestSSEShutdown(t *testing.T) {
	srv, hs := newTransportServer(t, live.Options{}, live.SSEOptions{}, live.LongPollOptions{})
	c := dialSSERawHeader(t, hs.URL, nil)
	c.send(`{"type":"NOPE","requestId":"before"}`)
	if m := c.next(); m["requestId"] != "before" {
		t.Fatalf("got %s", jsonText(m))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	e, ok := nextEvent(t, c.events)
	if !ok || e.name != "close" {
		t.Fatalf("event %+v (ok %v), want close", e, ok)
	}
	wantJSON(t, decodeJSON(t, e.data), `{"code":1001,"reason":"server shutdown"}`)
	if e, ok := nextEvent(t, c.events); ok {
		t.Fatalf("event %+v after close, want the end of the stream", e)
	}
	if resp := postFrame(t, hs.URL+"/api/live/sse/send", c.token, "application/json", `{"type":"PING"}`, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("send after close: %d, want 404", resp.StatusCode)
	}
}

// Connections refused by the engine at open still get a stream that
// carries the close code, like a WebSocket close frame.
func TestSSERefusedByIdentify(t *testing.T) {
	_, hs := newTransportServer(t, live.Options{
		Identify: func(ctx context.Context, r *live.Request) (*live.Identity, error) {
			if r.HTTP == nil || r.Header.Get("Authorization") != "Bearer ok" {
				return nil, errors.New("no")
			}
			return &live.Identity{ID: "u1"}, nil
		},
	}, live.SSEOptions{}, live.LongPollOptions{})
	resp, events := openSSE(t, hs.URL, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	var got []string
	for e := range events {
		got = append(got, e.name+" "+e.data)
	}
	if len(got) != 2 || !strings.HasPrefix(got[0], "session ") || got[1] != `close {"code":4001,"reason":"Unauthorized"}` {
		t.Fatalf("events %q", got)
	}
	// The request reached Identify with its headers.
	dialSSERawHeader(t, hs.URL, http.Header{"Authorization": {"Bearer ok"}})
}

// Heartbeat comments are written every Heartbeat on a fake clock, and not
// before.
func TestSSEHeartbeat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, h := newTransportHandler(t, live.Options{}, live.SSEOptions{Heartbeat: 15 * time.Second}, live.LongPollOptions{})
		stream := startReq(h, http.MethodGet, "/api/live/sse", "", "", nil)
		synctest.Wait()
		pings := func() int { return strings.Count(stream.w.text(), ": ping\n\n") }
		if n := pings(); n != 0 {
			t.Fatalf("%d pings at start", n)
		}
		time.Sleep(15*time.Second - time.Millisecond)
		synctest.Wait()
		if n := pings(); n != 0 {
			t.Fatalf("%d pings before the first interval", n)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if n := pings(); n != 1 {
			t.Fatalf("%d pings after one interval, want 1", n)
		}
		time.Sleep(45 * time.Second)
		synctest.Wait()
		if n := pings(); n != 4 {
			t.Fatalf("%d pings after four intervals, want 4", n)
		}
		if stream.w.flushCount() < 5 {
			t.Fatalf("%d flushes: every event must be flushed", stream.w.flushCount())
		}
		stream.cancel()
		<-stream.done
	})
}

// Heartbeats can be turned off.
func TestSSEHeartbeatDisabled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, h := newTransportHandler(t, live.Options{}, live.SSEOptions{Heartbeat: -1}, live.LongPollOptions{})
		stream := startReq(h, http.MethodGet, "/api/live/sse", "", "", nil)
		time.Sleep(time.Hour)
		synctest.Wait()
		if strings.Contains(stream.w.text(), ": ping") {
			t.Fatal("ping written with heartbeats disabled")
		}
		stream.cancel()
		<-stream.done
	})
}

// A client that stops reading is closed with 1008 "SSE backpressure:
// client too slow" once MaxBufferedBytes of events wait; the events queued
// before that still come first.
func TestSSEBackpressure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, h := newTransportHandler(t, live.Options{}, live.SSEOptions{MaxBufferedBytes: 1024}, live.LongPollOptions{})
		stream := startReq(h, http.MethodGet, "/api/live/sse", "", "", nil)
		synctest.Wait()
		tok := tokenOf(t, stream.w.text())
		stream.w.stall()
		sent := 0
		for ; sent < 40; sent++ {
			w := doReq(h, http.MethodPost, "/api/live/sse/send", tok, `{"type":"NOPE","requestId":"r"}`)
			if w.code() == http.StatusNotFound {
				break // closed
			}
			if w.code() != http.StatusNoContent {
				t.Fatalf("send %d: %d", sent, w.code())
			}
			synctest.Wait()
		}
		if sent == 40 {
			t.Fatal("a stalled stream was never closed")
		}
		stream.w.unstall()
		<-stream.done
		evs := parseEvents(t, stream.w.text())
		last := evs[len(evs)-1]
		if last.name != "close" {
			t.Fatalf("last event %+v, want close", last)
		}
		wantJSON(t, decodeJSON(t, last.data), `{"code":1008,"reason":"SSE backpressure: client too slow"}`)
		msgs := messagesOf(t, stream.w.text())
		if len(msgs) < 2 || msgs[0]["type"] != "CONNECTION_ESTABLISHED" {
			t.Fatalf("messages before the close: %s", typesOf(msgs))
		}
		if got := len(stream.w.text()); got > 2*1024+512 {
			t.Fatalf("%d bytes written: the buffer bound was not applied", got)
		}
		synctest.Wait()
		if n := srv.Stats().Connections; n != 0 {
			t.Fatalf("%d connections after the close", n)
		}
	})
}

// A client that goes away ends its session: the engine connection is torn
// down and the token is forgotten.
func TestSSEClientDisconnect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, h := newTransportHandler(t, live.Options{}, live.SSEOptions{}, live.LongPollOptions{})
		stream := startReq(h, http.MethodGet, "/api/live/sse", "", "", nil)
		synctest.Wait()
		tok := tokenOf(t, stream.w.text())
		if n := srv.Stats().Connections; n != 1 {
			t.Fatalf("%d connections, want 1", n)
		}
		stream.cancel()
		<-stream.done
		synctest.Wait()
		if n := srv.Stats().Connections; n != 0 {
			t.Fatalf("%d connections after the disconnect", n)
		}
		if w := doReq(h, http.MethodPost, "/api/live/sse/send", tok, `{"type":"PING"}`); w.code() != http.StatusNotFound {
			t.Fatalf("send after disconnect: %d, want 404", w.code())
		}
		if got := typesOf(messagesOf(t, stream.w.text())); got != "CONNECTION_ESTABLISHED" {
			t.Fatalf("messages %q", got)
		}
	})
}

// Frames are delivered to the engine in the order they were posted and
// the replies come back as events in the same order; a frame with line
// breaks in its JSON is split over data lines and rejoined.
func TestSSEFramesInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, h := newTransportHandler(t, live.Options{}, live.SSEOptions{}, live.LongPollOptions{})
		stream := startReq(h, http.MethodGet, "/api/live/sse", "", "", nil)
		synctest.Wait()
		tok := tokenOf(t, stream.w.text())
		var want []string
		for _, id := range []string{"a", "b", "c"} {
			if w := doReq(h, http.MethodPost, "/api/live/sse/send", tok, "{\n\"type\":\"NOPE\",\r\n\"requestId\":\""+id+"\"\n}"); w.code() != http.StatusNoContent {
				t.Fatalf("send: %d", w.code())
			}
			want = append(want, id)
		}
		synctest.Wait()
		var got []string
		for _, m := range messagesOf(t, stream.w.text())[1:] {
			got = append(got, m["requestId"].(string))
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("reply order (-want +got):\n%s", diff)
		}
		stream.cancel()
		<-stream.done
	})
}
