package live

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/live-go/live/internal/diff"
	"github.com/live-go/live/internal/protocol"
	"github.com/live-go/live/internal/ratelimit"
	"github.com/live-go/live/internal/sendq"
)

// conn is one client connection. Its reader goroutine (the one that called
// ServeSocket) reads, decodes and dispatches frames, running actions inline so
// that one connection's messages are handled in order; its writer goroutine
// is the only one that writes to the socket. Everyone else enqueues encoded
// messages on q.
type conn struct {
	srv  *Server
	id   string
	sock Socket
	req  Request
	q    *sendq.Queue

	bucket  ratelimit.Bucket // reader goroutine only
	limited bool

	ctx    context.Context // cancelled when the connection ends
	cancel context.CancelFunc

	mu    sync.Mutex
	comps map[string]*instance // components mounted on or attached to this connection

	ident atomic.Pointer[Identity]   // set at most once (Identify or AUTH); never changed
	rooms map[string]map[string]bool // room id → component ids joined with ROOM_JOIN (guarded by mu)

	actionWindows map[string]*actionWindow // ActionRateLimit state; worker only

	// Frames are handled by a worker goroutine started on demand and gone
	// when its queue drains, so the reader keeps reading (close frames,
	// pongs) while an action runs, and an idle connection has no worker.
	workMu   sync.Mutex
	working  bool
	work     []protocol.Envelope
	workWake chan struct{} // wakes a lingering worker
	workSlot chan struct{} // bounds queued frames; the reader waits when full
	workers  sync.WaitGroup

	closeOnce   sync.Once
	closeCode   int // 0: no close frame (peer gone or transport failed)
	closeReason string
	closeFlush  bool
	stop        chan struct{} // closed to ask the writer to finish
	writerDone  chan struct{}
	wtimer      *time.Timer
	pings       sync.WaitGroup
}

// Pre-encoded messages shared by every connection.
var (
	msgRateLimited     = []byte(`{"type":"ERROR","error":"Rate limit exceeded"}`)
	msgTooLarge        = []byte(`{"type":"ERROR","error":"Message too large"}`)
	writerMergeEnabled = true
)

func (s *Server) newConn(ctx context.Context, sock Socket, req Request) *conn {
	c := &conn{
		srv:        s,
		id:         s.newID(),
		sock:       sock,
		req:        req,
		q:          sendq.New(s.opts.SendQueueBytes, 2*s.opts.SendQueueBytes),
		comps:      make(map[string]*instance),
		workSlot:   make(chan struct{}, maxQueuedFrames),
		workWake:   make(chan struct{}, 1),
		stop:       make(chan struct{}),
		writerDone: make(chan struct{}),
	}
	c.ctx, c.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if s.opts.RateLimitBurst > 0 {
		c.limited = true
		c.bucket.Reset(s.opts.RateLimitBurst, s.opts.RateLimitPerSecond, time.Now())
	}
	c.wtimer = time.AfterFunc(time.Hour, func() {
		s.log.Info("live: write timeout, dropping connection", "conn", c.id)
		_ = c.sock.CloseNow()
	})
	c.wtimer.Stop()
	return c
}

// ServeSocket serves one client connection over sock until it ends, and
// returns why it ended. The WebSocket handler calls it; custom transports
// (framework adapters, SSE and long-poll sessions) call it with their own
// Socket. It returns ErrServerClosed if the server is shutting down.
func (s *Server) ServeSocket(ctx context.Context, sock Socket, req Request) error {
	var id *Identity
	if s.opts.Identify != nil {
		got, err := s.opts.Identify(ctx, &req)
		if err != nil {
			s.log.Info("live: connection refused by Identify", "remote", req.RemoteAddr, "err", err)
			_ = sock.Close(CloseUnauthorized, "Unauthorized")
			return fmt.Errorf("live: identify: %w", err)
		}
		id = got.clone()
	}
	c, err := s.addConn(ctx, sock, req)
	if err != nil {
		return err
	}
	if id != nil {
		c.setIdentity(id)
	}
	go c.writeLoop()
	c.pushData(sendq.Message, s.connectionEstablished(c.id))
	err = c.readLoop()
	c.teardown()
	return err
}

func (s *Server) connectionEstablished(id string) []byte {
	o := protocol.Object(make([]byte, 0, 64))
	o.Str("type", protocol.TypeConnectionEstablished)
	o.Str("connectionId", id)
	return o.Close()
}

func (c *conn) readLoop() error {
	s := c.srv
	for {
		binary, data, tooLarge, err := c.sock.Read(c.ctx, s.opts.MaxMessageSize)
		if err != nil {
			c.close(0, "", false)
			return err
		}
		if c.limited && !c.bucket.Allow(time.Now()) {
			s.observeRateLimited(c)
			c.pushData(sendq.Message, msgRateLimited)
			continue
		}
		if tooLarge {
			c.pushData(sendq.Message, msgTooLarge)
			continue
		}
		if binary {
			s.handleBinary(c, data)
			continue
		}
		if s.opts.MaxJSONDepth >= 0 {
			if _, exceeded := protocol.Depth(data, s.opts.MaxJSONDepth); exceeded {
				c.pushError(protocol.DepthError(s.opts.MaxJSONDepth), "", "")
				continue
			}
		}
		// The read buffer is reused by the next Read: the worker gets a copy
		// (the Envelope's fields point into it).
		frame := append([]byte(nil), data...)
		env, perr := protocol.Parse(frame)
		if perr != nil {
			c.pushData(sendq.Message, protocol.AppendErrorReply(nil, perr))
			continue
		}
		if env.Type == protocol.TypePing {
			continue
		}
		if !c.submit(env) {
			return c.ctx.Err()
		}
	}
}

// maxQueuedFrames bounds the frames waiting for a connection's worker; the
// reader (and so TCP) waits beyond it.
const maxQueuedFrames = 256

// submit hands a frame to the connection's worker, starting it if idle.
// It reports false when the connection ended while waiting for room.
func (c *conn) submit(env protocol.Envelope) bool {
	select {
	case c.workSlot <- struct{}{}:
	case <-c.ctx.Done():
		return false
	}
	c.workMu.Lock()
	if c.working {
		c.work = append(c.work, env)
		c.workMu.Unlock()
		select {
		case c.workWake <- struct{}{}:
		default:
		}
		return true
	}
	c.working = true
	c.workMu.Unlock()
	c.workers.Add(1)
	go c.runWork(env)
	return true
}

// workerLinger is how long an idle worker waits for the next frame before
// exiting: a busy connection keeps one worker (and its grown stack), an
// idle one has none.
const workerLinger = 100 * time.Millisecond

// runWork dispatches frames in arrival order until the queue stays empty
// for workerLinger.
func (c *conn) runWork(env protocol.Envelope) {
	defer c.workers.Done()
	var linger *time.Timer
	defer func() {
		if linger != nil {
			linger.Stop()
		}
	}()
	for {
		c.q.Hold() // the request's messages leave together, after it
		c.srv.dispatch(c, &env)
		c.q.Release()
		<-c.workSlot
		for {
			c.workMu.Lock()
			if len(c.work) > 0 {
				env = c.work[0]
				c.work[0] = protocol.Envelope{}
				c.work = c.work[1:]
				c.workMu.Unlock()
				break
			}
			c.workMu.Unlock()
			if linger == nil {
				linger = time.NewTimer(workerLinger)
			} else {
				linger.Reset(workerLinger)
			}
			select {
			case <-c.workWake:
				continue
			case <-linger.C:
			case <-c.ctx.Done():
			}
			c.workMu.Lock()
			if len(c.work) == 0 {
				c.working = false
				c.work = nil
				c.workMu.Unlock()
				return
			}
			c.workMu.Unlock()
		}
	}
}

// writeLoop owns the socket's write side.
func (c *conn) writeLoop() {
	defer close(c.writerDone)
	framer := &sendq.Framer{}
	if writerMergeEnabled {
		framer.Merge = diff.Merge
	}
	var pingC <-chan time.Time
	pinger, canPing := c.sock.(Pinger)
	if canPing && c.srv.opts.PingInterval > 0 {
		t := time.NewTicker(c.srv.opts.PingInterval)
		defer t.Stop()
		pingC = t.C
	}
	var (
		spare    []sendq.Item
		pingBusy = make(chan struct{}, 1)
	)
	for {
		select {
		case <-c.q.Wake():
		case <-c.stop:
			if c.closeFlush {
				batch, _ := c.q.Take(spare)
				_ = framer.Frames(batch, c.write)
			}
			if c.closeCode != 0 {
				c.wtimer.Reset(c.srv.opts.WriteTimeout)
				_ = c.sock.Close(c.closeCode, c.closeReason)
				c.wtimer.Stop()
			} else {
				_ = c.sock.CloseNow()
			}
			return
		case <-pingC:
			select {
			case pingBusy <- struct{}{}:
			default:
				continue // previous ping still waiting for its pong
			}
			c.pings.Add(1)
			go func() {
				defer c.pings.Done()
				defer func() { <-pingBusy }()
				ctx, cancel := context.WithTimeout(c.ctx, c.srv.opts.PingInterval)
				defer cancel()
				if err := pinger.Ping(ctx); err != nil && c.ctx.Err() == nil {
					c.srv.log.Info("live: ping failed, dropping connection", "conn", c.id, "err", err)
					c.close(0, "", false)
				}
			}()
			continue
		}
		// Yield once before taking the batch: under load, messages pushed
		// meanwhile join this frame (one write for several deliveries);
		// when idle, the scheduler runs us again at once.
		runtime.Gosched()
		batch, resync := c.q.Take(spare)
		if resync {
			c.srv.resync(c)
		}
		if err := framer.Frames(batch, c.write); err != nil {
			c.srv.log.Debug("live: write failed", "conn", c.id, "err", err)
			c.close(0, "", false)
		}
		spare = batch
	}
}

func (c *conn) write(binary bool, data []byte) error {
	c.wtimer.Reset(c.srv.opts.WriteTimeout)
	err := c.sock.Write(context.Background(), binary, data)
	c.wtimer.Stop()
	c.srv.observeWrite(c, len(data))
	return err
}

// close asks the writer to finish: flush the queue first if flush is set,
// then send a close frame with code (0 = drop the socket without one). Only
// the first call counts.
func (c *conn) close(code int, reason string, flush bool) {
	c.closeOnce.Do(func() {
		c.closeCode, c.closeReason, c.closeFlush = code, reason, flush
		c.q.Close()
		close(c.stop)
	})
}

// teardown runs on the reader goroutine after the read loop ended: it waits
// for the writer, detaches every component and unregisters the connection.
func (c *conn) teardown() {
	c.close(0, "", false)
	<-c.writerDone
	c.cancel()       // running actions see their Ctx cancelled
	c.workers.Wait() // and the worker finishes before components are detached
	c.pings.Wait()
	c.wtimer.Stop()

	c.mu.Lock()
	comps := c.comps
	c.comps = nil
	c.mu.Unlock()
	for _, in := range comps {
		c.srv.detach(in, c, true)
	}
	c.srv.uploads.ReleaseConn(c.id) // resumable for Options.Uploads.ChunkTimeout
	c.srv.removeConn(c)
}

// pushData queues one encoded message for this connection.
func (c *conn) pushData(kind sendq.Kind, data []byte) {
	c.push(sendq.Item{Data: data, Kind: kind})
}

func (c *conn) push(it sendq.Item) {
	switch err := c.q.Push(it); {
	case err == nil:
	case errors.Is(err, sendq.ErrFull):
		c.srv.log.Warn("live: slow consumer, closing connection", "conn", c.id)
		c.srv.observeSlowConsumer(c)
		c.close(CloseSlowConsumer, "slow consumer", false)
	}
}

// pushError queues a protocol-level ERROR reply.
func (c *conn) pushError(msg, componentID, requestID string) {
	o := protocol.Object(make([]byte, 0, 64+len(msg)))
	o.Str("type", protocol.TypeError)
	o.Str("error", msg)
	o.StrIfSet("componentId", componentID)
	o.StrIfSet("requestId", requestID)
	c.pushData(sendq.Message, o.Close())
}

// owned returns the component id's instance if this connection mounted or
// attached it.
func (c *conn) owned(id string) *instance {
	c.mu.Lock()
	in := c.comps[id]
	c.mu.Unlock()
	return in
}

func (c *conn) addComp(in *instance) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.comps == nil {
		return false // torn down
	}
	c.comps[in.id] = in
	return true
}

func (c *conn) removeComp(id string) *instance {
	c.mu.Lock()
	defer c.mu.Unlock()
	in := c.comps[id]
	delete(c.comps, id)
	return in
}

// identity returns the connection's identity (nil = anonymous).
func (c *conn) identity() *Identity { return c.ident.Load() }

// setIdentity sets the identity once; it reports false if one was set.
func (c *conn) setIdentity(id *Identity) bool {
	return c.ident.CompareAndSwap(nil, id)
}

// actionWindow is one fixed window of an action rate limit.
type actionWindow struct {
	start time.Time
	calls int
}

// allowAction applies a component's ActionRateLimit for this connection,
// keyed "<component>:<action|*>". Reader goroutine only.
func (c *conn) allowAction(def *componentDef, action string) error {
	r := def.rate
	if r == nil {
		return nil
	}
	key := def.name + ":*"
	if r.PerAction {
		key = def.name + ":" + action
	}
	if c.actionWindows == nil {
		c.actionWindows = make(map[string]*actionWindow)
	}
	now := time.Now()
	w := c.actionWindows[key]
	if w == nil || now.Sub(w.start) >= r.Window {
		w = &actionWindow{start: now}
		c.actionWindows[key] = w
	}
	w.calls++
	if w.calls > r.MaxCalls {
		return &actionError{msg: fmt.Sprintf("Action rate limit exceeded (max %d calls per %dms)", r.MaxCalls, r.Window.Milliseconds()), emit: true}
	}
	return nil
}
