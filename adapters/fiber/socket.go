package livefiber

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/fasthttp/websocket"

	live "github.com/live-go/live"
)

const (
	// closeTimeout bounds the close handshake: the wait for the peer's
	// close frame after ours.
	closeTimeout = 5 * time.Second
	// defaultPingTimeout bounds a ping whose context has no deadline.
	defaultPingTimeout = 30 * time.Second
	// maxKeptBuffer is the largest read buffer kept between messages.
	maxKeptBuffer = 64 << 10
	// maxCloseReason is the longest close reason a close frame carries
	// (125 bytes of payload minus the 2-byte code).
	maxCloseReason = 123
)

// errClosed is returned by Ping when the connection ended first.
var errClosed = errors.New("livefiber: connection closed")

// socket adapts a fasthttp WebSocket connection to live.Socket.
//
// The Server calls Read from one goroutine and Write, Ping and Close from
// another; CloseNow may come from any goroutine. fasthttp's connection
// allows one reader and one writer at a time, with control frames
// (WriteControl: close, ping) safe from any goroutine.
type socket struct {
	c *websocket.Conn

	// reading is held by Read, and by Close while it waits for the peer's
	// close frame itself (when no Read is running).
	reading     sync.Mutex
	buf         []byte          // read buffer; guarded by reading
	limitSet    bool            // guarded by reading
	watchedDone <-chan struct{} // context whose end unblocks Read; guarded by reading
	stopWatch   func() bool     // guarded by reading

	writeDeadline bool // a write deadline is set; writer only

	// connMu guards released: after release the connection belongs to
	// fasthttp again (it pools it), and late callbacks must not touch it.
	connMu   sync.Mutex
	released bool

	pong      chan struct{} // one token per pong received
	ended     chan struct{} // closed when a read fails: the peer is gone
	endOnce   sync.Once
	closeOnce sync.Once
	closed    atomic.Bool
}

var (
	_ live.Socket = (*socket)(nil)
	_ live.Pinger = (*socket)(nil)
)

func newSocket(c *websocket.Conn) *socket {
	s := &socket{c: c, pong: make(chan struct{}, 1), ended: make(chan struct{})}
	c.SetPongHandler(func(string) error {
		select {
		case s.pong <- struct{}{}:
		default:
		}
		return nil
	})
	return s
}

// Read implements live.Socket. A message larger than limit is discarded
// as it streams in, without being buffered.
func (s *socket) Read(ctx context.Context, limit int64) (bool, []byte, bool, error) {
	s.reading.Lock()
	defer s.reading.Unlock()
	if !s.limitSet {
		// The transport limit only stops a peer streaming one message
		// without end; larger-than-limit messages are discarded below.
		s.c.SetReadLimit(max(4*limit, 64<<20))
		s.limitSet = true
	}
	s.watch(ctx)
	if cap(s.buf) > maxKeptBuffer {
		s.buf = nil // do not keep a burst's buffer for the connection's life
	}
	typ, r, err := s.c.NextReader()
	if err != nil {
		s.end()
		if ctx.Err() != nil {
			return false, nil, false, fmt.Errorf("livefiber: read: %w", ctx.Err())
		}
		if websocket.IsCloseError(err, websocket.CloseNormalClosure) {
			return false, nil, false, fmt.Errorf("livefiber: read: %w: %w", live.ErrClientLeft, err)
		}
		return false, nil, false, fmt.Errorf("livefiber: read: %w", err)
	}
	binary := typ == websocket.BinaryMessage
	b, tooLarge, err := readBounded(r, s.buf[:0], limit)
	s.buf = b
	if err != nil {
		s.end()
		return false, nil, false, fmt.Errorf("livefiber: read: %w", err)
	}
	if tooLarge {
		return binary, nil, true, nil
	}
	return binary, b, false, nil
}

// readBounded reads r to its end into b. Past limit bytes it stops
// buffering, discards the rest and reports tooLarge. The buffer grows with
// the data, never beyond limit+1 bytes.
func readBounded(r io.Reader, b []byte, limit int64) (_ []byte, tooLarge bool, _ error) {
	for {
		if len(b) == cap(b) {
			if int64(len(b)) > limit {
				_, err := io.Copy(io.Discard, r)
				return b[:0], true, err
			}
			grow := int64(max(2*cap(b), 512))
			grow = min(grow, limit+1)
			nb := make([]byte, len(b), grow)
			copy(nb, b)
			b = nb
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			if int64(len(b)) > limit {
				return b[:0], true, nil
			}
			return b, false, nil
		}
		if err != nil {
			return b[:0], false, err
		}
	}
}

// watch makes the end of ctx unblock Read (once per context, not per call).
func (s *socket) watch(ctx context.Context) {
	done := ctx.Done()
	if done == s.watchedDone {
		return
	}
	if s.stopWatch != nil {
		s.stopWatch()
		s.stopWatch = nil
	}
	s.watchedDone = done
	if done != nil {
		s.stopWatch = context.AfterFunc(ctx, func() {
			s.connMu.Lock()
			defer s.connMu.Unlock()
			if !s.released {
				_ = s.c.NetConn().SetReadDeadline(time.Unix(1, 0))
			}
		})
	}
}

// end records that the peer is gone (a read failed).
func (s *socket) end() {
	s.endOnce.Do(func() { close(s.ended) })
}

// Write implements live.Socket. A deadline of ctx bounds the write.
func (s *socket) Write(ctx context.Context, binary bool, data []byte) error {
	if dl, ok := ctx.Deadline(); ok {
		_ = s.c.SetWriteDeadline(dl)
		s.writeDeadline = true
	} else if s.writeDeadline {
		_ = s.c.SetWriteDeadline(time.Time{})
		s.writeDeadline = false
	}
	typ := websocket.TextMessage
	if binary {
		typ = websocket.BinaryMessage
	}
	if err := s.c.WriteMessage(typ, data); err != nil {
		return fmt.Errorf("livefiber: write: %w", err)
	}
	return nil
}

// Close implements live.Socket: it sends a close frame with code and
// reason, waits (at most closeTimeout) for the peer's close frame, and
// closes the connection.
func (s *socket) Close(code int, reason string) error {
	var err error
	s.closeOnce.Do(func() {
		deadline := time.Now().Add(closeTimeout)
		msg := websocket.FormatCloseMessage(code, truncateReason(reason))
		if err = s.c.WriteControl(websocket.CloseMessage, msg, deadline); err == nil {
			s.awaitPeerClose(deadline)
		} else {
			err = fmt.Errorf("livefiber: close: %w", err)
		}
		if cerr := s.closeConn(); cerr != nil && err == nil {
			err = cerr
		}
	})
	return err
}

// awaitPeerClose waits until the peer answered our close frame, the
// connection failed, or deadline. The running Read sees the answer; when
// none is running, it reads itself.
func (s *socket) awaitPeerClose(deadline time.Time) {
	if s.reading.TryLock() {
		defer s.reading.Unlock()
		_ = s.c.SetReadDeadline(deadline)
		for {
			// NextReader skips unread data messages; it fails with the
			// peer's close frame, an error, or the deadline.
			if _, _, err := s.c.NextReader(); err != nil {
				s.end()
				return
			}
		}
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-s.ended:
	case <-t.C:
	}
}

// CloseNow implements live.Socket: it drops the connection without a close
// frame, unblocking Read and Write.
func (s *socket) CloseNow() error {
	return s.closeConn()
}

func (s *socket) closeConn() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.connMu.Lock()
	defer s.connMu.Unlock()
	if s.released {
		return nil
	}
	// fasthttp's hijacked connection ignores Close (it closes the
	// connection itself once the hijack handler returns), so close the
	// connection underneath; the deadline unblocks I/O in any case.
	nc := s.c.NetConn()
	if u, ok := nc.(interface{ UnsafeConn() net.Conn }); ok {
		nc = u.UnsafeConn()
	}
	_ = nc.SetDeadline(time.Unix(1, 0))
	if err := nc.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("livefiber: close: %w", err)
	}
	return nil
}

// release closes the connection and hands it back to fasthttp, which
// reuses its memory once the hijack handler returns: nothing touches it
// afterwards.
func (s *socket) release() {
	_ = s.closeConn()
	s.connMu.Lock()
	s.released = true
	s.connMu.Unlock()
}

// Ping implements live.Pinger: it sends a ping and waits for a pong. The
// pong is read by the running Read.
func (s *socket) Ping(ctx context.Context) error {
	select {
	case <-s.pong: // a stale pong
	default:
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(defaultPingTimeout)
	}
	if err := s.c.WriteControl(websocket.PingMessage, nil, deadline); err != nil {
		return fmt.Errorf("livefiber: ping: %w", err)
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-s.pong:
		return nil
	case <-s.ended:
		return errClosed
	case <-ctx.Done():
		return fmt.Errorf("livefiber: ping: %w", ctx.Err())
	case <-t.C:
		return fmt.Errorf("livefiber: ping: %w", context.DeadlineExceeded)
	}
}

// truncateReason cuts reason to what a close frame carries, on a rune
// boundary.
func truncateReason(reason string) string {
	if len(reason) <= maxCloseReason {
		return reason
	}
	cut := maxCloseReason
	for cut > 0 && !utf8.RuneStart(reason[cut]) {
		cut--
	}
	return reason[:cut]
}
