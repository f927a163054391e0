package livenats

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	live "github.com/live-go/live"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Defaults of Options.
const (
	DefaultURL              = nats.DefaultURL // "nats://127.0.0.1:4222"
	DefaultPrefix           = "live"
	DefaultStoreMaxAge      = 24 * time.Hour
	DefaultMaxPendingMsgs   = 1 << 20
	DefaultMaxPendingBytes  = 256 << 20
	DefaultSubscribeTimeout = 5 * time.Second
	DefaultPublishTimeout   = 5 * time.Second
	DefaultReconnectWait    = 250 * time.Millisecond
	DefaultDrainTimeout     = 5 * time.Second
	DefaultMaxCASAttempts   = 100
)

// Errors of the backend. The live package's errors (live.ErrLeaseHeld and
// the others) are returned as they are.
var (
	// ErrClosed is returned by calls on a closed Cluster.
	ErrClosed = errors.New("livenats: cluster closed")
	// ErrSlowConsumer is reported to OnError when messages of a
	// subscription were dropped because its pending limits were reached.
	ErrSlowConsumer = errors.New("livenats: subscription pending limit reached, messages dropped")
	// ErrDisconnected is reported to OnError when the connection to NATS
	// breaks; nats.go then reconnects on its own.
	ErrDisconnected = errors.New("livenats: disconnected from NATS")
	// ErrContention is returned when a compare-and-set loop lost
	// Options.MaxCASAttempts races in a row.
	ErrContention = errors.New("livenats: too many concurrent writers")
	// ErrTTLTooLong is returned for a store TTL longer than the store
	// bucket's max age, which would remove the value before its TTL.
	ErrTTLTooLong = errors.New("livenats: ttl longer than the store bucket's max age")
)

// Options configures a Cluster. The zero value of every field is its
// documented default.
type Options struct {
	// Conn is a connection the caller owns. Close leaves it open, only
	// closing the Cluster's own subscriptions. Default: a connection to
	// URL, drained and closed by Close.
	Conn *nats.Conn

	// URL is the NATS server (or comma-separated servers) to connect to
	// when Conn is nil. Default "nats://127.0.0.1:4222".
	URL string

	// ConnectOptions are added, after the Cluster's own, to the options of
	// the connection to URL (credentials, TLS, reconnect tuning). Unused
	// with Conn.
	ConnectOptions []nats.Option

	// Prefix starts every subject ("<Prefix>.<subject>") and names the
	// two KV buckets ("<Prefix>_leases", "<Prefix>_store"), so several
	// applications or tests can share one NATS. Nodes of one cluster use
	// the same Prefix. Letters, digits, '-' and '_' only, at most 64
	// bytes. Default "live".
	Prefix string

	// NodeID identifies this node; unique among the nodes of the cluster,
	// at most 256 bytes. Default: 8 random characters.
	NodeID string

	// Logger receives connection trouble (warnings) and failed calls
	// (debug). Default: discards.
	Logger *slog.Logger

	// OnError, when set, is called after every failed NATS operation with
	// the operation's name ("publish", "subscribe", "acquire", "connection",
	// "deliver", ...) and the error. It runs on the goroutine that failed
	// and must not block. Stats().Errors counts the same events.
	OnError func(op string, err error)

	// Replicas is the replication factor of buckets the Cluster creates
	// (on a clustered JetStream). Default 1.
	Replicas int

	// Storage is the storage of buckets the Cluster creates. Default
	// jetstream.FileStorage, which survives a server restart.
	Storage jetstream.StorageType

	// StoreMaxAge is the max age of the store bucket (created by the first
	// node): a backstop that removes values written with a TTL (nonces)
	// whoever reads them. Values written without a TTL are rewritten by
	// the nodes that wrote them before they reach that age. A TTL longer
	// than it is refused with ErrTTLTooLong. Negative: no max age. Default
	// 24 h.
	StoreMaxAge time.Duration

	// KeepAliveInterval is how often a node checks the values it wrote
	// without a TTL and rewrites those older than half the store bucket's
	// max age. Default: an eighth of that max age.
	KeepAliveInterval time.Duration

	// MaxPendingMsgs and MaxPendingBytes are the pending limits of every
	// subscription: messages received but not yet handled. Past them
	// nats.go drops messages (counted in Stats.Dropped, reported to
	// OnError as ErrSlowConsumer). Defaults 1 Mi messages and 256 MiB.
	MaxPendingMsgs  int
	MaxPendingBytes int

	// SubscribeTimeout bounds Subscribe's round trip that makes sure the
	// server registered the subscription, whatever the caller's context.
	// Default 5 s.
	SubscribeTimeout time.Duration

	// PublishTimeout bounds the round trip that confirms a Publish,
	// whatever the caller's context. Default 5 s.
	PublishTimeout time.Duration

	// ReconnectWait is the pause between reconnection attempts of the
	// connection to URL (which retries forever). Default 250 ms.
	ReconnectWait time.Duration

	// DrainTimeout bounds Close's drain of the connection to URL. Default
	// 5 s.
	DrainTimeout time.Duration

	// MaxCASAttempts bounds the compare-and-set retries of one lease or
	// store call that keeps losing races; past it the call fails with
	// ErrContention. Default 100.
	MaxCASAttempts int
}

// Stats are counters of a Cluster since New.
type Stats struct {
	Published  uint64 // messages handed to the connection
	Delivered  uint64 // messages handed to subscription handlers
	Dropped    uint64 // messages dropped at a subscription's pending limits
	Errors     uint64 // failed NATS operations (OnError calls)
	Reconnects uint64 // times the connection came back after a failure
	Conflicts  uint64 // compare-and-set writes that lost a race and retried
	Refreshed  uint64 // values without TTL rewritten by the keep-alive
}

// Cluster is a live.Cluster node backed by NATS (core pub/sub) and
// JetStream key-value buckets (leases and the store). Create it with New.
type Cluster struct {
	opts    Options
	nc      *nats.Conn
	ownConn bool
	id      string
	subjPre string // Prefix + "."
	log     *slog.Logger
	leases  jetstream.KeyValue
	store   jetstream.KeyValue
	maxAge  time.Duration // the store bucket's actual max age (0: none)
	now     func() time.Time

	closed    atomic.Bool
	closeOnce sync.Once
	stop      chan struct{} // closed by Close

	// confirmed publishing (see Publish)
	fmu   sync.Mutex
	fnext *flushGroup   // the group the next round trip confirms
	fkick chan struct{} // wakes flushLoop
	fdone chan struct{} // closed when flushLoop exits

	status     chan nats.Status
	statusDone chan struct{} // closed when the status goroutine exits
	connClosed chan struct{} // closed when the connection reports CLOSED

	mu      sync.Mutex // guards subs, tracked, hooks
	subs    map[*subscription]struct{}
	tracked map[string]struct{} // encoded store keys written without TTL
	hooks   map[uint64]func()
	hookSeq uint64
	workers sync.WaitGroup // keep-alive and hook goroutines

	published, delivered, dropped, errs, reconnects, conflicts, refreshed atomic.Uint64
}

var _ live.Cluster = (*Cluster)(nil)

// New returns a Cluster node: it connects (unless Options.Conn is given),
// finds or creates the two KV buckets, and starts the goroutines that
// Close stops. ctx bounds the setup only.
func New(ctx context.Context, opts Options) (*Cluster, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Cluster{
		opts:       o,
		nc:         o.Conn,
		id:         o.NodeID,
		subjPre:    o.Prefix + ".",
		log:        o.Logger,
		now:        time.Now,
		stop:       make(chan struct{}),
		statusDone: make(chan struct{}),
		connClosed: make(chan struct{}),
		fkick:      make(chan struct{}, 1),
		fdone:      make(chan struct{}),
		subs:       map[*subscription]struct{}{},
		tracked:    map[string]struct{}{},
		hooks:      map[uint64]func(){},
	}
	if c.nc == nil {
		nopts := []nats.Option{
			nats.Name("live-" + o.NodeID),
			nats.MaxReconnects(-1),
			nats.ReconnectWait(o.ReconnectWait),
			nats.DrainTimeout(o.DrainTimeout),
			nats.ErrorHandler(c.asyncError),
		}
		c.nc, err = nats.Connect(o.URL, append(nopts, o.ConnectOptions...)...)
		if err != nil {
			return nil, fmt.Errorf("livenats: connect to %s: %w", o.URL, err)
		}
		c.ownConn = true
	}
	c.status = c.nc.StatusChanged(nats.CONNECTED, nats.DISCONNECTED, nats.RECONNECTING, nats.CLOSED)
	go c.watchStatus()
	if err := c.openBuckets(ctx); err != nil {
		_ = c.shutdownConn()
		<-c.statusDone
		return nil, err
	}
	go c.flushLoop()
	if c.maxAge > 0 {
		every := o.KeepAliveInterval
		if every <= 0 {
			every = c.maxAge / 8
		}
		c.workers.Add(1)
		go c.keepAlive(every)
	}
	return c, nil
}

func (o Options) withDefaults() (Options, error) {
	if o.URL == "" {
		o.URL = DefaultURL
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if len(o.Prefix) > 64 {
		return o, fmt.Errorf("livenats: Prefix of %d bytes, at most 64", len(o.Prefix))
	}
	for i := 0; i < len(o.Prefix); i++ {
		if c := o.Prefix[i]; !plain(c) || c == '/' {
			return o, fmt.Errorf("livenats: Prefix %q: only letters, digits, '-' and '_'", o.Prefix)
		}
	}
	if o.NodeID == "" {
		o.NodeID = randomID()
	}
	if len(o.NodeID) > maxNodeID {
		return o, fmt.Errorf("livenats: NodeID of %d bytes, at most %d", len(o.NodeID), maxNodeID)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	switch {
	case o.StoreMaxAge == 0:
		o.StoreMaxAge = DefaultStoreMaxAge
	case o.StoreMaxAge < 0:
		o.StoreMaxAge = 0
	}
	if o.MaxPendingMsgs <= 0 {
		o.MaxPendingMsgs = DefaultMaxPendingMsgs
	}
	if o.MaxPendingBytes <= 0 {
		o.MaxPendingBytes = DefaultMaxPendingBytes
	}
	if o.SubscribeTimeout <= 0 {
		o.SubscribeTimeout = DefaultSubscribeTimeout
	}
	if o.PublishTimeout <= 0 {
		o.PublishTimeout = DefaultPublishTimeout
	}
	if o.ReconnectWait <= 0 {
		o.ReconnectWait = DefaultReconnectWait
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = DefaultDrainTimeout
	}
	if o.MaxCASAttempts <= 0 {
		o.MaxCASAttempts = DefaultMaxCASAttempts
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

// LeaseBucket returns the name of the KV bucket holding the leases of
// prefix ("" for the default).
func LeaseBucket(prefix string) string {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return prefix + "_leases"
}

// StoreBucket returns the name of the KV bucket holding the store
// (PutFenced, PutIfAbsent) of prefix ("" for the default).
func StoreBucket(prefix string) string {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return prefix + "_store"
}

// openBuckets finds or creates the lease and store buckets. An existing
// bucket is used as it is: its max age wins over Options.StoreMaxAge.
func (c *Cluster) openBuckets(ctx context.Context) error {
	js, err := jetstream.New(c.nc)
	if err != nil {
		return fmt.Errorf("livenats: jetstream: %w", err)
	}
	c.leases, err = openBucket(ctx, js, jetstream.KeyValueConfig{
		Bucket:      LeaseBucket(c.opts.Prefix),
		Description: "live cluster leases: holder, fencing token and ttl per key (no max age: tokens must survive)",
		History:     1,
		Storage:     c.opts.Storage,
		Replicas:    c.opts.Replicas,
	})
	if err != nil {
		return err
	}
	c.store, err = openBucket(ctx, js, jetstream.KeyValueConfig{
		Bucket:      StoreBucket(c.opts.Prefix),
		Description: "live cluster store: fenced values and nonces with their ttl",
		History:     1,
		TTL:         c.opts.StoreMaxAge,
		Storage:     c.opts.Storage,
		Replicas:    c.opts.Replicas,
	})
	if err != nil {
		return err
	}
	st, err := c.store.Status(ctx)
	if err != nil {
		return fmt.Errorf("livenats: status of bucket %s: %w", c.store.Bucket(), err)
	}
	c.maxAge = st.TTL()
	if c.maxAge != c.opts.StoreMaxAge {
		c.log.Info("livenats: store bucket exists with another max age; using it",
			"bucket", c.store.Bucket(), "maxAge", c.maxAge, "option", c.opts.StoreMaxAge)
	}
	return nil
}

// openBucket returns the bucket cfg names, creating it if missing.
func openBucket(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	kv, err := js.KeyValue(ctx, cfg.Bucket)
	if err == nil {
		return kv, nil
	}
	if !errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, fmt.Errorf("livenats: bucket %s: %w", cfg.Bucket, err)
	}
	kv, err = js.CreateKeyValue(ctx, cfg)
	if err != nil {
		// Another node may have created it at the same moment, with a
		// different configuration.
		if kv, lerr := js.KeyValue(ctx, cfg.Bucket); lerr == nil {
			return kv, nil
		}
		return nil, fmt.Errorf("livenats: create bucket %s: %w", cfg.Bucket, err)
	}
	return kv, nil
}

// NodeID returns the node's id.
func (c *Cluster) NodeID() string { return c.id }

// Conn returns the NATS connection the Cluster uses.
func (c *Cluster) Conn() *nats.Conn { return c.nc }

// Stats returns the node's counters.
func (c *Cluster) Stats() Stats {
	c.mu.Lock()
	subs := make([]*subscription, 0, len(c.subs))
	for s := range c.subs {
		subs = append(subs, s)
	}
	c.mu.Unlock()
	for _, s := range subs {
		s.syncDropped()
	}
	return Stats{
		Published:  c.published.Load(),
		Delivered:  c.delivered.Load(),
		Dropped:    c.dropped.Load(),
		Errors:     c.errs.Load(),
		Reconnects: c.reconnects.Load(),
		Conflicts:  c.conflicts.Load(),
		Refreshed:  c.refreshed.Load(),
	}
}

// OnReconnect registers fn to run (on a goroutine of its own) each time the
// connection is back after a failure: messages published while it was
// down were lost, and fn can resynchronize. It returns a function that
// removes fn.
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

// watchStatus follows the connection's status: it reports outages and
// runs the reconnect hooks. nats.go itself reconnects and subscribes
// again.
func (c *Cluster) watchStatus() {
	defer close(c.statusDone)
	down := false
	for st := range c.status {
		switch st {
		case nats.DISCONNECTED, nats.RECONNECTING:
			if !down {
				down = true
				err := ErrDisconnected
				if last := c.nc.LastError(); last != nil {
					err = fmt.Errorf("%w: %w", ErrDisconnected, last)
				}
				c.log.Warn("livenats: connection lost, reconnecting", "node", c.id, "err", err)
				c.fail("connection", err)
			}
		case nats.CONNECTED:
			if down {
				down = false
				c.reconnects.Add(1)
				c.log.Info("livenats: reconnected", "node", c.id, "server", c.nc.ConnectedUrlRedacted())
				c.runHooks()
			}
		case nats.CLOSED:
			close(c.connClosed)
			return
		}
	}
}

// runHooks starts every OnReconnect function on its own goroutine.
func (c *Cluster) runHooks() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed.Load() {
		return
	}
	for _, fn := range c.hooks {
		c.workers.Add(1)
		go func() {
			defer c.workers.Done()
			fn()
		}()
	}
}

// asyncError is the error handler of a connection the Cluster made.
func (c *Cluster) asyncError(_ *nats.Conn, sub *nats.Subscription, err error) {
	if errors.Is(err, nats.ErrSlowConsumer) {
		c.mu.Lock()
		var found *subscription
		for s := range c.subs {
			if s.ns == sub {
				found = s
				break
			}
		}
		c.mu.Unlock()
		if found != nil {
			found.syncDropped()
		}
		return
	}
	c.log.Warn("livenats: async error", "node", c.id, "err", err)
	c.fail("async", err)
}

// Close stops the node. A connection New made is drained (subscriptions
// handle what they already received, bounded by Options.DrainTimeout) and
// closed; on a caller's connection only the node's subscriptions end.
// Leases stay until they expire, as after a crash; release them first for
// a hand-off. Close is idempotent and must not be called from a
// subscription handler.
func (c *Cluster) Close() error {
	var err error
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed.Store(true)
		subs := c.subs
		c.subs = map[*subscription]struct{}{}
		c.mu.Unlock()
		close(c.stop)
		<-c.fdone
		if c.ownConn {
			for s := range subs {
				s.syncDropped()
			}
			err = c.shutdownConn()
		} else {
			for s := range subs {
				if e := s.unsubscribe(); e != nil && err == nil {
					err = e
				}
			}
			c.nc.RemoveStatusListener(c.status)
		}
		<-c.statusDone
		c.workers.Wait()
	})
	if err != nil {
		return fmt.Errorf("livenats: close: %w", err)
	}
	return nil
}

// shutdownConn drains and closes a connection New made and waits until it
// is closed. On a caller's connection it only stops the status goroutine.
func (c *Cluster) shutdownConn() error {
	if !c.ownConn {
		c.nc.RemoveStatusListener(c.status)
		return nil
	}
	err := c.nc.Drain()
	if errors.Is(err, nats.ErrConnectionReconnecting) || errors.Is(err, nats.ErrConnectionClosed) {
		err = nil // Drain closed it, or it was closed already
	}
	timer := time.NewTimer(c.opts.DrainTimeout + time.Second)
	defer timer.Stop()
	select {
	case <-c.connClosed:
	case <-timer.C:
		c.nc.Close()
	}
	c.nc.RemoveStatusListener(c.status)
	return err
}

// fail counts and reports a failed operation.
func (c *Cluster) fail(op string, err error) {
	c.errs.Add(1)
	if c.opts.OnError != nil {
		c.opts.OnError(op, err)
	}
}

// callErr wraps the error of a call whose caller gets it: it is counted
// unless it is the caller's own context ending.
func (c *Cluster) callErr(ctx context.Context, op string, err error) error {
	if ctx.Err() == nil {
		c.fail(op, err)
		c.log.Debug("livenats: call failed", "op", op, "err", err)
	}
	return fmt.Errorf("livenats: %s: %w", op, err)
}

// checkOpen returns ErrClosed after Close, and the context's error.
func (c *Cluster) checkOpen(ctx context.Context) error {
	if c.closed.Load() {
		return ErrClosed
	}
	return ctx.Err()
}

// Prefix returns the node's subject and bucket prefix.
func (c *Cluster) Prefix() string { return c.opts.Prefix }
