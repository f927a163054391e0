package live_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	live "github.com/live-go/live"
)

// This file holds a transport-agnostic raw test client (frames in, frames
// out) with one implementation per transport, written from the spec
// (§1.12) independently of the server's encoders, and in-process HTTP
// plumbing for synctest bubbles, where real sockets cannot be used.

const tokenHeader = "X-Live-Session"

// newTransportServer returns a server with the Counter component whose
// WebSocket, SSE and long-poll routes are served by an httptest server.
func newTransportServer(t *testing.T, opts live.Options, sse live.SSEOptions, lp live.LongPollOptions) (*live.Server, *httptest.Server) {
	t.Helper()
	srv, h := newTransportHandler(t, opts, sse, lp)
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close) // runs after the shutdown registered by newTransportHandler
	return srv, hs
}

// newTransportHandler returns a server with the Counter component and a
// handler for all its transports; the server and the transports are shut
// down when the test ends.
func newTransportHandler(t *testing.T, opts live.Options, sse live.SSEOptions, lp live.LongPollOptions) (*live.Server, http.Handler) {
	t.Helper()
	if opts.StateSecret == nil {
		opts.StateSecret = []byte("transport-test-secret-transport-test")
	}
	opts.SSE, opts.LongPoll = sse, lp
	srv, err := live.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	must(t, live.Register(srv, live.Component[Counter]{
		Name:    "Counter",
		Actions: []string{"increment", "add", "fail"},
	}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return srv, srv
}

// rawConn is one raw client connection over any transport.
type rawConn interface {
	// send writes one client text frame.
	send(frame string)
	// next returns the next server message (array frames are split),
	// failing the test if none arrives in time.
	next() map[string]any
}

// expectType returns the next message of c, which must have type typ.
func expectType(t *testing.T, c rawConn, typ string) map[string]any {
	t.Helper()
	m := c.next()
	if m["type"] != typ {
		t.Fatalf("got %s, want a %s", jsonText(m), typ)
	}
	return m
}

// splitFrame decodes one server text frame into its messages.
func splitFrame(t *testing.T, frame []byte) []map[string]any {
	t.Helper()
	if len(frame) > 0 && frame[0] == '[' {
		var arr []map[string]any
		if err := json.Unmarshal(frame, &arr); err != nil {
			t.Fatalf("bad array frame %s: %v", frame, err)
		}
		return arr
	}
	var m map[string]any
	if err := json.Unmarshal(frame, &m); err != nil {
		t.Fatalf("bad frame %s: %v", frame, err)
	}
	return []map[string]any{m}
}

// ---- WebSocket --------------------------------------------------------------

type wsRaw struct{ rc *rawClient }

func dialWSRaw(t *testing.T, hs *httptest.Server) rawConn {
	t.Helper()
	return wsRaw{dialRaw(t, hs, nil)}
}

func (c wsRaw) send(frame string)    { c.rc.send(frame) }
func (c wsRaw) next() map[string]any { return c.rc.next() }

// ---- SSE --------------------------------------------------------------------

// sseEvent is one parsed event-stream event.
type sseEvent struct {
	name, data string
}

// sseRaw is a raw SSE client: a GET stream read by a goroutine into
// events, frames sent with POST {prefix}/sse/send.
type sseRaw struct {
	t      *testing.T
	base   string
	token  string
	events chan sseEvent // closed when the stream ends
	queue  []map[string]any
	closed *sseEvent // the close event, once seen
}

// openSSE opens a stream and returns the response (whatever its status)
// and, for a 200, a channel of its events closed at the end of the stream.
// The stream is closed when the test ends.
func openSSE(t *testing.T, base string, hdr http.Header) (*http.Response, chan sseEvent) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+"/api/live/sse", nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return resp, nil
	}
	events := make(chan sseEvent, 256)
	done := make(chan struct{})
	go func() {
		defer close(done)
		readSSE(resp.Body, events)
	}()
	t.Cleanup(func() {
		resp.Body.Close()
		<-done
	})
	return resp, events
}

// readSSE parses an event stream (LF line ends, as the server writes)
// into events until it ends, then closes out.
func readSSE(r io.Reader, out chan<- sseEvent) {
	defer close(out)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var name string
	var data []string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if data != nil {
				out <- sseEvent{name: name, data: strings.Join(data, "\n")}
			}
			name, data = "", nil
		case strings.HasPrefix(line, ":"):
			out <- sseEvent{name: "comment", data: line}
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = append(data, strings.TrimPrefix(line, "data: "))
		}
	}
}

// nextEvent returns the next event, or ok=false at the end of the stream.
func nextEvent(t *testing.T, events chan sseEvent) (sseEvent, bool) {
	t.Helper()
	select {
	case e, ok := <-events:
		return e, ok
	case <-time.After(5 * time.Second):
		t.Fatal("timed out waiting for an SSE event")
		return sseEvent{}, false
	}
}

func dialSSERaw(t *testing.T, hs *httptest.Server) rawConn {
	t.Helper()
	return dialSSERawHeader(t, hs.URL, nil)
}

func dialSSERawHeader(t *testing.T, base string, hdr http.Header) *sseRaw {
	t.Helper()
	resp, events := openSSE(t, base, hdr)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("SSE open: status %d", resp.StatusCode)
	}
	first, ok := nextEvent(t, events)
	if !ok || first.name != "session" {
		t.Fatalf("first event %+v, want a session event", first)
	}
	var tok struct{ Token string }
	if err := json.Unmarshal([]byte(first.data), &tok); err != nil || len(tok.Token) != 64 {
		t.Fatalf("session event data %q: want a 64-char token", first.data)
	}
	c := &sseRaw{t: t, base: base, token: tok.Token, events: events}
	expectType(t, c, "CONNECTION_ESTABLISHED")
	return c
}

func (c *sseRaw) send(frame string) {
	c.t.Helper()
	resp := postFrame(c.t, c.base+"/api/live/sse/send", c.token, "application/json", frame, nil)
	if resp.StatusCode != http.StatusNoContent {
		c.t.Fatalf("SSE send: status %d", resp.StatusCode)
	}
}

func (c *sseRaw) next() map[string]any {
	c.t.Helper()
	for len(c.queue) == 0 {
		e, ok := nextEvent(c.t, c.events)
		if !ok {
			c.t.Fatal("SSE stream ended while waiting for a message")
		}
		switch e.name {
		case "message":
			c.queue = append(c.queue, splitFrame(c.t, []byte(e.data))...)
		case "close":
			c.closed = &e
		case "binary", "comment":
		default:
			c.t.Fatalf("unexpected event %+v", e)
		}
	}
	m := c.queue[0]
	c.queue = c.queue[1:]
	return m
}

// postFrame posts one frame and returns the response with its body read.
func postFrame(t *testing.T, url, token, contentType, body string, hdr http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if token != "" {
		req.Header.Set(tokenHeader, token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return doRead(t, req)
}

// doRead performs req and reads the whole body into a replayable Body.
func doRead(t *testing.T, req *http.Request) *http.Response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp
}

func bodyText(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return string(b)
}

// ---- long-poll ---------------------------------------------------------------

// pollBody is a decoded poll response.
type pollBody struct {
	Frames []struct {
		T *string `json:"t"`
		B *string `json:"b"`
	} `json:"frames"`
	Closed *struct {
		Code   int    `json:"code"`
		Reason string `json:"reason"`
	} `json:"closed"`
}

// pollRaw is a raw long-poll client: next polls synchronously whenever no
// message is queued.
type pollRaw struct {
	t      *testing.T
	base   string
	token  string
	queue  []map[string]any
	bins   [][]byte
	closed *struct {
		Code   int    `json:"code"`
		Reason string `json:"reason"`
	}
}

func dialPollRaw(t *testing.T, hs *httptest.Server) rawConn {
	t.Helper()
	return openPollRaw(t, hs.URL, nil)
}

func openPollRaw(t *testing.T, base string, hdr http.Header) *pollRaw {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+"/api/live/http", nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp := doRead(t, req)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("long-poll open: status %d %s", resp.StatusCode, bodyText(t, resp))
	}
	var tok struct{ Token string }
	if err := json.Unmarshal([]byte(bodyText(t, resp)), &tok); err != nil || len(tok.Token) != 64 {
		t.Fatalf("open body %q: want a 64-char token", bodyText(t, resp))
	}
	c := &pollRaw{t: t, base: base, token: tok.Token}
	expectType(t, c, "CONNECTION_ESTABLISHED")
	return c
}

// poll performs one GET {prefix}/http/poll.
func (c *pollRaw) poll() (*http.Response, pollBody) {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.base+"/api/live/http/poll", nil)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set(tokenHeader, c.token)
	resp := doRead(c.t, req)
	var body pollBody
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal([]byte(bodyText(c.t, resp)), &body); err != nil {
			c.t.Fatalf("poll body %q: %v", bodyText(c.t, resp), err)
		}
	}
	return resp, body
}

// absorb queues the frames of a poll body.
func (c *pollRaw) absorb(body pollBody) {
	c.t.Helper()
	for _, f := range body.Frames {
		switch {
		case f.T != nil && f.B == nil:
			c.queue = append(c.queue, splitFrame(c.t, []byte(*f.T))...)
		case f.B != nil && f.T == nil:
			b, err := base64.StdEncoding.DecodeString(*f.B)
			if err != nil {
				c.t.Fatalf("binary frame %q: %v", *f.B, err)
			}
			c.bins = append(c.bins, b)
		default:
			c.t.Fatalf("frame item with both or neither of t and b")
		}
	}
	if body.Closed != nil {
		c.closed = body.Closed
	}
}

func (c *pollRaw) send(frame string) {
	c.t.Helper()
	resp := postFrame(c.t, c.base+"/api/live/http/send", c.token, "application/json", frame, nil)
	if resp.StatusCode != http.StatusNoContent {
		c.t.Fatalf("long-poll send: status %d", resp.StatusCode)
	}
}

func (c *pollRaw) next() map[string]any {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for len(c.queue) == 0 {
		if c.closed != nil {
			c.t.Fatalf("session closed (%d %q) while waiting for a message", c.closed.Code, c.closed.Reason)
		}
		if time.Now().After(deadline) {
			c.t.Fatal("timed out waiting for a message")
		}
		resp, body := c.poll()
		if resp.StatusCode != http.StatusOK {
			c.t.Fatalf("poll: status %d %s", resp.StatusCode, bodyText(c.t, resp))
		}
		c.absorb(body)
	}
	m := c.queue[0]
	c.queue = c.queue[1:]
	return m
}

// ---- in-process plumbing for synctest bubbles ---------------------------------

// pipeWriter is an http.ResponseWriter and http.Flusher for handlers run
// in-process. The test reads what was written with text; stall makes
// writes block until unstall (a client that stopped reading).
type pipeWriter struct {
	mu      sync.Mutex
	hdr     http.Header
	status  int
	buf     bytes.Buffer
	gate    chan struct{} // non-nil while stalled
	flushes int
}

func newPipeWriter() *pipeWriter { return &pipeWriter{hdr: http.Header{}} }

func (p *pipeWriter) Header() http.Header { return p.hdr }

func (p *pipeWriter) WriteHeader(code int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.status == 0 {
		p.status = code
	}
}

func (p *pipeWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	gate := p.gate
	p.mu.Unlock()
	if gate != nil {
		<-gate
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.status == 0 {
		p.status = http.StatusOK
	}
	return p.buf.Write(b)
}

func (p *pipeWriter) Flush() {
	p.mu.Lock()
	p.flushes++
	p.mu.Unlock()
}

func (p *pipeWriter) stall() {
	p.mu.Lock()
	p.gate = make(chan struct{})
	p.mu.Unlock()
}

func (p *pipeWriter) unstall() {
	p.mu.Lock()
	close(p.gate)
	p.gate = nil
	p.mu.Unlock()
}

func (p *pipeWriter) text() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.buf.String()
}

func (p *pipeWriter) code() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.status
}

// inproc is a request served in-process on its own goroutine.
type inproc struct {
	w      *pipeWriter
	cancel context.CancelFunc // the client going away
	done   chan struct{}      // closed when the handler returned
}

// startReq serves a request in-process on a new goroutine.
func startReq(h http.Handler, method, target, token, body string, hdr http.Header) *inproc {
	ctx, cancel := context.WithCancel(context.Background())
	r := httptest.NewRequestWithContext(ctx, method, target, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		r.Header[k] = v
	}
	if token != "" {
		r.Header.Set(tokenHeader, token)
	}
	p := &inproc{w: newPipeWriter(), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		h.ServeHTTP(p.w, r)
	}()
	return p
}

// finished reports whether the handler returned.
func (p *inproc) finished() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// doReq serves a request in-process and waits for the handler to return.
func doReq(h http.Handler, method, target, token, body string) *pipeWriter {
	p := startReq(h, method, target, token, body, nil)
	<-p.done
	p.cancel()
	return p.w
}

// parseEvents splits an event-stream text (LF line ends) into events,
// comments included as name "comment".
func parseEvents(t *testing.T, stream string) []sseEvent {
	t.Helper()
	out := make(chan sseEvent, 4096)
	readSSE(strings.NewReader(stream), out)
	var evs []sseEvent
	for e := range out {
		evs = append(evs, e)
	}
	return evs
}

// tokenOf returns the token of a stream's leading session event.
func tokenOf(t *testing.T, stream string) string {
	t.Helper()
	evs := parseEvents(t, stream)
	if len(evs) == 0 || evs[0].name != "session" {
		t.Fatalf("stream %q does not start with a session event", stream)
	}
	var tok struct{ Token string }
	if err := json.Unmarshal([]byte(evs[0].data), &tok); err != nil {
		t.Fatal(err)
	}
	return tok.Token
}

// messagesOf returns the JSON messages of a stream's message events.
func messagesOf(t *testing.T, stream string) []map[string]any {
	t.Helper()
	var msgs []map[string]any
	for _, e := range parseEvents(t, stream) {
		if e.name == "message" {
			msgs = append(msgs, splitFrame(t, []byte(e.data))...)
		}
	}
	return msgs
}

func typesOf(msgs []map[string]any) string {
	var b strings.Builder
	for i, m := range msgs {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprint(&b, m["type"])
	}
	return b.String()
}

func (p *pipeWriter) flushCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.flushes
}
