package livenats

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	live "github.com/live-go/live"
	"github.com/nats-io/nats.go"
)

// subject returns the NATS subject of a core subject, or ErrNameTooLong.
func (c *Cluster) subject(s string) (string, error) {
	enc := encodeName(s)
	if len(enc) > maxEncodedName {
		return "", fmt.Errorf("%w: subject of %d bytes", ErrNameTooLong, len(s))
	}
	return c.subjPre + enc, nil
}

// Publish sends data on subject with core NATS (at most once, no
// persistence) and returns once the server accepted it: a message another
// node publishes after that is delivered after this one. The confirmation
// is a PING/PONG round trip shared by every Publish waiting at the time,
// so concurrent publishers pay for one round trip together, and nats.go
// writes their messages in few batches. The caller may reuse data at once.
//
// While the connection is reconnecting, Publish returns once the message
// is buffered (nats.go's reconnect buffer, 8 MiB by default); it is sent
// when the connection is back, and Publish fails once that buffer is full.
func (c *Cluster) Publish(ctx context.Context, subject string, data []byte) error {
	if err := c.checkOpen(ctx); err != nil {
		return err
	}
	subj, err := c.subject(subject)
	if err != nil {
		return err
	}
	if err := c.nc.Publish(subj, data); err != nil {
		return c.callErr(ctx, "publish", err)
	}
	c.published.Add(1)
	if c.nc.Status() != nats.CONNECTED {
		return nil // buffered until the connection is back
	}
	if err := c.confirm(ctx); err != nil {
		return c.callErr(ctx, "publish", err)
	}
	return nil
}

// flushGroup is the publishes confirmed by one round trip.
type flushGroup struct {
	done chan struct{}
	err  error // set before done is closed
}

// confirm waits until the server processed everything this node wrote
// before the call. Callers arriving while a round trip is under way wait
// for the next one, which they share.
func (c *Cluster) confirm(ctx context.Context) error {
	c.fmu.Lock()
	g := c.fnext
	if g == nil {
		g = &flushGroup{done: make(chan struct{})}
		c.fnext = g
	}
	c.fmu.Unlock()
	select {
	case c.fkick <- struct{}{}:
	default: // the flusher is awake already
	}
	select {
	case <-g.done:
		return g.err
	case <-ctx.Done():
		return ctx.Err()
	case <-c.stop:
		return ErrClosed
	}
}

// flushLoop runs the round trips confirm waits for, one at a time, until
// Close.
func (c *Cluster) flushLoop() {
	defer close(c.fdone)
	for {
		select {
		case <-c.stop:
			return
		case <-c.fkick:
		}
		c.fmu.Lock()
		g := c.fnext
		c.fnext = nil
		c.fmu.Unlock()
		if g == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), c.opts.PublishTimeout)
		g.err = c.nc.FlushWithContext(ctx)
		cancel()
		close(g.done)
	}
}

// subscription is one Subscribe of a Cluster.
type subscription struct {
	c       *Cluster
	ns      *nats.Subscription
	fn      func([]byte)
	closed  atomic.Bool
	once    sync.Once
	seenDrp atomic.Int64 // drops already counted
}

// Subscribe calls fn for each message on subject. Every subscription is a
// nats.go asynchronous subscription with its own goroutine: fn runs there,
// one message at a time in arrival order, and a slow fn delays only its
// own subscription. Received messages wait within Options.MaxPendingMsgs
// and MaxPendingBytes; past them they are dropped and counted.
//
// Subscribe returns once the server registered the subscription (a round
// trip), so a message published afterwards from any node reaches it. While
// the connection is reconnecting, it returns at once and nats.go subscribes
// when the connection is back.
func (c *Cluster) Subscribe(ctx context.Context, subject string, fn func(data []byte)) (live.Subscription, error) {
	if err := c.checkOpen(ctx); err != nil {
		return nil, err
	}
	subj, err := c.subject(subject)
	if err != nil {
		return nil, err
	}
	s := &subscription{c: c, fn: fn}
	c.mu.Lock()
	if c.closed.Load() {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	ns, err := c.nc.Subscribe(subj, s.handle)
	if err != nil {
		c.mu.Unlock()
		return nil, c.callErr(ctx, "subscribe", err)
	}
	s.ns = ns
	c.subs[s] = struct{}{}
	c.mu.Unlock()
	if err := ns.SetPendingLimits(c.opts.MaxPendingMsgs, c.opts.MaxPendingBytes); err != nil {
		_ = s.Close()
		return nil, c.callErr(ctx, "subscribe", err)
	}
	if c.nc.Status() != nats.CONNECTED {
		return s, nil // registered with the server on reconnection
	}
	fctx, cancel := context.WithTimeout(ctx, c.opts.SubscribeTimeout)
	defer cancel()
	if err := c.nc.FlushWithContext(fctx); err != nil && !c.nc.IsReconnecting() {
		_ = s.Close()
		return nil, c.callErr(ctx, "subscribe", err)
	}
	return s, nil
}

// handle is the nats.go message handler of s.
func (s *subscription) handle(m *nats.Msg) {
	if s.closed.Load() {
		return
	}
	s.syncDropped()
	s.c.delivered.Add(1)
	s.fn(m.Data)
}

// syncDropped adds the drops nats.go counted since the last call to the
// Cluster's counter and reports them.
func (s *subscription) syncDropped() {
	n, err := s.ns.Dropped()
	if err != nil {
		return // unsubscribed
	}
	for {
		seen := s.seenDrp.Load()
		if int64(n) <= seen {
			return
		}
		if s.seenDrp.CompareAndSwap(seen, int64(n)) {
			d := uint64(int64(n) - seen)
			s.c.dropped.Add(d)
			s.c.log.Warn("livenats: slow subscription dropped messages", "subject", s.ns.Subject, "dropped", d)
			s.c.fail("deliver", fmt.Errorf("%w: %d on %s", ErrSlowConsumer, d, s.ns.Subject))
			return
		}
	}
}

// Close stops delivery: after it returns the handler is not called again
// (a call already running completes). It is idempotent and may be called
// from the subscription's own handler.
func (s *subscription) Close() error {
	s.c.mu.Lock()
	delete(s.c.subs, s)
	s.c.mu.Unlock()
	return s.unsubscribe()
}

func (s *subscription) unsubscribe() error {
	var err error
	s.once.Do(func() {
		s.syncDropped()
		s.closed.Store(true)
		err = s.ns.Unsubscribe()
		if errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrBadSubscription) {
			err = nil // the connection or subscription is gone already
		}
	})
	if err != nil {
		return fmt.Errorf("livenats: unsubscribe: %w", err)
	}
	return nil
}

// flushTimeout is how long Flush waits at most when the caller's context
// has no deadline.
const flushTimeout = 5 * time.Second

// Flush waits until the server processed everything this node sent so far
// (a round trip): after it, messages published before are on their way to
// every subscriber.
func (c *Cluster) Flush(ctx context.Context) error {
	if err := c.checkOpen(ctx); err != nil {
		return err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, flushTimeout)
		defer cancel()
	}
	if err := c.nc.FlushWithContext(ctx); err != nil {
		return c.callErr(ctx, "flush", err)
	}
	return nil
}
