package livetest

import (
	"context"
	"sync"

	live "github.com/live-go/live"
)

// frame is one client → server message.
type frame struct {
	binary bool
	data   []byte
}

// socket is the in-memory live.Socket between a Conn (the client side) and
// the server. Client frames are handed over on an unbuffered channel, so a
// send returns once the server's reader has taken the frame; server frames
// are passed to recv synchronously on the server's writer goroutine.
type socket struct {
	in     chan frame
	closed chan struct{} // closed when either side closes
	recv   func(binary bool, data []byte)

	once     sync.Once
	mu       sync.Mutex
	code     int    // close code sent by the server (0: none)
	reason   string // close reason sent by the server
	byServer bool   // the server closed the socket
}

var _ live.Socket = (*socket)(nil)

func newSocket(recv func(binary bool, data []byte)) *socket {
	return &socket{in: make(chan frame), closed: make(chan struct{}), recv: recv}
}

// Read implements live.Socket.
func (s *socket) Read(ctx context.Context, limit int64) (bool, []byte, bool, error) {
	select {
	case f := <-s.in:
		if int64(len(f.data)) > limit {
			return f.binary, nil, true, nil
		}
		return f.binary, f.data, false, nil
	case <-s.closed:
		return false, nil, false, ErrClosed
	case <-ctx.Done():
		return false, nil, false, ctx.Err()
	}
}

// Write implements live.Socket. It runs on the server's writer goroutine.
func (s *socket) Write(_ context.Context, binary bool, data []byte) error {
	select {
	case <-s.closed:
		return ErrClosed
	default:
	}
	s.recv(binary, data)
	return nil
}

// Close implements live.Socket: the server closes the connection.
func (s *socket) Close(code int, reason string) error {
	s.shut(code, reason, true)
	return nil
}

// CloseNow implements live.Socket: the server drops the connection.
func (s *socket) CloseNow() error {
	s.shut(0, "", true)
	return nil
}

// shut closes the socket once; later calls change nothing.
func (s *socket) shut(code int, reason string, byServer bool) {
	s.once.Do(func() {
		s.mu.Lock()
		s.code, s.reason, s.byServer = code, reason, byServer
		s.mu.Unlock()
		close(s.closed)
	})
}

// status returns who closed the socket and with what code.
func (s *socket) status() (code int, reason string, byServer bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.code, s.reason, s.byServer
}
