package live_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	live "github.com/live-go/live"
)

// Opening answers the token as JSON with the no-cache headers; the first
// poll returns CONNECTION_ESTABLISHED at once.
func TestLongPollOpen(t *testing.T) {
	_, hs := newTransportServer(t, live.Options{}, live.SSEOptions{}, live.LongPollOptions{})
	resp := doRead(t, mustRequest(t, http.MethodGet, hs.URL+"/api/live/http"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for k, v := range map[string]string{"Content-Type": "application/json", "Cache-Control": "no-cache, no-store"} {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	var open map[string]any
	if err := json.Unmarshal([]byte(bodyText(t, resp)), &open); err != nil {
		t.Fatal(err)
	}
	tok, _ := open["token"].(string)
	if len(open) != 1 || len(tok) != 64 || strings.Trim(tok, "0123456789abcdef") != "" {
		t.Fatalf("open body %s: want {\"token\":<64 lowercase hex>}", bodyText(t, resp))
	}
	c := &pollRaw{t: t, base: hs.URL, token: tok}
	presp, body := c.poll()
	if presp.StatusCode != http.StatusOK || presp.Header.Get("Cache-Control") != "no-cache, no-store" ||
		presp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("poll: %d %v", presp.StatusCode, presp.Header)
	}
	if len(body.Frames) != 1 || body.Closed != nil {
		t.Fatalf("first poll %s", bodyText(t, presp))
	}
	c.absorb(body)
	if m := c.next(); m["type"] != "CONNECTION_ESTABLISHED" {
		t.Fatalf("first message %s", jsonText(m))
	}
}

// Status codes of every route: 403 on a rejected origin at open and on a
// mismatching origin later, 404 for unknown sessions, 413 for frames over
// MaxMessageSize, 400 for text frames that are not UTF-8, 204 for sends and
// closes, 405 and 404 for bad routes.
func TestLongPollStatusCodes(t *testing.T) {
	_, hs := newTransportServer(t, live.Options{AllowedOrigins: []string{"https://a.example"}, MaxMessageSize: 64},
		live.SSEOptions{}, live.LongPollOptions{})
	origin := http.Header{"Origin": {"https://a.example"}}
	c := openPollRaw(t, hs.URL, origin)
	base := hs.URL + "/api/live/http"
	unknown := strings.Repeat("f", 64)

	tests := []struct {
		name    string
		method  string
		path    string
		token   string
		origin  string
		body    string
		status  int
		errText string // the "error" of the JSON body
	}{
		{"open from a foreign origin", "GET", "", "", "https://evil.example", "", 403, "Forbidden"},
		{"open without origin", "GET", "", "", "", "", 403, "Forbidden"},
		{"poll unknown", "GET", "/poll", unknown, "https://a.example", "", 404, "Unknown session"},
		{"poll without token", "GET", "/poll", "", "https://a.example", "", 404, "Unknown session"},
		{"poll origin mismatch", "GET", "/poll", c.token, "https://evil.example", "", 403, "Origin mismatch"},
		{"send unknown", "POST", "/send", unknown, "", `{"type":"PING"}`, 404, "Unknown session"},
		{"send origin mismatch", "POST", "/send", c.token, "https://evil.example", `{"type":"PING"}`, 403, "Origin mismatch"},
		{"send too large", "POST", "/send", c.token, "https://a.example", `{"type":"NOPE","pad":"` + strings.Repeat("x", 64) + `"}`, 413, "Payload too large"},
		{"send not UTF-8", "POST", "/send", c.token, "https://a.example", "{\"type\":\"NOPE\",\"requestId\":\"\xff\"}", 400, "Invalid UTF-8"},
		{"send", "POST", "/send", c.token, "https://a.example", `{"type":"NOPE","requestId":"ok"}`, 204, ""},
		{"close origin mismatch", "POST", "/close", c.token, "https://evil.example", "", 403, "Origin mismatch"},
		{"close unknown", "POST", "/close", unknown, "", "", 204, ""},
		{"poll with POST", "POST", "/poll", c.token, "", "", 405, "Method not allowed"},
		{"send with GET", "GET", "/send", c.token, "", "", 405, "Method not allowed"},
		{"other route", "GET", "/other", c.token, "", "", 404, "Not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, base+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.token != "" {
				req.Header.Set(tokenHeader, tt.token)
			}
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			resp := doRead(t, req)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d %s, want %d", resp.StatusCode, bodyText(t, resp), tt.status)
			}
			if got := resp.Header.Get("Cache-Control"); got != "no-cache, no-store" {
				t.Errorf("Cache-Control %q", got)
			}
			if tt.errText != "" {
				wantJSON(t, decodeJSON(t, bodyText(t, resp)), `{"error":`+jsonText(tt.errText)+`}`)
			}
		})
	}
	// Only the accepted frame reached the engine.
	if m := c.next(); m["requestId"] != "ok" {
		t.Fatalf("got %s", jsonText(m))
	}
}

// Closing is idempotent; afterwards the session is unknown and its
// connection is gone.
func TestLongPollClose(t *testing.T) {
	srv, hs := newTransportServer(t, live.Options{}, live.SSEOptions{}, live.LongPollOptions{})
	c := openPollRaw(t, hs.URL, nil)
	for i := range 2 {
		resp := postFrame(t, hs.URL+"/api/live/http/close", c.token, "", "", nil)
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("close %d: %d", i, resp.StatusCode)
		}
	}
	if resp, _ := c.poll(); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("poll after close: %d", resp.StatusCode)
	}
	if resp := postFrame(t, hs.URL+"/api/live/http/send", c.token, "application/json", `{"type":"PING"}`, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("send after close: %d", resp.StatusCode)
	}
	waitFor(t, "the connection to end", func() bool { return srv.Stats().Connections == 0 })
}

// A poll with nothing queued waits until PollTimeout and answers empty; a
// frame arriving meanwhile answers it at once.
func TestLongPollWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, h := newTransportHandler(t, live.Options{}, live.SSEOptions{}, live.LongPollOptions{PollTimeout: 25 * time.Second})
		tok := openInproc(t, h)
		first := doReq(h, "GET", "/api/live/http/poll", tok, "")
		if !strings.Contains(first.text(), "CONNECTION_ESTABLISHED") {
			t.Fatalf("first poll %s", first.text())
		}

		p := startReq(h, "GET", "/api/live/http/poll", tok, "", nil)
		time.Sleep(25*time.Second - time.Millisecond)
		synctest.Wait()
		if p.finished() {
			t.Fatalf("poll answered before PollTimeout: %s", p.w.text())
		}
		time.Sleep(time.Millisecond)
		<-p.done
		if p.w.code() != http.StatusOK || p.w.text() != `{"frames":[]}` {
			t.Fatalf("timed-out poll: %d %s", p.w.code(), p.w.text())
		}

		p = startReq(h, "GET", "/api/live/http/poll", tok, "", nil)
		synctest.Wait()
		if w := doReq(h, "POST", "/api/live/http/send", tok, `{"type":"NOPE","requestId":"w"}`); w.code() != http.StatusNoContent {
			t.Fatalf("send: %d", w.code())
		}
		<-p.done
		wantJSON(t, decodeJSON(t, p.w.text()), `{"frames":[{"t":`+jsonText(`{"type":"MESSAGE_RESPONSE","success":false,"error":"Unknown message type","requestId":"w"}`)+`}]}`)
	})
}

// Only one poll per session: a new poll answers the previous one empty.
func TestLongPollSupersede(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, h := newTransportHandler(t, live.Options{}, live.SSEOptions{}, live.LongPollOptions{})
		tok := openInproc(t, h)
		doReq(h, "GET", "/api/live/http/poll", tok, "") // CONNECTION_ESTABLISHED
		a := startReq(h, "GET", "/api/live/http/poll", tok, "", nil)
		synctest.Wait()
		b := startReq(h, "GET", "/api/live/http/poll", tok, "", nil)
		<-a.done
		synctest.Wait()
		if a.w.text() != `{"frames":[]}` {
			t.Fatalf("superseded poll: %s", a.w.text())
		}
		if b.finished() {
			t.Fatalf("new poll answered: %s", b.w.text())
		}
		doReq(h, "POST", "/api/live/http/send", tok, `{"type":"NOPE","requestId":"b"}`)
		<-b.done
		if !strings.Contains(b.w.text(), `\"requestId\":\"b\"`) {
			t.Fatalf("new poll got %s", b.w.text())
		}
	})
}

// Frames queued while no poll waits above MaxBufferedBytes are discarded
// and the session is closed with 1008; the next poll gets the status, the
// one after 404.
func TestLongPollBackpressure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, h := newTransportHandler(t, live.Options{}, live.SSEOptions{}, live.LongPollOptions{MaxBufferedBytes: 1024})
		tok := openInproc(t, h)
		closed := false
		for i := 0; i < 40 && !closed; i++ {
			switch w := doReq(h, "POST", "/api/live/http/send", tok, `{"type":"NOPE","requestId":"r"}`); w.code() {
			case http.StatusNoContent:
			case http.StatusNotFound:
				closed = true
			default:
				t.Fatalf("send %d: %d", i, w.code())
			}
			synctest.Wait()
		}
		if !closed {
			t.Fatal("the session was never closed")
		}
		w := doReq(h, "GET", "/api/live/http/poll", tok, "")
		wantJSON(t, decodeJSON(t, w.text()), `{"frames":[],"closed":{"code":1008,"reason":"HTTP polling backpressure: client too slow"}}`)
		if w := doReq(h, "GET", "/api/live/http/poll", tok, ""); w.code() != http.StatusNotFound {
			t.Fatalf("poll after the close status: %d", w.code())
		}
		synctest.Wait()
		if n := srv.Stats().Connections; n != 0 {
			t.Fatalf("%d connections", n)
		}
	})
}

// Sessions with no pending poll and no request for SessionTimeout are
// closed by the sweeper; sessions that keep polling live on.
func TestLongPollSessionTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, h := newTransportHandler(t, live.Options{}, live.SSEOptions{},
			live.LongPollOptions{PollTimeout: 25 * time.Second, SessionTimeout: 45 * time.Second})
		idle := openInproc(t, h)
		busy := openInproc(t, h)

		// busy polls back to back for 5 minutes; idle does nothing.
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-stop:
					return
				default:
				}
				if w := doReq(h, "GET", "/api/live/http/poll", busy, ""); w.code() != http.StatusOK {
					t.Errorf("busy poll: %d", w.code())
					return
				}
			}
		}()
		time.Sleep(45 * time.Second) // not idle for more than SessionTimeout yet
		synctest.Wait()
		if n := srv.Stats().Connections; n != 2 {
			t.Fatalf("%d connections at SessionTimeout, want 2", n)
		}
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		if n := srv.Stats().Connections; n != 1 {
			t.Fatalf("%d connections, want only the busy one", n)
		}
		if w := doReq(h, "GET", "/api/live/http/poll", idle, ""); w.code() != http.StatusNotFound {
			t.Fatalf("idle session poll: %d %s, want 404", w.code(), w.text())
		}
		close(stop)
		<-done
	})
}

// A sweep runs every min(10 s, SessionTimeout): with a short timeout an
// idle session is gone soon after it.
func TestLongPollSweepInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, h := newTransportHandler(t, live.Options{}, live.SSEOptions{},
			live.LongPollOptions{PollTimeout: time.Second, SessionTimeout: 3 * time.Second})
		openInproc(t, h)
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if n := srv.Stats().Connections; n != 1 {
			t.Fatalf("%d connections at the timeout", n)
		}
		time.Sleep(3 * time.Second) // the next sweep sees it idle
		synctest.Wait()
		if n := srv.Stats().Connections; n != 0 {
			t.Fatalf("%d connections one sweep after the timeout", n)
		}
	})
}

// Shutdown answers a pending poll with close 1001 "server shutdown".
func TestLongPollShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, h := newTransportHandler(t, live.Options{}, live.SSEOptions{}, live.LongPollOptions{})
		tok := openInproc(t, h)
		doReq(h, "GET", "/api/live/http/poll", tok, "")
		p := startReq(h, "GET", "/api/live/http/poll", tok, "", nil)
		synctest.Wait()
		if err := srv.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		<-p.done
		wantJSON(t, decodeJSON(t, p.w.text()), `{"frames":[],"closed":{"code":1001,"reason":"server shutdown"}}`)
	})
}

// A connection refused by Identify reports its close code to the first
// poll, then the session is gone.
func TestLongPollRefusedByIdentify(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, h := newTransportHandler(t, live.Options{
			Identify: func(ctx context.Context, r *live.Request) (*live.Identity, error) { return nil, errors.New("no") },
		}, live.SSEOptions{}, live.LongPollOptions{})
		tok := openInproc(t, h)
		synctest.Wait()
		w := doReq(h, "GET", "/api/live/http/poll", tok, "")
		wantJSON(t, decodeJSON(t, w.text()), `{"frames":[],"closed":{"code":4001,"reason":"Unauthorized"}}`)
		if w := doReq(h, "GET", "/api/live/http/poll", tok, ""); w.code() != http.StatusNotFound {
			t.Fatalf("second poll: %d", w.code())
		}
	})
}

// The engine's limits apply to long-poll frames exactly as on WebSocket:
// here the per-connection rate limit.
func TestLongPollRateLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, h := newTransportHandler(t, live.Options{RateLimitBurst: 2, RateLimitPerSecond: 1}, live.SSEOptions{}, live.LongPollOptions{})
		tok := openInproc(t, h)
		doReq(h, "GET", "/api/live/http/poll", tok, "")
		for range 3 {
			doReq(h, "POST", "/api/live/http/send", tok, `{"type":"NOPE"}`)
		}
		synctest.Wait()
		var body pollBody
		if err := json.Unmarshal([]byte(doReq(h, "GET", "/api/live/http/poll", tok, "").text()), &body); err != nil {
			t.Fatal(err)
		}
		var msgs []map[string]any
		for _, f := range body.Frames {
			msgs = append(msgs, splitFrame(t, []byte(*f.T))...)
		}
		if got := typesOf(msgs); got != "MESSAGE_RESPONSE MESSAGE_RESPONSE ERROR" || msgs[2]["error"] != "Rate limit exceeded" {
			t.Fatalf("messages %s", jsonText(msgs))
		}
	})
}

// openInproc opens a long-poll session in-process and returns its token.
func openInproc(t *testing.T, h http.Handler) string {
	t.Helper()
	w := doReq(h, "GET", "/api/live/http", "", "")
	var open struct{ Token string }
	if err := json.Unmarshal([]byte(w.text()), &open); err != nil || w.code() != http.StatusOK {
		t.Fatalf("open: %d %s", w.code(), w.text())
	}
	return open.Token
}

// A poll may wait longer than the http.Server's WriteTimeout: its write
// deadline is extended to PollTimeout + Options.WriteTimeout.
func TestLongPollOutlivesServerWriteTimeout(t *testing.T) {
	_, h := newTransportHandler(t, live.Options{}, live.SSEOptions{}, live.LongPollOptions{PollTimeout: 300 * time.Millisecond})
	hs := httptest.NewUnstartedServer(h)
	hs.Config.WriteTimeout = 50 * time.Millisecond
	hs.Start()
	defer hs.Close()
	c := openPollRaw(t, hs.URL, nil)
	resp, body := c.poll() // nothing queued: waits PollTimeout
	if resp.StatusCode != http.StatusOK || len(body.Frames) != 0 || body.Closed != nil {
		t.Fatalf("poll: %d %s", resp.StatusCode, bodyText(t, resp))
	}
}
