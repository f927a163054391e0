package ws

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"
)

// Message opcodes (RFC 6455 §5.2).
const (
	OpText   byte = 0x1
	OpBinary byte = 0x2

	opContinuation byte = 0x0
	opClose        byte = 0x8
	opPing         byte = 0x9
	opPong         byte = 0xA
)

// Close status codes used by this package (RFC 6455 §7.4.1).
const (
	CloseNormal        = 1000
	CloseProtocolError = 1002
	CloseInvalidData   = 1007 // a text message (or close reason) that is not UTF-8
	CloseMessageTooBig = 1009
	closeNoStatus      = 1005
)

// Defaults of Options.
const (
	DefaultMaxMessageSize = 64 << 20
	DefaultCloseTimeout   = 5 * time.Second
)

// Options configures a Conn.
type Options struct {
	// MaxMessageSize is the transport's hard limit on one message: a peer
	// that sends more is closed with 1009. Read's own limit (below this
	// one) discards a message and keeps the connection. 0 means
	// DefaultMaxMessageSize.
	MaxMessageSize int64
	// CloseTimeout bounds how long Close waits for the peer's close frame.
	// 0 means DefaultCloseTimeout.
	CloseTimeout time.Duration
	// HandshakeTimeout bounds writing Accept's 101 response; 0 = no bound.
	HandshakeTimeout time.Duration
}

// ErrClosed is returned by Write and Ping after the close handshake began.
var ErrClosed = errors.New("ws: connection closed")

// ErrWouldBlock is returned by TryRead when no message has started to
// arrive.
var ErrWouldBlock = errors.New("ws: no input yet")

// CloseError is returned by Read when the peer sent a close frame.
type CloseError struct {
	Code   int // 1005 when the frame carried no status
	Reason string
}

func (e *CloseError) Error() string {
	return fmt.Sprintf("ws: closed by peer: status %d %q", e.Code, e.Reason)
}

// ProtocolError is returned by Read when the peer broke RFC 6455; the
// connection was sent a close frame with 1002 (or 1009 for a message over
// the hard limit).
type ProtocolError struct {
	Code   int
	Reason string
}

func (e *ProtocolError) Error() string {
	return fmt.Sprintf("ws: protocol error (%d): %s", e.Code, e.Reason)
}

// Conn is a server-side WebSocket connection. Read must be called from one
// goroutine at a time; Write, Ping, Close and CloseNow from any.
type Conn struct {
	nc   net.Conn
	opts Options

	// rawRead waits for readability without a buffer (nil where the
	// platform or the connection type cannot); rc is the connection's
	// RawConn (nil likewise).
	rawRead func() error
	rc      syscall.RawConn

	// Poller registration (guarded by the poller's mutex; pollUsed is
	// set once a token was taken).
	pollToken  uint32
	pollClosed bool
	pollUsed   atomic.Bool

	// Read side, guarded by rmu (held by Read, and by Close when no Read
	// runs and it reads the peer's close frame itself).
	rmu      sync.Mutex
	pre      []byte        // bytes read before the handshake completed
	nonblock bool          // TryRead: return ErrWouldBlock instead of waiting
	waitFor  time.Duration // ReadWait: wait this long before ErrWouldBlock
	boundary bool          // reading the first bytes of a message
	rb       *[]byte       // pooled read buffer; nil while idle
	rbHeld   atomic.Bool   // rb != nil, readable without rmu (tests, stats)
	r, w     int           // unread bytes: (*rb)[r:w]
	msg      *[]byte       // pooled buffer of the last assembled message
	deadline time.Time     // read deadline set by ReadWait (zero: none)
	rn       struct {      // readNow's reusable callback and its results
		fn    func(uintptr) bool
		wait  bool // on EAGAIN, wait for the poller instead of returning
		p     []byte
		n     int
		errno error
	}
	readErr error // sticky

	// Write side, guarded by wmu.
	wmu       sync.Mutex
	hdr       [14]byte
	bufArr    [2][]byte
	bufs      net.Buffers
	closeSent atomic.Bool // set under wmu
	// kept holds the bytes of frames TryWrite accepted but the socket did
	// not take yet; every later write sends them first (nil while empty).
	// Guarded by kmu, not wmu: TryWrite appends to it without waiting for
	// a writer that holds wmu.
	kmu  sync.Mutex
	kept []byte
	wn   struct { // writeNow's reusable callback and its results
		fn    func(uintptr) bool
		iov   [2]syscall.Iovec
		parts int
		n     int
		errno error
	}

	peerClosed     chan struct{} // closed when Read ends (peer close or error)
	peerClosedOnce sync.Once
	closeOnce      sync.Once
	closeErr       error

	pingMu  sync.Mutex
	pingSeq uint64
	pongFor atomic.Uint64
	pongs   chan struct{}
}

func newConn(nc net.Conn, pre []byte, opts Options) *Conn {
	if opts.MaxMessageSize <= 0 {
		opts.MaxMessageSize = DefaultMaxMessageSize
	}
	if opts.CloseTimeout <= 0 {
		opts.CloseTimeout = DefaultCloseTimeout
	}
	c := &Conn{
		nc:         nc,
		opts:       opts,
		pre:        pre,
		peerClosed: make(chan struct{}),
		pongs:      make(chan struct{}, 1),
	}
	c.rc, c.rawRead = readinessWaiter(nc)
	return c
}

// NetConn returns the underlying connection.
func (c *Conn) NetConn() net.Conn { return c.nc }

// ---- reading

// Read returns the next data message (op is OpText or OpBinary), answering
// control frames on the way. data is valid until the next Read. A message
// longer than limit bytes is read and discarded, not buffered, and reported
// with tooLarge set. After the peer's close frame Read returns a
// *CloseError; after a violation of the protocol, a *ProtocolError.
func (c *Conn) Read(limit int64) (op byte, data []byte, tooLarge bool, err error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	return c.readLocked(limit)
}

// TryRead is Read that returns ErrWouldBlock, instead of waiting, when no
// message has started to arrive (a message that has is read to its end).
// The connection then holds no read buffer; NotifyReadable says when to
// try again.
func (c *Conn) TryRead(limit int64) (op byte, data []byte, tooLarge bool, err error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	c.nonblock = true
	op, data, tooLarge, err = c.readLocked(limit)
	c.nonblock = false
	return op, data, tooLarge, err
}

// ReadWait is TryRead that first waits up to about d for a message to
// start arriving. The wait happens in the runtime's poller within the same
// poll registration as the read that found the socket empty, so input
// arriving in between is not missed (a wait started after TryRead returned
// would reset the poller's readiness report first, and could sleep through
// it). While it waits it holds a read buffer; it returns ErrWouldBlock,
// without one, when nothing came. Where the connection cannot notify
// (CanNotify), it does not wait.
//
// The read deadline bounds the wait. It is moved at most every
// deadlineSlack and not cleared after a wait that ended with input: a busy
// connection does not pay two timer updates per message.
func (c *Conn) ReadWait(limit int64, d time.Duration) (op byte, data []byte, tooLarge bool, err error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	c.nonblock, c.waitFor = true, d
	op, data, tooLarge, err = c.readLocked(limit)
	c.nonblock, c.waitFor = false, 0
	return op, data, tooLarge, err
}

// deadlineSlack is how stale WaitReadable lets its deadline get before it
// moves it.
const deadlineSlack = 10 * time.Millisecond

func (c *Conn) readLocked(limit int64) (byte, []byte, bool, error) {
	if c.readErr != nil {
		return 0, nil, false, c.readErr
	}
	if c.msg != nil {
		putBuf(c.msg)
		c.msg = nil
	}
	op, data, tooLarge, err := c.readMessage(limit)
	if err != nil && err != ErrWouldBlock {
		c.readErr = err
		if c.rb != nil {
			putReadBuf(c.rb)
			c.rb = nil
			c.rbHeld.Store(false)
		}
		if c.msg != nil {
			putBuf(c.msg)
			c.msg = nil
		}
		c.pre = nil
		c.peerClosedOnce.Do(func() { close(c.peerClosed) })
	}
	return op, data, tooLarge, err
}

// frameHeader is a parsed frame header.
type frameHeader struct {
	fin bool
	op  byte
	len int64
	key [4]byte
}

func (c *Conn) readMessage(limit int64) (byte, []byte, bool, error) {
	var (
		op      byte // opcode of the message being read; 0 = none yet
		total   int64
		discard bool
		msg     []byte
		inMsg   bool // a message's first frame was read
	)
	for {
		c.boundary = !inMsg
		h, err := c.readHeader()
		c.boundary = false
		if err != nil {
			return 0, nil, false, err
		}
		if h.op >= opClose {
			if err := c.control(h); err != nil {
				return 0, nil, false, err
			}
			continue
		}
		if h.op == opContinuation {
			if !inMsg {
				return 0, nil, false, c.fail(CloseProtocolError, "continuation frame without a message")
			}
		} else {
			if inMsg {
				return 0, nil, false, c.fail(CloseProtocolError, "new message inside a fragmented one")
			}
			op, inMsg = h.op, true
		}
		total += h.len
		if total > c.opts.MaxMessageSize {
			return 0, nil, false, c.fail(CloseMessageTooBig, "message too big")
		}
		// After our close frame, data is read and dropped (RFC 6455 §1.4).
		if !discard && (total > limit || c.closeSent.Load()) {
			discard = true
			msg = msg[:0]
		}
		if discard {
			if err := c.skip(h.len); err != nil {
				return 0, nil, false, err
			}
			if !h.fin {
				continue
			}
			if c.closeSent.Load() {
				op, total, discard, msg, inMsg = 0, 0, false, msg[:0], false
				continue
			}
			return op, nil, true, nil
		}
		if h.fin && msg == nil && h.len <= readBufSize {
			// The common case: a whole message in one frame that fits the
			// read buffer, unmasked in place.
			n := int(h.len)
			if err := c.fill(n); err != nil {
				return 0, nil, false, err
			}
			var p []byte
			if n > 0 {
				p = (*c.rb)[c.r : c.r+n]
				c.r += n
				unmask(h.key, 0, p)
			} else {
				p = []byte{}
			}
			return c.checkText(op, p)
		}
		if msg, err = c.appendPayload(msg, h); err != nil {
			return 0, nil, false, err
		}
		if h.fin {
			return c.checkText(op, msg)
		}
	}
}

// checkText returns a complete message, failing the connection with 1007
// when a text message is not valid UTF-8 (RFC 6455 §8.1).
func (c *Conn) checkText(op byte, p []byte) (byte, []byte, bool, error) {
	if op == OpText && !utf8.Valid(p) {
		return 0, nil, false, c.fail(CloseInvalidData, "text message is not valid UTF-8")
	}
	return op, p, false, nil
}

// readHeader reads and validates the next frame header.
func (c *Conn) readHeader() (frameHeader, error) {
	var h frameHeader
	if err := c.fill(2); err != nil {
		return h, err
	}
	b := (*c.rb)[c.r:c.w]
	b0, b1 := b[0], b[1]
	n := 2
	switch b1 & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	masked := b1&0x80 != 0
	if masked {
		n += 4
	}
	if err := c.fill(n); err != nil {
		return h, err
	}
	b = (*c.rb)[c.r:c.w]
	h.fin = b0&0x80 != 0
	h.op = b0 & 0x0f
	i := 2
	switch l := b1 & 0x7f; l {
	case 126:
		h.len = int64(binary.BigEndian.Uint16(b[2:4]))
		i = 4
	case 127:
		u := binary.BigEndian.Uint64(b[2:10])
		if u > 1<<62 {
			c.r += n
			return h, c.fail(CloseProtocolError, "frame length out of range")
		}
		h.len = int64(u)
		i = 10
	default:
		h.len = int64(l)
	}
	if masked {
		copy(h.key[:], b[i:i+4])
	}
	c.r += n
	switch {
	case b0&0x70 != 0:
		return h, c.fail(CloseProtocolError, "reserved bits set")
	case !masked:
		return h, c.fail(CloseProtocolError, "unmasked client frame")
	case h.op > opBinaryMax && h.op < opClose, h.op > opPong:
		return h, c.fail(CloseProtocolError, fmt.Sprintf("unknown opcode %d", h.op))
	case h.op >= opClose && (!h.fin || h.len > 125):
		return h, c.fail(CloseProtocolError, "fragmented or oversized control frame")
	}
	return h, nil
}

const opBinaryMax = OpBinary

// control handles a ping, pong or close frame whose header was read.
func (c *Conn) control(h frameHeader) error {
	n := int(h.len)
	if err := c.fill(n); err != nil {
		return err
	}
	p := (*c.rb)[c.r : c.r+n]
	c.r += n
	unmask(h.key, 0, p)
	switch h.op {
	case opPing:
		c.wmu.Lock()
		if !c.closeSent.Load() {
			_ = c.writeFrameLocked(opPong, p)
		}
		c.wmu.Unlock()
	case opPong:
		if len(p) == 8 && binary.BigEndian.Uint64(p) == c.pongFor.Load() {
			select {
			case c.pongs <- struct{}{}:
			default:
			}
		}
	case opClose:
		code, reason := closeNoStatus, ""
		switch {
		case n == 1:
			return c.fail(CloseProtocolError, "close frame with a 1-byte payload")
		case n >= 2:
			code = int(binary.BigEndian.Uint16(p))
			reason = string(p[2:])
			if !validCloseCode(code) {
				return c.fail(CloseProtocolError, fmt.Sprintf("invalid close status %d", code))
			}
			if !utf8.ValidString(reason) {
				return c.fail(CloseInvalidData, "close reason is not valid UTF-8")
			}
		}
		// Echo the status unless we started the close ourselves.
		echo := code
		if code == closeNoStatus {
			echo = 0
		}
		_ = c.writeClose(echo, "")
		return &CloseError{Code: code, Reason: reason}
	}
	return nil
}

// validCloseCode reports whether a peer may send status code (RFC 6455
// §7.4.1–7.4.2).
func validCloseCode(code int) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1011:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// fail sends a close frame with code and returns the matching error.
func (c *Conn) fail(code int, reason string) error {
	_ = c.writeClose(code, reason)
	return &ProtocolError{Code: code, Reason: reason}
}

// fill makes at least n (≤ readBufSize) unread bytes available in rb. An
// idle connection (nothing buffered) waits for readability before taking a
// buffer, so it holds none while it waits.
func (c *Conn) fill(n int) error {
	for c.w-c.r < n {
		if c.nonblock && c.boundary && c.r == c.w && len(c.pre) == 0 {
			// TryRead at a message boundary with nothing buffered: one
			// non-blocking read decides between a message and "not yet".
			if c.rb == nil {
				c.rb = getReadBuf()
				c.rbHeld.Store(true)
			}
			c.r, c.w = 0, 0
			k, err := c.readNow(*c.rb)
			if err == ErrWouldBlock {
				putReadBuf(c.rb)
				c.rb = nil
				c.rbHeld.Store(false)
			}
			if err != nil {
				return err
			}
			c.w = k
			continue
		}
		if c.r == c.w && c.rb != nil && len(c.pre) == 0 && c.rawRead != nil {
			// Nothing buffered: give the buffer back while we wait.
			putReadBuf(c.rb)
			c.rb = nil
			c.rbHeld.Store(false)
		}
		if c.rb == nil {
			if len(c.pre) == 0 && c.rawRead != nil {
				c.clearDeadline()
				if err := c.rawRead(); err != nil {
					return err
				}
			}
			c.rb = getReadBuf()
			c.rbHeld.Store(true)
			c.r, c.w = 0, 0
		}
		b := *c.rb
		if len(b)-c.r < n {
			c.w = copy(b, b[c.r:c.w])
			c.r = 0
		}
		k, err := c.readSome(b[c.w:])
		c.w += k
		if err != nil {
			if c.w-c.r >= n {
				return nil
			}
			return err
		}
	}
	return nil
}

// readSome reads into p from the bytes left over from the handshake, then
// from the socket.
func (c *Conn) readSome(p []byte) (int, error) {
	if len(c.pre) > 0 {
		k := copy(p, c.pre)
		c.pre = c.pre[k:]
		if len(c.pre) == 0 {
			c.pre = nil
		}
		return k, nil
	}
	c.clearDeadline()
	k, err := c.nc.Read(p)
	if k == 0 && err == nil {
		err = io.ErrNoProgress
	}
	return k, err
}

// clearDeadline removes the deadline of an earlier ReadWait before a read
// that waits for the rest of a message (or, in Read, for the next one):
// ReadWait's bound is for a message to start arriving, and a message
// arriving in pieces must not be cut by it.
func (c *Conn) clearDeadline() {
	if !c.deadline.IsZero() {
		_ = c.nc.SetReadDeadline(time.Time{})
		c.deadline = time.Time{}
	}
}

// readFull fills p from the read buffer, then from the socket.
func (c *Conn) readFull(p []byte) error {
	if c.rb != nil {
		k := copy(p, (*c.rb)[c.r:c.w])
		c.r += k
		p = p[k:]
	}
	for len(p) > 0 {
		k, err := c.readSome(p)
		p = p[k:]
		if err != nil {
			if len(p) == 0 {
				return nil
			}
			if errors.Is(err, io.EOF) {
				return io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// skip reads and drops n payload bytes.
func (c *Conn) skip(n int64) error {
	for n > 0 {
		if c.w == c.r {
			if err := c.fill(1); err != nil {
				return err
			}
		}
		k := int64(c.w - c.r)
		if k > n {
			k = n
		}
		c.r += int(k)
		n -= k
	}
	return nil
}

// appendPayload appends a frame's unmasked payload to msg, which lives in a
// pooled buffer (c.msg).
func (c *Conn) appendPayload(msg []byte, h frameHeader) ([]byte, error) {
	need := len(msg) + int(h.len)
	if c.msg == nil || cap(*c.msg) < need {
		nb := getBuf(need)
		*nb = append((*nb)[:0], msg...)
		if c.msg != nil {
			putBuf(c.msg)
		}
		c.msg = nb
		msg = *nb
	}
	start := len(msg)
	msg = msg[:need]
	if err := c.readFull(msg[start:]); err != nil {
		return nil, err
	}
	unmask(h.key, 0, msg[start:])
	*c.msg = msg
	return msg, nil
}

// ---- writing

// Write sends one unfragmented data message (op is OpText or OpBinary).
func (c *Conn) Write(op byte, data []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closeSent.Load() {
		return ErrClosed
	}
	return c.writeFrameLocked(op, data)
}

// TryWrite sends one unfragmented data message like Write, but never waits:
// not for the peer (what the socket cannot take now is kept) and not for
// another writer (a ping or close in progress: the whole frame is kept).
// Kept bytes go out before anything else, with the next Write, Flush or
// close. It reports whether bytes are kept; Flush sends them, waiting.
// Where the connection cannot write without waiting (no file descriptor,
// or not Linux), it writes like Write and never keeps anything.
func (c *Conn) TryWrite(op byte, data []byte) (kept bool, err error) {
	if c.rc == nil {
		return false, c.Write(op, data)
	}
	if !c.wmu.TryLock() {
		return true, c.keep(op, data)
	}
	defer c.wmu.Unlock()
	if c.closeSent.Load() {
		return false, ErrClosed
	}
	c.kmu.Lock()
	queued := len(c.kept) > 0
	c.kmu.Unlock()
	if queued {
		return true, c.keep(op, data)
	}
	n := putHeader(c.hdr[:], op, len(data))
	w, err := c.writeNow(c.hdr[:n], data)
	if err != nil {
		return false, fmt.Errorf("ws: write: %w", err)
	}
	if w == n+len(data) {
		return false, nil
	}
	// Partly written, or not at all (the socket buffer is full): keep the
	// rest.
	c.kmu.Lock()
	if w < n {
		c.kept = append(c.kept, c.hdr[w:n]...)
		w = n
	}
	c.kept = append(c.kept, data[w-n:]...)
	c.kmu.Unlock()
	return true, nil
}

// keep appends a whole frame to the kept bytes.
func (c *Conn) keep(op byte, data []byte) error {
	if c.closeSent.Load() {
		return ErrClosed
	}
	var hdr [14]byte
	n := putHeader(hdr[:], op, len(data))
	c.kmu.Lock()
	c.kept = append(append(c.kept, hdr[:n]...), data...)
	c.kmu.Unlock()
	return nil
}

// Flush sends the bytes TryWrite kept, waiting for the peer as Write does.
func (c *Conn) Flush() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.flushKeptLocked()
}

// flushKeptLocked sends what TryWrite kept. wmu must be held.
func (c *Conn) flushKeptLocked() error {
	for {
		c.kmu.Lock()
		kept := c.kept
		c.kept = nil // a connection under back-pressure holds a buffer only while it lasts
		c.kmu.Unlock()
		if len(kept) == 0 {
			return nil
		}
		if _, err := c.nc.Write(kept); err != nil {
			return fmt.Errorf("ws: write: %w", err)
		}
	}
}

// writeFrameLocked writes one frame: header and payload in one writev,
// without copying the payload, after the bytes TryWrite kept. wmu must be
// held.
func (c *Conn) writeFrameLocked(op byte, data []byte) error {
	if err := c.flushKeptLocked(); err != nil {
		return err
	}
	n := putHeader(c.hdr[:], op, len(data))
	var err error
	if n+len(data) <= smallFrame {
		// Small frames (most deltas and replies): one copy into a pooled
		// buffer and a plain write, cheaper than a two-part writev.
		b := getReadBuf()
		k := copy(*b, c.hdr[:n])
		k += copy((*b)[k:], data)
		_, err = c.nc.Write((*b)[:k])
		putReadBuf(b)
	} else {
		c.bufArr[0], c.bufArr[1] = c.hdr[:n], data
		c.bufs = c.bufArr[:]
		_, err = c.bufs.WriteTo(c.nc)
		c.bufArr[1] = nil
	}
	if err != nil {
		return fmt.Errorf("ws: write: %w", err)
	}
	return nil
}

// smallFrame is the largest frame written by copying header and payload
// into one pooled buffer; larger ones use writev without a copy.
const smallFrame = readBufSize

// putHeader encodes an unmasked final frame header into b.
func putHeader(b []byte, op byte, n int) int {
	b[0] = 0x80 | op
	switch {
	case n <= 125:
		b[1] = byte(n)
		return 2
	case n <= 0xffff:
		b[1] = 126
		binary.BigEndian.PutUint16(b[2:], uint16(n))
		return 4
	default:
		b[1] = 127
		binary.BigEndian.PutUint64(b[2:], uint64(n))
		return 10
	}
}

// writeClose sends our close frame once (code 0: no status).
func (c *Conn) writeClose(code int, reason string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closeSent.Load() {
		return nil
	}
	c.closeSent.Store(true)
	var p []byte
	if code != 0 {
		if len(reason) > 123 {
			reason = reason[:123]
		}
		p = make([]byte, 2, 2+len(reason))
		binary.BigEndian.PutUint16(p, uint16(code))
		p = append(p, reason...)
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(c.opts.CloseTimeout))
	err := c.writeFrameLocked(opClose, p)
	_ = c.nc.SetWriteDeadline(time.Time{})
	return err
}

// Close performs the closing handshake: it sends a close frame with code
// and reason, waits up to Options.CloseTimeout for the peer's close frame
// (read by the running Read, or here when no Read runs), then closes the
// connection.
func (c *Conn) Close(code int, reason string) error {
	werr := c.writeClose(code, reason)
	if werr == nil {
		if c.rmu.TryLock() {
			_ = c.nc.SetReadDeadline(time.Now().Add(c.opts.CloseTimeout))
			for {
				if _, _, _, err := c.readLocked(0); err != nil {
					break
				}
			}
			c.rmu.Unlock()
		} else {
			t := time.NewTimer(c.opts.CloseTimeout)
			select {
			case <-c.peerClosed:
			case <-t.C:
			}
			t.Stop()
		}
	}
	cerr := c.CloseNow()
	if werr != nil {
		return werr
	}
	return cerr
}

// CloseNow closes the connection without a handshake, unblocking Read,
// Write and Ping.
func (c *Conn) CloseNow() error {
	c.closeOnce.Do(func() {
		c.unregister()
		c.closeErr = c.nc.Close()
	})
	if c.closeErr != nil && !errors.Is(c.closeErr, net.ErrClosed) {
		return fmt.Errorf("ws: close: %w", c.closeErr)
	}
	return nil
}

// Ping sends a ping and waits for its pong (answered pongs are matched by
// payload), ctx's end or the connection's.
func (c *Conn) Ping(ctx context.Context) error {
	c.pingMu.Lock()
	defer c.pingMu.Unlock()
	c.pingSeq++
	var p [8]byte
	binary.BigEndian.PutUint64(p[:], c.pingSeq)
	c.pongFor.Store(c.pingSeq)
	select {
	case <-c.pongs: // a late pong of an earlier ping
	default:
	}
	c.wmu.Lock()
	var err error
	if c.closeSent.Load() {
		err = ErrClosed
	} else {
		err = c.writeFrameLocked(opPing, p[:])
	}
	c.wmu.Unlock()
	if err != nil {
		return err
	}
	select {
	case <-c.pongs:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("ws: ping: %w", ctx.Err())
	case <-c.peerClosed:
		return ErrClosed
	}
}

// unmask XORs p with key, starting at payload offset pos.
func unmask(key [4]byte, pos int, p []byte) {
	if len(p) == 0 {
		return
	}
	var k [4]byte
	for i := range 4 {
		k[i] = key[(pos+i)&3]
	}
	i := 0
	if len(p) >= 8 {
		k32 := uint64(binary.LittleEndian.Uint32(k[:]))
		k64 := k32 | k32<<32
		for ; i+8 <= len(p); i += 8 {
			v := binary.LittleEndian.Uint64(p[i:])
			binary.LittleEndian.PutUint64(p[i:], v^k64)
		}
	}
	for ; i < len(p); i++ {
		p[i] ^= k[i&3]
	}
}
