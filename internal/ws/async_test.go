//go:build linux

package ws

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// acceptOne starts a server that hands its accepted connection to the test.
func acceptOne(t *testing.T) (url string, conns <-chan *Conn) {
	t.Helper()
	ch := make(chan *Conn, 1)
	url, _ = serve(t, Options{}, func(c *Conn) error {
		ch <- c
		<-c.peerClosed // keep the handler (not the connection) until it ends
		return nil
	})
	return url, ch
}

// waitNotified arms c and waits for the callback.
func waitNotified(t *testing.T, c *Conn) {
	t.Helper()
	fired := make(chan struct{})
	if err := c.NotifyReadable(func() { close(fired) }); err != nil {
		t.Fatalf("NotifyReadable: %v", err)
	}
	select {
	case <-fired:
	case <-time.After(5 * time.Second):
		t.Fatal("NotifyReadable callback did not run")
	}
}

func TestTryReadAndNotify(t *testing.T) {
	url, conns := acceptOne(t)
	client := dial(t, url)
	c := <-conns
	if !c.CanNotify() {
		t.Skip("no poller on this platform")
	}
	if _, _, _, err := c.TryRead(1 << 10); !errors.Is(err, ErrWouldBlock) {
		t.Fatalf("TryRead on a quiet connection = %v, want ErrWouldBlock", err)
	}
	if bufferHeld(c) {
		t.Fatal("a connection waiting for input holds a read buffer")
	}
	ctx := context.Background()
	// Three messages in a row: one notification, three TryReads, then
	// ErrWouldBlock again.
	for _, m := range []string{"a", "bb", "ccc"} {
		if err := client.Write(ctx, websocket.MessageText, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < 3 && time.Now().Before(deadline) {
		waitNotified(t, c)
		for {
			_, data, _, err := c.TryRead(1 << 10)
			if errors.Is(err, ErrWouldBlock) {
				break
			}
			if err != nil {
				t.Fatalf("TryRead: %v", err)
			}
			got = append(got, string(data))
		}
	}
	if len(got) != 3 || got[0] != "a" || got[1] != "bb" || got[2] != "ccc" {
		t.Fatalf("messages %q, want [a bb ccc]", got)
	}
	// A ping is answered by TryRead, which then reports "not yet".
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	pinged := make(chan error, 1)
	go func() { pinged <- client.Ping(pctx) }()
	go func() { _, _, _ = client.Read(pctx) }() // the client reads pongs while reading
	for done := false; !done; {
		waitNotified(t, c)
		_, _, _, err := c.TryRead(1 << 10)
		if !errors.Is(err, ErrWouldBlock) {
			t.Fatalf("TryRead after a ping = %v, want ErrWouldBlock", err)
		}
		select {
		case err := <-pinged:
			if err != nil {
				t.Fatalf("client ping: %v", err)
			}
			done = true
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func TestNotifyRunsOnCloseAndPeerClose(t *testing.T) {
	t.Run("CloseNow", func(t *testing.T) {
		url, conns := acceptOne(t)
		_ = dial(t, url)
		c := <-conns
		if !c.CanNotify() {
			t.Skip("no poller on this platform")
		}
		fired := make(chan struct{})
		if err := c.NotifyReadable(func() { close(fired) }); err != nil {
			t.Fatal(err)
		}
		_ = c.CloseNow()
		select {
		case <-fired:
		case <-time.After(5 * time.Second):
			t.Fatal("an armed callback did not run when the connection closed")
		}
		if err := c.NotifyReadable(func() {}); err == nil {
			t.Fatal("NotifyReadable on a closed connection succeeded")
		}
	})
	t.Run("peer closes", func(t *testing.T) {
		url, conns := acceptOne(t)
		client := dial(t, url)
		c := <-conns
		if !c.CanNotify() {
			t.Skip("no poller on this platform")
		}
		go func() { _ = client.Close(websocket.StatusNormalClosure, "bye") }()
		var err error
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
			waitNotified(t, c)
			if _, _, _, err = c.TryRead(1 << 10); !errors.Is(err, ErrWouldBlock) {
				break
			}
		}
		var ce *CloseError
		if !errors.As(err, &ce) || ce.Code != 1000 || ce.Reason != "bye" {
			t.Fatalf("TryRead after the peer's close = %v, want CloseError 1000", err)
		}
	})
}

// The poller's goroutine runs only while some connection is armed.
func TestPollerStopsWhenNothingIsArmed(t *testing.T) {
	url, conns := acceptOne(t)
	_ = dial(t, url)
	c := <-conns
	if !c.CanNotify() {
		t.Skip("no poller on this platform")
	}
	if err := c.NotifyReadable(func() {}); err != nil {
		t.Fatal(err)
	}
	running := func() bool {
		defaultPoller.mu.Lock()
		defer defaultPoller.mu.Unlock()
		return defaultPoller.running
	}
	if !running() {
		t.Fatal("poller not running while a connection is armed")
	}
	_ = c.CloseNow()
	for deadline := time.Now().Add(5 * time.Second); running(); {
		if time.Now().After(deadline) {
			t.Fatal("poller still running with nothing armed")
		}
		time.Sleep(time.Millisecond)
	}
}

// ReadWait waits in the poller for the next message: each message written
// while it waits (or just before it starts) is returned, none is left for
// the timeout to find, and a quiet connection gets ErrWouldBlock with no
// buffer held.
func TestReadWait(t *testing.T) {
	url, conns := acceptOne(t)
	client := dial(t, url)
	c := <-conns
	if !c.CanNotify() {
		t.Skip("no poller on this platform")
	}
	if _, _, _, err := c.ReadWait(1<<10, 20*time.Millisecond); !errors.Is(err, ErrWouldBlock) {
		t.Fatalf("ReadWait on a quiet connection = %v, want ErrWouldBlock", err)
	}
	if bufferHeld(c) {
		t.Fatal("ReadWait that timed out holds a read buffer")
	}
	ctx := context.Background()
	const rounds = 300
	go func() {
		for i := range rounds {
			if i%3 == 0 {
				time.Sleep(time.Duration(i%7) * 100 * time.Microsecond)
			}
			if err := client.Write(ctx, websocket.MessageText, []byte{byte('a' + i%26)}); err != nil {
				return
			}
		}
	}()
	for i := range rounds {
		// A lost wake-up would end this wait with ErrWouldBlock.
		_, data, _, err := c.ReadWait(1<<10, time.Minute)
		if err != nil || string(data) != string(rune('a'+i%26)) {
			t.Fatalf("message %d: %q, %v", i, data, err)
		}
	}
}

// ReadWait's deadline bounds the wait for a message to start, not the rest
// of it: a message whose pieces arrive later than that (a long message
// being discarded, the next fragment of a fragmented one) is read whole.
// Before the fix, the wait for the later piece ran into the stale deadline
// and the connection failed with an i/o timeout.
func TestReadWaitDeadlineDoesNotCutAMessage(t *testing.T) {
	const wait = 20 * time.Millisecond
	type result struct {
		data     string
		tooLarge bool
		err      error
	}
	got := make(chan result, 2)
	url, _ := serve(t, Options{}, func(c *Conn) error {
		if !c.CanNotify() {
			got <- result{err: errors.ErrUnsupported}
			return nil
		}
		for range 2 {
			for {
				_, data, tooLarge, err := c.ReadWait(16, wait)
				if errors.Is(err, ErrWouldBlock) {
					continue
				}
				got <- result{string(data), tooLarge, err}
				break
			}
		}
		return nil
	})
	nc, _ := rawDial(t, url, nil)
	pause := func() { time.Sleep(10 * wait) }

	// A message over the limit (discarded), its payload in two pieces.
	long := clientFrame(0x80|OpText, []byte(strings.Repeat("x", 100)))
	mustWrite(t, nc, long[:20])
	pause()
	mustWrite(t, nc, long[20:])
	r := <-got
	if errors.Is(r.err, errors.ErrUnsupported) {
		t.Skip("no poller on this platform")
	}
	if r.err != nil || !r.tooLarge {
		t.Fatalf("long message: tooLarge %v, err %v; want tooLarge and no error", r.tooLarge, r.err)
	}
	// A fragmented message whose second fragment comes later.
	mustWrite(t, nc, clientFrame(OpText, []byte("frag-")))
	pause()
	mustWrite(t, nc, clientFrame(0x80|opContinuation, []byte("ment")))
	if r := <-got; r.err != nil || r.data != "frag-ment" {
		t.Fatalf("fragmented message: %q, err %v; want \"frag-ment\"", r.data, r.err)
	}
}

func mustWrite(t *testing.T, nc net.Conn, b []byte) {
	t.Helper()
	if _, err := nc.Write(b); err != nil {
		t.Fatal(err)
	}
}
