package ws

import (
	"bytes"
	"net"
	"testing"
	"time"
)

// byteConn is a net.Conn reading from fixed bytes and discarding writes.
type byteConn struct {
	r *bytes.Reader
}

func (c *byteConn) Read(p []byte) (int, error) {
	// Short reads exercise the partial-header and partial-payload paths.
	if len(p) > 7 {
		p = p[:7]
	}
	return c.r.Read(p)
}
func (c *byteConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *byteConn) Close() error                     { return nil }
func (c *byteConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *byteConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *byteConn) SetDeadline(time.Time) error      { return nil }
func (c *byteConn) SetReadDeadline(time.Time) error  { return nil }
func (c *byteConn) SetWriteDeadline(time.Time) error { return nil }

// FuzzRead feeds arbitrary bytes to the frame reader: it must never panic,
// never return a message over the limit, and end with an error at the end
// of the input.
func FuzzRead(f *testing.F) {
	f.Add(clientFrame(0x81, []byte(`{"type":"PING"}`)))
	f.Add(append(clientFrame(0x01, []byte("he")), clientFrame(0x80, []byte("llo"))...))
	f.Add(append(clientFrame(0x02, nil), append(clientFrame(0x89, []byte("p")), clientFrame(0x80, []byte("x"))...)...))
	f.Add(clientFrame(0x82, make([]byte, 300)))
	f.Add(clientFrame(0x81, make([]byte, 70000)))
	f.Add(clientFrame(0x88, []byte{0x03, 0xE8, 'o', 'k'}))
	f.Add([]byte{0x81, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0x81, 0x02, 'h', 'i'})
	f.Fuzz(func(t *testing.T, in []byte) {
		const limit = 1000
		pre := in[:len(in)/3]
		c := Server(&byteConn{r: bytes.NewReader(in[len(in)/3:])}, append([]byte(nil), pre...), Options{MaxMessageSize: 1 << 20})
		for range len(in) + 2 {
			op, data, tooLarge, err := c.Read(limit)
			if err != nil {
				return
			}
			if op != OpText && op != OpBinary {
				t.Fatalf("op %d", op)
			}
			if len(data) > limit || (tooLarge && data != nil) {
				t.Fatalf("message of %d bytes (tooLarge %v) over the limit", len(data), tooLarge)
			}
		}
		if _, _, _, err := c.Read(limit); err == nil {
			t.Fatal("Read kept returning messages past the end of the input")
		}
	})
}
