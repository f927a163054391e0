package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// These tests run the SSE and long-poll transports of the client against
// fake servers that speak the wire format of spec §1.12, written out by
// hand.

const fakeToken = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

// dialTransport is Dial with a transport chosen (what Options.Transport
// will select once wired).
func dialTransport(ctx context.Context, url string, tr Transport, opts *Options) (*Client, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	c := newClient(url, o)
	c.dial = c.dialerFor(tr)
	if err := c.start(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

func TestEndpointURL(t *testing.T) {
	tests := []struct {
		in, endpoint, want string
		err                bool
	}{
		{"ws://h:3000/api/live/ws", "sse", "http://h:3000/api/live/sse", false},
		{"wss://h/api/live/ws", "http", "https://h/api/live/http", false},
		{"ws://h/api/live/ws?x=1", "sse", "http://h/api/live/sse?x=1", false},
		{"WS://h/ws", "sse", "http://h/sse", false},
		{"https://h/custom/sse", "sse", "https://h/custom/sse", false},
		{"http://h/api/live/ws", "http", "http://h/api/live/http", false},
		{"ws://h/api/live/other", "sse", "", true},
		{"ftp://h/ws", "sse", "", true},
		{"://bad", "sse", "", true},
	}
	for _, tt := range tests {
		got, err := endpointURL(tt.in, tt.endpoint)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("endpointURL(%q, %q) = %q, %v; want %q (error %v)", tt.in, tt.endpoint, got, err, tt.want, tt.err)
		}
	}
	for tr, want := range map[Transport]string{TransportWebSocket: "websocket", TransportSSE: "sse", TransportHTTP: "http", 9: "Transport(9)"} {
		if tr.String() != want {
			t.Errorf("Transport(%d).String() = %q, want %q", uint8(tr), tr.String(), want)
		}
	}
}

// fakeHTTPServer is a scripted server for one transport. Frames posted by
// the client arrive on posts; the test pushes server frames with push
// (text JSON or binary), which the fake sends as events (SSE) or poll
// items (long-poll).
type fakeHTTPServer struct {
	t       *testing.T
	openErr atomic.Int32  // status of the opening request when set
	sendErr atomic.Int32  // status of every send when set
	posts   chan string   // "<content type> <body>" of each send
	closes  chan struct{} // one per POST /close
	gone    chan struct{} // closed when the SSE stream's request ends
	goneOne sync.Once

	mu      sync.Mutex
	pending []string // wire items to deliver: SSE event text or poll item JSON
	closed  string   // close status JSON, delivered after pending
	wake    chan struct{}
}

func newFakeHTTPServer(t *testing.T) *fakeHTTPServer {
	return &fakeHTTPServer{
		t:      t,
		posts:  make(chan string, 64),
		closes: make(chan struct{}, 4),
		gone:   make(chan struct{}),
		wake:   make(chan struct{}, 1),
	}
}

func (f *fakeHTTPServer) push(item string) {
	f.mu.Lock()
	f.pending = append(f.pending, item)
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

func (f *fakeHTTPServer) closeWith(status string) {
	f.mu.Lock()
	f.closed = status
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// take returns the queued items and the close status.
func (f *fakeHTTPServer) take() ([]string, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	items, closed := f.pending, f.closed
	f.pending, f.closed = nil, ""
	return items, closed
}

func (f *fakeHTTPServer) serveSend(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Live-Session") != fakeToken {
		http.Error(w, "Unknown session", http.StatusNotFound)
		return
	}
	if code := f.sendErr.Load(); code != 0 {
		w.WriteHeader(int(code))
		return
	}
	b, _ := io.ReadAll(r.Body)
	f.posts <- r.Header.Get("Content-Type") + " " + string(b)
	w.WriteHeader(http.StatusNoContent)
}

// start serves the fake at /api/live/{sse,http} and returns the ws:// URL
// the client is given.
func (f *fakeHTTPServer) start() string {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/live/sse", func(w http.ResponseWriter, r *http.Request) {
		defer f.goneOne.Do(func() { close(f.gone) })
		if code := f.openErr.Load(); code != 0 {
			http.Error(w, "Forbidden", int(code))
			return
		}
		if r.Header.Get("Accept") != "text/event-stream" {
			f.t.Errorf("stream Accept %q", r.Header.Get("Accept"))
		}
		w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
		fl := w.(http.Flusher)
		fmt.Fprintf(w, ": hello\n\nevent: session\ndata: {\"token\":\"%s\"}\n\n", fakeToken)
		fl.Flush()
		for {
			items, closed := f.take()
			for _, it := range items {
				io.WriteString(w, it)
			}
			if closed != "" {
				fmt.Fprintf(w, "event: close\ndata: %s\n\n", closed)
			}
			fl.Flush()
			if closed != "" {
				return
			}
			select {
			case <-f.wake:
			case <-r.Context().Done():
				return
			}
		}
	})
	mux.HandleFunc("POST /api/live/sse/send", f.serveSend)
	mux.HandleFunc("GET /api/live/http", func(w http.ResponseWriter, r *http.Request) {
		if code := f.openErr.Load(); code != 0 {
			http.Error(w, "Forbidden", int(code))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"token":"%s"}`, fakeToken)
	})
	mux.HandleFunc("GET /api/live/http/poll", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Live-Session") != fakeToken {
			http.Error(w, "Unknown session", http.StatusNotFound)
			return
		}
		for {
			items, closed := f.take()
			if len(items) > 0 || closed != "" {
				body := `{"frames":[` + strings.Join(items, ",") + `]`
				if closed != "" {
					body += `,"closed":` + closed
				}
				io.WriteString(w, body+"}")
				return
			}
			select {
			case <-f.wake:
			case <-r.Context().Done():
				return
			case <-time.After(testTimeout):
				io.WriteString(w, `{"frames":[]}`)
				return
			}
		}
	})
	mux.HandleFunc("POST /api/live/http/send", f.serveSend)
	mux.HandleFunc("POST /api/live/http/close", func(w http.ResponseWriter, r *http.Request) {
		f.closes <- struct{}{}
		f.closeWith(`{"code":1000,"reason":"client closed"}`)
		w.WriteHeader(http.StatusNoContent)
	})
	hs := httptest.NewServer(mux)
	f.t.Cleanup(hs.Close)
	return "ws" + strings.TrimPrefix(hs.URL, "http") + "/api/live/ws"
}

// text returns the transport's encoding of a server text frame.
func text(tr Transport, frame string) string {
	if tr == TransportSSE {
		// Split the JSON over two data lines, as a server may.
		i := strings.Index(frame, ",")
		return "event: message\ndata: " + frame[:i+1] + "\ndata: " + frame[i+1:] + "\n\n"
	}
	b, _ := json.Marshal(frame)
	return `{"t":` + string(b) + `}`
}

// binary returns the transport's encoding of a server binary frame given
// in base64.
func binary(tr Transport, b64 string) string {
	if tr == TransportSSE {
		return "event: binary\ndata: " + b64 + "\n\n"
	}
	return `{"b":"` + b64 + `"}`
}

func (f *fakeHTTPServer) nextPost() string {
	f.t.Helper()
	select {
	case p := <-f.posts:
		return p
	case <-time.After(testTimeout):
		f.t.Fatal("timed out waiting for a POST")
		return ""
	}
}

var httpTransports = []Transport{TransportSSE, TransportHTTP}

// A request goes out as one POST and its reply comes back through the
// stream or a poll; binary frames reach OnBinary; the server's close status
// ends the client with its code.
func TestHTTPTransportRoundTrip(t *testing.T) {
	for _, tr := range httpTransports {
		t.Run(tr.String(), func(t *testing.T) {
			f := newFakeHTTPServer(t)
			url := f.start()
			f.push(text(tr, `{"type":"CONNECTION_ESTABLISHED","connectionId":"conn0001"}`))
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			c, err := dialTransport(ctx, url, tr, &Options{Reconnect: ReconnectOptions{Disabled: true}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if c.ConnectionID() != "conn0001" {
				t.Fatalf("connection id %q", c.ConnectionID())
			}
			bins := make(chan []byte, 1)
			c.OnBinary(func(b []byte) { bins <- append([]byte(nil), b...) })

			type result struct {
				msg Message
				err error
			}
			done := make(chan result, 1)
			go func() {
				m, err := c.Request(ctx, map[string]any{"type": "NOPE"})
				done <- result{m, err}
			}()
			post := f.nextPost()
			ct, body, _ := strings.Cut(post, " ")
			if ct != "application/json" {
				t.Fatalf("content type %q", ct)
			}
			var sent map[string]any
			if err := json.Unmarshal([]byte(body), &sent); err != nil || sent["type"] != "NOPE" || sent["expectResponse"] != true {
				t.Fatalf("posted %s (%v)", body, err)
			}
			f.push(binary(tr, "AgMEBQ=="))
			f.push(text(tr, fmt.Sprintf(`{"type":"MESSAGE_RESPONSE","success":true,"result":{"n":1},"requestId":%q}`, sent["requestId"])))
			r := <-done
			if r.err != nil || string(r.msg.Result) != `{"n":1}` {
				t.Fatalf("reply %+v, %v", r.msg, r.err)
			}
			select {
			case b := <-bins:
				if string(b) != "\x02\x03\x04\x05" {
					t.Fatalf("binary frame %x", b)
				}
			case <-time.After(testTimeout):
				t.Fatal("no binary frame")
			}

			if err := c.SendBinary(ctx, []byte{9, 8, 7}); err != nil {
				t.Fatal(err)
			}
			if post := f.nextPost(); post != "application/octet-stream \x09\x08\x07" {
				t.Fatalf("binary post %q", post)
			}

			f.closeWith(`{"code":4003,"reason":"Origin not allowed"}`)
			select {
			case <-c.Done():
			case <-time.After(testTimeout):
				t.Fatal("client did not end on the close status")
			}
			if code := websocket.CloseStatus(c.Err()); code != 4003 {
				t.Fatalf("Err %v: close status %d, want 4003", c.Err(), code)
			}
			if !errors.Is(c.Err(), ErrClosed) {
				t.Fatalf("Err %v does not wrap ErrClosed", c.Err())
			}
		})
	}
}

// A 403 on the opening request is an origin rejection (4003): Dial fails
// with that status and nothing is retried.
func TestHTTPTransportOpenForbidden(t *testing.T) {
	for _, tr := range httpTransports {
		t.Run(tr.String(), func(t *testing.T) {
			f := newFakeHTTPServer(t)
			f.openErr.Store(http.StatusForbidden)
			url := f.start()
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			_, err := dialTransport(ctx, url, tr, nil)
			if code := websocket.CloseStatus(err); code != 4003 {
				t.Fatalf("Dial error %v: status %d, want 4003", err, code)
			}
			f.openErr.Store(http.StatusInternalServerError)
			if _, err := dialTransport(ctx, url, tr, nil); err == nil || websocket.CloseStatus(err) != -1 {
				t.Fatalf("500 on open: %v, want a plain error", err)
			}
		})
	}
}

// A send answered 404 means the server forgot the session: the connection
// is lost (1006).
func TestHTTPTransportSessionLost(t *testing.T) {
	for _, tr := range httpTransports {
		t.Run(tr.String(), func(t *testing.T) {
			f := newFakeHTTPServer(t)
			url := f.start()
			f.push(text(tr, `{"type":"CONNECTION_ESTABLISHED","connectionId":"conn0001"}`))
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			c, err := dialTransport(ctx, url, tr, &Options{Reconnect: ReconnectOptions{Disabled: true}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			f.sendErr.Store(http.StatusNotFound)
			if err := c.Send(ctx, map[string]any{"type": "PING"}); !errors.Is(err, ErrClosed) {
				t.Fatalf("send: %v, want a lost connection", err)
			}
			select {
			case <-c.Done():
			case <-time.After(testTimeout):
				t.Fatal("client still open after losing its session")
			}
		})
	}
}

// Close ends the server session: the SSE stream request ends, the
// long-poll transport posts /close.
func TestHTTPTransportClose(t *testing.T) {
	for _, tr := range httpTransports {
		t.Run(tr.String(), func(t *testing.T) {
			f := newFakeHTTPServer(t)
			url := f.start()
			f.push(text(tr, `{"type":"CONNECTION_ESTABLISHED","connectionId":"conn0001"}`))
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			c, err := dialTransport(ctx, url, tr, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			var signal <-chan struct{} = f.gone
			if tr == TransportHTTP {
				signal = f.closes
			}
			select {
			case <-signal:
			case <-time.After(testTimeout):
				t.Fatal("the server did not see the close")
			}
			if code := websocket.CloseStatus(c.Err()); code != websocket.StatusNormalClosure {
				t.Fatalf("Err %v: status %d, want 1000", c.Err(), code)
			}
		})
	}
}
