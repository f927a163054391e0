package live

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/live-go/live/internal/httpwire"
	"github.com/live-go/live/internal/protocol"
)

// pollHub serves the HTTP long-polling transport (spec §1.12):
//
//	GET  {prefix}/http        opens a session: 200 {"token":"<hex>"}, or 403
//	GET  {prefix}/http/poll   frames queued since the last poll, at once if
//	                          any, else after at most PollTimeout
//	POST {prefix}/http/send   one client frame (204/404/403/413)
//	POST {prefix}/http/close  ends the session (204, idempotent)
//
// Every response carries "Cache-Control: no-cache, no-store"; bodies are
// JSON ({"error":"..."} for failures).
//
// A poll body is {"frames":[{"t":"<text>"} | {"b":"<base64>"}, ...]} plus
// "closed":{"code":N,"reason":"..."} once the server closed the session.
// Unlike the reference, which forgets a session closed while no poll
// waits, a session closed by the server keeps its last frames and close
// status for the next poll (or until SessionTimeout), so the client learns
// the close code (1008 backpressure, 1001 shutdown, 4001 Identify...); a
// session dropped without a close status answers 404 "Unknown session".
//
// Goroutines: each session's goroutine runs ServeSocket; one sweeper per
// hub, started with the first session and stopped by close, closes idle
// sessions.
type pollHub struct {
	srv      *Server
	opts     LongPollOptions
	sessions sessionTable[*pollSession]

	sweepMu     sync.Mutex
	sweepClosed bool
	sweepStop   chan struct{} // nil until the sweeper starts
	sweepDone   chan struct{}
}

func newPollHub(s *Server, o LongPollOptions) *pollHub {
	h := &pollHub{srv: s, opts: o}
	h.sessions.max = s.opts.MaxConnections
	return h
}

// serveHTTP serves the route rest, the path below {prefix}/http.
func (h *pollHub) serveHTTP(w http.ResponseWriter, r *http.Request, rest string) {
	w.Header().Set("Cache-Control", "no-cache, no-store")
	method := http.MethodPost
	if rest == "" || rest == "/poll" {
		method = http.MethodGet
	}
	switch rest {
	case "", "/poll", "/send", "/close":
		if r.Method != method {
			w.Header().Set("Allow", method)
			writePollError(w, http.StatusMethodNotAllowed, "Method not allowed")
			return
		}
	default:
		writePollError(w, http.StatusNotFound, "Not found")
		return
	}
	if rest == "" {
		h.serveOpen(w, r)
		return
	}
	sess := h.lookup(r)
	switch {
	case sess == nil && rest == "/close":
		w.WriteHeader(http.StatusNoContent) // already gone: closing is idempotent
	case sess == nil:
		writePollError(w, http.StatusNotFound, textUnknownSession)
	case !h.srv.sessionOriginOK(sess.origin, r):
		writePollError(w, http.StatusForbidden, textOriginMismatch)
	case rest == "/poll":
		h.servePoll(w, r, sess)
	case rest == "/send":
		if sess.ended() {
			writePollError(w, http.StatusNotFound, textUnknownSession)
			return
		}
		sess.touch()
		h.srv.serveSend(w, r, &sess.httpSession, writePollError)
		sess.touch()
	default: // "/close"
		sess.left.Store(true) // the client leaves: no resume (ErrClientLeft)
		sess.close(&httpwire.Close{Code: 1000, Reason: reasonClientClosed}, true)
		w.WriteHeader(http.StatusNoContent)
	}
}

// lookup returns the session named by the request's token (maybe closed
// and waiting to deliver its close status), or nil.
func (h *pollHub) lookup(r *http.Request) *pollSession {
	tok := r.Header.Get(httpwire.TokenHeader)
	if !httpwire.ValidToken(tok) {
		return nil
	}
	s, _ := h.sessions.get(tok)
	return s
}

// serveOpen opens a session; CONNECTION_ESTABLISHED waits for the first
// poll.
func (h *pollHub) serveOpen(w http.ResponseWriter, r *http.Request) {
	if !h.srv.originAllowed(r) {
		h.srv.log.Info("live: long-poll origin rejected", "origin", r.Header.Get("Origin"), "remote", r.RemoteAddr)
		writePollError(w, http.StatusForbidden, textForbidden)
		return
	}
	if !h.startSweeper() {
		refuseOpenJSON(w, errHubClosed)
		return
	}
	sess := &pollSession{hub: h, active: time.Now()}
	sess.init(r)
	if err := h.sessions.add(sess.token, sess); err != nil {
		sess.finish()
		refuseOpenJSON(w, err)
		return
	}
	go sess.run()
	writePollJSON(w, http.StatusOK, httpwire.AppendTokenJSON(make([]byte, 0, 80), sess.token))
}

// servePoll answers a poll: at once when frames or a close status wait,
// else when one arrives, when a newer poll replaces this one (empty), or
// after PollTimeout (empty).
func (h *pollHub) servePoll(w http.ResponseWriter, r *http.Request, s *pollSession) {
	// A poll outlives a short http.Server.WriteTimeout by design.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(h.opts.PollTimeout + h.srv.opts.WriteTimeout))
	s.mu.Lock()
	s.active = time.Now()
	if len(s.items) == 0 && !s.closed {
		if old := s.waiter; old != nil {
			old.superseded = true
			close(old.wake)
		}
		wt := &pollWaiter{wake: make(chan struct{})}
		s.waiter = wt
		s.mu.Unlock()

		timer := time.NewTimer(h.opts.PollTimeout)
		select {
		case <-wt.wake:
		case <-timer.C:
		case <-r.Context().Done():
		}
		timer.Stop()

		s.mu.Lock()
		if s.waiter == wt {
			s.waiter = nil
		}
		s.active = time.Now()
		if wt.superseded || r.Context().Err() != nil {
			s.mu.Unlock()
			writePollJSON(w, http.StatusOK, httpwire.AppendPollBody(nil, nil, nil))
			return
		}
	}
	items, status, closed := s.items, s.status, s.closed
	s.items = nil
	s.mu.Unlock()

	if closed {
		h.sessions.remove(s.token) // the close status is delivered now, or never
		if status == nil && len(items) == 0 {
			writePollError(w, http.StatusNotFound, textUnknownSession)
			return
		}
	}
	writePollJSON(w, http.StatusOK, httpwire.AppendPollBody(make([]byte, 0, len(items)+96), items, status))
}

// startSweeper starts the idle-session sweeper unless it runs; it reports
// false once the hub is closed.
func (h *pollHub) startSweeper() bool {
	h.sweepMu.Lock()
	defer h.sweepMu.Unlock()
	if h.sweepClosed {
		return false
	}
	if h.sweepStop == nil {
		h.sweepStop = make(chan struct{})
		h.sweepDone = make(chan struct{})
		go h.sweepLoop(h.sweepStop, h.sweepDone)
	}
	return true
}

// sweepLoop runs sweep every min(10 s, SessionTimeout) until stop closes.
func (h *pollHub) sweepLoop(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(min(10*time.Second, h.opts.SessionTimeout))
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			h.sweep(time.Now())
		}
	}
}

// sweep closes (1001 "HTTP polling session timeout") and forgets every
// session with no pending poll and no request for over SessionTimeout,
// including closed ones whose status was never collected.
func (h *pollHub) sweep(now time.Time) {
	for _, s := range h.sessions.snapshot() {
		s.mu.Lock()
		idle := s.waiter == nil && now.Sub(s.active) > h.opts.SessionTimeout
		s.mu.Unlock()
		if idle {
			h.srv.log.Debug("live: long-poll session timed out", "remote", s.req.RemoteAddr)
			s.close(&httpwire.Close{Code: CloseGoingAway, Reason: reasonPollTimeout}, true)
		}
	}
}

// close stops the sweeper, ends every session with 1001 "server shutdown"
// (a pending poll receives it) and waits for the sessions' goroutines.
func (h *pollHub) close(ctx context.Context) error {
	h.sweepMu.Lock()
	h.sweepClosed = true
	stop, done := h.sweepStop, h.sweepDone
	h.sweepMu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
	for _, s := range h.sessions.shut() {
		s.close(&httpwire.Close{Code: CloseGoingAway, Reason: reasonShutdown}, true)
	}
	return h.sessions.wait(ctx)
}

// pollSession is one long-poll client: a Socket whose reads are fed by
// POST {prefix}/http/send and whose writes are queued for the next poll.
// Its mu is a leaf lock.
type pollSession struct {
	httpSession
	hub *pollHub

	mu     sync.Mutex
	items  []byte          // frame items for the next poll, comma-separated
	closed bool            // no more frames
	status *httpwire.Close // close status for the next poll; nil if dropped without one
	waiter *pollWaiter     // the pending poll, if any
	active time.Time       // the last request's start or end
}

// pollWaiter is one pending poll.
type pollWaiter struct {
	wake       chan struct{} // closed to answer the poll
	superseded bool          // a newer poll replaced it: answer empty
}

var (
	_ Socket = (*pollSession)(nil)

	errPollBackpressure = errors.New("live: HTTP polling backpressure: client too slow")
)

// run serves the session with the engine until it ends.
func (s *pollSession) run() {
	defer s.hub.sessions.wg.Done()
	err := s.hub.srv.ServeSocket(s.ctx, s, s.req)
	s.close(nil, false)
	if err != nil && !errors.Is(err, ErrServerClosed) && !errors.Is(err, errSessionClosed) {
		s.hub.srv.log.Debug("live: long-poll session ended", "err", err)
	}
}

// Read implements Socket.
func (s *pollSession) Read(ctx context.Context, limit int64) (bool, []byte, bool, error) {
	return s.read(ctx, limit)
}

// Write implements Socket: it queues one frame for the next poll without
// blocking. Above MaxBufferedBytes the queue is discarded and the session
// closed with 1008.
func (s *pollSession) Write(_ context.Context, binary bool, data []byte) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errSessionClosed
	}
	if len(s.items) > 0 {
		s.items = append(s.items, ',')
	}
	if binary {
		s.items = httpwire.AppendBinaryFrame(s.items, data)
	} else {
		s.items = httpwire.AppendTextFrame(s.items, data)
	}
	if len(s.items) > s.hub.opts.MaxBufferedBytes {
		s.items = nil
		s.closeLocked(&httpwire.Close{Code: CloseSlowConsumer, Reason: reasonPollBackpressure})
		s.mu.Unlock()
		s.finish()
		s.hub.srv.log.Warn("live: long-poll client too slow, closing", "remote", s.req.RemoteAddr)
		return errPollBackpressure
	}
	s.wakeLocked()
	s.mu.Unlock()
	return nil
}

// Close implements Socket: the next poll receives the queued frames and
// the close status.
func (s *pollSession) Close(code int, reason string) error {
	s.close(&httpwire.Close{Code: code, Reason: reason}, false)
	return nil
}

// CloseNow implements Socket: the session is dropped; its next poll gets
// what was queued, or 404.
func (s *pollSession) CloseNow() error {
	s.close(nil, false)
	return nil
}

// close ends the session once with status (nil: none) and stops its
// reader. The session stays registered until a poll collects its close
// status, unless forget is set or it has no status.
func (s *pollSession) close(status *httpwire.Close, forget bool) {
	s.mu.Lock()
	s.closeLocked(status)
	forget = forget || s.status == nil
	s.mu.Unlock()
	s.finish()
	if forget {
		s.hub.sessions.remove(s.token)
	}
}

// closeLocked marks the session closed with status and answers the pending
// poll. Only the first call counts. s.mu must be held.
func (s *pollSession) closeLocked(status *httpwire.Close) {
	if s.closed {
		return
	}
	s.closed = true
	s.status = status
	s.wakeLocked()
}

// wakeLocked answers the pending poll, if any. s.mu must be held.
func (s *pollSession) wakeLocked() {
	if s.waiter != nil {
		close(s.waiter.wake)
		s.waiter = nil
	}
}

// touch records activity (a send).
func (s *pollSession) touch() {
	s.mu.Lock()
	s.active = time.Now()
	s.mu.Unlock()
}

// closeStatus returns the status the session was closed with.
func (s *pollSession) closeStatus() (*httpwire.Close, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status, s.closed
}

// writePollJSON answers with status and a JSON body.
func writePollJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writePollError answers a long-poll request with {"error":text}.
func writePollError(w http.ResponseWriter, status int, text string) {
	o := make([]byte, 0, 32+len(text))
	o = append(o, `{"error":`...)
	o = protocol.AppendString(o, text)
	writePollJSON(w, status, append(o, '}'))
}

// refuseOpenJSON is refuseOpen for the long-poll transport.
func refuseOpenJSON(w http.ResponseWriter, err error) {
	if errors.Is(err, errTooManySessions) {
		writePollError(w, http.StatusServiceUnavailable, textTooManySessions)
		return
	}
	writePollError(w, http.StatusServiceUnavailable, textShuttingDown)
}
