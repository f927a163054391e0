// Package sendq is the bounded per-connection outgoing queue (design §4,
// spec §12.2, §2.14).
//
// Producers (actions, fan-out, replies) Push already-encoded messages; the
// connection's single writer goroutine waits on Wake, Takes the whole batch and
// turns it into as few wire frames as possible with Frames: consecutive JSON
// messages become one JSON array frame and adjacent deltas of the same
// component are merged into one. A message is encoded once and the same bytes
// may sit in many queues.
//
// The queue is bounded in bytes. Above the soft limit every queued delta is
// dropped and a resync is requested (the writer then sends a fresh snapshot
// per component, which supersedes any delta of that component still queued).
// Above the hard limit Push fails with ErrFull and the owner closes the
// connection as a slow consumer. So a client that cannot keep up first loses
// intermediate deltas (healed by a snapshot), and is disconnected only if it
// stays stuck.
package sendq

import (
	"errors"
	"sync"
)

// Kind classifies a queued item.
type Kind uint8

const (
	// Message is an opaque JSON text message; never dropped.
	Message Kind = iota
	// Delta is a STATE_DELTA of one component (Key). It may be merged with
	// an adjacent delta of the same component, dropped on overflow, and is
	// superseded by a later Snapshot of the same component.
	Delta
	// Snapshot is a full state message (STATE_UPDATE) of one component. It
	// removes the queued deltas and snapshots of the same component.
	Snapshot
	// Binary is a binary frame; it is always sent as its own frame, in order.
	Binary
)

// Item is one queued message. Data is shared between queues and must never be
// modified after the first Push.
type Item struct {
	// Prefix, when set, is sent immediately before Data as part of the
	// same message: a per-recipient head (such as a room message's
	// recipient componentId) in front of a tail shared by all recipients.
	// It is never set on Delta items.
	Prefix []byte
	Data   []byte
	// Tails, when set, makes the item a run of len(Tails) JSON messages,
	// Prefix+Tails[i] each, taken and framed like as many Message items
	// (Data is then unused and Kind must be Message). One item carries a
	// whole batch of room notices to a member: the tails are shared by
	// every member and only the slice header is per recipient. Like Data,
	// the tails must never be modified after the first Push.
	Tails [][]byte
	Kind  Kind
	// Key identifies the component for Delta and Snapshot items.
	Key string
	// DeltaStart and DeltaEnd delimit the delta object inside Data (Delta
	// items only): Data[:DeltaStart] is the message prefix and Data[DeltaEnd:]
	// the suffix, so a merged delta can be spliced between the first item's
	// prefix and the last item's suffix.
	DeltaStart, DeltaEnd int
}

// Errors returned by Push.
var (
	// ErrClosed reports a push to a closed queue.
	ErrClosed = errors.New("sendq: queue closed")
	// ErrFull reports that the hard byte limit would be exceeded even after
	// dropping every delta: the consumer is too slow.
	ErrFull = errors.New("sendq: slow consumer")
)

// Stats are cumulative counters of one queue.
type Stats struct {
	Pushed      uint64 // items accepted
	Dropped     uint64 // deltas dropped on overflow or while a resync was pending
	Superseded  uint64 // deltas and snapshots removed by a newer snapshot
	Resyncs     uint64 // resync requests raised
	QueuedBytes int    // bytes currently queued
	QueuedItems int    // items currently queued
	// PeakBytes is the most bytes ever queued at once (a high-water mark
	// since New). It stays at or below the hard limit, except when a
	// single message larger than the hard limit entered an empty queue.
	PeakBytes int
}

// Queue is safe for concurrent use by any number of producers and one
// consumer.
type Queue struct {
	mu     sync.Mutex
	items  []Item
	bytes  int
	soft   int
	hard   int
	resync bool
	closed bool
	held   int // Hold depth: pushes do not wake the consumer while > 0
	peak   int // high-water mark of bytes
	stats  Stats
	wake   chan struct{}
	notify func() // replaces wake when set (NewNotify)
}

// Hold delays wake-ups until the matching Release, so everything produced
// while handling one request (deltas, emits, the reply) is taken as one
// batch and written as one frame. Holds nest.
func (q *Queue) Hold() {
	q.mu.Lock()
	q.held++
	q.mu.Unlock()
}

// Release ends a Hold and wakes the consumer if anything is queued.
func (q *Queue) Release() {
	q.mu.Lock()
	q.held--
	wake := q.held == 0 && (len(q.items) > 0 || q.resync || q.closed)
	q.mu.Unlock()
	if wake {
		q.signal()
	}
}

// New returns a queue with the given soft and hard byte limits. hard is raised
// to at least soft.
func New(soft, hard int) *Queue {
	if hard < soft {
		hard = soft
	}
	return &Queue{soft: soft, hard: hard, wake: make(chan struct{}, 1)}
}

// NewNotify returns a queue that calls notify, instead of signalling the
// Wake channel, whenever the consumer should look at it. notify is called
// without the queue's lock held, possibly concurrently, and must not block:
// it lets a connection start its writer on demand instead of keeping one
// parked per connection.
func NewNotify(soft, hard int, notify func()) *Queue {
	q := New(soft, hard)
	q.wake, q.notify = nil, notify
	return q
}

// ReleaseQuiet ends a Hold like Release but does not wake the consumer; it
// reports whether the consumer has something to do, so the caller can do
// it itself.
func (q *Queue) ReleaseQuiet() (pending bool) {
	q.mu.Lock()
	q.held--
	pending = q.held == 0 && (len(q.items) > 0 || q.resync || q.closed)
	q.mu.Unlock()
	return pending
}

// Wake returns the channel that receives a value whenever items are pushed
// or a resync is requested. It has a buffer of one: several pushes may
// produce a single wake-up.
func (q *Queue) Wake() <-chan struct{} { return q.wake }

// Push queues it. A Delta pushed while a resync is pending, or that does not
// fit under the soft limit, is dropped silently (the resync snapshot will
// carry its effect); that is not an error.
func (q *Queue) Push(it Item) error {
	n := it.size()
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return ErrClosed
	}
	if it.Kind == Delta && q.resync {
		q.stats.Dropped++
		q.mu.Unlock()
		return nil
	}
	if it.Kind == Snapshot {
		q.supersede(it.Key)
	}
	if q.bytes+n > q.soft {
		q.dropDeltas()
		if !q.resync {
			q.resync = true
			q.stats.Resyncs++
		}
		if it.Kind == Delta {
			q.stats.Dropped++
			q.mu.Unlock()
			q.signal()
			return nil
		}
		if q.bytes+n > q.hard && q.bytes > 0 {
			// One message larger than the bound still goes out when nothing
			// else is waiting: size alone does not make a slow consumer.
			q.mu.Unlock()
			q.signal()
			return ErrFull
		}
	}
	q.items = append(q.items, it)
	q.bytes += n
	q.peak = max(q.peak, q.bytes)
	q.stats.Pushed++
	held := q.held > 0
	q.mu.Unlock()
	if !held {
		q.signal()
	}
	return nil
}

// size is the item's byte count toward the queue limits.
func (it *Item) size() int {
	if it.Tails == nil {
		return len(it.Prefix) + len(it.Data)
	}
	n := len(it.Prefix) * len(it.Tails)
	for _, t := range it.Tails {
		n += len(t)
	}
	return n
}

func (q *Queue) signal() {
	if q.notify != nil {
		q.notify()
		return
	}
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// supersede removes queued deltas and snapshots of key. Called with mu held.
func (q *Queue) supersede(key string) {
	kept := q.items[:0]
	for _, it := range q.items {
		if (it.Kind == Delta || it.Kind == Snapshot) && it.Key == key {
			q.bytes -= it.size()
			q.stats.Superseded++
			continue
		}
		kept = append(kept, it)
	}
	clear(q.items[len(kept):])
	q.items = kept
}

// dropDeltas removes every queued delta. Called with mu held.
func (q *Queue) dropDeltas() {
	kept := q.items[:0]
	for _, it := range q.items {
		if it.Kind == Delta {
			q.bytes -= len(it.Data)
			q.stats.Dropped++
			continue
		}
		kept = append(kept, it)
	}
	clear(q.items[len(kept):])
	q.items = kept
}

// Take moves every queued item into spare (which it truncates first) and
// returns it, together with whether a resync was requested since the last
// Take; the request is cleared. Deltas pushed after Take returns are queued
// again, so the caller must push the resync snapshots after Take.
func (q *Queue) Take(spare []Item) (batch []Item, resync bool) {
	clear(spare)
	spare = spare[:0]
	q.mu.Lock()
	batch, q.items = q.items, spare
	q.bytes = 0
	resync, q.resync = q.resync, false
	q.mu.Unlock()
	return batch, resync
}

// Close marks the queue closed: later pushes fail with ErrClosed. Items
// already queued stay available to Take, so the writer can flush them.
func (q *Queue) Close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
}

// Pending reports whether the consumer has something to do: queued items,
// a resync request or a close.
func (q *Queue) Pending() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items) > 0 || q.resync || q.closed
}

// Len reports the number of queued items.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

// Stats returns a copy of the counters.
func (q *Queue) Stats() Stats {
	q.mu.Lock()
	defer q.mu.Unlock()
	s := q.stats
	s.QueuedBytes = q.bytes
	s.QueuedItems = len(q.items)
	s.PeakBytes = q.peak
	return s
}
