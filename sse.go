package live

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/live-go/live/internal/httpwire"
)

// sseHub serves the Server-Sent Events transport (spec §1.12):
//
//	GET  {prefix}/sse       opens a text/event-stream; 403 "Forbidden" if the
//	                        origin is rejected
//	POST {prefix}/sse/send  one client frame: 204, or 404 "Unknown session",
//	                        403 "Origin mismatch", 413 "Payload too large"
//
// The stream starts with a "session" event carrying the token, then one
// "message" event per server text frame, one "binary" event (base64) per
// binary frame, ": ping" comments every Heartbeat, and a final "close"
// event with the close code and reason.
//
// Goroutines: the GET handler writes the stream; the session's own
// goroutine runs ServeSocket (the engine's reader) until the session ends,
// counted by sessions.wg and waited for by close.
type sseHub struct {
	srv      *Server
	opts     SSEOptions
	sessions sessionTable[*sseSession]
}

func newSSEHub(s *Server, o SSEOptions) *sseHub {
	h := &sseHub{srv: s, opts: o}
	h.sessions.max = s.opts.MaxConnections
	return h
}

// serveHTTP serves the route rest, the path below {prefix}/sse.
func (h *sseHub) serveHTTP(w http.ResponseWriter, r *http.Request, rest string) {
	switch rest {
	case "":
		if r.Method != http.MethodGet {
			methodNotAllowed(w, http.MethodGet)
			return
		}
		h.serveStream(w, r)
	case "/send":
		if r.Method != http.MethodPost {
			methodNotAllowed(w, http.MethodPost)
			return
		}
		sess := h.lookup(r)
		switch {
		case sess == nil:
			writeText(w, http.StatusNotFound, textUnknownSession)
		case !h.srv.sessionOriginOK(sess.origin, r):
			writeText(w, http.StatusForbidden, textOriginMismatch)
		default:
			h.srv.serveSend(w, r, &sess.httpSession, writeText)
		}
	default:
		http.NotFound(w, r)
	}
}

// lookup returns the open session named by the request's token, or nil.
func (h *sseHub) lookup(r *http.Request) *sseSession {
	tok := r.Header.Get(httpwire.TokenHeader)
	if !httpwire.ValidToken(tok) {
		return nil
	}
	s, ok := h.sessions.get(tok)
	if !ok || s.ended() {
		return nil
	}
	return s
}

// serveStream opens a session and writes its event stream until the
// session ends or the client goes away.
func (h *sseHub) serveStream(w http.ResponseWriter, r *http.Request) {
	if !h.srv.originAllowed(r) {
		h.srv.log.Info("live: SSE origin rejected", "origin", r.Header.Get("Origin"), "remote", r.RemoteAddr)
		writeText(w, http.StatusForbidden, textForbidden)
		return
	}
	sess := &sseSession{hub: h, wake: make(chan struct{}, 1)}
	sess.init(r)
	if err := h.sessions.add(sess.token, sess); err != nil {
		sess.finish()
		refuseOpen(w, err)
		return
	}
	go sess.run()

	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream; charset=utf-8")
	hdr.Set("Cache-Control", "no-cache, no-store, no-transform")
	hdr.Set("Connection", "keep-alive")
	hdr.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	defer func() { _ = rc.SetWriteDeadline(time.Time{}) }()

	// The session event goes first: frames the engine produced meanwhile
	// wait in sess.buf.
	out := httpwire.AppendSessionEvent(make([]byte, 0, 512), sess.token)
	if err := h.write(w, rc, out); err != nil {
		sess.clientGone(err)
		return
	}
	var tick <-chan time.Time
	if h.opts.Heartbeat > 0 {
		t := time.NewTicker(h.opts.Heartbeat)
		defer t.Stop()
		tick = t.C
	}
	for {
		sess.mu.Lock()
		out, sess.buf = sess.buf, out[:0]
		sess.inflight = len(out)
		closed := sess.closed
		sess.mu.Unlock()
		if len(out) > 0 {
			err := h.write(w, rc, out)
			sess.mu.Lock()
			sess.inflight = 0
			sess.mu.Unlock()
			if err != nil {
				sess.clientGone(err)
				return
			}
			if cap(out) > 64<<10 {
				out = nil // do not keep a burst's buffer for the stream's life
			}
		}
		if closed {
			return
		}
		select {
		case <-sess.wake:
		case <-tick:
			if err := h.write(w, rc, httpwire.Ping); err != nil {
				sess.clientGone(err)
				return
			}
		case <-r.Context().Done():
			sess.clientGone(r.Context().Err())
			return
		}
	}
}

// write writes b to the stream and flushes it, bounded by WriteTimeout.
func (h *sseHub) write(w http.ResponseWriter, rc *http.ResponseController, b []byte) error {
	_ = rc.SetWriteDeadline(time.Now().Add(h.srv.opts.WriteTimeout))
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("live: SSE write: %w", err)
	}
	if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return fmt.Errorf("live: SSE flush: %w", err)
	}
	return nil
}

// close ends every stream with a "close" event 1001 "server shutdown" and
// waits for the sessions' goroutines.
func (h *sseHub) close(ctx context.Context) error {
	for _, s := range h.sessions.shut() {
		_ = s.Close(CloseGoingAway, reasonShutdown)
	}
	return h.sessions.wait(ctx)
}

// sseSession is one SSE client: a Socket whose reads are fed by POST
// {prefix}/sse/send and whose writes are queued as events for the stream
// handler. Its mu is a leaf lock.
type sseSession struct {
	httpSession
	hub  *sseHub
	wake chan struct{} // 1-slot: events queued or the session ended

	mu       sync.Mutex
	buf      []byte         // encoded events waiting for the stream handler
	inflight int            // bytes the stream handler is writing now
	closed   bool           // no more events; the stream ends once buf is written
	status   httpwire.Close // close status; zero when dropped without one
}

var (
	_ Socket = (*sseSession)(nil)

	errSSEBackpressure = errors.New("live: SSE backpressure: client too slow")
)

// run serves the session with the engine until it ends.
func (s *sseSession) run() {
	defer s.hub.sessions.wg.Done()
	err := s.hub.srv.ServeSocket(s.ctx, s, s.req)
	s.end(nil)
	if err != nil && !errors.Is(err, ErrServerClosed) && !errors.Is(err, errSessionClosed) {
		s.hub.srv.log.Debug("live: SSE session ended", "err", err)
	}
}

// Read implements Socket.
func (s *sseSession) Read(ctx context.Context, limit int64) (bool, []byte, bool, error) {
	return s.read(ctx, limit)
}

// Write implements Socket: it queues one event without blocking. A stream
// whose queue would exceed MaxBufferedBytes is closed with 1008.
func (s *sseSession) Write(_ context.Context, binary bool, data []byte) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errSessionClosed
	}
	n := len(s.buf)
	if binary {
		s.buf = httpwire.AppendBinaryEvent(s.buf, data)
	} else {
		s.buf = httpwire.AppendEvent(s.buf, httpwire.EventMessage, data)
	}
	if len(s.buf)+s.inflight > s.hub.opts.MaxBufferedBytes {
		s.buf = s.buf[:n]
		s.endLocked(&httpwire.Close{Code: CloseSlowConsumer, Reason: reasonSSEBackpressure})
		s.mu.Unlock()
		s.afterEnd()
		s.hub.srv.log.Warn("live: SSE client too slow, closing", "remote", s.req.RemoteAddr)
		return errSSEBackpressure
	}
	s.mu.Unlock()
	s.signal()
	return nil
}

// Close implements Socket: the stream gets a "close" event and ends.
func (s *sseSession) Close(code int, reason string) error {
	s.end(&httpwire.Close{Code: code, Reason: reason})
	return nil
}

// CloseNow implements Socket: the stream ends after the events already
// queued, without a "close" event.
func (s *sseSession) CloseNow() error {
	s.end(nil)
	return nil
}

// clientGone ends the session after its stream failed or its client went
// away (code 1001 "client disconnected"; nobody receives it).
func (s *sseSession) clientGone(cause error) {
	s.hub.srv.log.Debug("live: SSE client disconnected", "remote", s.req.RemoteAddr, "err", cause)
	s.end(&httpwire.Close{Code: CloseGoingAway, Reason: reasonClientGone})
}

// end closes the session once, queueing a close event when status is set.
func (s *sseSession) end(status *httpwire.Close) {
	s.mu.Lock()
	first := s.endLocked(status)
	s.mu.Unlock()
	if first {
		s.afterEnd()
	}
}

// endLocked marks the session closed and queues the close event; it
// reports whether the session was open. s.mu must be held.
func (s *sseSession) endLocked(status *httpwire.Close) bool {
	if s.closed {
		return false
	}
	s.closed = true
	if status != nil {
		s.status = *status
		s.buf = httpwire.AppendCloseEvent(s.buf, *status)
	}
	return true
}

// afterEnd stops the reader, unregisters the token and wakes the stream
// handler. Call it without s.mu.
func (s *sseSession) afterEnd() {
	s.finish()
	s.hub.sessions.remove(s.token)
	s.signal()
}

func (s *sseSession) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// closeStatus returns the status the session was closed with.
func (s *sseSession) closeStatus() (httpwire.Close, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status, s.closed
}
