package liveredis

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	live "github.com/live-go/live"
	"github.com/redis/go-redis/v9"
)

// Defaults of Options.
const (
	DefaultAddr             = "127.0.0.1:6379"
	DefaultPrefix           = "live:"
	DefaultMaxPublishBatch  = 256
	DefaultPublishQueue     = 4096
	DefaultPublishTimeout   = 5 * time.Second
	DefaultSubscribeTimeout = 5 * time.Second
	DefaultMaxPending       = 10000
	DefaultPingInterval     = 15 * time.Second
)

// Errors of the backend. The live package's errors (live.ErrLeaseHeld and
// the others) are returned as they are.
var (
	// ErrClosed is returned by calls on a closed Cluster.
	ErrClosed = errors.New("liveredis: cluster closed")
	// ErrSlowConsumer is reported to OnError when a subscription's queue is
	// full and a message is dropped.
	ErrSlowConsumer = errors.New("liveredis: subscription queue full, message dropped")
)

// Options configures a Cluster. The zero value of every field is its
// documented default.
type Options struct {
	// Client is the Redis client (a *redis.Client, *redis.ClusterClient or
	// failover client). The Cluster does not close it. Default: a client
	// for Addr, closed by Cluster.Close.
	Client redis.UniversalClient

	// Addr is the address of the Redis server when Client is nil. Default
	// "127.0.0.1:6379".
	Addr string

	// Prefix starts every key and channel name, so that several
	// applications (or tests) can share one Redis. Nodes of one cluster use
	// the same Prefix. A '{' in it must be closed by a '}' (a hash tag).
	// Default "live:".
	Prefix string

	// NodeID identifies this node; unique among the nodes of the cluster.
	// Default: 8 random characters.
	NodeID string

	// Logger receives connection trouble (warnings) and failed calls
	// (debug). Default: discards.
	Logger *slog.Logger

	// OnError, when set, is called after every failed Redis operation with
	// the operation's name ("publish", "subscribe", "receive", "acquire",
	// "deliver", ...) and the error. It runs on the goroutine that failed
	// and must not block. Stats().Errors counts the same events.
	OnError func(op string, err error)

	// MaxPublishBatch is the most messages sent in one pipeline. Default
	// 256.
	MaxPublishBatch int

	// PublishQueue is how many messages may wait for the publishing
	// goroutine; Publish blocks (until its context ends) while it is full.
	// Default 4096.
	PublishQueue int

	// PublishTimeout bounds one pipeline of publishes. Default 5 s.
	PublishTimeout time.Duration

	// SubscribeTimeout bounds Subscribe's wait for Redis to confirm a new
	// subscription, whatever the caller's context. Default 5 s.
	SubscribeTimeout time.Duration

	// MaxPending is how many received messages a subscription may have
	// waiting for its handler; more are dropped. Default 10000.
	MaxPending int

	// PingInterval is how long the subscription connection may stay silent
	// before it is checked with a PING; without an answer within another
	// interval it is replaced. Default 15 s.
	PingInterval time.Duration
}

// Stats are counters of a Cluster since New.
type Stats struct {
	Published  uint64 // messages Redis accepted
	Batches    uint64 // pipelines (or single PUBLISH commands) sent
	Delivered  uint64 // messages handed to subscription handlers
	Dropped    uint64 // messages dropped because a subscription's queue was full
	Errors     uint64 // failed Redis operations (OnError calls)
	Reconnects uint64 // times the subscription connection came back after a failure
}

// Cluster is a live.Cluster node backed by Redis. Create it with New.
type Cluster struct {
	opts      Options
	rdb       redis.UniversalClient
	ownClient bool
	prefix    string
	id        string
	log       *slog.Logger

	closed    atomic.Bool
	closeOnce sync.Once
	stop      chan struct{} // closed by Close

	// publishing
	pubq    chan *pubReq
	pubDone chan struct{} // closed when the publishing goroutine exits

	// subscribing
	ps       atomic.Pointer[redis.PubSub]
	subMu    sync.Mutex                 // serializes SUBSCRIBE and UNSUBSCRIBE
	mu       sync.Mutex                 // guards channels, waiters, hooks
	channels map[string][]*subscription // channel → local subscriptions (copy on write)
	waiters  map[string][]chan struct{} // channel → Subscribe calls awaiting confirmation
	hooks    map[uint64]func()
	hookSeq  uint64
	kick     chan struct{} // wakes the receiving goroutine from its backoff
	loopDone chan struct{} // closed when the receiving goroutine exits
	workers  sync.WaitGroup

	published, batches, delivered, dropped, errs, reconnects atomic.Uint64
}

var _ live.Cluster = (*Cluster)(nil)

// New returns a Cluster node. It checks that Redis answers a PING (within
// 5 s) and starts the node's publishing and receiving goroutines, which
// Close stops.
func New(opts Options) (*Cluster, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Cluster{
		opts:     o,
		rdb:      o.Client,
		prefix:   o.Prefix,
		id:       o.NodeID,
		log:      o.Logger,
		stop:     make(chan struct{}),
		pubq:     make(chan *pubReq, o.PublishQueue),
		pubDone:  make(chan struct{}),
		channels: map[string][]*subscription{},
		waiters:  map[string][]chan struct{}{},
		hooks:    map[uint64]func(){},
		kick:     make(chan struct{}, 1),
		loopDone: make(chan struct{}),
	}
	if c.rdb == nil {
		c.rdb = redis.NewClient(&redis.Options{Addr: o.Addr})
		c.ownClient = true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.rdb.Ping(ctx).Err(); err != nil {
		if c.ownClient {
			_ = c.rdb.Close()
		}
		return nil, fmt.Errorf("liveredis: ping: %w", err)
	}
	c.ps.Store(c.rdb.Subscribe(context.Background()))
	go c.publishLoop()
	go c.receiveLoop()
	return c, nil
}

func (o Options) withDefaults() (Options, error) {
	if o.Addr == "" {
		o.Addr = DefaultAddr
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if i := strings.IndexByte(o.Prefix, '{'); i >= 0 && !strings.Contains(o.Prefix[i:], "}") {
		return o, fmt.Errorf("liveredis: Prefix %q opens a hash tag it does not close", o.Prefix)
	}
	if o.NodeID == "" {
		o.NodeID = randomID()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxPublishBatch <= 0 {
		o.MaxPublishBatch = DefaultMaxPublishBatch
	}
	if o.PublishQueue <= 0 {
		o.PublishQueue = DefaultPublishQueue
	}
	if o.PublishTimeout <= 0 {
		o.PublishTimeout = DefaultPublishTimeout
	}
	if o.SubscribeTimeout <= 0 {
		o.SubscribeTimeout = DefaultSubscribeTimeout
	}
	if o.MaxPending <= 0 {
		o.MaxPending = DefaultMaxPending
	}
	if o.PingInterval <= 0 {
		o.PingInterval = DefaultPingInterval
	}
	return o, nil
}

// randomID returns 8 random lowercase letters and digits.
func randomID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	var b [8]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:])
}

// NodeID returns the node's id.
func (c *Cluster) NodeID() string { return c.id }

// Stats returns the node's counters.
func (c *Cluster) Stats() Stats {
	return Stats{
		Published:  c.published.Load(),
		Batches:    c.batches.Load(),
		Delivered:  c.delivered.Load(),
		Dropped:    c.dropped.Load(),
		Errors:     c.errs.Load(),
		Reconnects: c.reconnects.Load(),
	}
}

// OnReconnect registers fn to run (on a goroutine of its own) each time the
// subscription connection is back after a failure: messages published
// while it was down were lost, and fn can resynchronize. It returns a
// function that removes fn.
func (c *Cluster) OnReconnect(fn func()) (remove func()) {
	c.mu.Lock()
	c.hookSeq++
	id := c.hookSeq
	c.hooks[id] = fn
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		delete(c.hooks, id)
		c.mu.Unlock()
	}
}

// Close stops the node: pending publishes fail with ErrClosed, the
// subscriptions end (handlers already running complete first), and a
// client New built is closed. Leases stay until they expire, as after a
// crash; release them first for a hand-off. Close is idempotent and must not
// be called from a subscription handler.
func (c *Cluster) Close() error {
	var err error
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		close(c.stop)
		<-c.pubDone
		_ = c.ps.Load().Close()
		<-c.loopDone
		_ = c.ps.Load().Close() // in case the loop had just replaced it
		c.mu.Lock()
		all := c.channels
		c.channels = map[string][]*subscription{}
		c.mu.Unlock()
		for _, subs := range all {
			for _, s := range subs {
				s.markClosed()
			}
		}
		c.workers.Wait()
		if c.ownClient {
			err = c.rdb.Close()
		}
	})
	if err != nil {
		return fmt.Errorf("liveredis: close: %w", err)
	}
	return nil
}

// fail counts and reports a failed operation.
func (c *Cluster) fail(op string, err error) {
	c.errs.Add(1)
	if c.opts.OnError != nil {
		c.opts.OnError(op, err)
	}
}

// callErr wraps the error of a call whose caller gets it: it is counted
// unless the caller canceled the call.
func (c *Cluster) callErr(ctx context.Context, op string, err error) error {
	if !errors.Is(ctx.Err(), context.Canceled) {
		c.fail(op, err)
		c.log.Debug("liveredis: call failed", "op", op, "err", err)
	}
	return fmt.Errorf("liveredis: %s: %w", op, err)
}
