//go:build linux

package ws

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// numbered returns a message of size bytes that starts with seq.
func numbered(seq uint32, size int) []byte {
	b := make([]byte, size)
	binary.BigEndian.PutUint32(b, seq)
	for i := 4; i < size; i++ {
		b[i] = byte(seq + uint32(i))
	}
	return b
}

// readNumbered reads messages from client and checks that they are
// numbered(0..n-1) of the given size, in order.
func readNumbered(t *testing.T, client *websocket.Conn, n, size int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range n {
		typ, data, err := client.Read(ctx)
		if err != nil {
			t.Fatalf("message %d of %d: %v", i, n, err)
		}
		want := numbered(uint32(i), size)
		if typ != websocket.MessageBinary || string(data) != string(want) {
			got := -1
			if len(data) >= 4 {
				got = int(binary.BigEndian.Uint32(data))
			}
			t.Fatalf("message %d: got %d bytes numbered %d, want %d bytes numbered %d", i, len(data), got, size, i)
		}
	}
}

// TestTryWriteKeepsWhatTheSocketCannotTake fills the socket of a client
// that does not read: TryWrite must return at once with the rest kept, and
// the frames it accepted (whole, split, and the ones queued behind) must
// reach the client intact and in order after Flush, followed by the close.
func TestTryWriteKeepsWhatTheSocketCannotTake(t *testing.T) {
	url, conns := acceptOne(t)
	client := dial(t, url)
	c := <-conns
	if !c.CanNotify() {
		t.Skip("no raw socket on this platform")
	}
	const size = 40 << 10 // not a divisor of the socket buffer: some frame is split
	sent := 0
	for {
		kept, err := c.TryWrite(OpBinary, numbered(uint32(sent), size))
		if err != nil {
			t.Fatalf("TryWrite %d: %v", sent, err)
		}
		sent++
		if kept {
			break
		}
		if sent > 4096 { // 160 MiB: the client's buffers cannot be that large
			t.Fatal("TryWrite never kept anything though the client does not read")
		}
	}
	// Behind kept bytes, every frame is kept whole, without a write.
	for range 3 {
		kept, err := c.TryWrite(OpBinary, numbered(uint32(sent), size))
		if err != nil || !kept {
			t.Fatalf("TryWrite behind kept bytes = %v, %v; want kept", kept, err)
		}
		sent++
	}
	flushed := make(chan error, 1)
	go func() {
		err := c.Flush()
		if err == nil {
			err = c.Close(CloseNormal, "done")
		}
		flushed <- err
	}()
	readNumbered(t, client, sent, size)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, _, err := client.Read(ctx); websocket.CloseStatus(err) != CloseNormal {
		t.Fatalf("after the messages: %v, want close 1000", err)
	}
	if err := <-flushed; err != nil {
		t.Fatalf("Flush and Close: %v", err)
	}
}

// TestTryWriteDoesNotWaitForAnotherWriter: while a writer holds the write
// lock (a ping or close waiting for the peer), TryWrite keeps the frame
// instead of waiting; the next write sends it first.
func TestTryWriteDoesNotWaitForAnotherWriter(t *testing.T) {
	url, conns := acceptOne(t)
	client := dial(t, url)
	c := <-conns
	if !c.CanNotify() {
		t.Skip("no raw socket on this platform")
	}
	c.wmu.Lock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 2 {
			kept, err := c.TryWrite(OpBinary, numbered(uint32(i), 100))
			if err != nil || !kept {
				t.Errorf("TryWrite with the lock held = %v, %v; want kept", kept, err)
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		c.wmu.Unlock()
		t.Fatal("TryWrite waited for the write lock")
	}
	c.wmu.Unlock()
	// A plain Write sends the kept frames before its own.
	if err := c.Write(OpBinary, numbered(2, 100)); err != nil {
		t.Fatal(err)
	}
	readNumbered(t, client, 3, 100)
	if err := c.Flush(); err != nil {
		t.Fatalf("Flush with nothing kept: %v", err)
	}
}

// TestTryWriteAfterClose reports ErrClosed, like Write.
func TestTryWriteAfterClose(t *testing.T) {
	url, conns := acceptOne(t)
	client := dial(t, url)
	c := <-conns
	if !c.CanNotify() {
		t.Skip("no raw socket on this platform")
	}
	go func() { _, _, _ = client.Read(context.Background()) }() // answers the close
	if err := c.Close(CloseNormal, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TryWrite(OpText, []byte("late")); !errors.Is(err, ErrClosed) {
		t.Fatalf("TryWrite after Close = %v, want ErrClosed", err)
	}
}
