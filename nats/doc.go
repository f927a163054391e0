// Package livenats is a NATS backend for live.Cluster, built on
// github.com/nats-io/nats.go: core NATS for pub/sub, JetStream key-value
// buckets for leases and the store. Several live.Servers given Clusters on
// the same NATS (with JetStream enabled) and the same Prefix act as one:
// singletons have one owner at a time, rooms span the servers, and any
// server can serve any client.
//
// # Entry points
//
// [New] connects (or uses Options.Conn), finds or creates the buckets, and
// returns a [*Cluster] to pass as live.Options.Cluster. After
// Server.Shutdown, call [Cluster.Close].
//
//	c, err := livenats.New(ctx, livenats.Options{URL: "nats://127.0.0.1:4222"})
//	if err != nil { ... }
//	defer c.Close()
//	srv, err := live.New(live.Options{Cluster: c, StateSecret: secret})
//
// # How it maps onto NATS
//
// With the default Prefix "live":
//
//	live.<subject>     core NATS subject of a subject ("live.live.room.lobby")
//	KV live_leases     one lease record per lease key: held flag, holder,
//	                   fencing token, ttl (no max age)
//	KV live_store      one value record per key: token, ttl, value
//	                   (max age Options.StoreMaxAge, 24 h by default)
//
// Subjects and keys are encoded one to one into what NATS allows: dots
// stay token separators, bytes other than [A-Za-z0-9_/-] become '=' and
// two hex digits (nonce/1:a:b is nonce/1=3Aa=3Ab), and an empty token is
// written "=". So a room id holding '*', '>' or a space is a plain
// subject, never a wildcard.
//
// # Leases and fencing tokens
//
// Every lease change is one compare-and-set on the lease record's KV
// revision (Create for a new key, Update otherwise), retried when another
// node won the race: a free or expired lease is taken with the record's
// token plus one, the holder re-acquiring or renewing rewrites its record
// with the same token, and a release marks the record free but keeps the
// token. Because the token lives in the record and records are never
// deleted (the lease bucket has no max age), tokens of a key only grow,
// across holders, expiry, node restarts and server restarts (with file
// storage). PutFenced is a compare-and-set loop that refuses a lower
// token than the stored live value's ([live.ErrFenced]); PutIfAbsent is a
// KV Create (or an Update over an expired value).
//
// # Expiry
//
// A TTL is stored in the record and counts from the JetStream timestamp
// of the record's latest write, the server's clock, so writers' clocks do
// not matter; readers compare it with their own clock. Expired records read
// as missing and are replaced by the next write. JetStream before 2.11 has
// no per-message TTL, so the store bucket's max age is the backstop that
// removes records nobody reads again (used nonces). A value written
// without a TTL (mirrored singleton state) must outlive that max age: the
// node that wrote it rewrites it, unchanged, once it is older than half
// the max age. A TTL longer than the max age is refused with
// [ErrTTLTooLong]. An existing bucket is used as it is; its max age wins
// over Options.StoreMaxAge.
//
// # Publishing
//
// Publish returns once the server accepted the message, so a message
// another node publishes afterwards is delivered after it. The
// confirmation is a PING/PONG round trip that all Publish calls waiting at
// that moment share, and nats.go writes their messages in few batches, so
// throughput grows with the number of concurrent publishers instead of
// collapsing. While the connection is down, messages go to nats.go's
// reconnect buffer and Publish returns at once.
//
// # Subscribing
//
// Each subscription is a nats.go asynchronous subscription with its own
// goroutine: its handler runs there one message at a time in order, and a
// slow handler delays only its own subscription. Messages wait within the
// pending limits (Options.MaxPendingMsgs, MaxPendingBytes); past them
// nats.go drops them, which Stats.Dropped counts and OnError reports as
// [ErrSlowConsumer]. Subscribe returns once the server registered the
// subscription.
//
// When the connection breaks, nats.go reconnects (forever, for a
// connection the Cluster made) and subscribes again; the outage is
// reported to OnError as [ErrDisconnected] and counted in Stats.Errors,
// and [Cluster.OnReconnect] functions run once it is back. Messages
// published while a subscriber was disconnected are lost, as always with
// core NATS.
//
// # Concurrency
//
// All methods are safe for concurrent use. Handlers may call any method
// of the Cluster except Close. OnError and Logger calls happen on whichever
// goroutine failed and must not block.
package livenats
