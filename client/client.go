package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/live-go/live/internal/protocol"
)

// Defaults of [Options] and [ReconnectOptions].
const (
	DefaultRequestTimeout        = 10 * time.Second
	DefaultMaxMessageSize        = 16 << 20
	DefaultReconnectInitialDelay = time.Second
	DefaultReconnectMaxDelay     = 16 * time.Second
	DefaultReconnectJitter       = 0.5
)

// closeOriginNotAllowed is the close code of a connection refused for its
// Origin (spec §1.2): the client must not reconnect after it.
const closeOriginNotAllowed websocket.StatusCode = 4003

// Options configures [Dial]. The zero value of every field selects the
// documented default.
type Options struct {
	// Header holds extra HTTP headers for the upgrade request (Cookie,
	// Authorization, Origin, ...), sent on every (re)connection. Default:
	// none.
	Header http.Header
	// HTTPClient performs the upgrade request. Default: http.DefaultClient.
	HTTPClient *http.Client
	// RequestTimeout bounds a request whose context has no deadline
	// (including the time it waits for a reconnection), every frame write,
	// and each reconnection attempt. Default: DefaultRequestTimeout (10 s).
	// Must not be negative.
	RequestTimeout time.Duration
	// MaxMessageSize is the largest inbound message in bytes; a larger one
	// closes the connection (status 1009 to the server; the error wraps
	// websocket.ErrMessageTooBig). Default: DefaultMaxMessageSize (16 MiB).
	// Must not be negative.
	MaxMessageSize int64
	// Logger receives debug records about dropped or malformed messages and
	// reconnection attempts. Default: discard.
	Logger *slog.Logger
	// Reconnect configures automatic reconnection. The zero value
	// reconnects forever with exponential backoff, like the reference
	// client.
	Reconnect ReconnectOptions
	// OnStateChange, when set, is called with every new [ConnState], in
	// order, on the client's supervisor goroutine. It must return quickly:
	// the client neither reconnects nor recovers components while it runs.
	// It may call any method of the Client, including Close.
	OnStateChange func(ConnState)
	// Transport selects how the client reaches the server: WebSocket (the
	// default), SSE (an event stream plus POSTs) or long-polling HTTP, for
	// networks that block WebSockets. The URL passed to Dial is always the
	// WebSocket one; the others are derived from it ("/ws" becomes "/sse"
	// or "/http"). For SSE and HTTP, HTTPClient.Timeout must be 0 or longer
	// than the server's poll timeout.
	Transport Transport
	// DisableIdempotency stops [Component.Call] from sending an
	// "idempotencyKey" and from retrying a call whose connection was lost
	// (such a call then fails with an error wrapping [ErrClosed]). Set it
	// for servers that reject unknown fields. Default: false (keys sent,
	// calls retried).
	DisableIdempotency bool
}

// ReconnectOptions configures automatic reconnection (see [Options]). The
// zero value of every field selects the documented default.
type ReconnectOptions struct {
	// Disabled turns reconnection off: the first connection loss ends the
	// Client (Done is closed, Err tells why). Default: false.
	Disabled bool
	// InitialDelay is the delay before the first attempt after a loss; it
	// doubles after each failed attempt. Default: DefaultReconnectInitialDelay
	// (1 s). Must not be negative.
	InitialDelay time.Duration
	// MaxDelay caps the delay. Default: DefaultReconnectMaxDelay (16 s), or
	// InitialDelay when that is larger. Must not be smaller than
	// InitialDelay.
	MaxDelay time.Duration
	// Jitter is the largest fraction of each delay removed at random, so
	// that many clients dropped together do not reconnect in lockstep:
	// a delay d becomes a uniform value in (d·(1−Jitter), d]. Default:
	// DefaultReconnectJitter (0.5); negative means no jitter. Must not
	// exceed 1.
	Jitter float64
	// MaxAttempts bounds the consecutive failed attempts after a loss;
	// when exhausted the Client ends. Default: 0, unlimited.
	MaxAttempts int
}

func (o *Options) withDefaults() (Options, error) {
	var out Options
	if o != nil {
		out = *o
	}
	if out.RequestTimeout < 0 {
		return out, fmt.Errorf("client: negative RequestTimeout %v", out.RequestTimeout)
	}
	if out.MaxMessageSize < 0 {
		return out, fmt.Errorf("client: negative MaxMessageSize %d", out.MaxMessageSize)
	}
	if out.Transport > TransportHTTP {
		return out, fmt.Errorf("client: unknown Transport %d", out.Transport)
	}
	if out.RequestTimeout == 0 {
		out.RequestTimeout = DefaultRequestTimeout
	}
	if out.MaxMessageSize == 0 {
		out.MaxMessageSize = DefaultMaxMessageSize
	}
	if out.Logger == nil {
		out.Logger = slog.New(slog.DiscardHandler)
	}
	if out.Header != nil {
		out.Header = out.Header.Clone()
	}
	r := &out.Reconnect
	switch {
	case r.InitialDelay < 0:
		return out, fmt.Errorf("client: negative Reconnect.InitialDelay %v", r.InitialDelay)
	case r.MaxDelay < 0:
		return out, fmt.Errorf("client: negative Reconnect.MaxDelay %v", r.MaxDelay)
	case r.Jitter > 1:
		return out, fmt.Errorf("client: Reconnect.Jitter %v above 1", r.Jitter)
	case r.MaxAttempts < 0:
		return out, fmt.Errorf("client: negative Reconnect.MaxAttempts %d", r.MaxAttempts)
	}
	if r.InitialDelay == 0 {
		r.InitialDelay = DefaultReconnectInitialDelay
	}
	if r.MaxDelay == 0 {
		r.MaxDelay = max(DefaultReconnectMaxDelay, r.InitialDelay)
	}
	if r.MaxDelay < r.InitialDelay {
		return out, fmt.Errorf("client: Reconnect.MaxDelay %v below InitialDelay %v", r.MaxDelay, r.InitialDelay)
	}
	if r.Jitter == 0 {
		r.Jitter = DefaultReconnectJitter
	}
	return out, nil
}

// ConnState is the connection state of a [Client].
type ConnState uint8

// Connection states, in the order a Client goes through them. A Client
// starts Connecting; after a loss it is Reconnecting until a new connection
// is open and every component has been recovered, then Connected again;
// Closed is final.
const (
	// StateConnecting: the first connection is being opened (inside Dial).
	StateConnecting ConnState = iota
	// StateConnected: the connection is open and every component is
	// attached to its server instance.
	StateConnected
	// StateReconnecting: the connection was lost; the client is waiting,
	// dialing, or recovering its components. Requests wait (bounded by
	// their context) until it is Connected again.
	StateReconnecting
	// StateClosed: the Client has ended (Close, close code 4003,
	// reconnection disabled or given up). Done is closed.
	StateClosed
)

// String returns the state's name.
func (s ConnState) String() string {
	switch s {
	case StateConnecting:
		return "connecting"
	case StateConnected:
		return "connected"
	case StateReconnecting:
		return "reconnecting"
	case StateClosed:
		return "closed"
	}
	return fmt.Sprintf("ConnState(%d)", uint8(s))
}

// wsConn is the part of *websocket.Conn the client uses; tests substitute
// in-memory connections.
type wsConn interface {
	Read(ctx context.Context) (websocket.MessageType, []byte, error)
	Write(ctx context.Context, typ websocket.MessageType, p []byte) error
	Close(code websocket.StatusCode, reason string) error
	CloseNow() error
}

// Client is a connection to a live server that survives connection losses.
// Create it with [Dial]; all methods are safe for concurrent use.
//
// A Client owns a supervisor goroutine, which (re)connects and recovers
// components, and one reader goroutine per connection, which decodes every
// inbound frame, resolves pending requests, updates component mirrors and
// runs every callback (OnMessage, OnBinary, Component.OnChange,
// Component.On, Component.OnBinary) in arrival order. Callbacks must return
// quickly and must not wait for a reply from the server (Request, Mount,
// Call, ...) on that goroutine: nothing else is read until they return.
// Start a goroutine for such work.
type Client struct {
	url    string
	opts   Options
	log    *slog.Logger
	now    func() time.Time                          // clock of the unrouted buffer; replaced in tests
	dial   func(ctx context.Context) (wsConn, error) // opens one connection; replaced in tests
	jitter func() float64                            // uniform in [0, 1); replaced in tests

	stop           context.Context // cancelled by Close: ends backoff waits, dials and recovery
	cancelStop     context.CancelFunc
	supervisorDone chan struct{}
	done           chan struct{} // closed by shutdown
	closing        atomic.Bool   // Close was called
	inDispatch     atomic.Bool   // a reader is running a dispatch (and maybe a callback)
	inHook         atomic.Bool   // the supervisor is running OnStateChange or OnRecover

	mu          sync.Mutex // lock order: Client.mu, then Component.mu
	cur         *session   // the newest connection (maybe dead); nil before the first
	connID      string
	state       ConnState
	stateCh     chan struct{} // closed and replaced on every state change
	err         error         // terminal error, set once by shutdown
	closeErr    error         // the error Close reports to pending requests
	pending     map[string]*pendingCall
	components  map[string][]*Component // copy-on-write slices
	mountSeq    uint64
	unrouted    unroutedBuffer
	msgHandlers handlers[func(Message)]
	binHandlers handlers[func([]byte)]
}

// session is one WebSocket connection of a Client.
type session struct {
	conn        wsConn
	life        context.Context // cancelled when the reader exits; bounds reads and writes
	cancel      context.CancelFunc
	writeSem    chan struct{} // 1-slot semaphore: one writer at a time, in arrival order
	established chan struct{} // closed on CONNECTION_ESTABLISHED
	readerDone  chan struct{} // closed when the reader goroutine returns

	// Guarded by Client.mu; err is also readable without it once
	// readerDone is closed.
	connID  string
	isEstab bool
	dead    bool
	err     error // why the connection ended; wraps ErrClosed
}

func newSession(conn wsConn) *session {
	s := &session{
		conn:        conn,
		writeSem:    make(chan struct{}, 1),
		established: make(chan struct{}),
		readerDone:  make(chan struct{}),
	}
	s.life, s.cancel = context.WithCancel(context.Background())
	return s
}

// pendingCall is one request waiting for its reply.
type pendingCall struct {
	ch   chan callResult // buffered 1; written once by the reader or a failure
	sess *session        // the connection the request was written to
	// onReply, when set, runs on the reader goroutine for a successful reply
	// before the caller is woken and before the next message is dispatched.
	onReply func(Message) error
}

type callResult struct {
	msg Message
	err error
}

// lostError fails a request whose connection ended before its reply. It
// wraps the connection's error, which wraps ErrClosed.
type lostError struct{ err error }

func (e *lostError) Error() string { return e.err.Error() }
func (e *lostError) Unwrap() error { return e.err }

func isLost(err error) bool {
	var l *lostError
	return errors.As(err, &l)
}

func newClient(url string, opts Options) *Client {
	c := &Client{
		url:            url,
		opts:           opts,
		log:            opts.Logger,
		now:            time.Now,
		jitter:         rand.Float64,
		supervisorDone: make(chan struct{}),
		done:           make(chan struct{}),
		state:          StateConnecting,
		stateCh:        make(chan struct{}),
		pending:        make(map[string]*pendingCall),
		components:     make(map[string][]*Component),
	}
	c.dial = c.dialerFor(opts.Transport)
	c.stop, c.cancelStop = context.WithCancel(context.Background())
	return c
}

// Dial connects to a live server at url (ws:// or wss://, normally ending in
// /api/live/ws) and waits until the server has sent CONNECTION_ESTABLISHED.
// ctx bounds the handshake and that wait only; if the first connection
// fails, Dial returns the error and nothing is retried. Once connected, the
// Client reconnects by itself after a loss (see [Options.Reconnect]) until
// [Client.Close]. opts may be nil.
func Dial(ctx context.Context, url string, opts *Options) (*Client, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	c := newClient(url, o)
	if err := c.start(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// start runs the supervisor and waits for the outcome of the first
// connection.
func (c *Client) start(ctx context.Context) error {
	first := make(chan error, 1)
	go c.supervise(ctx, first)
	if err := <-first; err != nil {
		<-c.supervisorDone
		c.cancelStop()
		return err
	}
	return nil
}

func (c *Client) dialWebSocket(ctx context.Context) (wsConn, error) {
	conn, _, err := websocket.Dial(ctx, c.url, &websocket.DialOptions{
		HTTPClient: c.opts.HTTPClient,
		HTTPHeader: c.opts.Header,
	})
	if err != nil {
		return nil, fmt.Errorf("client: dial %s: %w", c.url, err)
	}
	conn.SetReadLimit(c.opts.MaxMessageSize)
	return conn, nil
}

// connect opens one connection and waits for CONNECTION_ESTABLISHED. ctx
// bounds both.
func (c *Client) connect(ctx context.Context) (*session, error) {
	conn, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	s := newSession(conn)
	go c.readLoop(s)
	select {
	case <-s.established:
		return s, nil
	case <-s.readerDone:
		select {
		case <-s.established: // established, then lost at once: a loss like any other
			return s, nil
		default:
			return nil, fmt.Errorf("client: waiting for CONNECTION_ESTABLISHED: %w", s.err)
		}
	case <-ctx.Done():
		_ = conn.CloseNow()
		<-s.readerDone
		return nil, fmt.Errorf("client: waiting for CONNECTION_ESTABLISHED: %w", ctx.Err())
	}
}

// readLoop is the reader goroutine of s.
func (c *Client) readLoop(s *session) {
	defer close(s.readerDone)
	var err error
	for {
		var typ websocket.MessageType
		var data []byte
		typ, data, err = s.conn.Read(s.life)
		if err != nil {
			break
		}
		c.inDispatch.Store(true)
		if typ == websocket.MessageBinary {
			c.dispatchBinary(data)
		} else {
			c.dispatchText(s, data)
		}
		c.inDispatch.Store(false)
	}
	s.cancel()
	_ = s.conn.CloseNow()
	c.endSession(s, fmt.Errorf("%w: %w", ErrClosed, err))
}

// endSession marks s dead and fails the requests written to it.
func (c *Client) endSession(s *session, cause error) {
	c.mu.Lock()
	if c.closing.Load() && c.closeErr != nil {
		cause = c.closeErr
	}
	s.err = cause
	s.dead = true
	var failed []*pendingCall
	for id, p := range c.pending {
		if p.sess == s {
			delete(c.pending, id)
			failed = append(failed, p)
		}
	}
	c.mu.Unlock()
	lost := &lostError{err: cause}
	for _, p := range failed {
		p.ch <- callResult{err: lost}
	}
}

// shutdown ends the Client and reports StateClosed. It runs on the
// supervisor goroutine.
func (c *Client) shutdown(err error) {
	c.terminate(err)
	c.notifyState(StateClosed)
}

// terminate records the terminal error, fails every pending request and
// closes Done. Only the first call has an effect.
func (c *Client) terminate(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	c.state = StateClosed
	close(c.stateCh)
	c.stateCh = make(chan struct{})
	pend := c.pending
	c.pending = nil
	c.mu.Unlock()
	for _, p := range pend {
		p.ch <- callResult{err: err}
	}
	close(c.done)
}

// setState records a new state, wakes the requests waiting for one and runs
// OnStateChange. It runs on the supervisor goroutine only, so callbacks see
// the states in order. Nothing follows StateClosed.
func (c *Client) setState(st ConnState) {
	c.mu.Lock()
	if c.state == st || c.state == StateClosed {
		c.mu.Unlock()
		return
	}
	c.state = st
	close(c.stateCh)
	c.stateCh = make(chan struct{})
	c.mu.Unlock()
	c.notifyState(st)
}

func (c *Client) notifyState(st ConnState) {
	if fn := c.opts.OnStateChange; fn != nil {
		c.inHook.Store(true)
		defer c.inHook.Store(false)
		fn(st)
	}
}

// ConnectionID returns the id the server sent in the newest
// CONNECTION_ESTABLISHED; it changes after a reconnection.
func (c *Client) ConnectionID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.connID
}

// State returns the current connection state.
func (c *Client) State() ConnState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// Done returns a channel closed when the Client has ended: by Close, by a
// close code 4003 from the server, or by a connection loss when
// reconnection is disabled or has given up. A loss followed by a
// reconnection does not close it.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns nil until Done is closed, then an error wrapping [ErrClosed]
// and, when the connection ended with a close frame, the
// websocket.CloseError (read it with websocket.CloseStatus).
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close closes the connection with status 1000 (normal closure), which
// tells the server the client is done: it destroys the client's
// components at once instead of keeping them for a resume. It stops
// reconnecting, fails pending requests with an error wrapping
// [ErrClosed], and waits for the client's goroutines to exit. When called from a
// callback (OnMessage, OnChange, OnStateChange, OnRecover, ...) it does not
// wait: the goroutines exit once the callback returns. Calls after the
// first return nil.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closing.Load() {
		c.mu.Unlock()
		return nil
	}
	c.closeErr = fmt.Errorf("%w: %w", ErrClosed, websocket.CloseError{
		Code:   websocket.StatusNormalClosure,
		Reason: "closed by client",
	})
	c.closing.Store(true)
	ended := c.err != nil
	s := c.cur
	if s != nil && s.dead {
		s = nil
	}
	c.mu.Unlock()
	c.cancelStop()
	if ended { // the peer or the network ended it first
		return nil
	}
	c.terminate(c.closeErr)
	var err error
	if s != nil {
		err = s.conn.Close(websocket.StatusNormalClosure, "")
	}
	if !c.inDispatch.Load() && !c.inHook.Load() {
		<-c.supervisorDone
	}
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("client: close: %w", err)
	}
	return nil
}

// OnMessage registers fn for every inbound JSON message (after array frames
// are split), before the message is routed. fn runs on the reader goroutine
// (see [Client]). The returned function removes the registration.
func (c *Client) OnMessage(fn func(Message)) (remove func()) {
	c.mu.Lock()
	id := c.msgHandlers.add(fn)
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		c.msgHandlers.remove(id)
		c.mu.Unlock()
	}
}

// OnBinary registers fn for every inbound binary frame that is not a
// component delta (0x02 room event, 0x03 room state, unknown types); frames
// shorter than 3 bytes are ignored. fn runs on the reader goroutine and must
// not modify or retain the slice. The returned function removes the
// registration.
func (c *Client) OnBinary(fn func([]byte)) (remove func()) {
	c.mu.Lock()
	id := c.binHandlers.add(fn)
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		c.binHandlers.remove(id)
		c.mu.Unlock()
	}
}

// Send writes msg, encoded as JSON, as one text frame and returns without
// waiting for any reply. While the client is reconnecting it first waits
// for the connection (bounded by ctx, or RequestTimeout without deadline).
func (c *Client) Send(ctx context.Context, msg any) error {
	b, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("client: encode message: %w", err)
	}
	return c.write(ctx, websocket.MessageText, b)
}

// SendBinary writes frame as one binary frame (e.g. an upload chunk), like
// Send.
func (c *Client) SendBinary(ctx context.Context, frame []byte) error {
	return c.write(ctx, websocket.MessageBinary, frame)
}

// Request sends msg with a fresh "requestId" and "expectResponse":true added
// (msg itself is not modified) and waits for the reply carrying that
// requestId. A reply with "success":false or of type ERROR returns the reply
// together with an [*Error]. When ctx has no deadline, RequestTimeout
// applies. If ctx ends first the request is forgotten and ctx's error is
// returned (wrapped). While the client is reconnecting, Request waits for
// the connection first; a request whose connection is lost before the reply
// fails with an error wrapping [ErrClosed] and is not retried.
func (c *Client) Request(ctx context.Context, msg map[string]any) (Message, error) {
	typ, _ := msg["type"].(string)
	out := make(map[string]any, len(msg)+2)
	maps.Copy(out, msg)
	return c.roundTrip(ctx, typ, func(requestID string) ([]byte, error) {
		out["requestId"] = requestID
		out["expectResponse"] = true
		return json.Marshal(out)
	}, nil)
}

// requestContext applies RequestTimeout to a context without deadline.
func (c *Client) requestContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, c.opts.RequestTimeout)
}

// connected waits until the client is Connected and returns the open
// connection. It fails at once when the client has ended or is closing, and
// when the connection is lost with reconnection disabled.
func (c *Client) connected(ctx context.Context) (*session, error) {
	for {
		c.mu.Lock()
		switch {
		case c.err != nil:
			err := c.err
			c.mu.Unlock()
			return nil, err
		case c.closing.Load():
			err := c.closeErr
			c.mu.Unlock()
			return nil, err
		case c.cur != nil && c.cur.dead && c.opts.Reconnect.Disabled:
			err := c.cur.err
			c.mu.Unlock()
			return nil, err
		case c.state == StateConnected && c.cur != nil && !c.cur.dead:
			s := c.cur
			c.mu.Unlock()
			return s, nil
		}
		ch := c.stateCh
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("client: waiting for the connection: %w", ctx.Err())
		}
	}
}

// roundTrip waits for the connection, then sends one request on it and
// waits for the reply.
func (c *Client) roundTrip(ctx context.Context, typ string, encode func(requestID string) ([]byte, error), onReply func(Message) error) (Message, error) {
	ctx, cancel := c.requestContext(ctx)
	defer cancel()
	s, err := c.connected(ctx)
	if err != nil {
		return Message{}, err
	}
	msg, _, err := c.roundTripOn(ctx, s, typ, encode, onReply)
	return msg, err
}

// roundTripOn registers a pending request on s, writes the frame built by
// encode and waits for the reply. wrote reports whether the frame was
// handed to the connection whole (so the server may have processed it).
func (c *Client) roundTripOn(ctx context.Context, s *session, typ string, encode func(requestID string) ([]byte, error), onReply func(Message) error) (reply Message, wrote bool, err error) {
	p := &pendingCall{ch: make(chan callResult, 1), sess: s, onReply: onReply}
	c.mu.Lock()
	switch {
	case c.err != nil:
		err := c.err
		c.mu.Unlock()
		return Message{}, false, err
	case s.dead:
		err := &lostError{err: s.err}
		c.mu.Unlock()
		return Message{}, false, err
	}
	id := protocol.NewID()
	for c.pending[id] != nil {
		id = protocol.NewID()
	}
	c.pending[id] = p
	c.mu.Unlock()

	frame, err := encode(id)
	if err != nil {
		c.forget(id)
		return Message{}, false, fmt.Errorf("client: encode %s: %w", typ, err)
	}
	wrote = true
	if err := c.writeOn(ctx, s, websocket.MessageText, frame); err != nil {
		wrote = false
		if c.forget(id) {
			return Message{}, false, err
		}
		// The reply (or the connection's end) won the race with the failure.
	}
	select {
	case r := <-p.ch:
		reply, err = r.result()
		return reply, wrote, err
	case <-ctx.Done():
		if c.forget(id) {
			return Message{}, wrote, fmt.Errorf("client: %s request %s: %w", typ, id, ctx.Err())
		}
		// Already resolved: the result is in the channel, or about to be.
		reply, err = (<-p.ch).result()
		return reply, wrote, err
	}
}

func (r callResult) result() (Message, error) {
	if r.err != nil {
		return r.msg, r.err
	}
	return r.msg, replyError(r.msg)
}

// forget removes a pending request and reports whether it was still there.
func (c *Client) forget(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.pending[id]; !ok {
		return false
	}
	delete(c.pending, id)
	return true
}

// write waits for the connection and sends one frame on it.
func (c *Client) write(ctx context.Context, typ websocket.MessageType, p []byte) error {
	ctx, cancel := c.requestContext(ctx)
	defer cancel()
	s, err := c.connected(ctx)
	if err != nil {
		return err
	}
	return c.writeOn(ctx, s, typ, p)
}

// writeOn sends one frame on s. ctx bounds the wait for the write slot; the
// write itself is bounded by RequestTimeout and the connection's lifetime,
// so an impatient caller never tears the connection down mid-frame. A
// failed write leaves the socket unusable: it is closed, which starts a
// reconnection, and the error is a lost-connection error wrapping ErrClosed.
func (c *Client) writeOn(ctx context.Context, s *session, typ websocket.MessageType, p []byte) error {
	select {
	case <-s.readerDone:
		return &lostError{err: s.err}
	default:
	}
	select {
	case s.writeSem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("client: write: %w", ctx.Err())
	case <-s.readerDone:
		return &lostError{err: s.err}
	}
	defer func() { <-s.writeSem }()
	wctx, cancel := context.WithTimeout(s.life, c.opts.RequestTimeout)
	defer cancel()
	if err := s.conn.Write(wctx, typ, p); err != nil {
		_ = s.conn.CloseNow()
		return &lostError{err: fmt.Errorf("%w: write: %w", ErrClosed, err)}
	}
	return nil
}

// handlers is a copy-on-write list of callbacks; the owner's mutex guards
// add and remove, and a snapshot of list may be iterated without it.
type handlers[F any] struct {
	seq  uint64
	list []handler[F]
}

type handler[F any] struct {
	id uint64
	fn F
}

func (h *handlers[F]) add(fn F) uint64 {
	h.seq++
	next := make([]handler[F], len(h.list), len(h.list)+1)
	copy(next, h.list)
	h.list = append(next, handler[F]{id: h.seq, fn: fn})
	return h.seq
}

func (h *handlers[F]) remove(id uint64) {
	for i, e := range h.list {
		if e.id == id {
			next := make([]handler[F], 0, len(h.list)-1)
			next = append(next, h.list[:i]...)
			h.list = append(next, h.list[i+1:]...)
			return
		}
	}
}
