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
	"github.com/live-go/live/internal/ws"
)

// conn is one client connection. One reader at a time (the goroutine that
// called ServeSocket, or a read burst) reads and decodes frames and hands
// them to the worker, which handles them in order; at most one flusher (the
// worker inline, or a goroutine started on demand) writes to the socket.
// Everyone else enqueues encoded messages on q.
type conn struct {
	srv  *Server
	id   string
	sock Socket
	// remote is the client's address (Request.RemoteAddr). The Request
	// itself is not kept: Identify has read what it needs, and its headers
	// and *http.Request cost about 1.4 KiB per idle connection.
	remote string
	q      *sendq.Queue

	bucket  ratelimit.Bucket // reader goroutine only
	limited bool

	ctx    context.Context // cancelled when the connection ends
	cancel context.CancelFunc

	mu    sync.Mutex
	comps compSet // components mounted on or attached to this connection (guarded by mu)

	ident atomic.Pointer[Identity]   // set at most once (Identify or AUTH); never changed
	rooms map[string]map[string]bool // room id → component ids joined with ROOM_JOIN (guarded by mu)

	actionWindows map[string]*actionWindow // ActionRateLimit state; worker only

	// Frames are handled by a worker goroutine started on demand and gone
	// when its queue drains, so the reader keeps reading (close frames,
	// pongs) while an action runs, and an idle connection has no worker.
	workMu     sync.Mutex
	working    bool
	workerIdle bool // the worker waits for work (working is still true)
	work       []protocol.Envelope
	workWake   chan struct{} // wakes a lingering worker
	workSlot   chan struct{} // bounds queued frames; the reader waits when full
	workers    sync.WaitGroup

	// The write side has no goroutine of its own while idle: a flusher
	// (flushLoop) runs only while something is queued, started by kick or
	// run inline by the worker after a request. flushState says whether
	// one runs or is parked; flushWake wakes a parked one.
	flushState atomic.Int32
	flushWake  chan struct{}
	// tw is sock when it can write without waiting: its flushers then run
	// on the server's writer pool (writers.go). kept and resyncDue are
	// the flusher role's: bytes the socket kept from a pool write, and a
	// resync a pool worker left to a flusher goroutine.
	tw        tryWriter
	kept      bool
	resyncDue bool

	// left is set when the client closed the connection on purpose
	// (ErrClientLeft): its components are then not kept for a resume.
	left atomic.Bool

	closeOnce   sync.Once
	closeCode   int // 0: no close frame (peer gone or transport failed)
	closeReason string
	closeFlush  bool
	stop        chan struct{} // closed to ask the flusher to finish
	writerDone  chan struct{} // closed once the final flush ran

	// Write watchdog (watchWrites): wtimer is armed while writes happen
	// and re-armed lazily, so a write costs two atomic stores, not a
	// timer reset and stop.
	wtimer     *time.Timer
	writeStart atomic.Int64 // monoNow()+1 when the write in progress began; 0: none
	wArmed     atomic.Bool  // wtimer is armed (or its callback is running)

	// Asynchronously served connections (serveAsync) have no reader
	// goroutine: bursts counts the readBursts scheduled or running, and
	// endOnce runs their teardown once. async is set at registration,
	// before the first push can start a flusher that reads it.
	async   bool
	bursts  sync.WaitGroup
	endOnce sync.Once

	pingMu      sync.Mutex
	pingTimer   *time.Timer // nil: no pings
	pingStopped bool
	pings       sync.WaitGroup
}

// Flusher states (conn.flushState).
const (
	flushIdle    int32 = iota
	flushRunning       // a flushLoop holds the role
	flushParked        // a flusher goroutine waits for more; an inline flush may borrow the role
	flushDone          // the final flush ran; no flusher starts again
)

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
		remote:     req.RemoteAddr,
		flushWake:  make(chan struct{}, 1),
		workSlot:   make(chan struct{}, maxQueuedFrames),
		workWake:   make(chan struct{}, 1),
		stop:       make(chan struct{}),
		writerDone: make(chan struct{}),
	}
	c.q = sendq.NewNotify(s.opts.SendQueueBytes, 2*s.opts.SendQueueBytes, c.kick)
	if tw, ok := sock.(tryWriter); ok && !writerPoolDisabled {
		c.tw = tw
	}
	c.ctx, c.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if s.opts.RateLimitBurst > 0 {
		c.limited = true
		c.bucket.Reset(s.opts.RateLimitBurst, s.opts.RateLimitPerSecond, time.Now())
	}
	c.wtimer = time.AfterFunc(time.Hour, c.watchWrites)
	c.wtimer.Stop()
	return c
}

// beginWrite marks the start of a socket write (endWrite its end) and arms
// the watchdog if it is not armed.
func (c *conn) beginWrite() {
	c.writeStart.Store(int64(monoNow()) + 1)
	if !c.wArmed.Load() && c.wArmed.CompareAndSwap(false, true) {
		c.wtimer.Reset(c.srv.opts.WriteTimeout)
	}
}

func (c *conn) endWrite() { c.writeStart.Store(0) }

// watchWrites is the watchdog's timer callback: it drops the connection
// when the write in progress has lasted Options.WriteTimeout, re-arms for
// what is left of a younger write, and disarms when no write is in
// progress (the next beginWrite arms it again). Clearing wArmed before
// looking at writeStart again pairs with beginWrite's store-then-load: a
// write that began meanwhile is either seen here or arms the timer itself.
func (c *conn) watchWrites() {
	timeout := c.srv.opts.WriteTimeout
	for {
		start := c.writeStart.Load()
		if start == 0 {
			c.wArmed.Store(false)
			if c.writeStart.Load() == 0 || !c.wArmed.CompareAndSwap(false, true) {
				return
			}
			continue // a write began meanwhile and left the arming to us
		}
		if elapsed := monoNow() - time.Duration(start-1); elapsed < timeout {
			c.wtimer.Reset(timeout - elapsed)
			return
		}
		c.srv.log.Info("live: write timeout, dropping connection", "conn", c.id)
		_ = c.sock.CloseNow()
		return
	}
}

// ServeSocket serves one client connection over sock until it ends, and
// returns why it ended. The WebSocket handler calls it; custom transports
// (framework adapters, SSE and long-poll sessions) call it with their own
// Socket. It returns ErrServerClosed if the server is shutting down.
func (s *Server) ServeSocket(ctx context.Context, sock Socket, req Request) error {
	c, err := s.openConn(ctx, sock, req, false)
	if err != nil {
		return err
	}
	return c.serve()
}

// openConn identifies and registers a new connection and starts its
// writer; c.serve (or, when async is set, c.serveAsync) then runs its read
// loop. Between the two the connection is owned by connWG, so a caller may
// run serve on a goroutine of its own.
func (s *Server) openConn(ctx context.Context, sock Socket, req Request, async bool) (*conn, error) {
	var id *Identity
	if s.opts.Identify != nil {
		got, err := s.opts.Identify(ctx, &req)
		if err != nil {
			s.log.Info("live: connection refused by Identify", "remote", req.RemoteAddr, "err", err)
			_ = sock.Close(CloseUnauthorized, "Unauthorized")
			return nil, fmt.Errorf("live: identify: %w", err)
		}
		id = got.clone()
	}
	c, err := s.addConn(ctx, sock, req, async)
	if err != nil {
		return nil, err
	}
	if id != nil {
		c.setIdentity(id)
	}
	c.startPings()
	c.pushData(sendq.Message, s.connectionEstablished(c.id))
	return c, nil
}

// serve runs the connection's read loop until it ends, then tears the
// connection down.
func (c *conn) serve() error {
	err := c.readLoop()
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
	for {
		binary, data, tooLarge, err := c.sock.Read(c.ctx, c.srv.opts.MaxMessageSize)
		if err != nil {
			c.readEnded(err)
			return err
		}
		if !c.handleFrame(binary, data, tooLarge) {
			return c.ctx.Err()
		}
	}
}

// asyncSocket is implemented by sockets that can wait for input without a
// goroutine (the WebSocket transport on Linux): an idle connection then
// has no goroutine at all.
type asyncSocket interface {
	// ReadWait is Read that returns ws.ErrWouldBlock when no message has
	// started to arrive within about d.
	ReadWait(limit int64, d time.Duration) (binary bool, data []byte, tooLarge bool, err error)
	// NotifyReadable runs fn once, on a goroutine of its own, when input
	// may be available or the socket closed.
	NotifyReadable(fn func()) error
}

// readerLinger is how long a connection's reader goroutine waits for the
// next message before it exits and leaves the waiting to the poller: a busy
// connection keeps its goroutine (the cheapest way to wait), a quiet one
// has none.
const readerLinger = 100 * time.Millisecond

// serveAsync starts serving c without a reader goroutine: readBurst runs
// whenever input arrives, and the connection is torn down by whoever sees
// it end. The first burst runs on the caller's goroutine.
func (c *conn) serveAsync() {
	c.bursts.Add(1)
	c.readBurst()
}

// readBurst handles messages as they arrive; after readerLinger without
// one it asks to be run again when more does, and returns. c.bursts counts
// it from before it is scheduled until it returns.
func (c *conn) readBurst() {
	defer c.bursts.Done()
	as := c.sock.(asyncSocket)
	for {
		binary, data, tooLarge, err := as.ReadWait(c.srv.opts.MaxMessageSize, readerLinger)
		if errors.Is(err, ws.ErrWouldBlock) {
			c.bursts.Add(1)
			if err = as.NotifyReadable(c.readBurst); err == nil {
				return
			}
			c.bursts.Done()
		}
		if err == nil && c.handleFrame(binary, data, tooLarge) {
			continue
		}
		if err != nil {
			c.srv.log.Debug("live: connection ended", "conn", c.id, "err", err)
			c.readEnded(err)
		}
		c.close(0, "", false)
		c.endAsync()
		return
	}
}

// readEnded records why reading ended, before the teardown: whether the
// client left on purpose (ErrClientLeft).
func (c *conn) readEnded(err error) {
	if errors.Is(err, ErrClientLeft) {
		c.left.Store(true)
	}
	c.close(0, "", false)
}

// endAsync tears an asynchronously served connection down, once, on a
// goroutine of its own (teardown waits for the flusher and the bursts,
// which may be the callers).
func (c *conn) endAsync() {
	c.endOnce.Do(func() { go c.teardown() })
}

// handleFrame handles one message read from the socket; false means the
// connection ended while the frame waited for the worker.
func (c *conn) handleFrame(binary bool, data []byte, tooLarge bool) bool {
	s := c.srv
	if c.limited && !c.bucket.Allow(time.Now()) {
		s.observeRateLimited(c)
		c.pushData(sendq.Message, msgRateLimited)
		return true
	}
	if tooLarge {
		c.pushData(sendq.Message, msgTooLarge)
		return true
	}
	if binary {
		s.handleBinary(c, data)
		return true
	}
	if s.opts.MaxJSONDepth >= 0 {
		if _, exceeded := protocol.Depth(data, s.opts.MaxJSONDepth); exceeded {
			c.pushError(protocol.DepthError(s.opts.MaxJSONDepth), "", "")
			return true
		}
	}
	// The read buffer is reused by the next Read: the worker gets a copy
	// (the Envelope's fields point into it).
	frame := append([]byte(nil), data...)
	env, perr := protocol.Parse(frame)
	if perr != nil {
		c.pushData(sendq.Message, protocol.AppendErrorReply(nil, perr))
		return true
	}
	if env.Type == protocol.TypePing {
		return true
	}
	return c.submit(env)
}

// maxQueuedFrames bounds the frames waiting for a connection's worker; the
// reader (and so TCP) waits beyond it.
const maxQueuedFrames = 256

// submit hands a frame to the connection's worker, starting it if idle.
// It reports false when the connection ended while waiting for room.
func (c *conn) submit(env protocol.Envelope) bool {
	if c.runInline(&env) {
		return true
	}
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

// runInline runs a call of a known-fast action (actionInfo.inlineable), or
// the mount of a component whose mounts are known fast (singletons never:
// clustered, their mount may wait for the backend), on the caller, the
// connection's reader, when the worker has nothing queued and is not
// running anything: frames stay in order (only the reader submits), and the
// request needs no goroutine hand-off. It reports whether it ran the frame.
func (c *conn) runInline(env *protocol.Envelope) bool {
	switch env.Type {
	case protocol.TypeCallAction:
		in := c.owned(env.ComponentID)
		if in == nil {
			return false
		}
		if info := in.def.actions[env.Action]; info == nil || !info.inlineable() {
			return false
		}
	case protocol.TypeComponentMount:
		def := c.srv.lookupDef(env.Component)
		if def == nil || def.singleton || !def.mountFast.known() {
			return false
		}
	default:
		return false
	}
	c.workMu.Lock()
	busy := c.working && (!c.workerIdle || len(c.work) > 0)
	c.workMu.Unlock()
	if busy {
		return false
	}
	c.q.Hold()
	c.srv.dispatch(c, env)
	if c.q.ReleaseQuiet() {
		c.flushInline()
	}
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
		if c.q.ReleaseQuiet() {
			c.flushInline()
		}
		<-c.workSlot
		for {
			c.workMu.Lock()
			if len(c.work) > 0 {
				env = c.work[0]
				c.work[0] = protocol.Envelope{}
				c.work = c.work[1:]
				c.workerIdle = false
				c.workMu.Unlock()
				break
			}
			c.workerIdle = true // runInline may run frames meanwhile
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
				c.workerIdle = false
				c.work = nil
				c.workMu.Unlock()
				return
			}
			c.workMu.Unlock()
		}
	}
}

// kick makes sure a flusher will look at the queue: it wakes a parked
// one, or starts one when none runs. The queue calls it after pushes.
func (c *conn) kick() {
	select {
	case c.flushWake <- struct{}{}:
	default:
	}
	if c.flushState.CompareAndSwap(flushIdle, flushRunning) {
		c.handOff()
	}
}

// handOff gives the flusher role, which the caller holds, to the writer
// pool when the socket can write without waiting, else to a flusher
// goroutine of its own.
func (c *conn) handOff() {
	if c.tw != nil {
		c.srv.writers.add(c)
		return
	}
	go c.flushLoop(flushAsync)
}

// flushInline writes what a request queued on the goroutine that handled
// it (the worker, or the reader for an inline action), saving the hand-off
// to another goroutine: when no flusher runs, or when one is parked
// waiting for more (it gets the role back afterwards). Else it leaves the
// queue to the running flusher.
func (c *conn) flushInline() {
	if c.flushState.CompareAndSwap(flushIdle, flushRunning) {
		c.flushLoop(flushOwn)
		return
	}
	if c.flushState.CompareAndSwap(flushParked, flushRunning) {
		c.flushLoop(flushBorrowed)
		return
	}
	c.kick()
}

// flushYields is how many times a flusher started by a push from
// elsewhere (fan-out) yields before it takes its batch. Each yield lets
// every other runnable goroutine run once, so the wait grows with the load
// and is nothing on an idle server. Measured with a singleton fan-out
// (N=1000, S=10; docs/benchmarks.md), 3 yields instead of 1 took 3.0 → 3.4
// deliveries per write and 0.88× the CPU per delivery (median of 8
// alternating pairs), with an unchanged or lower p99; 6 and 10 were no
// better than 3.
const flushYields = 3

// flushMode says how a flushLoop holds the flusher role.
type flushMode int

const (
	flushAsync    flushMode = iota // a goroutine of its own, started by kick; parks for more
	flushOwn                       // inline, the role was idle: writes what there is and goes back
	flushBorrowed                  // inline, taken from a parked flusher: given back to it after
)

// writerLinger is how long a flusher started by kick stays parked waiting
// for more before exiting: a connection receiving a stream keeps one, an
// idle one has none.
const writerLinger = 50 * time.Millisecond

// flushScratch is a flusher's working memory, pooled between flushers so
// an idle connection holds none.
type flushScratch struct {
	framer sendq.Framer
	spare  []sendq.Item
}

var flushScratchPool = sync.Pool{New: func() any { return new(flushScratch) }}

func getFlushScratch() *flushScratch {
	sc := flushScratchPool.Get().(*flushScratch)
	sc.framer.Merge = nil
	if writerMergeEnabled {
		sc.framer.Merge = diff.Merge
	}
	return sc
}

func putFlushScratch(sc *flushScratch) {
	clear(sc.spare)
	sc.spare = sc.spare[:0]
	flushScratchPool.Put(sc)
}

// flushLoop is the flusher: the only code that writes to the socket, run
// by at most one goroutine at a time, the holder of the role (flushState
// is flushRunning). See flushMode for who runs it.
func (c *conn) flushLoop(mode flushMode) {
	async := mode == flushAsync
	sc := getFlushScratch()
	defer putFlushScratch(sc)
	var linger *time.Timer
	defer func() {
		if linger != nil {
			linger.Stop()
		}
	}()
	for {
		select {
		case <-c.flushWake:
		default:
		}
		select {
		case <-c.stop:
			c.finish(sc)
			return
		default:
		}
		if err := c.flushKept(); err != nil {
			c.srv.log.Debug("live: write failed", "conn", c.id, "err", err)
			c.close(0, "", false)
			continue
		}
		if c.resyncDue {
			c.resyncDue = false
			c.srv.resync(c)
		}
		if async {
			// Yield before taking the batch: under load, messages pushed
			// meanwhile join this frame (one write for several
			// deliveries); when idle, the scheduler runs us again at once.
			for range flushYields {
				runtime.Gosched()
			}
		}
		batch, resync := c.q.Take(sc.spare)
		if resync {
			c.srv.resync(c)
		}
		c.writeBatch(sc, batch, c.write)
		switch {
		case async:
			if c.q.Pending() || c.park(&linger) {
				continue
			}
			return
		case mode == flushBorrowed:
			// Newer messages, if any, are the parked flusher's: the
			// worker returns to its frames.
			c.unborrow()
			return
		case c.q.Pending():
			// Newer messages (fan-out from elsewhere): the pool or a
			// flusher of its own takes over, so the worker returns to its
			// frames.
			c.handOff()
			return
		}
		c.flushState.Store(flushIdle)
		// A push that came after our last look found a flusher running
		// and only woke it: take the role back (unless another flusher
		// already did).
		if !c.q.Pending() || !c.flushState.CompareAndSwap(flushIdle, flushRunning) {
			return
		}
	}
}

// writeBatch frames and writes a batch taken from the queue with write (a
// failure drops the connection), then keeps its array as sc's spare.
func (c *conn) writeBatch(sc *flushScratch, batch []sendq.Item, write func(bool, []byte) error) {
	if len(batch) > 0 {
		if err := sc.framer.Frames(batch, write); err != nil {
			c.srv.log.Debug("live: write failed", "conn", c.id, "err", err)
			c.close(0, "", false)
		}
	}
	clear(batch)
	sc.spare = batch[:0]
}

// park gives the role up while the flusher goroutine waits up to
// writerLinger for more, so that an inline flush may borrow it meanwhile.
// It reports true when the goroutine holds the role again (a kick woke it),
// false when it is to exit: nothing came, or the connection's final flush
// ran.
func (c *conn) park(linger **time.Timer) bool {
	c.flushState.Store(flushParked)
	if c.q.Pending() && c.flushState.CompareAndSwap(flushParked, flushRunning) {
		return true // a push raced with the store: its kick only woke us
	}
	lastWork := time.Now()
	if *linger == nil {
		*linger = time.NewTimer(writerLinger)
	}
	// The timer is armed once and, when it fires early, re-armed for what
	// is left: a busy flusher does not reset a timer per batch.
	for {
		select {
		case <-c.flushWake:
			if c.flushState.CompareAndSwap(flushParked, flushRunning) {
				return true
			}
		case <-(*linger).C:
			if left := writerLinger - time.Since(lastWork); left > 0 {
				(*linger).Reset(left)
				continue
			}
			(*linger).Reset(writerLinger) // for a next park
			if c.flushState.CompareAndSwap(flushParked, flushIdle) {
				// A push whose kick only woke us (this select took the
				// timer) is ours: take the role back unless another
				// flusher already did.
				return c.q.Pending() && c.flushState.CompareAndSwap(flushIdle, flushRunning)
			}
			lastWork = time.Now() // borrowed: wait for it to come back
		}
		if c.flushState.Load() == flushDone {
			return false
		}
	}
}

// unborrow gives the role back to the parked flusher it was borrowed from,
// waking it when there is work for it: messages pushed while the role was
// borrowed (their kicks found it taken), or the connection closing.
func (c *conn) unborrow() {
	c.flushState.Store(flushParked)
	stopping := false
	select {
	case <-c.stop:
		stopping = true
	default:
	}
	if stopping || c.q.Pending() {
		select {
		case c.flushWake <- struct{}{}:
		default:
		}
	}
}

// finish is the connection's final flush: the queue if the close asked for
// it, then the close frame (or none), then the socket is closed.
func (c *conn) finish(sc *flushScratch) {
	c.flushState.Store(flushDone)
	if c.closeFlush {
		batch, _ := c.q.Take(sc.spare)
		_ = sc.framer.Frames(batch, c.write)
		clear(batch)
		sc.spare = batch[:0]
	}
	if c.closeCode != 0 {
		c.beginWrite()
		_ = c.sock.Close(c.closeCode, c.closeReason)
		c.endWrite()
	} else {
		_ = c.sock.CloseNow()
	}
	close(c.writerDone)
	if c.async {
		c.endAsync() // no reader is waiting to see the socket close
	}
}

// startPings arms the connection's transport-level liveness probe when the
// socket has one: a timer, not a goroutine, between pings.
func (c *conn) startPings() {
	pinger, ok := c.sock.(Pinger)
	if !ok || c.srv.opts.PingInterval <= 0 {
		return
	}
	interval := c.srv.opts.PingInterval
	c.pingMu.Lock()
	c.pingTimer = time.AfterFunc(interval, func() {
		c.pingMu.Lock()
		if c.pingStopped {
			c.pingMu.Unlock()
			return
		}
		c.pings.Add(1)
		c.pingMu.Unlock()
		defer c.pings.Done()
		ctx, cancel := context.WithTimeout(c.ctx, interval)
		err := pinger.Ping(ctx)
		cancel()
		if err != nil && c.ctx.Err() == nil {
			c.srv.log.Info("live: ping failed, dropping connection", "conn", c.id, "err", err)
			c.close(0, "", false)
			return
		}
		c.pingMu.Lock()
		if !c.pingStopped {
			c.pingTimer.Reset(interval)
		}
		c.pingMu.Unlock()
	})
	c.pingMu.Unlock()
}

// stopPings stops the probe and waits for a running ping to end.
func (c *conn) stopPings() {
	c.pingMu.Lock()
	c.pingStopped = true
	if c.pingTimer != nil {
		c.pingTimer.Stop()
	}
	c.pingMu.Unlock()
	c.pings.Wait()
}

func (c *conn) write(binary bool, data []byte) error {
	c.beginWrite()
	err := c.sock.Write(context.Background(), binary, data)
	c.endWrite()
	c.srv.observeWrite(c, len(data))
	return err
}

// close asks the writer to finish: flush the queue first if flush is set,
// then send a close frame with code (0 = drop the socket without one). Only
// the first call counts.
func (c *conn) close(code int, reason string, flush bool) {
	c.closeOnce.Do(func() {
		c.closeCode, c.closeReason, c.closeFlush = code, reason, flush
		close(c.stop)
		c.q.Close() // kicks the flusher, which sees stop
	})
}

// teardown runs once reading ended (on the reader goroutine, or on one of
// its own for read bursts): it waits for the final flush, the bursts and
// the worker, detaches every component and unregisters the connection.
func (c *conn) teardown() {
	c.close(0, "", false)
	<-c.writerDone
	c.cancel()       // running actions see their Ctx cancelled
	c.bursts.Wait()  // no frame is being read (async connections)
	c.workers.Wait() // and the worker finishes before components are detached
	c.stopPings()
	c.wtimer.Stop()

	c.mu.Lock()
	comps := c.comps.tearDown()
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
	in := c.comps.get(id)
	c.mu.Unlock()
	return in
}

func (c *conn) addComp(in *instance) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.comps.add(in.id, in) // false: torn down
}

func (c *conn) removeComp(id string) *instance {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.comps.remove(id)
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
