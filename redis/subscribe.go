package liveredis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"

	live "github.com/live-go/live"
	"github.com/redis/go-redis/v9"
)

// subscription is one Subscribe call's handler with its queue.
type subscription struct {
	c       *Cluster
	channel string
	fn      func([]byte)

	mu      sync.Mutex
	queue   [][]byte
	running bool // a goroutine is draining queue
	closed  bool
}

// Subscribe calls fn for each message on subject, one at a time and in
// order, until the subscription is closed. It returns once Redis confirmed
// the subscription (waiting at most until ctx ends or SubscribeTimeout), so
// every message published afterwards is delivered.
func (c *Cluster) Subscribe(ctx context.Context, subject string, fn func(data []byte)) (live.Subscription, error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	s := &subscription{c: c, channel: c.prefix + subject, fn: fn}
	c.subMu.Lock()
	defer c.subMu.Unlock()
	c.mu.Lock()
	if c.closed.Load() {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	if subs := c.channels[s.channel]; len(subs) > 0 {
		// Redis already sends this node the channel's messages.
		c.channels[s.channel] = append(slices.Clip(subs), s)
		c.mu.Unlock()
		return s, nil
	}
	// Registered before SUBSCRIBE: whatever Redis sends from then on is
	// delivered.
	c.channels[s.channel] = []*subscription{s}
	confirmed := make(chan struct{})
	c.waiters[s.channel] = append(c.waiters[s.channel], confirmed)
	c.mu.Unlock()

	wctx, cancel := context.WithTimeout(ctx, c.opts.SubscribeTimeout)
	defer cancel()
	err := c.ps.Load().Subscribe(wctx, s.channel)
	c.wake()
	if err == nil {
		select {
		case <-confirmed:
		case <-wctx.Done():
			err = fmt.Errorf("waiting for the confirmation: %w", wctx.Err())
		case <-c.stop:
			err = ErrClosed
		}
	}
	c.mu.Lock()
	c.waiters[s.channel] = slices.DeleteFunc(c.waiters[s.channel], func(w chan struct{}) bool { return w == confirmed })
	if len(c.waiters[s.channel]) == 0 {
		delete(c.waiters, s.channel)
	}
	if err == nil && !c.closed.Load() {
		c.mu.Unlock()
		return s, nil
	}
	if !c.closed.Load() {
		delete(c.channels, s.channel) // subMu held: still just s
	}
	c.mu.Unlock()
	s.markClosed()
	if err == ErrClosed || c.closed.Load() {
		return nil, ErrClosed
	}
	// Forget the channel (go-redis would subscribe again on reconnect).
	uctx, ucancel := context.WithTimeout(context.Background(), c.opts.SubscribeTimeout)
	defer ucancel()
	_ = c.ps.Load().Unsubscribe(uctx, s.channel)
	return nil, c.callErr(ctx, "subscribe", err)
}

// Close stops delivery; a handler already running completes. The last
// subscription of a subject on this node unsubscribes from Redis.
func (s *subscription) Close() error {
	if !s.markClosed() {
		return nil
	}
	c := s.c
	c.subMu.Lock()
	defer c.subMu.Unlock()
	c.mu.Lock()
	subs, ok := c.channels[s.channel]
	subs = slices.DeleteFunc(slices.Clone(subs), func(x *subscription) bool { return x == s })
	if len(subs) > 0 {
		c.channels[s.channel] = subs
	} else {
		delete(c.channels, s.channel)
	}
	c.mu.Unlock()
	if !ok || len(subs) > 0 || c.closed.Load() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.SubscribeTimeout)
	defer cancel()
	if err := c.ps.Load().Unsubscribe(ctx, s.channel); err != nil {
		// Delivery has stopped regardless, and go-redis forgot the channel.
		c.fail("unsubscribe", err)
	}
	return nil
}

// markClosed stops the subscription's delivery; it reports whether it was
// open.
func (s *subscription) markClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.closed = true
	s.queue = nil
	return true
}

// enqueue queues a message for the handler. Called by the receiving
// goroutine only.
func (s *subscription) enqueue(data []byte) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	if len(s.queue) >= s.c.opts.MaxPending {
		s.mu.Unlock()
		s.c.dropped.Add(1)
		s.c.fail("deliver", ErrSlowConsumer)
		return
	}
	s.queue = append(s.queue, data)
	if !s.running {
		s.running = true
		s.c.workers.Add(1)
		go s.drain()
	}
	s.mu.Unlock()
}

// drain runs the handler on queued messages until the queue is empty.
func (s *subscription) drain() {
	defer s.c.workers.Done()
	for {
		s.mu.Lock()
		if s.closed || len(s.queue) == 0 {
			s.running = false
			s.mu.Unlock()
			return
		}
		data := s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		s.mu.Unlock()
		s.fn(data)
		s.c.delivered.Add(1)
	}
}

// wake ends the receiving goroutine's backoff, if it is in one.
func (c *Cluster) wake() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// receiveLoop reads the subscription connection: confirmations, messages
// and pongs. On errors it backs off and tries again; go-redis reconnects
// and subscribes again to every channel.
func (c *Cluster) receiveLoop() {
	defer close(c.loopDone)
	failures := 0
	pinged := false
	for {
		ps := c.ps.Load()
		msg, err := ps.ReceiveTimeout(context.Background(), c.opts.PingInterval)
		if c.closed.Load() {
			return
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && failures == 0 {
				if !pinged {
					pinged = true
					if err := ps.Ping(context.Background()); err != nil {
						c.fail("ping", err)
					}
					continue
				}
				// No answer to the PING for a whole interval: the
				// connection is dead without having said so.
				err = fmt.Errorf("no answer to PING within %v", c.opts.PingInterval)
				c.replacePubSub()
			}
			pinged = false
			failures++
			c.fail("receive", err)
			if failures == 1 {
				c.log.Warn("liveredis: subscription connection failed; retrying", "node", c.id, "err", err)
			}
			if !c.backoff(failures) {
				return
			}
			continue
		}
		pinged = false
		if failures > 0 {
			failures = 0
			c.reconnected()
		}
		switch m := msg.(type) {
		case *redis.Message:
			c.dispatch(m.Channel, m.Payload)
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				c.confirm(m.Channel)
			}
		}
	}
}

// backoff waits before the next receive attempt: 20 ms doubling to 1 s, or
// less when a Subscribe call wakes it. It reports false when the Cluster
// closed.
func (c *Cluster) backoff(failures int) bool {
	d := 20 * time.Millisecond << min(failures-1, 6)
	d = min(d, time.Second)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-c.kick:
	case <-c.stop:
		return false
	}
	return true
}

// replacePubSub swaps in a new subscription connection subscribed to every
// channel, and closes the old one. A Subscribe or Close racing with it
// changes c.channels before loading c.ps, so either it uses the new PubSub
// or the new one already has its change.
func (c *Cluster) replacePubSub() {
	fresh := c.rdb.Subscribe(context.Background())
	old := c.ps.Swap(fresh)
	_ = old.Close()
	if c.closed.Load() {
		// Close may have closed old rather than fresh: close both.
		_ = fresh.Close()
		return
	}
	c.mu.Lock()
	names := make([]string, 0, len(c.channels)+len(c.waiters))
	for ch := range c.channels {
		names = append(names, ch)
	}
	for ch := range c.waiters {
		if c.channels[ch] == nil {
			names = append(names, ch)
		}
	}
	c.mu.Unlock()
	if len(names) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), c.opts.SubscribeTimeout)
		// On failure go-redis still records the channels and subscribes
		// when it connects.
		_ = fresh.Subscribe(ctx, names...)
		cancel()
	}
}

// reconnected counts a recovered connection and runs the OnReconnect hooks.
func (c *Cluster) reconnected() {
	c.reconnects.Add(1)
	c.log.Info("liveredis: subscription connection restored", "node", c.id)
	c.mu.Lock()
	hooks := make([]func(), 0, len(c.hooks))
	for _, fn := range c.hooks {
		hooks = append(hooks, fn)
	}
	c.mu.Unlock()
	for _, fn := range hooks {
		c.workers.Add(1)
		go func() {
			defer c.workers.Done()
			fn()
		}()
	}
}

// confirm wakes the Subscribe calls waiting for channel.
func (c *Cluster) confirm(channel string) {
	c.mu.Lock()
	for _, w := range c.waiters[channel] {
		close(w)
	}
	delete(c.waiters, channel)
	c.mu.Unlock()
}

// dispatch queues a message for the channel's local subscriptions.
func (c *Cluster) dispatch(channel, payload string) {
	c.mu.Lock()
	subs := c.channels[channel]
	c.mu.Unlock()
	if len(subs) == 0 {
		return
	}
	data := []byte(payload)
	for _, s := range subs {
		s.enqueue(data)
	}
}
