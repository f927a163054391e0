package live

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/coder/websocket"
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

// Request describes the HTTP request that opened a connection.
type Request struct {
	// Origin is the Origin header, if any.
	Origin string
	// RemoteAddr is the client's network address.
	RemoteAddr string
	// Header holds the request headers (cookies, Authorization, ...).
	Header http.Header
	// HTTP is the original request when the transport has one. Do not
	// read its body.
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

// wsSocket adapts a coder/websocket connection to Socket.
type wsSocket struct {
	c   *websocket.Conn
	buf *[]byte // pooled read buffer held between Read calls
	// class is the size class of the previous message (reader goroutine
	// only): the next Read starts with a buffer of that class.
	class int
}

// Read buffers are pooled by size class (4 KiB × 2^k up to 16 MiB), so a
// connection streaming large messages (1 MiB upload chunks) reuses the same
// few buffers instead of growing a fresh one per message; buffers above the
// largest class are not pooled.
const (
	readBufMinClass = 4 << 10
	readBufClasses  = 13 // 4 KiB … 16 MiB
)

var readBufPools [readBufClasses]sync.Pool

// readBufClass returns the class whose buffers hold n bytes, or -1.
func readBufClass(n int) int {
	size := readBufMinClass
	for c := range readBufClasses {
		if n <= size {
			return c
		}
		size *= 2
	}
	return -1
}

func getReadBuf(class int) *[]byte {
	if b, ok := readBufPools[class].Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 0, readBufMinClass<<class)
	return &b
}

func putReadBuf(b *[]byte) {
	if c := readBufClass(cap(*b)); c >= 0 && cap(*b) == readBufMinClass<<c {
		*b = (*b)[:0]
		readBufPools[c].Put(b)
	}
}

func (w *wsSocket) Read(ctx context.Context, limit int64) (bool, []byte, bool, error) {
	if w.buf != nil {
		// Release the previous message's buffer before blocking, so an idle
		// connection holds none.
		putReadBuf(w.buf)
		w.buf = nil
	}
	// A background context: coder/websocket would otherwise arm a
	// context.AfterFunc for every message. The server unblocks a pending
	// Read with CloseNow.
	typ, r, err := w.c.Reader(context.Background())
	if err != nil {
		return false, nil, false, err
	}
	// Start at the previous message's size class: a connection streaming
	// large messages skips the small classes (and their copies).
	w.buf = getReadBuf(w.class)
	b := (*w.buf)[:0]
	for {
		if len(b) == cap(b) {
			if int64(len(b)) > limit {
				break
			}
			// Move to the next size class (or grow past the last one).
			var nb *[]byte
			if c := readBufClass(cap(b) + 1); c >= 0 {
				nb = getReadBuf(c)
			} else {
				x := make([]byte, 0, 2*cap(b))
				nb = &x
			}
			*nb = append((*nb)[:0], b...)
			putReadBuf(w.buf)
			w.buf = nb
			b = *nb
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			*w.buf = b
			w.class = max(readBufClass(len(b)), 0)
			if int64(len(b)) > limit {
				return typ == websocket.MessageBinary, nil, true, nil
			}
			return typ == websocket.MessageBinary, b, false, nil
		}
		if err != nil {
			*w.buf = b
			return false, nil, false, err
		}
	}
	// Over the limit: discard the rest without buffering it.
	*w.buf = b[:0]
	if _, err := io.Copy(io.Discard, r); err != nil {
		return false, nil, false, err
	}
	return typ == websocket.MessageBinary, nil, true, nil
}

func (w *wsSocket) Write(ctx context.Context, binary bool, data []byte) error {
	typ := websocket.MessageText
	if binary {
		typ = websocket.MessageBinary
	}
	return w.c.Write(ctx, typ, data)
}

func (w *wsSocket) Close(code int, reason string) error {
	return w.c.Close(websocket.StatusCode(code), reason)
}

func (w *wsSocket) CloseNow() error { return w.c.CloseNow() }

func (w *wsSocket) Ping(ctx context.Context) error { return w.c.Ping(ctx) }

// serveWebSocket upgrades r and serves the connection until it ends.
func (s *Server) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		InsecureSkipVerify: true, // origins are checked below, so rejected clients get close code 4003
	})
	if err != nil {
		s.log.Debug("live: websocket upgrade failed", "err", err, "remote", r.RemoteAddr)
		return
	}
	// Messages are size-checked (and oversized ones discarded) by Read; the
	// transport limit only stops a peer from streaming without end (the
	// transport then closes with 1009).
	c.SetReadLimit(max(4*s.opts.MaxMessageSize, 64<<20))
	sock := &wsSocket{c: c}
	if !s.originAllowed(r) {
		s.log.Info("live: origin rejected", "origin", r.Header.Get("Origin"), "remote", r.RemoteAddr)
		_ = sock.Close(CloseOriginNotAllowed, "Origin not allowed")
		return
	}
	err = s.ServeSocket(r.Context(), sock, Request{
		Origin:     r.Header.Get("Origin"),
		RemoteAddr: r.RemoteAddr,
		Header:     r.Header,
		HTTP:       r,
	})
	if err != nil && !errors.Is(err, ErrServerClosed) {
		s.log.Debug("live: connection ended", "err", err)
	}
}
