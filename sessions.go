package live

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/live-go/live/internal/httpwire"
)

// HTTP-based transports (spec §1.12). Besides the WebSocket endpoint, the
// server offers two transports for networks that block WebSockets, both
// carrying exactly the same frames through the same engine (ServeSocket):
//
//	GET  {prefix}/sse         Server-Sent Events stream (first event: session token)
//	POST {prefix}/sse/send    one client frame
//	GET  {prefix}/http        open a long-poll session → {"token":"<hex>"}
//	GET  {prefix}/http/poll   wait for frames → {"frames":[...],"closed"?:{...}}
//	POST {prefix}/http/send   one client frame
//	POST {prefix}/http/close  end the session
//
// Every request after the opening one carries the session token in the
// X-Live-Session header. Each session is a Socket fed by these requests and
// served by ServeSocket on a goroutine the session owns, so origin checks at
// open, Identify, rate limits, message size and depth limits, ownership,
// rooms and Shutdown behave as on WebSocket.

// SSEOptions configures the Server-Sent Events transport at
// Options.Prefix+"/sse". The zero value enables it with the defaults.
type SSEOptions struct {
	// Disabled turns the transport off: its routes answer 404.
	Disabled bool

	// Heartbeat is the period of the ": ping" comment written on every
	// stream, which keeps proxies from timing it out and detects clients
	// that went away. Default 15 s; negative disables heartbeats.
	Heartbeat time.Duration

	// MaxBufferedBytes bounds the encoded events of one stream that wait
	// to be written to its client. A stream over it is closed with code
	// 1008 "SSE backpressure: client too slow". Default 4 MiB.
	MaxBufferedBytes int
}

// LongPollOptions configures the HTTP long-polling transport at
// Options.Prefix+"/http". The zero value enables it with the defaults.
type LongPollOptions struct {
	// Disabled turns the transport off: its routes answer 404.
	Disabled bool

	// PollTimeout is how long a poll waits for frames before it is
	// answered with none. Default 25 s.
	PollTimeout time.Duration

	// SessionTimeout closes a session with no pending poll and no request
	// for this long (code 1001 "HTTP polling session timeout"). Default
	// 45 s; it is raised to PollTimeout + 1 s when smaller.
	SessionTimeout time.Duration

	// MaxBufferedBytes bounds the encoded frames waiting for the next poll
	// of one session. Above it the frames are discarded and the session is
	// closed with code 1008 "HTTP polling backpressure: client too slow".
	// Default 4 MiB.
	MaxBufferedBytes int
}

// Defaults of SSEOptions and LongPollOptions.
const (
	DefaultSSEHeartbeat           = 15 * time.Second
	DefaultTransportBufferedBytes = 4 << 20
	DefaultPollTimeout            = 25 * time.Second
	DefaultPollSessionTimeout     = 45 * time.Second
)

// Close reasons of the HTTP-based transports.
const (
	reasonSSEBackpressure  = "SSE backpressure: client too slow"
	reasonPollBackpressure = "HTTP polling backpressure: client too slow"
	reasonPollTimeout      = "HTTP polling session timeout"
	reasonClientGone       = "client disconnected"
	reasonClientClosed     = "client closed"
	reasonShutdown         = "server shutdown"
)

// withDefaults returns a validated copy of o with defaults filled in.
func (o SSEOptions) withDefaults() (SSEOptions, error) {
	if o.Heartbeat == 0 {
		o.Heartbeat = DefaultSSEHeartbeat
	}
	if o.MaxBufferedBytes == 0 {
		o.MaxBufferedBytes = DefaultTransportBufferedBytes
	}
	if o.MaxBufferedBytes < 0 {
		return o, errors.New("live: Options.SSE.MaxBufferedBytes must not be negative")
	}
	return o, nil
}

// withDefaults returns a validated copy of o with defaults filled in.
func (o LongPollOptions) withDefaults() (LongPollOptions, error) {
	if o.PollTimeout == 0 {
		o.PollTimeout = DefaultPollTimeout
	}
	if o.PollTimeout < 0 {
		return o, errors.New("live: Options.LongPoll.PollTimeout must not be negative")
	}
	if o.SessionTimeout == 0 {
		o.SessionTimeout = DefaultPollSessionTimeout
	}
	if o.SessionTimeout < 0 {
		return o, errors.New("live: Options.LongPoll.SessionTimeout must not be negative")
	}
	o.SessionTimeout = max(o.SessionTimeout, o.PollTimeout+time.Second)
	if o.MaxBufferedBytes == 0 {
		o.MaxBufferedBytes = DefaultTransportBufferedBytes
	}
	if o.MaxBufferedBytes < 0 {
		return o, errors.New("live: Options.LongPoll.MaxBufferedBytes must not be negative")
	}
	return o, nil
}

// httpTransports holds a server's SSE and long-poll hubs.
type httpTransports struct {
	sse  *sseHub  // nil when disabled
	poll *pollHub // nil when disabled
}

// newHTTPTransports returns the transports of s configured by sse and lp
// (defaults are applied again, so unvalidated options are safe).
func newHTTPTransports(s *Server, sse SSEOptions, lp LongPollOptions) (*httpTransports, error) {
	t := &httpTransports{}
	var err error
	if !sse.Disabled {
		if sse, err = sse.withDefaults(); err != nil {
			return nil, err
		}
		t.sse = newSSEHub(s, sse)
	}
	if !lp.Disabled {
		if lp, err = lp.withDefaults(); err != nil {
			return nil, err
		}
		t.poll = newPollHub(s, lp)
	}
	return t, nil
}

// serveHTTP serves path (the request path without Options.Prefix) if it is
// one of the transports' routes, and reports whether it did.
func (t *httpTransports) serveHTTP(w http.ResponseWriter, r *http.Request, path string) bool {
	if t == nil {
		return false
	}
	if rest, ok := cutRoute(path, "/sse"); ok && t.sse != nil {
		t.sse.serveHTTP(w, r, rest)
		return true
	}
	if rest, ok := cutRoute(path, "/http"); ok && t.poll != nil {
		t.poll.serveHTTP(w, r, rest)
		return true
	}
	return false
}

// close ends every session with 1001 "server shutdown" (sessions the
// engine closed first keep the engine's status), stops the transports'
// background goroutines and waits for the sessions' goroutines. New
// sessions are refused afterwards (503). If ctx ends first, ctx's error is
// returned once the goroutines are gone. Server.Shutdown calls it after
// its connections are drained.
func (t *httpTransports) close(ctx context.Context) error {
	if t == nil {
		return nil
	}
	var errs []error
	if t.sse != nil {
		errs = append(errs, t.sse.close(ctx))
	}
	if t.poll != nil {
		errs = append(errs, t.poll.close(ctx))
	}
	return errors.Join(errs...)
}

// cutRoute reports whether path is base or below it, and returns the rest.
func cutRoute(path, base string) (string, bool) {
	rest, ok := strings.CutPrefix(path, base)
	if !ok || (rest != "" && rest[0] != '/') {
		return "", false
	}
	return rest, true
}

// ---- sessions shared by both transports ------------------------------------

// errSessionClosed is returned by the Socket methods of a closed session.
var errSessionClosed = errors.New("live: transport session closed")

// inFrame is one client frame received by POST {path}/send.
type inFrame struct {
	binary bool
	data   []byte
}

// httpSession is the state shared by SSE and long-poll sessions: token,
// recorded origin, the hand-off of inbound frames to the session's reader
// and the end-of-session signal.
type httpSession struct {
	token  string
	origin string
	req    Request
	ctx    context.Context // passed to ServeSocket; cancelled when the session ends
	cancel context.CancelFunc
	in     chan inFrame  // unbuffered: a POST returns once the reader took its frame
	done   chan struct{} // closed when the session ends
	once   sync.Once
	left   atomic.Bool // the client asked to close (set before done closes)
}

// init prepares a new session opened by r.
func (h *httpSession) init(r *http.Request) {
	h.token = httpwire.NewToken()
	h.origin = r.Header.Get("Origin")
	h.req = Request{
		Origin:     h.origin,
		RemoteAddr: r.RemoteAddr,
		Header:     r.Header,
		HTTP:       r,
	}
	h.ctx, h.cancel = context.WithCancel(context.WithoutCancel(r.Context()))
	h.in = make(chan inFrame)
	h.done = make(chan struct{})
}

// read is Socket.Read: it waits for the next frame posted by the client.
func (h *httpSession) read(ctx context.Context, limit int64) (bool, []byte, bool, error) {
	select {
	case f := <-h.in:
		if int64(len(f.data)) > limit {
			return f.binary, nil, true, nil
		}
		return f.binary, f.data, false, nil
	case <-h.done:
		if h.left.Load() {
			return false, nil, false, fmt.Errorf("%w: %w", ErrClientLeft, errSessionClosed)
		}
		return false, nil, false, errSessionClosed
	case <-ctx.Done():
		return false, nil, false, fmt.Errorf("live: transport read: %w", ctx.Err())
	}
}

// finish marks the session ended: the reader stops and the context is
// cancelled. It reports whether this call ended it.
func (h *httpSession) finish() bool {
	ended := false
	h.once.Do(func() {
		ended = true
		close(h.done)
		h.cancel()
	})
	return ended
}

// ended reports whether finish was called.
func (h *httpSession) ended() bool {
	select {
	case <-h.done:
		return true
	default:
		return false
	}
}

// deliver hands f to the session's reader. It reports false if the session
// ended or ctx (the POST's) ended first.
func (h *httpSession) deliver(ctx context.Context, f inFrame) bool {
	select {
	case h.in <- f:
		return true
	case <-h.done:
		return false
	case <-ctx.Done():
		return false
	}
}

// sessionTable is a hub's token → session map, with the wait group of the
// sessions' goroutines. Its lock is a leaf.
type sessionTable[S any] struct {
	mu     sync.Mutex
	m      map[string]S
	closed bool
	wg     sync.WaitGroup // one per session goroutine
	max    int
}

var (
	errHubClosed       = errors.New("live: transport shut down")
	errTooManySessions = errors.New("live: too many transport sessions")
)

// add registers s under token and counts one session goroutine, which must
// call wg.Done when it returns.
func (t *sessionTable[S]) add(token string, s S) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.closed:
		return errHubClosed
	case len(t.m) >= t.max:
		return errTooManySessions
	}
	if t.m == nil {
		t.m = make(map[string]S)
	}
	t.m[token] = s
	t.wg.Add(1)
	return nil
}

func (t *sessionTable[S]) get(token string) (S, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.m[token]
	return s, ok
}

func (t *sessionTable[S]) remove(token string) {
	t.mu.Lock()
	delete(t.m, token)
	t.mu.Unlock()
}

// snapshot returns the sessions registered now.
func (t *sessionTable[S]) snapshot() []S {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]S, 0, len(t.m))
	for _, s := range t.m {
		out = append(out, s)
	}
	return out
}

// shut refuses new sessions and returns the registered ones.
func (t *sessionTable[S]) shut() []S {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	return t.snapshot()
}

// wait waits for the session goroutines. If ctx ends first it keeps
// waiting (the sessions are already ended and their contexts cancelled;
// only an engine call such as a running action can hold a goroutine) and
// then returns ctx's error, like Server.Shutdown.
func (t *sessionTable[S]) wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		t.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		<-done
		return fmt.Errorf("live: closing transports: %w", ctx.Err())
	}
}

// ---- HTTP helpers ------------------------------------------------------------

// Response texts of the transports' routes.
const (
	textForbidden       = "Forbidden"
	textOriginMismatch  = "Origin mismatch"
	textUnknownSession  = "Unknown session"
	textPayloadTooLarge = "Payload too large"
	textInvalidUTF8     = "Invalid UTF-8"
	textShuttingDown    = "Server shutting down"
	textTooManySessions = "Too many sessions"
)

// writeText answers with status and a plain-text body.
func writeText(w http.ResponseWriter, status int, text string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, text)
}

// methodNotAllowed answers 405 with the Allow header.
func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeText(w, http.StatusMethodNotAllowed, "Method not allowed")
}

// refuseOpen answers an opening request that could not create a session.
func refuseOpen(w http.ResponseWriter, err error) {
	if errors.Is(err, errTooManySessions) {
		writeText(w, http.StatusServiceUnavailable, textTooManySessions)
		return
	}
	writeText(w, http.StatusServiceUnavailable, textShuttingDown)
}

// sessionOriginOK applies spec §6.3 to a request after the opening one: a
// request carrying an Origin header must match the origin recorded at open.
// When the session recorded none (browsers omit Origin on same-origin GET
// requests), the request's Origin must pass Options.AllowedOrigins.
func (s *Server) sessionOriginOK(recorded string, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	switch {
	case origin == "":
		return true
	case recorded != "":
		return origin == recorded
	default:
		return s.originAllowed(r)
	}
}

var errPayloadTooLarge = errors.New("live: payload too large")

// readFrame reads the body of POST {path}/send as one frame of at most
// limit bytes, without reading more than limit+1 bytes; a Content-Length
// over limit fails before anything is read. A body whose Content-Type
// starts with application/octet-stream is a binary frame.
func readFrame(r *http.Request, limit int64) (inFrame, error) {
	if r.ContentLength > limit {
		return inFrame{}, errPayloadTooLarge
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(min(r.ContentLength+1, 64<<10)))
	}
	if _, err := buf.ReadFrom(io.LimitReader(r.Body, limit+1)); err != nil {
		return inFrame{}, fmt.Errorf("live: read frame: %w", err)
	}
	if int64(buf.Len()) > limit {
		return inFrame{}, errPayloadTooLarge
	}
	ct := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Type")))
	return inFrame{binary: strings.HasPrefix(ct, "application/octet-stream"), data: buf.Bytes()}, nil
}

// serveSend implements POST {path}/send once the session is known and its
// origin checked: 413 for a frame over Options.MaxMessageSize, 400 for a
// text frame that is not UTF-8, 404 if the session ends before its reader
// takes the frame, 204 otherwise. fail
// writes the error responses in the transport's format.
func (s *Server) serveSend(w http.ResponseWriter, r *http.Request, sess *httpSession, fail func(http.ResponseWriter, int, string)) {
	f, err := readFrame(r, s.opts.MaxMessageSize)
	switch {
	case errors.Is(err, errPayloadTooLarge):
		fail(w, http.StatusRequestEntityTooLarge, textPayloadTooLarge)
		return
	case err != nil:
		s.log.Debug("live: transport send: reading the body failed", "err", err, "remote", r.RemoteAddr)
		fail(w, http.StatusBadRequest, "Bad request")
		return
	case !f.binary && !utf8.Valid(f.data):
		// The HTTP form of WebSocket's 1007: the frame is refused, the
		// session stays.
		fail(w, http.StatusBadRequest, textInvalidUTF8)
		return
	}
	if !sess.deliver(r.Context(), f) {
		fail(w, http.StatusNotFound, textUnknownSession)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
