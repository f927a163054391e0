package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/live-go/live/internal/protocol"
)

// Defaults of [Options].
const (
	DefaultRequestTimeout = 10 * time.Second
	DefaultMaxMessageSize = 16 << 20
)

// Options configures [Dial]. The zero value of every field selects the
// documented default.
type Options struct {
	// Header holds extra HTTP headers for the upgrade request (Cookie,
	// Authorization, Origin, ...). Default: none.
	Header http.Header
	// HTTPClient performs the upgrade request. Default: http.DefaultClient.
	HTTPClient *http.Client
	// RequestTimeout bounds a request whose context has no deadline, and
	// every frame write. Default: DefaultRequestTimeout (10 s). Must not be
	// negative.
	RequestTimeout time.Duration
	// MaxMessageSize is the largest inbound message in bytes; a larger one
	// closes the connection (status 1009 to the server; Err then wraps
	// websocket.ErrMessageTooBig). Default: DefaultMaxMessageSize
	// (16 MiB). Must not be negative.
	MaxMessageSize int64
	// Logger receives debug records about dropped or malformed messages.
	// Default: discard.
	Logger *slog.Logger
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
	return out, nil
}

// Client is one connection to a live server. Create it with [Dial]; all
// methods are safe for concurrent use.
//
// A Client owns one reader goroutine, which decodes every inbound frame,
// resolves pending requests, updates component mirrors and runs every
// callback (OnMessage, OnBinary, Component.OnChange, Component.On,
// Component.OnBinary) in arrival order. Callbacks must return quickly and must
// not wait for a reply from the server (Request, Mount, Call, ...) on that
// goroutine: nothing else is read until they return. Start a goroutine for
// such work.
type Client struct {
	opts Options
	log  *slog.Logger
	now  func() time.Time // clock of the unrouted buffer; replaced in tests

	// Per connection. A future reconnect replaces these, keeping the
	// component registry and handlers below.
	conn        *websocket.Conn
	life        context.Context // cancelled when the reader exits; bounds reads and writes
	cancelLife  context.CancelFunc
	writeSem    chan struct{} // 1-slot semaphore: one writer at a time, in arrival order
	established chan struct{} // closed on CONNECTION_ESTABLISHED
	readerDone  chan struct{} // closed when the reader goroutine returns
	inDispatch  atomic.Bool   // the reader is running a dispatch (and maybe a callback)
	closing     atomic.Bool   // Close was called

	done chan struct{} // closed by shutdown

	mu          sync.Mutex
	connID      string
	isEstab     bool
	err         error // set once by shutdown
	pending     map[string]*pendingCall
	components  map[string][]*Component // copy-on-write slices
	unrouted    unroutedBuffer
	msgHandlers handlers[func(Message)]
	binHandlers handlers[func([]byte)]
}

// pendingCall is one request waiting for its reply.
type pendingCall struct {
	ch chan callResult // buffered 1; written once by the reader or shutdown
	// onReply, when set, runs on the reader goroutine for a successful reply
	// before the caller is woken and before the next message is dispatched.
	onReply func(Message) error
}

type callResult struct {
	msg Message
	err error
}

func newClient(opts Options) *Client {
	c := &Client{
		opts:        opts,
		log:         opts.Logger,
		now:         time.Now,
		writeSem:    make(chan struct{}, 1),
		established: make(chan struct{}),
		readerDone:  make(chan struct{}),
		done:        make(chan struct{}),
		pending:     make(map[string]*pendingCall),
		components:  make(map[string][]*Component),
	}
	c.life, c.cancelLife = context.WithCancel(context.Background())
	return c
}

// Dial connects to a live server at url (ws:// or wss://, normally ending in
// /api/live/ws) and waits until the server has sent CONNECTION_ESTABLISHED.
// ctx bounds the handshake and that wait only. opts may be nil.
func Dial(ctx context.Context, url string, opts *Options) (*Client, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		HTTPClient: o.HTTPClient,
		HTTPHeader: o.Header,
	})
	if err != nil {
		return nil, fmt.Errorf("client: dial %s: %w", url, err)
	}
	conn.SetReadLimit(o.MaxMessageSize)
	c := newClient(o)
	c.conn = conn
	go c.readLoop()
	select {
	case <-c.established:
		return c, nil
	case <-c.done:
		return nil, fmt.Errorf("client: waiting for CONNECTION_ESTABLISHED: %w", c.Err())
	case <-ctx.Done():
		_ = conn.CloseNow()
		<-c.readerDone
		return nil, fmt.Errorf("client: waiting for CONNECTION_ESTABLISHED: %w", ctx.Err())
	}
}

// readLoop is the reader goroutine.
func (c *Client) readLoop() {
	defer close(c.readerDone)
	var err error
	for {
		var typ websocket.MessageType
		var data []byte
		typ, data, err = c.conn.Read(c.life)
		if err != nil {
			break
		}
		c.inDispatch.Store(true)
		if typ == websocket.MessageBinary {
			c.dispatchBinary(data)
		} else {
			c.dispatchText(data)
		}
		c.inDispatch.Store(false)
	}
	c.cancelLife()
	_ = c.conn.CloseNow()
	c.shutdown(fmt.Errorf("%w: %w", ErrClosed, err))
}

// shutdown records the terminal error, fails every pending request and
// closes Done. Only the first call has an effect.
func (c *Client) shutdown(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	pend := c.pending
	c.pending = nil
	c.mu.Unlock()
	for _, p := range pend {
		p.ch <- callResult{err: err}
	}
	close(c.done)
}

// ConnectionID returns the id the server sent in CONNECTION_ESTABLISHED.
func (c *Client) ConnectionID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.connID
}

// Done returns a channel closed when the connection has ended, by Close or
// by the peer.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns nil while the connection is open. After Done is closed it
// returns an error wrapping [ErrClosed] and, when the connection ended with
// a close frame, the websocket.CloseError (read it with
// websocket.CloseStatus).
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close closes the connection with status 1000 (normal closure), fails
// pending requests with an error wrapping [ErrClosed], and waits for the
// reader goroutine to exit. When the reader is running a callback at that
// moment (in particular when Close is called from a callback) Close does not
// wait for it; the reader exits once the callback returns. Calls after the
// first return nil.
func (c *Client) Close() error {
	if c.closing.Swap(true) {
		return nil
	}
	select {
	case <-c.done: // the peer or the network closed it first
		return nil
	default:
	}
	c.shutdown(fmt.Errorf("%w: %w", ErrClosed, websocket.CloseError{
		Code:   websocket.StatusNormalClosure,
		Reason: "closed by client",
	}))
	err := c.conn.Close(websocket.StatusNormalClosure, "")
	if !c.inDispatch.Load() {
		<-c.readerDone
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
// waiting for any reply.
func (c *Client) Send(ctx context.Context, msg any) error {
	b, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("client: encode message: %w", err)
	}
	return c.write(ctx, websocket.MessageText, b)
}

// SendBinary writes frame as one binary frame (e.g. an upload chunk).
func (c *Client) SendBinary(ctx context.Context, frame []byte) error {
	return c.write(ctx, websocket.MessageBinary, frame)
}

// Request sends msg with a fresh "requestId" and "expectResponse":true added
// (msg itself is not modified) and waits for the reply carrying that
// requestId. A reply with "success":false or of type ERROR returns the reply
// together with an [*Error]. When ctx has no deadline, RequestTimeout
// applies. If ctx ends first the request is forgotten and ctx's error is
// returned (wrapped).
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

// roundTrip registers a pending request, writes the frame built by encode and
// waits for the reply.
func (c *Client) roundTrip(ctx context.Context, typ string, encode func(requestID string) ([]byte, error), onReply func(Message) error) (Message, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.opts.RequestTimeout)
		defer cancel()
	}
	p := &pendingCall{ch: make(chan callResult, 1), onReply: onReply}
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return Message{}, err
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
		return Message{}, fmt.Errorf("client: encode %s: %w", typ, err)
	}
	if err := c.write(ctx, websocket.MessageText, frame); err != nil {
		if c.forget(id) {
			return Message{}, err
		}
		// The reply (or the shutdown) won the race with the failure.
	}
	select {
	case r := <-p.ch:
		return r.result()
	case <-ctx.Done():
		if c.forget(id) {
			return Message{}, fmt.Errorf("client: %s request %s: %w", typ, id, ctx.Err())
		}
		// Already resolved: the result is in the channel, or about to be.
		return (<-p.ch).result()
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

// write sends one frame. ctx bounds the wait for the write slot; the write
// itself is bounded by RequestTimeout and the connection's lifetime, so an
// impatient caller never tears the connection down mid-frame.
func (c *Client) write(ctx context.Context, typ websocket.MessageType, p []byte) error {
	select {
	case <-c.done:
		return c.Err()
	default:
	}
	select {
	case c.writeSem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("client: write: %w", ctx.Err())
	case <-c.done:
		return c.Err()
	}
	defer func() { <-c.writeSem }()
	wctx, cancel := context.WithTimeout(c.life, c.opts.RequestTimeout)
	defer cancel()
	if err := c.conn.Write(wctx, typ, p); err != nil {
		if c.closing.Load() || c.life.Err() != nil {
			return fmt.Errorf("%w: write: %w", ErrClosed, err)
		}
		return fmt.Errorf("client: write: %w", err)
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
