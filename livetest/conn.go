package livetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	live "github.com/live-go/live"
	"github.com/live-go/live/internal/diff"
	"github.com/live-go/live/internal/protocol"
)

// DefaultTimeout bounds every wait of a Conn for the server (a reply, a
// state condition, the end of the connection) unless WithTimeout changes
// it. Inside a synctest bubble it is fake time, so a server that never
// answers fails the test at once instead of after real seconds.
const DefaultTimeout = 10 * time.Second

// Request ids: replies to the kit's own requests carry reqPrefix; barrier
// replies carry syncPrefix and are not recorded.
const (
	reqPrefix  = "lt-"
	syncPrefix = "lt-sync-"
	// syncComponent is the id a barrier unmounts: longer than any
	// component id, so it never names one, and unmounting an unknown id is
	// answered without touching anything.
	syncComponent = "livetest:sync"
)

var (
	// ErrClosed is wrapped by the errors of requests made on, or cut short
	// by, a closed connection. A close by the server is a *CloseError,
	// which matches ErrClosed with errors.Is.
	ErrClosed = errors.New("livetest: connection closed")
	// ErrTimeout is wrapped by the errors of waits that ran out of time.
	ErrTimeout = errors.New("livetest: timed out waiting for the server")
)

// CloseError is the error of a connection that the server closed, with the
// close code and reason it sent (code 0 when it dropped the connection
// without a close frame). It matches ErrClosed with errors.Is.
type CloseError struct {
	Code   int
	Reason string
}

// Error implements error.
func (e *CloseError) Error() string {
	if e.Code == 0 {
		return "livetest: connection dropped by the server"
	}
	return fmt.Sprintf("livetest: connection closed by the server: %d %s", e.Code, e.Reason)
}

// Is reports whether target is ErrClosed.
func (e *CloseError) Is(target error) bool { return target == ErrClosed }

// ReplyError is a request the server answered with a failure: a reply with
// "success":false, or an ERROR. Its Error text is the server's message, as
// a client would show it.
type ReplyError struct {
	// Message is the server's error message.
	Message string
	// Reply is the failed reply.
	Reply Message
}

// Error returns the server's message.
func (e *ReplyError) Error() string { return e.Message }

// ConnOption configures a connection made by Server.Connect or Server.Dial.
type ConnOption func(*connConfig)

type connConfig struct {
	identity *live.Identity
	req      live.Request
	timeout  time.Duration
}

// WithIdentity makes the connection start authenticated as id, as if the
// server's Options.Identify had returned it. It needs a server made by
// NewServer, or one whose Options.Identify is wrapped by Identify.
func WithIdentity(id *live.Identity) ConnOption {
	return func(c *connConfig) { c.identity = id }
}

// WithRequest sets the request the connection presents to the server (its
// Origin, RemoteAddr and Header), for servers whose Options.Identify reads
// cookies or headers. Default: RemoteAddr "livetest" (also when r leaves
// it empty), no headers.
func WithRequest(r live.Request) ConnOption {
	return func(c *connConfig) { c.req = r }
}

// WithTimeout sets how long the connection waits for the server (default
// DefaultTimeout).
func WithTimeout(d time.Duration) ConnOption {
	return func(c *connConfig) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// identityKey carries a connection's WithIdentity into Options.Identify
// through the ServeSocket context.
type identityKey struct{}

type identityReq struct {
	id   *live.Identity
	used atomic.Bool
}

// Identify wraps an Options.Identify function (nil for none) so that
// WithIdentity works on a server built without NewServer:
//
//	srv, err := live.New(live.Options{Identify: livetest.Identify(myIdentify)})
//
// A connection made with WithIdentity gets that identity; every other
// connection is identified by next (anonymous when next is nil).
func Identify(next func(ctx context.Context, r *live.Request) (*live.Identity, error)) func(ctx context.Context, r *live.Request) (*live.Identity, error) {
	return func(ctx context.Context, r *live.Request) (*live.Identity, error) {
		if v, ok := ctx.Value(identityKey{}).(*identityReq); ok {
			v.used.Store(true)
			if v.id != nil {
				return v.id, nil
			}
		}
		if next != nil {
			return next(ctx, r)
		}
		return nil, nil
	}
}

// Conn is one client connection to the server, in memory. Its methods
// send protocol messages and return once the server has answered; every
// message the server sent before the answer has been recorded by then.
//
// Methods that fail the test on error (Mount, Sync, Close, and those of
// Component documented so) must be called from the test's goroutine; the
// others are safe for concurrent use.
type Conn struct {
	srv     *Server
	tb      testing.TB
	sock    *socket
	timeout time.Duration
	done    chan struct{} // closed when ServeSocket returned
	ident   *identityReq
	reqs    atomic.Uint64
	id      string
	seq     uint64 // creation order on its Server

	mu      sync.Mutex
	msgs    []Message
	changed chan struct{} // closed and replaced whenever something is recorded
	tracks  map[string]*track
	syncs   map[string]bool // barrier replies received, not yet consumed
}

// track mirrors the state of one component id, as a client does.
type track struct {
	state  map[string]any // numbers are json.Number
	signed json.RawMessage
	seq    uint64
	hasSeq bool
}

// connSeq numbers connections in creation order.
var connSeq atomic.Uint64

func (s *Server) dial(opts []ConnOption) (*Conn, error) {
	cfg := connConfig{timeout: DefaultTimeout, req: live.Request{RemoteAddr: "livetest"}}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.req.Header == nil {
		cfg.req.Header = http.Header{}
	}
	if cfg.req.RemoteAddr == "" {
		cfg.req.RemoteAddr = "livetest"
	}
	c := &Conn{
		srv:     s,
		tb:      s.tb,
		timeout: cfg.timeout,
		done:    make(chan struct{}),
		changed: make(chan struct{}),
		tracks:  map[string]*track{},
		syncs:   map[string]bool{},
	}
	c.sock = newSocket(c.receive)
	c.seq = connSeq.Add(1)
	ctx := context.Background()
	if cfg.identity != nil {
		c.ident = &identityReq{id: cfg.identity}
		ctx = context.WithValue(ctx, identityKey{}, c.ident)
	}
	s.track(c)
	go func() {
		defer close(c.done)
		_ = s.srv.ServeSocket(ctx, c.sock, cfg.req)
	}()
	var established Message
	err := c.wait("CONNECTION_ESTABLISHED", func() bool {
		m, ok := c.find(0, func(m *Message) bool { return m.Type == protocol.TypeConnectionEstablished })
		established = m
		return ok
	})
	if err != nil {
		c.shutdown()
		return nil, fmt.Errorf("livetest: connect: %w", err)
	}
	c.id = str(jsonField(established.Raw, "connectionId"))
	if c.ident != nil && !c.ident.used.Load() {
		c.shutdown()
		return nil, errors.New("livetest: WithIdentity needs the server's Options.Identify to be wrapped by livetest.Identify (NewServer does it)")
	}
	return c, nil
}

// receive records one server frame. It runs on the server's writer
// goroutine.
func (c *Conn) receive(binary bool, data []byte) {
	msgs := parseFrame(binary, data)
	c.mu.Lock()
	for _, m := range msgs {
		if strings.HasPrefix(m.RequestID, syncPrefix) {
			c.syncs[m.RequestID] = true
			continue
		}
		if m.ComponentID != "" {
			c.apply(&m)
		}
		c.msgs = append(c.msgs, m)
	}
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
}

// apply updates the state mirror of m's component. Called with mu held.
func (c *Conn) apply(m *Message) {
	switch m.Type {
	case protocol.TypeStateUpdate, protocol.TypeStateRehydrated, protocol.TypeStateDelta, protocol.TypeStateSignature:
	default:
		return
	}
	t := c.tracks[m.ComponentID]
	if t == nil {
		t = &track{state: map[string]any{}}
		c.tracks[m.ComponentID] = t
	}
	var payload struct {
		SignedState json.RawMessage `json:"signedState"`
	}
	_ = json.Unmarshal(m.Payload, &payload)
	switch m.Type {
	case protocol.TypeStateSignature:
		if len(m.Data) > 0 {
			t.signed = m.Data
		}
		return
	case protocol.TypeStateDelta:
		if m.hasSeq && t.hasSeq && m.seq <= t.seq {
			return // stale: already in a newer snapshot
		}
		if delta, ok := decodeObject(m.Data); ok {
			diff.Apply(t.state, delta)
		}
	default: // full state
		if state, ok := decodeObject(m.Data); ok {
			t.state = state
		}
		if len(payload.SignedState) > 0 && !isNull(payload.SignedState) {
			t.signed = payload.SignedState
		}
	}
	if m.hasSeq {
		t.seq, t.hasSeq = m.seq, true
	}
}

// decodeObject decodes a JSON object with exact numbers.
func decodeObject(raw []byte) (map[string]any, bool) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil || m == nil {
		return nil, false
	}
	return m, true
}

// jsonField returns member key of the JSON object raw, or nil.
func jsonField(raw []byte, key string) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m[key]
}

// find returns the first recorded message at index from or later that
// match accepts.
func (c *Conn) find(from int, match func(*Message) bool) (Message, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := from; i < len(c.msgs); i++ {
		if match(&c.msgs[i]) {
			return c.msgs[i], true
		}
	}
	return Message{}, false
}

// mark returns the index the next recorded message will have.
func (c *Conn) mark() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.msgs)
}

// wait blocks until check reports true (check is called without the lock,
// first at once and then after every recorded message), the socket closes
// or the timeout passes. what names the awaited thing in errors.
func (c *Conn) wait(what string, check func() bool) error {
	timer := time.NewTimer(c.timeout)
	defer timer.Stop()
	for {
		c.mu.Lock()
		ch := c.changed
		c.mu.Unlock()
		if check() {
			return nil
		}
		select {
		case <-ch:
		case <-c.sock.closed:
			// The server writes everything before it closes.
			if check() {
				return nil
			}
			return c.closedErr()
		case <-timer.C:
			return fmt.Errorf("%w: no %s after %v", ErrTimeout, what, c.timeout)
		}
	}
}

// closedErr describes why the socket is closed.
func (c *Conn) closedErr() error {
	code, reason, byServer := c.sock.status()
	if byServer {
		return &CloseError{Code: code, Reason: reason}
	}
	return ErrClosed
}

// send hands one client frame to the server's reader.
func (c *Conn) send(f frame) error {
	timer := time.NewTimer(c.timeout)
	defer timer.Stop()
	select {
	case c.sock.in <- f:
		return nil
	case <-c.sock.closed:
		return c.closedErr()
	case <-timer.C:
		return fmt.Errorf("%w: the server did not read a message for %v", ErrTimeout, c.timeout)
	}
}

// request sends msg with a fresh requestId and expectResponse:true and
// waits for the message that echoes the id. A failed reply is returned with
// a *ReplyError.
func (c *Conn) request(msg map[string]any) (Message, error) {
	id := reqPrefix + strconv.FormatUint(c.reqs.Add(1), 10)
	msg["requestId"] = id
	msg["expectResponse"] = true
	data, err := json.Marshal(msg)
	if err != nil {
		return Message{}, fmt.Errorf("livetest: encode %v: %w", msg["type"], err)
	}
	from := c.mark()
	if err := c.send(frame{data: data}); err != nil {
		return Message{}, err
	}
	var reply Message
	err = c.wait(fmt.Sprintf("reply to %v", msg["type"]), func() bool {
		m, ok := c.find(from, func(m *Message) bool { return m.RequestID == id })
		reply = m
		return ok
	})
	if err != nil {
		return Message{}, err
	}
	return reply, replyErr(reply)
}

// replyErr returns a *ReplyError when reply reports a failure.
func replyErr(m Message) error {
	failed := false
	switch m.Type {
	case protocol.TypeError:
		failed = true
	case protocol.TypeMessageResponse, protocol.TypeActionResponse, protocol.TypeComponentRehydrated,
		protocol.TypeAuthResponse:
		failed = !m.Success
	}
	if !failed {
		return nil
	}
	msg := m.Error
	if msg == "" && m.Type == protocol.TypeAuthResponse {
		msg = str(jsonField(m.Payload, "error"))
	}
	if msg == "" {
		msg = "request failed"
	}
	return &ReplyError{Message: msg, Reply: m}
}

// barrier returns once the server has handled every message sent before it
// and this connection has received everything queued before the reply.
func (c *Conn) barrier() error {
	id := syncPrefix + strconv.FormatUint(c.reqs.Add(1), 10)
	data := fmt.Appendf(nil, `{"type":"COMPONENT_UNMOUNT","componentId":%q,"requestId":%q,"expectResponse":true}`, syncComponent, id)
	if err := c.send(frame{data: data}); err != nil {
		return err
	}
	return c.wait("sync reply", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.syncs[id] {
			delete(c.syncs, id)
			return true
		}
		return false
	})
}

// ID returns the connection id the server assigned (CONNECTION_ESTABLISHED).
func (c *Conn) ID() string { return c.id }

// Messages returns every message the server sent on the connection so far,
// in order, CONNECTION_ESTABLISHED first.
func (c *Conn) Messages() []Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.msgs)
}

// Request sends msg (a protocol message: "type" and its fields) with a
// fresh "requestId" and "expectResponse":true added (msg itself is not
// modified), waits for the reply and returns it. A reply reporting a
// failure is returned together with a *ReplyError. Use it for messages the
// kit has no method for, such as AUTH.
func (c *Conn) Request(msg map[string]any) (Message, error) {
	cp := make(map[string]any, len(msg)+2)
	for k, v := range msg {
		cp[k] = v
	}
	return c.request(cp)
}

// Send writes msg as one text frame without waiting for anything: msg is
// sent as it is when it is a []byte or json.RawMessage, and JSON-encoded
// otherwise. Use Sync to wait until the server has handled it.
func (c *Conn) Send(msg any) error {
	var data []byte
	switch m := msg.(type) {
	case []byte:
		data = bytes.Clone(m)
	case json.RawMessage:
		data = bytes.Clone(m)
	default:
		var err error
		if data, err = json.Marshal(msg); err != nil {
			return fmt.Errorf("livetest: encode message: %w", err)
		}
	}
	return c.send(frame{data: data})
}

// Sync waits until the server has handled every message sent on this
// connection and the connection has received everything the server queued
// for it until then. It fails the test if the connection is broken; on a
// closed connection it returns at once.
func (c *Conn) Sync() {
	c.tb.Helper()
	if err := c.barrier(); err != nil && !errors.Is(err, ErrClosed) {
		c.tb.Fatalf("livetest: sync: %v", err)
	}
}

// Closed reports whether the connection has ended, closed by either side.
func (c *Conn) Closed() bool {
	select {
	case <-c.sock.closed:
		return true
	default:
		return false
	}
}

// CloseStatus returns the close code and reason the server closed the
// connection with, and whether it did. Code 0 with true means the server
// dropped the connection without a close frame.
func (c *Conn) CloseStatus() (code int, reason string, byServer bool) {
	return c.sock.status()
}

// Close disconnects the client, as a closed browser tab does, and waits
// until the server has torn the connection down (disconnect and leave
// hooks have run). Calling it again does nothing. The test's cleanup closes
// every connection still open.
func (c *Conn) Close() {
	c.tb.Helper()
	if !c.shutdown() {
		c.tb.Errorf("livetest: the server did not release connection %s within %v", c.id, c.timeout)
	}
}

// shutdown closes the socket from the client side and waits for
// ServeSocket to return; it reports false if that took longer than the
// timeout.
func (c *Conn) shutdown() bool {
	c.srv.untrack(c)
	c.sock.shut(0, "", false)
	timer := time.NewTimer(c.timeout)
	defer timer.Stop()
	select {
	case <-c.done:
		return true
	case <-timer.C:
		return false
	}
}
