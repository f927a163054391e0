package live

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/live-go/live/internal/ws"
)

// Socket is one bidirectional, message-oriented connection to a client. The
// WebSocket transport implements it, and so can other transports (SSE and
// long-poll sessions, framework adapters with their own WebSocket stack);
// pass one to Server.ServeSocket.
//
// The server calls Read from one goroutine and Write, Ping and Close from
// another; CloseNow may be called from any goroutine.
type Socket interface {
	// Read blocks until the next client message and returns it. The
	// returned slice is valid only until the next call to Read. A message
	// larger than limit bytes must be discarded (not buffered) and
	// reported with tooLarge=true and a nil error, keeping the socket
	// usable.
	Read(ctx context.Context, limit int64) (binary bool, data []byte, tooLarge bool, err error)
	// Write sends one message. It is only called from one goroutine at a
	// time.
	Write(ctx context.Context, binary bool, data []byte) error
	// Close performs an orderly close with the given code and reason.
	Close(code int, reason string) error
	// CloseNow tears the connection down immediately, unblocking Read and
	// Write.
	CloseNow() error
}

// Pinger is an optional Socket capability: a transport-level liveness probe
// that blocks until the peer answers or ctx ends.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Request describes the HTTP request that opened a connection. The server
// hands it to Options.Identify and keeps only RemoteAddr afterwards (for
// observer events): copy what a component needs later into the Identity,
// or into the context (its values stay visible to actions through Ctx).
type Request struct {
	// Origin is the Origin header, if any.
	Origin string
	// RemoteAddr is the client's network address.
	RemoteAddr string
	// Header holds the request headers (cookies, Authorization, ...).
	Header http.Header
	// HTTP is the original request when the transport has one. Do not
	// read its body. For WebSockets its context ends once the upgrade is
	// done (the HTTP handler returns while the connection lives on); its
	// values stay readable.
	HTTP *http.Request
}

// originAllowed applies Options.AllowedOrigins.
func (s *Server) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if len(s.opts.AllowedOrigins) > 0 {
		for _, o := range s.opts.AllowedOrigins {
			if o == "*" || o == origin {
				return true
			}
		}
		return false
	}
	if origin == "" {
		return true // not a browser
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

// blockingReads, set from the environment variable LIVE_BLOCKING_READS=1,
// serves every WebSocket with a reader goroutine even where it could wait
// for input without one: an A/B switch for benchmarks and a way out should
// the poller misbehave on some kernel.
var blockingReads = os.Getenv("LIVE_BLOCKING_READS") == "1"

// wsSocket adapts an internal/ws connection to Socket.
type wsSocket struct{ c *ws.Conn }

func (w *wsSocket) Read(_ context.Context, limit int64) (bool, []byte, bool, error) {
	op, data, tooLarge, err := w.c.Read(limit)
	return op == ws.OpBinary, data, tooLarge, markClientLeft(err)
}

// markClientLeft wraps ErrClientLeft into a read error that is the peer's
// close frame with status 1000.
func markClientLeft(err error) error {
	var ce *ws.CloseError
	if err != nil && errors.As(err, &ce) && ce.Code == ws.CloseNormal {
		return fmt.Errorf("%w: %w", ErrClientLeft, err)
	}
	return err
}

func (w *wsSocket) Write(_ context.Context, binary bool, data []byte) error {
	op := ws.OpText
	if binary {
		op = ws.OpBinary
	}
	return w.c.Write(op, data)
}

func (w *wsSocket) Close(code int, reason string) error { return w.c.Close(code, reason) }

func (w *wsSocket) CloseNow() error { return w.c.CloseNow() }

func (w *wsSocket) Ping(ctx context.Context) error { return w.c.Ping(ctx) }

// wsAsyncSocket is a wsSocket that can wait for input without a goroutine
// (asyncSocket).
type wsAsyncSocket struct{ wsSocket }

func (w *wsAsyncSocket) ReadWait(limit int64, d time.Duration) (bool, []byte, bool, error) {
	op, data, tooLarge, err := w.c.ReadWait(limit, d)
	return op == ws.OpBinary, data, tooLarge, markClientLeft(err)
}

func (w *wsAsyncSocket) NotifyReadable(fn func()) error { return w.c.NotifyReadable(fn) }

// TryWrite makes wsAsyncSocket a tryWriter: its connection has a file
// descriptor, so it can write without waiting.
func (w *wsAsyncSocket) TryWrite(binary bool, data []byte) (bool, error) {
	op := ws.OpText
	if binary {
		op = ws.OpBinary
	}
	return w.c.TryWrite(op, data)
}

// Flush sends what TryWrite kept.
func (w *wsAsyncSocket) Flush() error { return w.c.Flush() }

// serveWebSocket upgrades r and serves the connection until it ends.
func (s *Server) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	// Origins are checked after the upgrade, so rejected clients get close
	// code 4003. Messages are size-checked (and oversized ones discarded)
	// by Read; the transport limit only stops a peer from streaming
	// without end (the transport then closes with 1009).
	c, err := ws.Accept(w, r, ws.Options{
		MaxMessageSize:   max(4*s.opts.MaxMessageSize, 64<<20),
		HandshakeTimeout: s.opts.WriteTimeout,
	})
	if err != nil {
		s.log.Debug("live: websocket upgrade failed", "err", err, "remote", r.RemoteAddr)
		return
	}
	var sock Socket = &wsSocket{c: c}
	if c.CanNotify() && !blockingReads {
		sock = &wsAsyncSocket{wsSocket{c: c}}
	}
	if !s.originAllowed(r) {
		s.log.Info("live: origin rejected", "origin", r.Header.Get("Origin"), "remote", r.RemoteAddr)
		_ = sock.Close(CloseOriginNotAllowed, "Origin not allowed")
		return
	}
	_, async := sock.(asyncSocket)
	lc, err := s.openConn(r.Context(), sock, Request{
		Origin:     r.Header.Get("Origin"),
		RemoteAddr: r.RemoteAddr,
		Header:     r.Header,
		HTTP:       r,
	}, async)
	if err != nil {
		if !errors.Is(err, ErrServerClosed) {
			s.log.Debug("live: connection refused", "err", err)
		}
		return
	}
	// The handler returns once the connection is set up: the HTTP server
	// then frees what it kept for the request (its read and write buffers,
	// the handler goroutine's grown stack), about 10 KiB per idle
	// connection. Where the socket can wait for input without a goroutine
	// (Linux), the connection then has none while idle; elsewhere it runs
	// on a goroutine of its own. Either way the server's connection group
	// owns it and teardown ends it.
	if async {
		lc.serveAsync()
		return
	}
	go func() {
		if err := lc.serve(); err != nil {
			s.log.Debug("live: connection ended", "err", err)
		}
	}()
}
