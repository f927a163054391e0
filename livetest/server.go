package livetest

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	live "github.com/live-go/live"
)

// Server is a live.Server under test, with the connections the test made
// to it.
type Server struct {
	tb  testing.TB
	srv *live.Server

	mu      sync.Mutex
	conns   map[*Conn]bool // open connections, closed at the end of the test
	cleanup sync.Once
}

// NewServer creates a live.Server from opts for the test, runs each setup
// function on it (register components and rooms there; a generated
// RegisterLive function fits as it is), and shuts it down when the test
// ends. It fails the test if the options are invalid or a setup function
// returns an error.
//
// Two options are adjusted for tests: Identify is wrapped by Identify, so
// WithIdentity works; and a zero RateLimitBurst disables the per-connection
// frame rate limit instead of applying the default (set it to test rate
// limiting). Everything else behaves as in production.
func NewServer(tb testing.TB, opts live.Options, setup ...func(*live.Server) error) *Server {
	tb.Helper()
	opts.Identify = Identify(opts.Identify)
	if opts.RateLimitBurst == 0 {
		opts.RateLimitBurst = -1
	}
	srv, err := live.New(opts)
	if err != nil {
		tb.Fatalf("livetest: new server: %v", err)
	}
	tb.Cleanup(func() {
		// Runs after the connections' cleanups (registered later).
		if err := srv.Shutdown(context.Background()); err != nil {
			tb.Errorf("livetest: shutdown: %v", err)
		}
	})
	for _, f := range setup {
		if err := f(srv); err != nil {
			tb.Fatalf("livetest: setup: %v", err)
		}
	}
	return &Server{tb: tb, srv: srv}
}

// New wraps a server the test built itself. Connections made through it
// are closed when the test ends; the server is not shut down. For
// WithIdentity, its Options.Identify must be wrapped by Identify.
func New(tb testing.TB, srv *live.Server) *Server {
	return &Server{tb: tb, srv: srv}
}

// Live returns the underlying live.Server (for Stats, EmitToRoom, ...).
func (s *Server) Live() *live.Server { return s.srv }

// Connect opens a connection, as a browser tab does, and returns it once
// the server has sent CONNECTION_ESTABLISHED. It fails the test if the
// server refuses the connection; use Dial to test a refusal. The
// connection is closed when the test ends.
func (s *Server) Connect(opts ...ConnOption) *Conn {
	s.tb.Helper()
	c, err := s.Dial(opts...)
	if err != nil {
		s.tb.Fatalf("%v", err)
	}
	return c
}

// Dial is Connect returning the error instead of failing the test. A
// connection the server closed (Identify failed, too many connections,
// shutdown) returns a *CloseError with the server's close code.
func (s *Server) Dial(opts ...ConnOption) (*Conn, error) {
	return s.dial(opts)
}

// track registers c for Sync and for closing at the end of the test.
func (s *Server) track(c *Conn) {
	s.cleanup.Do(func() {
		// Registered after NewServer's shutdown, so it runs before it.
		s.tb.Cleanup(func() {
			for _, c := range s.openConns() {
				if !c.shutdown() {
					s.tb.Errorf("livetest: the server did not release connection %s within %v", c.id, c.timeout)
				}
			}
		})
	})
	s.mu.Lock()
	if s.conns == nil {
		s.conns = map[*Conn]bool{}
	}
	s.conns[c] = true
	s.mu.Unlock()
}

// untrack forgets a connection that was closed.
func (s *Server) untrack(c *Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// openConns returns the connections not closed by the client, oldest
// first.
func (s *Server) openConns() []*Conn {
	s.mu.Lock()
	out := make([]*Conn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b *Conn) int { return cmp.Compare(a.seq, b.seq) })
	return out
}

// Sync waits until the server has finished what the test started: inside a
// synctest bubble, until every goroutine of the bubble is blocked
// (synctest.Wait), which covers timers and background goroutines that are
// due; outside one, until every open connection has had its messages
// handled and has received everything queued for it.
func (s *Server) Sync() {
	s.tb.Helper()
	if bubbleWait() {
		return
	}
	for _, c := range s.openConns() {
		c.Sync()
	}
}

// Advance moves time forward by d and then syncs. Inside a synctest bubble
// time is fake: timers due within d fire at once, in order, and Advance
// returns as soon as everything they started is done. Outside a bubble
// Advance really sleeps for d: run tests that depend on time inside
// synctest.Test to keep them fast and exact.
func (s *Server) Advance(d time.Duration) {
	s.tb.Helper()
	if bubbleWait() {
		time.Sleep(d)
		synctest.Wait()
		return
	}
	time.Sleep(d)
	for _, c := range s.openConns() {
		c.Sync()
	}
}

// bubbleWait calls synctest.Wait and reports whether the caller is inside
// a synctest bubble (outside one, Wait panics and nothing is waited for).
func bubbleWait() (inBubble bool) {
	defer func() {
		if recover() != nil {
			inBubble = false
		}
	}()
	synctest.Wait()
	return true
}
