package liveredis

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// States of a pubReq.
const (
	reqQueued    = iota // waiting in the queue
	reqTaken            // taken by the publishing goroutine, which will answer
	reqAbandoned        // its caller gave up before it was taken; never sent
)

// pubReq is one Publish call waiting for the publishing goroutine.
type pubReq struct {
	channel string
	data    []byte
	state   atomic.Int32
	done    chan error // buffered; answered exactly once when taken
}

var reqPool = sync.Pool{New: func() any { return &pubReq{done: make(chan error, 1)} }}

func getReq(channel string, data []byte) *pubReq {
	r := reqPool.Get().(*pubReq)
	r.channel, r.data = channel, data
	r.state.Store(reqQueued)
	return r
}

func putReq(r *pubReq) {
	r.channel, r.data = "", nil
	reqPool.Put(r)
}

// Publish sends data to every subscriber of subject on every node, this one
// included. It returns once Redis accepted the message, or with the error
// of the send. ctx is honoured until the message is taken for sending
// (then the message was not sent); after that Publish waits for the
// pipeline, which Options.PublishTimeout bounds. data is not retained after
// Publish returns.
func (c *Cluster) Publish(ctx context.Context, subject string, data []byte) error {
	if c.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("liveredis: publish: %w", err)
	}
	r := getReq(c.prefix+subject, data)
	select {
	case c.pubq <- r:
	case <-ctx.Done():
		putReq(r)
		return fmt.Errorf("liveredis: publish: %w", ctx.Err())
	case <-c.pubDone:
		putReq(r)
		return ErrClosed
	}
	var stopped error
	select {
	case err := <-r.done:
		putReq(r)
		return c.publishErr(err)
	case <-ctx.Done():
		stopped = fmt.Errorf("liveredis: publish: %w", ctx.Err())
	case <-c.pubDone:
		stopped = ErrClosed
	}
	if r.state.CompareAndSwap(reqQueued, reqAbandoned) {
		// Never sent. The publishing goroutine recycles r if it meets it.
		return stopped
	}
	err := <-r.done // being sent: the pipeline answers soon
	putReq(r)
	return c.publishErr(err)
}

func (c *Cluster) publishErr(err error) error {
	if err == nil || err == ErrClosed {
		return err
	}
	return fmt.Errorf("liveredis: publish: %w", err)
}

// publishLoop sends queued messages, as many as are waiting (up to
// MaxPublishBatch) per round trip.
func (c *Cluster) publishLoop() {
	defer close(c.pubDone)
	batch := make([]*pubReq, 0, c.opts.MaxPublishBatch)
	for {
		select {
		case r := <-c.pubq:
			batch = append(batch, r)
		case <-c.stop:
			c.failQueued()
			return
		}
	fill:
		for len(batch) < cap(batch) {
			select {
			case r := <-c.pubq:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		c.flush(batch)
		clear(batch)
		batch = batch[:0]
	}
}

// flush sends the taken requests of batch and answers them.
func (c *Cluster) flush(batch []*pubReq) {
	n := 0
	for _, r := range batch {
		if r.state.CompareAndSwap(reqQueued, reqTaken) {
			batch[n] = r
			n++
		} else {
			putReq(r) // abandoned: its caller is gone
		}
	}
	batch = batch[:n]
	if n == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.PublishTimeout)
	defer cancel()
	c.batches.Add(1)
	if n == 1 {
		r := batch[0]
		err := c.rdb.Publish(ctx, r.channel, r.data).Err()
		c.answer(r, err)
		return
	}
	pipe := c.rdb.Pipeline()
	cmds := make([]*redis.IntCmd, n)
	for i, r := range batch {
		cmds[i] = pipe.Publish(ctx, r.channel, r.data)
	}
	_, _ = pipe.Exec(ctx) // each command carries its own error
	for i, r := range batch {
		c.answer(r, cmds[i].Err())
	}
}

func (c *Cluster) answer(r *pubReq, err error) {
	if err != nil {
		c.fail("publish", err)
	} else {
		c.published.Add(1)
	}
	r.done <- err
}

// failQueued answers every request still queued with ErrClosed.
func (c *Cluster) failQueued() {
	for {
		select {
		case r := <-c.pubq:
			if r.state.CompareAndSwap(reqQueued, reqTaken) {
				r.done <- ErrClosed
			} else {
				putReq(r)
			}
		default:
			return
		}
	}
}
