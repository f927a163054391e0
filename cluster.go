package live

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"
)

// Cluster is the distributed engine that lets several Server nodes act as
// one: any node can serve any client, a singleton lives on exactly one
// node at a time, and rooms span nodes. It is a small set of primitives;
// every protocol built on top (ownership, action forwarding, state
// mirroring, room fan-out) lives in this package, so a backend only has to
// provide these faithfully. Backends: NewMemoryCluster (nodes inside one
// process, for tests and demos) and the redis and nats modules.
//
// Run the conformance suite in package clustertest against a new backend.
type Cluster interface {
	// NodeID identifies this node; unique among the nodes of a cluster.
	NodeID() string

	// Publish sends data to every current subscriber of subject, this node
	// included. Messages from one publisher on one subject are delivered in
	// order.
	Publish(ctx context.Context, subject string, data []byte) error
	// Subscribe calls fn for each message on subject, one at a time, in
	// order, until the subscription is closed. fn must not block for long.
	Subscribe(ctx context.Context, subject string, fn func(data []byte)) (Subscription, error)

	// AcquireLease takes the lease on key for ttl when it is free, expired,
	// or already held by this node. Each new acquisition returns a fencing
	// token greater than every token issued before for key. When another
	// node holds it, it returns ErrLeaseHeld and that holder.
	AcquireLease(ctx context.Context, key string, ttl time.Duration) (Lease, error)
	// RenewLease extends a lease this node holds; ErrLeaseLost when it is
	// no longer held with that token.
	RenewLease(ctx context.Context, l Lease, ttl time.Duration) error
	// ReleaseLease gives the lease up if it is still held with l's token.
	ReleaseLease(ctx context.Context, l Lease) error
	// LeaseHolder returns the current holder of key, or ErrNoLease.
	LeaseHolder(ctx context.Context, key string) (Lease, error)

	// PutFenced stores value under key unless the stored value carries a
	// higher fencing token (ErrFenced). ttl 0 means no expiry.
	PutFenced(ctx context.Context, key string, token uint64, value []byte, ttl time.Duration) error
	// GetFenced returns the value stored under key and its token, or
	// ErrNotFound.
	GetFenced(ctx context.Context, key string) (value []byte, token uint64, err error)
	// PutIfAbsent stores value under key only if the key does not exist
	// (or expired), and reports whether it stored.
	PutIfAbsent(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error)
	// Delete removes key.
	Delete(ctx context.Context, key string) error

	// Close releases the backend's resources. The Server does not call it:
	// whoever created the Cluster closes it after Server.Shutdown.
	Close() error
}

// Subscription is an active Cluster subscription.
type Subscription interface {
	// Close stops delivery. Messages being delivered may still complete.
	Close() error
}

// Lease is a held (or observed) lease.
type Lease struct {
	Key    string
	Holder string // node id
	Token  uint64
}

// Cluster errors. Backends return these (wrapped or not).
var (
	ErrLeaseHeld = errors.New("live: lease held by another node")
	ErrLeaseLost = errors.New("live: lease lost")
	ErrNoLease   = errors.New("live: no lease holder")
	ErrFenced    = errors.New("live: write fenced by a newer token")
	ErrNotFound  = errors.New("live: key not found")
)

// ---- in-memory cluster ----

// MemoryCluster is an in-process cluster: every Node shares its pub/sub,
// leases and store. It is meant for tests and demos of multi-node behaviour
// in one process; it is also the reference implementation of the
// Cluster semantics.
type MemoryCluster struct {
	mu     sync.Mutex
	subs   map[string][]*memSub
	leases map[string]*memLease
	tokens map[string]uint64
	kv     map[string]*memEntry
	now    func() time.Time
}

// memSub is a subscription with an unbounded mailbox, so a publisher
// never blocks (and a handler may publish without deadlocking).
type memSub struct {
	node  *memNode
	fn    func([]byte)
	mu    sync.Mutex
	queue [][]byte
	wake  chan struct{}
	done  chan struct{}
	once  sync.Once
}

type memLease struct {
	holder  string
	token   uint64
	expires time.Time
}

type memEntry struct {
	value   []byte
	token   uint64
	expires time.Time
}

// NewMemoryCluster returns an empty in-memory cluster.
func NewMemoryCluster() *MemoryCluster {
	return &MemoryCluster{
		subs:   map[string][]*memSub{},
		leases: map[string]*memLease{},
		tokens: map[string]uint64{},
		kv:     map[string]*memEntry{},
		now:    time.Now,
	}
}

// Node returns a Cluster handle for node id. Closing it removes the node's
// subscriptions (like a crashed or stopped process); its leases then expire
// on their own.
func (m *MemoryCluster) Node(id string) Cluster { return &memNode{c: m, id: id} }

type memNode struct {
	c      *MemoryCluster
	id     string
	mu     sync.Mutex
	subs   []*memSub
	closed bool
}

var _ Cluster = (*memNode)(nil)

func (n *memNode) NodeID() string { return n.id }

func (n *memNode) Publish(ctx context.Context, subject string, data []byte) error {
	n.mu.Lock()
	closed := n.closed
	n.mu.Unlock()
	if closed {
		return errors.New("live: memory cluster node closed")
	}
	msg := append([]byte(nil), data...)
	n.c.mu.Lock()
	subs := append([]*memSub(nil), n.c.subs[subject]...)
	// Enqueue under the cluster lock so every subscriber sees one global
	// order per subject.
	for _, s := range subs {
		s.enqueue(msg)
	}
	n.c.mu.Unlock()
	return nil
}

func (s *memSub) enqueue(msg []byte) {
	s.mu.Lock()
	s.queue = append(s.queue, msg)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (n *memNode) Subscribe(ctx context.Context, subject string, fn func([]byte)) (Subscription, error) {
	s := &memSub{node: n, fn: fn, wake: make(chan struct{}, 1), done: make(chan struct{})}
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil, errors.New("live: memory cluster node closed")
	}
	n.subs = append(n.subs, s)
	n.mu.Unlock()
	n.c.mu.Lock()
	n.c.subs[subject] = append(n.c.subs[subject], s)
	n.c.mu.Unlock()
	go func() {
		for {
			select {
			case <-s.wake:
			case <-s.done:
				return
			}
			s.mu.Lock()
			batch := s.queue
			s.queue = nil
			s.mu.Unlock()
			for _, msg := range batch {
				select {
				case <-s.done:
					return
				default:
				}
				s.fn(msg)
			}
		}
	}()
	return &memSubHandle{s: s, subject: subject}, nil
}

type memSubHandle struct {
	s       *memSub
	subject string
}

func (h *memSubHandle) Close() error {
	h.s.once.Do(func() {
		c := h.s.node.c
		c.mu.Lock()
		subs := c.subs[h.subject]
		for i, x := range subs {
			if x == h.s {
				c.subs[h.subject] = append(subs[:i:i], subs[i+1:]...)
				break
			}
		}
		if len(c.subs[h.subject]) == 0 {
			delete(c.subs, h.subject)
		}
		c.mu.Unlock()
		close(h.s.done)
	})
	return nil
}

func (n *memNode) AcquireLease(ctx context.Context, key string, ttl time.Duration) (Lease, error) {
	c := n.c
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	l := c.leases[key]
	if l != nil && now.Before(l.expires) && l.holder != n.id {
		return Lease{Key: key, Holder: l.holder, Token: l.token}, ErrLeaseHeld
	}
	if l != nil && now.Before(l.expires) && l.holder == n.id {
		l.expires = now.Add(ttl)
		return Lease{Key: key, Holder: n.id, Token: l.token}, nil
	}
	c.tokens[key]++
	c.leases[key] = &memLease{holder: n.id, token: c.tokens[key], expires: now.Add(ttl)}
	return Lease{Key: key, Holder: n.id, Token: c.tokens[key]}, nil
}

func (n *memNode) RenewLease(ctx context.Context, l Lease, ttl time.Duration) error {
	c := n.c
	c.mu.Lock()
	defer c.mu.Unlock()
	cur := c.leases[l.Key]
	if cur == nil || cur.holder != n.id || cur.token != l.Token || !c.now().Before(cur.expires) {
		return ErrLeaseLost
	}
	cur.expires = c.now().Add(ttl)
	return nil
}

func (n *memNode) ReleaseLease(ctx context.Context, l Lease) error {
	c := n.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur := c.leases[l.Key]; cur != nil && cur.holder == n.id && cur.token == l.Token {
		delete(c.leases, l.Key)
	}
	return nil
}

func (n *memNode) LeaseHolder(ctx context.Context, key string) (Lease, error) {
	c := n.c
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.leases[key]
	if l == nil || !c.now().Before(l.expires) {
		return Lease{}, ErrNoLease
	}
	return Lease{Key: key, Holder: l.holder, Token: l.token}, nil
}

func (c *MemoryCluster) live(key string) *memEntry {
	e := c.kv[key]
	if e != nil && !e.expires.IsZero() && !c.now().Before(e.expires) {
		delete(c.kv, key)
		return nil
	}
	return e
}

func (n *memNode) PutFenced(ctx context.Context, key string, token uint64, value []byte, ttl time.Duration) error {
	c := n.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.live(key); e != nil && e.token > token {
		return ErrFenced
	}
	e := &memEntry{value: append([]byte(nil), value...), token: token}
	if ttl > 0 {
		e.expires = c.now().Add(ttl)
	}
	c.kv[key] = e
	return nil
}

func (n *memNode) GetFenced(ctx context.Context, key string) ([]byte, uint64, error) {
	c := n.c
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.live(key)
	if e == nil {
		return nil, 0, ErrNotFound
	}
	return append([]byte(nil), e.value...), e.token, nil
}

func (n *memNode) PutIfAbsent(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	c := n.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.live(key) != nil {
		return false, nil
	}
	e := &memEntry{value: append([]byte(nil), value...)}
	if ttl > 0 {
		e.expires = c.now().Add(ttl)
	}
	c.kv[key] = e
	return true, nil
}

func (n *memNode) Delete(ctx context.Context, key string) error {
	c := n.c
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.kv, key)
	return nil
}

// Close drops the node's subscriptions, as if its process had died.
func (n *memNode) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	subs := n.subs
	n.subs = nil
	n.mu.Unlock()
	for _, s := range subs {
		// Find the subject of each subscription and remove it.
		n.c.mu.Lock()
		for subject, list := range n.c.subs {
			for i, x := range list {
				if x == s {
					n.c.subs[subject] = append(list[:i:i], list[i+1:]...)
					break
				}
			}
			if len(n.c.subs[subject]) == 0 {
				delete(n.c.subs, subject)
			}
		}
		n.c.mu.Unlock()
		s.once.Do(func() { close(s.done) })
	}
	return nil
}

// subject and key names used by the core protocols.
func subjectRoom(id string) string      { return "live.room." + id }
func subjectSingleton(n string) string  { return "live.singleton." + n }
func subjectNode(id string) string      { return "live.node." + id }
func keySingletonLease(n string) string { return "singleton/" + n }
func keySingletonState(n string) string { return "singleton-state/" + n }
func keyNodeLease(id string) string     { return "node/" + id }
func keyNonce(n string) string          { return "nonce/" + strings.ReplaceAll(n, ":", "_") }
