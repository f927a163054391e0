package live

import (
	"sync"
	"sync/atomic"
	"time"
)

// graceQueue destroys connection-less instances when their resume grace
// ends. The grace is the same for every instance of a server, so deadlines
// come in the order instances were detached: one FIFO and one timer serve
// them all, where a timer per instance would cost a runtime timer, a
// closure and a heap entry for every closed tab kept for resume (about
// 200 bytes each, 12 MB at 60,000 closed tabs).
//
// An entry does not pin its instance's grace: resuming or destroying the
// instance ends the grace (instance.graced), detaching again bumps
// instance.graceGen, and an entry that no longer matches is skipped when it
// comes due; the stale entry costs its slot until its deadline.
//
// detached counts the instances in their grace. Past max (Options.
// MaxDetached), the timer's goroutine destroys the oldest early, down to
// 63/64 of max so that one eviction run serves many detaches.
type graceQueue struct {
	mu      sync.Mutex
	items   []graceEntry // pending from head on, in deadline order
	head    int
	timer   *time.Timer // fires at items[head].at; nil until first used
	stopped bool        // server shut down: no more expiry
	max     int64       // most instances in their grace; <= 0: no cap

	detached atomic.Int64  // instances in their grace now
	evicted  atomic.Uint64 // destroyed early because of max
}

type graceEntry struct {
	in  *instance
	gen uint32
	at  time.Duration // deadline, on the monoNow clock
}

// push schedules in (detached at generation gen) for expiry at at.
func (q *graceQueue) push(in *instance, gen uint32, at time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.stopped {
		return
	}
	first := q.head == len(q.items)
	if first && q.head > 0 {
		q.items, q.head = q.items[:0], 0
	}
	q.items = append(q.items, graceEntry{in: in, gen: gen, at: at})
	over := q.max > 0 && q.detached.Load() > q.max
	if !first && !over {
		return // the timer is armed for an earlier entry
	}
	d := at - monoNow()
	if over {
		d = 0 // evict now, on the timer's goroutine (the caller holds in.mu)
	}
	if q.timer == nil {
		q.timer = time.AfterFunc(d, q.expire)
	} else {
		q.timer.Reset(d)
	}
}

// expire destroys the instances whose grace has ended, and the oldest ones
// while more than max are in their grace, and re-arms the timer for the
// next deadline. It runs on the timer's goroutine.
func (q *graceQueue) expire() {
	const batch = 256 // instance locks are taken without the queue lock
	due := make([]graceEntry, 0, batch)
	evicting := false
	for {
		due = due[:0]
		q.mu.Lock()
		now := monoNow()
		excess := int64(0) // instances to evict (stale entries popped count too)
		if q.max > 0 {
			n, target := q.detached.Load(), q.max-q.max/64
			evicting = n > q.max || evicting && n > target
			if evicting {
				excess = n - target
			}
		}
		for q.head < len(q.items) && len(due) < batch {
			if q.items[q.head].at > now {
				if excess == 0 {
					break
				}
				excess--
			}
			due = append(due, q.items[q.head])
			q.items[q.head] = graceEntry{} // drop the reference
			q.head++
		}
		// Go on while the batch was full, or while evicting: stale
		// entries may have used up some of the excess.
		more := len(due) == batch || evicting && len(due) > 0
		if !more {
			q.compact()
			if q.head < len(q.items) && !q.stopped {
				q.timer.Reset(q.items[q.head].at - now)
			}
		}
		q.mu.Unlock()
		for _, e := range due {
			if e.in.graceExpired(e.gen) && e.at > now {
				q.evicted.Add(1)
			}
		}
		if !more {
			return
		}
	}
}

// compact gives back the memory of a burst of detaches once it has drained,
// and moves the pending entries to the front when most of the slice is
// spent. Called with mu held.
func (q *graceQueue) compact() {
	pending := len(q.items) - q.head
	switch {
	case pending == 0 && cap(q.items) > 1024:
		q.items, q.head = nil, 0
	case pending == 0:
		q.items, q.head = q.items[:0], 0
	case q.head > pending && q.head > 1024:
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
		if cap(q.items) > 4*n+1024 {
			q.items = append([]graceEntry(nil), q.items...)
		}
	}
}

// stop ends expiry (server shutdown destroys what is left) and drops the
// pending entries.
func (q *graceQueue) stop() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.stopped = true
	if q.timer != nil {
		q.timer.Stop()
	}
	q.items, q.head = nil, 0
}
