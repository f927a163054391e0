package ws

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// serve starts an HTTP server whose handler accepts a WebSocket and runs fn
// with it; fn's error is reported on the returned channel.
func serve(t *testing.T, opts Options, fn func(*Conn) error) (url string, done <-chan error) {
	t.Helper()
	errc := make(chan error, 1)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, opts)
		if err != nil {
			errc <- err
			return
		}
		errc <- fn(c)
		_ = c.CloseNow()
	}))
	t.Cleanup(hs.Close)
	return "ws" + strings.TrimPrefix(hs.URL, "http"), errc
}

func dial(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c.SetReadLimit(-1)
	t.Cleanup(func() { _ = c.CloseNow() })
	return c
}

// echo reads messages and writes each back until Read fails.
func echo(limit int64) func(*Conn) error {
	return func(c *Conn) error {
		for {
			op, data, tooLarge, err := c.Read(limit)
			if err != nil {
				return err
			}
			if tooLarge {
				if err := c.Write(OpText, []byte("too large")); err != nil {
					return err
				}
				continue
			}
			if err := c.Write(op, data); err != nil {
				return err
			}
		}
	}
}

func TestEchoSizes(t *testing.T) {
	url, _ := serve(t, Options{}, echo(8<<20))
	c := dial(t, url)
	ctx := context.Background()
	for _, n := range []int{0, 1, 7, 8, 9, 125, 126, 127, 4083, 4084, 4095, 4096, 4097, 65535, 65536, 70000, 1 << 20} {
		for _, typ := range []websocket.MessageType{websocket.MessageText, websocket.MessageBinary} {
			msg := make([]byte, n)
			_, _ = rand.Read(msg)
			if typ == websocket.MessageText { // text must be UTF-8: random ASCII
				for i := range msg {
					msg[i] = ' ' + msg[i]%95
				}
			}
			if err := c.Write(ctx, typ, msg); err != nil {
				t.Fatalf("write %d: %v", n, err)
			}
			gt, got, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("read %d: %v", n, err)
			}
			if gt != typ || !bytes.Equal(got, msg) {
				t.Fatalf("size %d type %v: echo differs (type %v, len %d)", n, typ, gt, len(got))
			}
		}
	}
}

func TestFragmentedAndPipelined(t *testing.T) {
	url, _ := serve(t, Options{}, echo(1<<20))
	c := dial(t, url)
	ctx := context.Background()

	// A message in several frames (coder/websocket writes one frame per
	// Write on a message writer).
	w, err := c.Writer(ctx, websocket.MessageText)
	if err != nil {
		t.Fatal(err)
	}
	var want []byte
	for i := range 5 {
		part := bytes.Repeat([]byte{byte('a' + i)}, 3000*(i+1))
		want = append(want, part...)
		if _, err := w.Write(part); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_, got, err := c.Read(ctx)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("fragmented echo: len %d, err %v", len(got), err)
	}

	// Many small messages back to back arrive in order.
	const n = 500
	go func() {
		for i := range n {
			_ = c.Write(ctx, websocket.MessageText, []byte(strings.Repeat("x", i%40)+string(rune('0'+i%10))))
		}
	}()
	for i := range n {
		_, got, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := strings.Repeat("x", i%40) + string(rune('0'+i%10)); string(got) != want {
			t.Fatalf("message %d = %q, want %q", i, got, want)
		}
	}
}

func TestLimitsKeepOrCloseTheConnection(t *testing.T) {
	url, done := serve(t, Options{MaxMessageSize: 100 << 10}, echo(1000))
	c := dial(t, url)
	ctx := context.Background()
	// Over Read's limit: discarded, reported, connection usable.
	if err := c.Write(ctx, websocket.MessageText, bytes.Repeat([]byte("y"), 50_000)); err != nil {
		t.Fatal(err)
	}
	if _, got, err := c.Read(ctx); err != nil || string(got) != "too large" {
		t.Fatalf("got %q, %v; want \"too large\"", got, err)
	}
	if err := c.Write(ctx, websocket.MessageText, []byte("ok")); err != nil {
		t.Fatal(err)
	}
	if _, got, err := c.Read(ctx); err != nil || string(got) != "ok" {
		t.Fatalf("after a discarded message: %q, %v", got, err)
	}
	// Over the hard limit: close 1009.
	_ = c.Write(ctx, websocket.MessageBinary, make([]byte, 200<<10))
	_, _, err := c.Read(ctx)
	if got := websocket.CloseStatus(err); got != CloseMessageTooBig {
		t.Fatalf("close status %d (%v), want 1009", got, err)
	}
	var pe *ProtocolError
	if err := <-done; !errors.As(err, &pe) || pe.Code != CloseMessageTooBig {
		t.Fatalf("server Read error = %v, want ProtocolError 1009", err)
	}
}

func TestCloseHandshakes(t *testing.T) {
	t.Run("server closes", func(t *testing.T) {
		closed := make(chan error, 1)
		url, _ := serve(t, Options{}, func(c *Conn) error {
			if _, data, _, err := c.Read(1 << 10); err != nil || string(data) != "bye" {
				return err
			}
			closed <- c.Close(4003, "Origin not allowed")
			return nil
		})
		c := dial(t, url)
		_ = c.Write(context.Background(), websocket.MessageText, []byte("bye"))
		_, _, err := c.Read(context.Background())
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != 4003 || ce.Reason != "Origin not allowed" {
			t.Fatalf("client saw %v, want close 4003", err)
		}
		select {
		case err := <-closed:
			if err != nil {
				t.Fatalf("Close: %v", err)
			}
		case <-time.After(4 * time.Second):
			t.Fatal("Close did not return after the peer's close frame")
		}
	})
	t.Run("client closes", func(t *testing.T) {
		url, done := serve(t, Options{}, func(c *Conn) error {
			_, _, _, err := c.Read(1 << 10)
			return err
		})
		c := dial(t, url)
		if err := c.Close(websocket.StatusNormalClosure, "done"); err != nil {
			t.Fatalf("client Close: %v (the server must echo the close frame)", err)
		}
		var ce *CloseError
		if err := <-done; !errors.As(err, &ce) || ce.Code != 1000 || ce.Reason != "done" {
			t.Fatalf("server Read = %v, want CloseError 1000 done", err)
		}
	})
	t.Run("write after close", func(t *testing.T) {
		url, done := serve(t, Options{CloseTimeout: 200 * time.Millisecond}, func(c *Conn) error {
			_ = c.Close(1001, "going away")
			return c.Write(OpText, []byte("late"))
		})
		c := dial(t, url)
		_, _, _ = c.Read(context.Background())
		if err := <-done; !errors.Is(err, ErrClosed) {
			t.Fatalf("Write after Close = %v, want ErrClosed", err)
		}
	})
}

func TestPing(t *testing.T) {
	pinged := make(chan error, 1)
	url, _ := serve(t, Options{}, func(c *Conn) error {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			pinged <- c.Ping(ctx)
		}()
		_, _, _, err := c.Read(1 << 10)
		return err
	})
	c := dial(t, url)
	// The client answers the server's ping while it reads; it also pings.
	readErr := make(chan error, 1)
	go func() { _, _, err := c.Read(context.Background()); readErr <- err }()
	if err := <-pinged; err != nil {
		t.Fatalf("server Ping: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("client Ping: %v", err)
	}
}

func TestPingTimesOutWithoutPong(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	c := Server(a, nil, Options{})
	go func() { _, _ = io.Copy(io.Discard, b) }() // a peer that never answers
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := c.Ping(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Ping = %v, want deadline exceeded", err)
	}
	_ = c.CloseNow()
}

func TestHandshakeRefusals(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := Accept(w, r, Options{}); err == nil || !errors.Is(err, ErrHandshake) {
			t.Errorf("Accept = %v, want ErrHandshake", err)
		}
	}))
	defer hs.Close()
	cases := []struct {
		name   string
		method string
		hdr    map[string]string
		status int
	}{
		{"plain GET", "GET", nil, http.StatusUpgradeRequired},
		{"wrong version", "GET", map[string]string{"Connection": "keep-alive, Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "8", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}, http.StatusBadRequest},
		{"bad key", "GET", map[string]string{"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "short"}, http.StatusBadRequest},
		{"POST", "POST", map[string]string{"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}, http.StatusMethodNotAllowed},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest(tc.method, hs.URL, nil)
		for k, v := range tc.hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.status)
		}
	}
}

// rawDial performs the handshake by hand and returns the connection, with
// first written right behind the request (so the server's HTTP reader may
// buffer it).
func rawDial(t *testing.T, url string, first []byte) (net.Conn, *bufio.Reader) {
	t.Helper()
	addr := strings.TrimPrefix(url, "ws://")
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
	if _, err := nc.Write(append([]byte(req), first...)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("handshake: %d %q", resp.StatusCode, resp.Header.Get("Sec-WebSocket-Accept"))
	}
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	return nc, br
}

// clientFrame encodes a masked client frame; b0 is the first header byte.
func clientFrame(b0 byte, payload []byte) []byte {
	key := [4]byte{1, 2, 3, 4}
	var f []byte
	f = append(f, b0)
	switch n := len(payload); {
	case n <= 125:
		f = append(f, 0x80|byte(n))
	case n <= 0xffff:
		f = append(f, 0x80|126, byte(n>>8), byte(n))
	default:
		f = append(f, 0x80|127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	f = append(f, key[:]...)
	p := append([]byte(nil), payload...)
	unmask(key, 0, p)
	return append(f, p...)
}

// readFrame reads one unmasked server frame.
func readFrame(t *testing.T, br *bufio.Reader) (b0 byte, payload []byte) {
	t.Helper()
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		t.Fatalf("read frame: %v", err)
	}
	if h[1]&0x80 != 0 {
		t.Fatal("server frame is masked")
	}
	n := int(h[1] & 0x7f)
	switch n {
	case 126:
		var e [2]byte
		_, _ = io.ReadFull(br, e[:])
		n = int(binary.BigEndian.Uint16(e[:]))
	case 127:
		var e [8]byte
		_, _ = io.ReadFull(br, e[:])
		n = int(binary.BigEndian.Uint64(e[:]))
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(br, payload); err != nil {
		t.Fatal(err)
	}
	return h[0], payload
}

func TestFrameRightBehindHandshake(t *testing.T) {
	url, _ := serve(t, Options{}, echo(1<<10))
	nc, br := rawDial(t, url, clientFrame(0x81, []byte(`{"type":"PING"}`)))
	b0, p := readFrame(t, br)
	if b0 != 0x81 || string(p) != `{"type":"PING"}` {
		t.Fatalf("echo of the early frame: %#x %q", b0, p)
	}
	// A ping between two fragments is answered; the message is whole.
	_, _ = nc.Write(append(append(clientFrame(0x01, []byte("he")), clientFrame(0x89, []byte("hi"))...), clientFrame(0x80, []byte("llo"))...))
	b0, p = readFrame(t, br)
	if b0 != 0x8A || string(p) != "hi" {
		t.Fatalf("pong: %#x %q", b0, p)
	}
	b0, p = readFrame(t, br)
	if b0 != 0x81 || string(p) != "hello" {
		t.Fatalf("reassembled: %#x %q", b0, p)
	}
}

func TestProtocolViolationsClose1002(t *testing.T) {
	unmasked := []byte{0x81, 0x02, 'h', 'i'}
	cases := map[string][]byte{
		"unmasked":                 unmasked,
		"reserved bit":             clientFrame(0xC1, []byte("x")),
		"unknown opcode":           clientFrame(0x83, []byte("x")),
		"fragmented ping":          clientFrame(0x09, []byte("x")),
		"continuation first":       clientFrame(0x80, []byte("x")),
		"new message in fragments": append(clientFrame(0x01, []byte("a")), clientFrame(0x81, []byte("b"))...),
		"close with one byte":      clientFrame(0x88, []byte{3}),
		"invalid close status":     clientFrame(0x88, []byte{0x03, 0xE7}), // 999
		"oversized control":        clientFrame(0x89, make([]byte, 126)),
	}
	for name, frame := range cases {
		t.Run(name, func(t *testing.T) {
			url, done := serve(t, Options{}, echo(1<<10))
			nc, br := rawDial(t, url, nil)
			_, _ = nc.Write(frame)
			b0, p := readFrame(t, br)
			if b0 != 0x88 || len(p) < 2 || binary.BigEndian.Uint16(p) != CloseProtocolError {
				t.Fatalf("got frame %#x %q, want close 1002", b0, p)
			}
			var pe *ProtocolError
			if err := <-done; !errors.As(err, &pe) {
				t.Fatalf("server Read = %v, want ProtocolError", err)
			}
		})
	}
}

// RFC 6455 §8.1: a text message that is not UTF-8 fails the connection
// with 1007, whether it came in one frame or in fragments (a character may
// be split across them); binary messages are not checked.
func TestInvalidUTF8Closes1007(t *testing.T) {
	bad := []byte{'o', 'k', 0xff, 'x'}
	cases := map[string]struct {
		frames []byte
		valid  bool
	}{
		"one frame":                    {frames: clientFrame(0x81, bad)},
		"fragmented":                   {frames: append(clientFrame(0x01, []byte("ok")), clientFrame(0x80, []byte{0xc3})...)},
		"truncated sequence":           {frames: clientFrame(0x81, []byte{'a', 0xe2, 0x82})},
		"surrogate half":               {frames: clientFrame(0x81, []byte{0xed, 0xa0, 0x80})},
		"close reason":                 {frames: clientFrame(0x88, []byte{0x03, 0xe8, 0xff})},
		"split character, reassembled": {frames: append(clientFrame(0x01, []byte{'a', 0xc3}), clientFrame(0x80, []byte{0xa9})...), valid: true},
		"binary is not checked":        {frames: clientFrame(0x82, bad), valid: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			url, done := serve(t, Options{}, echo(1<<10))
			nc, br := rawDial(t, url, nil)
			_, _ = nc.Write(tc.frames)
			b0, p := readFrame(t, br)
			if tc.valid {
				if b0 == 0x88 {
					t.Fatalf("valid message closed the connection: %q", p)
				}
				return
			}
			if b0 != 0x88 || len(p) < 2 || binary.BigEndian.Uint16(p) != CloseInvalidData {
				t.Fatalf("got frame %#x %q, want close 1007", b0, p)
			}
			var pe *ProtocolError
			if err := <-done; !errors.As(err, &pe) || pe.Code != CloseInvalidData {
				t.Fatalf("server Read = %v, want ProtocolError 1007", err)
			}
		})
	}
}

func TestIdleReaderHoldsNoBuffer(t *testing.T) {
	got := make(chan *Conn, 1)
	url, _ := serve(t, Options{}, func(c *Conn) error {
		got <- c
		return echo(1 << 10)(c)
	})
	client := dial(t, url)
	c := <-got
	if c.rawRead == nil {
		t.Skip("no readiness wait on this platform")
	}
	ctx := context.Background()
	_ = client.Write(ctx, websocket.MessageText, []byte("one"))
	if _, _, err := client.Read(ctx); err != nil {
		t.Fatal(err)
	}
	// The server is now blocked in its next Read; Close needs rmu, so
	// TryLock failing proves Read holds it, and rb is read through Close's
	// own path below only after the reader ended.
	deadline := time.Now().Add(5 * time.Second)
	for c.rmu.TryLock() {
		c.rmu.Unlock()
		if time.Now().After(deadline) {
			t.Fatal("server never blocked in Read")
		}
		time.Sleep(time.Millisecond)
	}
	// A second message proves the waiting reader wakes up; then inspect
	// the buffer state while the reader waits again (under rmu once the
	// connection is closed).
	_ = client.Write(ctx, websocket.MessageText, []byte("two"))
	if _, data, err := client.Read(ctx); err != nil || string(data) != "two" {
		t.Fatalf("second echo %q %v", data, err)
	}
	for bufferHeld(c) {
		if time.Now().After(deadline) {
			t.Fatal("an idle reader holds its read buffer")
		}
		time.Sleep(time.Millisecond)
	}
}
