package live

import (
	"os"
	"runtime"
	"sync"
	"time"
)

// Fan-out writes go through a small pool of writer goroutines instead of a
// flusher goroutine per connection. When one update reaches a thousand
// connections, a goroutine per connection costs a wake-up, a few yields and
// a park for every one of them; a pool worker takes the connections in
// turn and writes each one's queue with a write that never waits for the
// peer. A connection whose socket cannot take everything (a slow reader),
// one that must resend its state (resync) or one that is closing is handed
// to a flusher goroutine of its own, which may wait: a slow client never
// holds up a pool worker.
//
// Only sockets that can write without waiting (tryWriter: the built-in
// WebSocket transport on Linux) use the pool; the others keep a flusher
// goroutine per busy connection.

// writerPoolDisabled, set from the environment variable
// LIVE_WRITER_POOL=0, gives every connection a flusher goroutine of its own
// as before the pool: an A/B switch for benchmarks.
var writerPoolDisabled = os.Getenv("LIVE_WRITER_POOL") == "0"

// tryWriter is an optional Socket capability: a write that never waits.
type tryWriter interface {
	// TryWrite sends one message without waiting: what the socket cannot
	// take now is kept and goes out first with the next Write or Flush.
	// It reports whether bytes are kept.
	TryWrite(binary bool, data []byte) (kept bool, err error)
	// Flush sends the kept bytes, waiting for the peer.
	Flush() error
}

// writerChunk is how many ready connections a pool worker takes at a time,
// so that the workers share a long queue.
const writerChunk = 32

// connQueue is the pool's FIFO of ready connections. Taking from the front
// only advances head, so the array is reused; its taken prefix is reclaimed
// when the queue empties, and also when an append would grow the array
// while at least half of it is taken: under sustained load the queue may
// never quite empty, and the array must not grow with every connection
// ever queued. An emptied array much larger than connQueueKeep is dropped,
// so a burst (ten thousand connections closing at once) does not pin its
// memory.
type connQueue struct {
	buf  []*conn
	head int
}

// connQueueKeep is the capacity an emptied queue keeps for reuse.
const connQueueKeep = 1024

func (q *connQueue) len() int { return len(q.buf) - q.head }

func (q *connQueue) push(c *conn) {
	if len(q.buf) == cap(q.buf) && q.head > 0 && q.head >= len(q.buf)/2 {
		n := copy(q.buf, q.buf[q.head:])
		clear(q.buf[n:])
		q.buf, q.head = q.buf[:n], 0
	}
	q.buf = append(q.buf, c)
}

// take moves up to k connections from the front of q to dst.
func (q *connQueue) take(dst []*conn, k int) []*conn {
	k = min(k, q.len())
	dst = append(dst, q.buf[q.head:q.head+k]...)
	clear(q.buf[q.head : q.head+k])
	q.head += k
	if q.head == len(q.buf) {
		q.head = 0
		if cap(q.buf) > connQueueKeep {
			q.buf = nil
		} else {
			q.buf = q.buf[:0]
		}
	}
	return dst
}

// writerPool runs the pool workers. Workers start on demand, up to max
// (GOMAXPROCS), and exit after writerLinger without work: an idle server
// holds none.
type writerPool struct {
	mu      sync.Mutex
	ready   connQueue // connections waiting for a worker
	workers int       // running
	idle    int       // running and waiting for work
	max     int
	wake    chan struct{}
	once    sync.Once
}

// add queues c, whose flusher role the caller holds, for a worker.
func (p *writerPool) add(c *conn) {
	p.once.Do(func() {
		p.max = max(1, runtime.GOMAXPROCS(0))
		p.wake = make(chan struct{}, p.max)
	})
	p.mu.Lock()
	p.ready.push(c)
	start, wake := false, false
	switch {
	case p.idle > 0:
		wake = true
	case p.workers < p.max:
		p.workers++
		start = true
	}
	p.mu.Unlock()
	if start {
		go p.work()
	} else if wake {
		select {
		case p.wake <- struct{}{}:
		default: // enough wake-ups are pending
		}
	}
}

// work is a pool worker: it writes ready connections until none has been
// ready for writerLinger.
func (p *writerPool) work() {
	sc := getFlushScratch()
	defer putFlushScratch(sc)
	linger := time.NewTimer(writerLinger)
	defer linger.Stop()
	var turn []*conn
	for {
		p.mu.Lock()
		for p.ready.len() == 0 {
			p.idle++
			p.mu.Unlock()
			linger.Reset(writerLinger)
			timedOut := false
			select {
			case <-p.wake:
			case <-linger.C:
				timedOut = true
			}
			p.mu.Lock()
			p.idle--
			if timedOut && p.ready.len() == 0 {
				p.workers--
				p.mu.Unlock()
				return
			}
		}
		turn = p.ready.take(turn[:0], writerChunk)
		p.mu.Unlock()
		// Yield before writing, as a flusher goroutine does: deltas pushed
		// meanwhile join these connections' frames. Once per chunk, it
		// costs little; measured (singleton fan-out, S = 10, alternating
		// pairs), CPU per delivery 2.0 vs 4.1 µs at N = 100 and 3.0 vs
		// 3.2 at N = 1000, room fan-out 4.8 vs 5.5 at N = 1000; 8 yields
		// were no better than 3.
		for range flushYields {
			runtime.Gosched()
		}
		for _, c := range turn {
			c.poolFlush(sc)
		}
		clear(turn)
	}
}

// poolFlush is a connection's turn on a pool worker; the worker holds the
// flusher role for it. It writes what is queued without waiting, then
// gives the role up, or hands it to a flusher goroutine of its own when
// what is left may need to wait.
func (c *conn) poolFlush(sc *flushScratch) {
	select {
	case <-c.stop:
		// The final flush waits for the peer (the close handshake).
		go c.flushLoop(flushAsync)
		return
	default:
	}
	select {
	case <-c.flushWake: // the push that queued us kicked; nothing is parked
	default:
	}
	batch, resync := c.q.Take(sc.spare)
	c.writeBatch(sc, batch, c.tryWrite)
	if resync || c.kept {
		// Kept bytes wait for the peer; a resync takes component locks an
		// action may hold. Either is for a goroutine of its own.
		c.resyncDue = resync
		go c.flushLoop(flushAsync)
		return
	}
	c.flushState.Store(flushIdle)
	// A push after our Take found the role held and only kicked: take it
	// back and queue again, behind the others.
	if c.q.Pending() && c.flushState.CompareAndSwap(flushIdle, flushRunning) {
		c.srv.writers.add(c)
	}
}

// tryWrite is poolFlush's write: it never waits, and notes kept bytes.
func (c *conn) tryWrite(binary bool, data []byte) error {
	kept, err := c.tw.TryWrite(binary, data)
	if kept {
		c.kept = true
	}
	c.srv.observeWrite(c, len(data))
	return err
}

// flushKept sends what a pool worker's writes left kept in the socket,
// waiting (watched by the write watchdog). Flusher role holder only.
func (c *conn) flushKept() error {
	if !c.kept {
		return nil
	}
	c.kept = false
	c.beginWrite()
	err := c.tw.Flush()
	c.endWrite()
	return err
}
