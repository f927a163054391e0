package live_test

// Limits and connection management (spec §6.2, §6.6 "Connection manager",
// the maxConnections and UTF-16 gaps of §14).

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	live "github.com/live-go/live"
)

// §14: above MaxConnections a new connection is closed with 1013 "Maximum
// connections exceeded" (the reference throws uncaught); refused ones are
// not counted, and a freed slot is reusable.
func TestSecurity_Connection_MaxConnections(t *testing.T) {
	srv, hs := newSecServer(t, live.Options{MaxConnections: 2})
	a := dialRaw(t, hs, nil)
	dialRaw(t, hs, nil)
	for range 2 {
		code, reason := dialRefused(t, hs, nil)
		if code != live.CloseTryAgainLater || reason != "Maximum connections exceeded" {
			t.Fatalf("refused with %d %q, want 1013 \"Maximum connections exceeded\"", code, reason)
		}
	}
	if st := srv.Stats(); st.Connections != 2 || st.ConnectionsTotal != 2 {
		t.Fatalf("stats %+v: want 2 active, 2 total", st)
	}
	must(t, a.c.Close(websocket.StatusNormalClosure, ""))
	waitFor(t, "the slot to be freed", func() bool { return srv.Stats().Connections == 1 })
	c := dialRaw(t, hs, nil)
	c.secMount("Counter", nil) // fully usable
	if st := srv.Stats(); st.Connections != 2 || st.ConnectionsTotal != 3 {
		t.Fatalf("stats %+v: want 2 active, 3 total", st)
	}
}

// §14: the size limit counts bytes, not UTF-16 code units as the reference
// does, so multi-byte text cannot smuggle a frame of up to 3× the limit.
func TestSecurity_Limits_SizeCountsBytesNotUTF16(t *testing.T) {
	const limit = 1024
	_, hs := newSecServer(t, live.Options{MaxMessageSize: limit})
	rc := dialRaw(t, hs, nil)
	ping := func(pad string, n int) string { return `{"type":"PING","p":"` + strings.Repeat(pad, n) + `"}` }
	const frameOverhead = len(`{"type":"PING","p":""}`)
	tests := []struct {
		name  string
		frame string
		ok    bool
	}{
		{"ascii at the limit", ping("x", limit-frameOverhead), true},
		{"ascii one over", ping("x", limit-frameOverhead+1), false},
		{"3-byte runes: 400 UTF-16 units, 1200+ bytes", ping("€", 400), false},
		{"4-byte runes: 400 UTF-16 units, 800+ bytes", ping("😀", 200), true},
		{"4-byte runes: 500 UTF-16 units, 1000+ bytes", ping("😀", 251), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc.t = t
			if got := len(tc.frame) <= limit; got != tc.ok {
				t.Fatalf("test data: %d bytes", len(tc.frame))
			}
			rc.sendRaw(tc.frame)
			if tc.ok {
				rc.quiet() // a PING: no reply
				return
			}
			wantJSON(t, rc.next(), `{"type":"ERROR","error":"Message too large"}`)
		})
	}
}

// Shutdown is idempotent: the second call returns at once without error,
// live connections got 1001, new ones are refused the same way.
func TestSecurity_Connection_ShutdownIdempotent(t *testing.T) {
	srv, hs := newSecServer(t, live.Options{})
	rc := dialRaw(t, hs, nil)
	rc.secMount("Counter", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	must(t, srv.Shutdown(ctx))
	must(t, srv.Shutdown(ctx))
	<-rc.done
	if code := websocket.CloseStatus(rc.err); code != live.CloseGoingAway {
		t.Fatalf("live connection ended with %v, want 1001", rc.err)
	}
	if st := srv.Stats(); st.Connections != 0 || st.Components != 0 {
		t.Fatalf("after shutdown: %+v", st)
	}
	code, reason := dialRefused(t, hs, nil)
	if code != live.CloseGoingAway || reason != "server shutdown" {
		t.Fatalf("dial after shutdown: %d %q", code, reason)
	}
}

// pingCounter wraps the client's TCP connection and counts the WebSocket
// ping frames the server sends (server frames are unmasked).
type pingCounter struct {
	net.Conn
	pings    atomic.Int64
	mu       sync.Mutex
	buf      []byte
	upgraded bool
	skip     int // payload bytes of the current frame still to skip
}

// Read passes data through and counts the pings in it.
func (p *pingCounter) Read(b []byte) (int, error) {
	n, err := p.Conn.Read(b)
	p.mu.Lock()
	p.feed(b[:n])
	p.mu.Unlock()
	return n, err
}

// feed parses frame headers from the byte stream.
func (p *pingCounter) feed(data []byte) {
	p.buf = append(p.buf, data...)
	if !p.upgraded {
		i := bytes.Index(p.buf, []byte("\r\n\r\n"))
		if i < 0 {
			return
		}
		p.upgraded, p.buf = true, p.buf[i+4:]
	}
	for {
		if p.skip > 0 {
			k := min(p.skip, len(p.buf))
			p.skip -= k
			p.buf = p.buf[k:]
			if p.skip > 0 {
				return
			}
		}
		if len(p.buf) < 2 {
			return
		}
		hdr, n := 2, int(p.buf[1]&0x7f)
		switch n {
		case 126:
			hdr = 4
		case 127:
			hdr = 10
		}
		if len(p.buf) < hdr {
			return
		}
		switch n {
		case 126:
			n = int(binary.BigEndian.Uint16(p.buf[2:4]))
		case 127:
			n = int(binary.BigEndian.Uint64(p.buf[2:10]))
		}
		if p.buf[0]&0x0f == 0x9 {
			p.pings.Add(1)
		}
		p.buf, p.skip = p.buf[hdr:], n
	}
}

// A healthy client whose action runs longer than the ping interval stays
// connected: its pongs must still be read while the action runs. Instead of
// sleeping, the test waits until the server has sent several pings (each of
// which must be answered within one interval), then releases the action.
func TestSecurity_Connection_LongActionKeepsHealthyConnection(t *testing.T) {
	srv, hs := newSecServer(t, live.Options{PingInterval: 20 * time.Millisecond})
	g := registerSlow(t, srv)
	var pc *pingCounter
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		pc = &pingCounter{Conn: c}
		return pc, nil
	}}
	defer tr.CloseIdleConnections()
	c, _, err := websocket.Dial(ctx, wsURL(hs), &websocket.DialOptions{HTTPClient: &http.Client{Transport: tr}})
	must(t, err)
	rc := &rawClient{t: t, c: c, ch: make(chan struct{}, 1), done: make(chan struct{})}
	go rc.readLoop()
	t.Cleanup(func() { rc.c.CloseNow(); <-rc.done })
	rc.expect("CONNECTION_ESTABLISHED")
	id, _ := rc.secMount("Slow", nil)
	rc.call(id, "wait", nil, true, "w")
	waitStarted(t, g, 1)

	deadline := time.Now().Add(5 * time.Second)
	for pc.pings.Load() < 5 {
		rc.mu.Lock()
		dead := rc.err
		rc.mu.Unlock()
		if dead != nil {
			t.Fatalf("the server dropped a healthy connection while its action ran (after %d pings): %v", pc.pings.Load(), dead)
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d pings in 5 s", pc.pings.Load())
		}
		time.Sleep(2 * time.Millisecond)
	}
	g.open()
	if r := rc.skipTo("ACTION_RESPONSE"); r["success"] != true {
		t.Fatalf("reply %s", jsonText(r))
	}
}
