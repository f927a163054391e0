package livefiber

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	cws "github.com/coder/websocket"
	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"
)

// socketPair serves one fasthttp WebSocket connection, wrapped in a socket
// and handed to serve on the hijack goroutine, and returns the client's
// end. serve owns the socket until it returns; the test ends only after it
// has.
func socketPair(t testing.TB, serve func(s *socket)) *cws.Conn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	fs := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		if err := upgrader.Upgrade(ctx, func(c *websocket.Conn) {
			defer close(served)
			s := newSocket(c)
			defer s.release()
			serve(s)
		}); err != nil {
			t.Errorf("Upgrade: %v", err)
		}
	}}
	done := make(chan error, 1)
	go func() { done <- fs.Serve(ln) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := cws.Dial(ctx, "ws://"+ln.Addr().String()+"/", nil)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() {
		_ = c.CloseNow()
		<-served
		if err := fs.Shutdown(); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return c
}

func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestSocketRead(t *testing.T) {
	const limit = 1024
	tests := []struct {
		name     string
		typ      cws.MessageType
		data     []byte
		binary   bool
		tooLarge bool
	}{
		{"empty text", cws.MessageText, []byte{}, false, false},
		{"text", cws.MessageText, []byte(`{"type":"AUTH"}`), false, false},
		{"binary", cws.MessageBinary, []byte{1, 2, 3}, true, false},
		{"exactly the limit", cws.MessageText, bytes.Repeat([]byte("a"), limit), false, false},
		{"one byte over", cws.MessageText, bytes.Repeat([]byte("a"), limit+1), false, true},
		{"far over, binary", cws.MessageBinary, bytes.Repeat([]byte("b"), 64*limit), true, true},
	}
	type result struct {
		binary, tooLarge bool
		data             []byte
		err              error
	}
	results := make(chan result)
	c := socketPair(t, func(s *socket) {
		ctx := context.Background()
		for {
			binary, data, tooLarge, err := s.Read(ctx, limit)
			results <- result{binary, tooLarge, bytes.Clone(data), err}
			if err != nil {
				return
			}
			if cap(s.buf) > limit+1 {
				results <- result{err: errors.New("read buffer grew past limit+1")}
				return
			}
		}
	})
	ctx := testCtx(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := c.Write(ctx, tt.typ, tt.data); err != nil {
				t.Fatalf("client Write: %v", err)
			}
			r := <-results
			if r.err != nil {
				t.Fatalf("Read: %v", r.err)
			}
			if r.binary != tt.binary || r.tooLarge != tt.tooLarge {
				t.Fatalf("Read = binary %v tooLarge %v, want %v %v", r.binary, r.tooLarge, tt.binary, tt.tooLarge)
			}
			if !tt.tooLarge && !bytes.Equal(r.data, tt.data) {
				t.Fatalf("Read data = %q, want %q", r.data, tt.data)
			}
			if tt.tooLarge && r.data != nil {
				t.Fatalf("oversized Read returned %d bytes", len(r.data))
			}
		})
	}
	// The socket stays usable after oversized messages; a client close
	// ends the reads with an error.
	if err := c.Close(cws.StatusNormalClosure, "done"); err != nil {
		t.Fatalf("client Close: %v", err)
	}
	if r := <-results; r.err == nil {
		t.Fatalf("Read after the client closed: %+v, want an error", r)
	}
}

func TestSocketWrite(t *testing.T) {
	c := socketPair(t, func(s *socket) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Write(context.Background(), false, []byte("text"))
		_ = s.Write(ctx, true, []byte{0x01, 0x02}) // with a deadline
		_ = s.Write(context.Background(), false, []byte("after"))
		_ = s.Close(4000, "bye")
	})
	ctx := testCtx(t)
	want := []struct {
		typ  cws.MessageType
		data string
	}{{cws.MessageText, "text"}, {cws.MessageBinary, "\x01\x02"}, {cws.MessageText, "after"}}
	for _, w := range want {
		typ, data, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("client Read: %v", err)
		}
		if typ != w.typ || string(data) != w.data {
			t.Fatalf("got %v %q, want %v %q", typ, data, w.typ, w.data)
		}
	}
	_, _, err := c.Read(ctx)
	var ce cws.CloseError
	if !errors.As(err, &ce) || ce.Code != 4000 || ce.Reason != "bye" {
		t.Fatalf("client Read = %v, want close 4000 bye", err)
	}
}

func TestSocketClose(t *testing.T) {
	long := strings.Repeat("é", 100) // 200 bytes
	tests := []struct {
		name       string
		reason     string
		withReader bool // a Read is running when Close is called
		wantReason string
	}{
		{"no reader", "Origin not allowed", false, "Origin not allowed"},
		{"with reader", "server shutdown", true, "server shutdown"},
		{"long reason cut on a rune", long, false, long[:122]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			closeErr := make(chan error, 1)
			readErr := make(chan error, 1)
			reading := make(chan struct{})
			c := socketPair(t, func(s *socket) {
				if tt.withReader {
					go func() {
						close(reading)
						_, _, _, err := s.Read(context.Background(), 1<<20)
						readErr <- err
					}()
					<-reading
				} else {
					readErr <- nil
				}
				closeErr <- s.Close(4001, tt.reason)
				if err := <-readErr; tt.withReader && err == nil {
					closeErr <- errors.New("Read did not fail after Close")
				}
			})
			// The client answers the close frame while reading.
			_, _, err := c.Read(testCtx(t))
			var ce cws.CloseError
			if !errors.As(err, &ce) || ce.Code != 4001 || ce.Reason != tt.wantReason {
				t.Fatalf("client Read = %v, want close 4001 %q", err, tt.wantReason)
			}
			if !utf8.ValidString(ce.Reason) {
				t.Fatalf("reason %q is not UTF-8", ce.Reason)
			}
			if err := <-closeErr; err != nil {
				t.Fatalf("Close: %v", err)
			}
		})
	}
}

// TestSocketUnblock checks that CloseNow and the end of the read context
// unblock a Read waiting for a message.
func TestSocketUnblock(t *testing.T) {
	tests := []struct {
		name    string
		unblock func(s *socket, cancel context.CancelFunc)
	}{
		{"CloseNow", func(s *socket, _ context.CancelFunc) { _ = s.CloseNow() }},
		{"context", func(_ *socket, cancel context.CancelFunc) { cancel() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errc := make(chan error, 1)
			socketPair(t, func(s *socket) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				started := make(chan struct{})
				go func() {
					<-started
					tt.unblock(s, cancel)
				}()
				close(started)
				_, _, _, err := s.Read(ctx, 1024)
				errc <- err
			})
			if err := <-errc; err == nil {
				t.Fatal("Read returned no error")
			}
		})
	}
}

func TestSocketPing(t *testing.T) {
	t.Run("pong", func(t *testing.T) {
		errc := make(chan error, 1)
		c := socketPair(t, func(s *socket) {
			readDone := make(chan struct{})
			go func() { // reads the pong
				defer close(readDone)
				_, _, _, _ = s.Read(context.Background(), 1024)
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			errc <- s.Ping(ctx)
			_ = s.CloseNow()
			<-readDone
		})
		// The client answers pings while it reads.
		go func() { _, _, _ = c.Read(context.Background()) }()
		if err := <-errc; err != nil {
			t.Fatalf("Ping: %v", err)
		}
	})
	t.Run("peer gone", func(t *testing.T) {
		errc := make(chan error, 1)
		c := socketPair(t, func(s *socket) {
			readDone := make(chan struct{})
			go func() {
				defer close(readDone)
				_, _, _, _ = s.Read(context.Background(), 1024)
			}()
			<-readDone // the client closed: the read failed
			errc <- s.Ping(context.Background())
		})
		_ = c.CloseNow()
		if err := <-errc; err == nil {
			t.Fatal("Ping succeeded on a dead connection")
		}
	})
}

func TestTruncateReason(t *testing.T) {
	tests := []struct {
		in   string
		want int // length
	}{
		{"", 0},
		{"short", 5},
		{strings.Repeat("a", 123), 123},
		{strings.Repeat("a", 124), 123},
		{strings.Repeat("é", 62), 122}, // 124 bytes: the cut falls inside a rune
		{strings.Repeat("😀", 40), 120},
	}
	for _, tt := range tests {
		got := truncateReason(tt.in)
		if len(got) != tt.want || !utf8.ValidString(got) || !strings.HasPrefix(tt.in, got) {
			t.Errorf("truncateReason(%d bytes) = %d bytes %q, want %d valid bytes", len(tt.in), len(got), got, tt.want)
		}
	}
}
