package live

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/live-go/live/internal/httpwire"
)

func TestTransportOptionsDefaults(t *testing.T) {
	sse, err := SSEOptions{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(SSEOptions{Heartbeat: 15 * time.Second, MaxBufferedBytes: 4 << 20}, sse); diff != "" {
		t.Errorf("SSE defaults (-want +got):\n%s", diff)
	}
	lp, err := LongPollOptions{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(LongPollOptions{PollTimeout: 25 * time.Second, SessionTimeout: 45 * time.Second, MaxBufferedBytes: 4 << 20}, lp); diff != "" {
		t.Errorf("long-poll defaults (-want +got):\n%s", diff)
	}
	lp, err = LongPollOptions{PollTimeout: time.Minute, SessionTimeout: time.Second}.withDefaults()
	if err != nil || lp.SessionTimeout != time.Minute+time.Second {
		t.Errorf("SessionTimeout below PollTimeout: %v, %v; want raised to PollTimeout+1s", lp.SessionTimeout, err)
	}
	if sse, err := (SSEOptions{Heartbeat: -1}).withDefaults(); err != nil || sse.Heartbeat != -1 {
		t.Errorf("negative heartbeat: %+v, %v; want kept (disabled)", sse, err)
	}
	for name, bad := range map[string]func() error{
		"SSE buffer":       func() error { _, err := (SSEOptions{MaxBufferedBytes: -1}).withDefaults(); return err },
		"poll timeout":     func() error { _, err := (LongPollOptions{PollTimeout: -1}).withDefaults(); return err },
		"session timeout":  func() error { _, err := (LongPollOptions{SessionTimeout: -1}).withDefaults(); return err },
		"long-poll buffer": func() error { _, err := (LongPollOptions{MaxBufferedBytes: -1}).withDefaults(); return err },
	} {
		if bad() == nil {
			t.Errorf("%s: negative value accepted", name)
		}
	}
}

func TestCutRoute(t *testing.T) {
	tests := []struct {
		path, base, rest string
		ok               bool
	}{
		{"/sse", "/sse", "", true},
		{"/sse/send", "/sse", "/send", true},
		{"/sse/", "/sse", "/", true},
		{"/ssex", "/sse", "", false},
		{"/ws", "/sse", "", false},
		{"", "/sse", "", false},
	}
	for _, tt := range tests {
		rest, ok := cutRoute(tt.path, tt.base)
		if rest != tt.rest || ok != tt.ok {
			t.Errorf("cutRoute(%q, %q) = %q, %v; want %q, %v", tt.path, tt.base, rest, ok, tt.rest, tt.ok)
		}
	}
}

// newTestHubs returns hubs on a server that is never served (the sessions
// are driven directly through their Socket methods).
func newTestHubs(t *testing.T) (*sseHub, *pollHub) {
	t.Helper()
	s, err := New(Options{StateSecret: []byte("internal-transport-test-secret-xx")})
	if err != nil {
		t.Fatal(err)
	}
	sse, _ := SSEOptions{MaxBufferedBytes: 256}.withDefaults()
	lp, _ := LongPollOptions{MaxBufferedBytes: 256}.withDefaults()
	return newSSEHub(s, sse), newPollHub(s, lp)
}

// The SSE socket encodes text frames as message events (line breaks split
// into data lines), binary frames as base64 binary events, and Close as
// the final close event; writes after it fail.
func TestSSESessionSocket(t *testing.T) {
	sh, _ := newTestHubs(t)
	s := &sseSession{hub: sh, wake: make(chan struct{}, 1)}
	s.init(httptest.NewRequest("GET", "/api/live/sse", nil))
	ctx := context.Background()
	if err := s.Write(ctx, false, []byte("{\"a\":\n1}")); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, true, []byte{0x01, 0xff, 0x00}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(4003, "Origin not allowed"); err != nil {
		t.Fatal(err)
	}
	want := "event: message\ndata: {\"a\":\ndata: 1}\n\n" +
		"event: binary\ndata: Af8A\n\n" +
		"event: close\ndata: {\"code\":4003,\"reason\":\"Origin not allowed\"}\n\n"
	if got := string(s.buf); got != want {
		t.Fatalf("events %q, want %q", got, want)
	}
	if err := s.Write(ctx, false, []byte("{}")); !errors.Is(err, errSessionClosed) {
		t.Fatalf("write after close: %v", err)
	}
	if _, _, _, err := s.Read(ctx, 1<<20); !errors.Is(err, errSessionClosed) {
		t.Fatalf("read after close: %v", err)
	}
	if st, closed := s.closeStatus(); !closed || st != (httpwire.Close{Code: 4003, Reason: "Origin not allowed"}) {
		t.Fatalf("status %+v %v", st, closed)
	}
	s.CloseNow() // no effect after Close
	if strings.Count(string(s.buf), "event: close") != 1 {
		t.Fatal("second close event")
	}
}

// A stream over MaxBufferedBytes closes with 1008; a client gone closes
// with 1001 "client disconnected" (never sent, but recorded).
func TestSSESessionCloseStatuses(t *testing.T) {
	sh, _ := newTestHubs(t)
	tests := []struct {
		name string
		act  func(s *sseSession)
		want httpwire.Close
	}{
		{"backpressure", func(s *sseSession) {
			for i := 0; i < 100 && s.Write(context.Background(), false, []byte(`{"type":"PADDING_PADDING"}`)) == nil; i++ {
			}
		}, httpwire.Close{Code: 1008, Reason: "SSE backpressure: client too slow"}},
		{"client gone", func(s *sseSession) { s.clientGone(context.Canceled) },
			httpwire.Close{Code: 1001, Reason: "client disconnected"}},
		{"dropped", func(s *sseSession) { _ = s.CloseNow() }, httpwire.Close{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &sseSession{hub: sh, wake: make(chan struct{}, 1)}
			s.init(httptest.NewRequest("GET", "/api/live/sse", nil))
			tt.act(s)
			st, closed := s.closeStatus()
			if !closed || st != tt.want {
				t.Fatalf("status %+v (closed %v), want %+v", st, closed, tt.want)
			}
			if !s.ended() {
				t.Fatal("reader not stopped")
			}
			if len(s.buf) > sh.opts.MaxBufferedBytes+128 {
				t.Fatalf("%d bytes buffered", len(s.buf))
			}
		})
	}
}

// The long-poll socket encodes frames as {"t"} / {"b"} items; the queue
// bound discards them and closes with 1008.
func TestPollSessionSocket(t *testing.T) {
	_, ph := newTestHubs(t)
	s := &pollSession{hub: ph}
	s.init(httptest.NewRequest("GET", "/api/live/http", nil))
	ctx := context.Background()
	if err := s.Write(ctx, false, []byte(`{"type":"X","s":"a\"b"}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, true, []byte{0x02, 0x00, 0xfe}); err != nil {
		t.Fatal(err)
	}
	body := string(httpwire.AppendPollBody(nil, s.items, nil))
	want := `{"frames":[{"t":"{\"type\":\"X\",\"s\":\"a\\\"b\"}"},{"b":"AgD+"}]}`
	if body != want {
		t.Fatalf("body %s, want %s", body, want)
	}
	for i := 0; i < 100 && s.Write(ctx, false, []byte(`{"type":"PADDING_PADDING"}`)) == nil; i++ {
	}
	st, closed := s.closeStatus()
	if !closed || st == nil || *st != (httpwire.Close{Code: 1008, Reason: "HTTP polling backpressure: client too slow"}) {
		t.Fatalf("status %+v closed %v", st, closed)
	}
	if len(s.items) != 0 {
		t.Fatalf("%d bytes kept after the overflow, want the queue discarded", len(s.items))
	}
}

// readFrame bounds what it reads and classifies binary bodies.
func TestReadFrame(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		ctype  string
		length int64 // -1: unknown
		binary bool
		err    error
	}{
		{"text", `{"a":1}`, "application/json", 7, false, nil},
		{"binary", "\x01\x02", "application/octet-stream", 2, true, nil},
		{"binary upper case", "\x01", " APPLICATION/OCTET-STREAM ", 1, true, nil},
		{"no type", "x", "", 1, false, nil},
		{"announced too large", "", "application/json", 11, false, errPayloadTooLarge},
		{"streamed too large", strings.Repeat("z", 11), "application/json", -1, false, errPayloadTooLarge},
		{"limit", strings.Repeat("z", 10), "application/json", -1, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/x", strings.NewReader(tt.body))
			r.ContentLength = tt.length
			r.Header.Set("Content-Type", tt.ctype)
			f, err := readFrame(r, 10)
			if !errors.Is(err, tt.err) {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			if err == nil && (f.binary != tt.binary || string(f.data) != tt.body) {
				t.Fatalf("frame %+v", f)
			}
		})
	}
}
