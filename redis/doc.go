// Package liveredis is a Redis backend for live.Cluster, built on
// github.com/redis/go-redis/v9. Several live.Servers given Clusters with the
// same Redis and Prefix act as one: singletons have one owner at a time,
// rooms span the servers, and any server can serve any client.
//
// # Entry points
//
// [New] connects (to Options.Client, or to a client it builds for
// Options.Addr) and returns a [*Cluster] to pass as live.Options.Cluster.
// After Server.Shutdown, call [Cluster.Close].
//
//	c, err := liveredis.New(liveredis.Options{Addr: "127.0.0.1:6379"})
//	if err != nil { ... }
//	defer c.Close()
//	srv, err := live.New(live.Options{Cluster: c, StateSecret: secret})
//
// # How it maps onto Redis
//
// With the default Prefix "live:":
//
//	live:<subject>          pub/sub channel of a subject
//	live:lease:{<key>}      string "<token>:<holder>" with PX ttl (the lease)
//	live:token:{<key>}      the lease's fencing token counter (no expiry)
//	live:kv:<key>           hash {t: token, v: value} for PutFenced, or the
//	                        plain string value of PutIfAbsent (token 0)
//
// Leases and fenced writes are Lua scripts, so each is one atomic step on
// the server; PutIfAbsent is SET NX PX. A token counter that does not exist
// starts at the Redis server's clock in microseconds, so tokens keep
// increasing even after a Redis restart that lost every key (as long as the
// server's clock does not go back). The braces are hash tags: a lease's two
// keys live in one slot of a Redis Cluster.
//
// # Publishing
//
// Publish hands the message to one goroutine that sends everything queued
// in a single pipeline, so many concurrent publishers share round trips
// instead of each paying one. Publish returns once Redis accepted the
// message (or the send failed). Messages of one caller are sent in the
// order of its Publish calls.
//
// # Subscribing
//
// All subscriptions of a Cluster share one Redis connection (a go-redis
// PubSub). Subscribe returns once Redis confirmed the subscription, so a
// message published afterwards reaches it. Each subscription has its own
// queue and goroutine, so a slow handler delays only its own subject; a
// queue holding Options.MaxPending messages drops further ones (counted in
// Stats.Dropped, reported to OnError as [ErrSlowConsumer]).
//
// When the connection breaks, the receiving goroutine retries with backoff;
// go-redis reconnects and subscribes again to every channel, and delivery
// resumes. Messages published while the connection was down are lost, as
// always with Redis pub/sub. A connection that stops answering is detected
// by a PING every Options.PingInterval and replaced.
//
// # Errors and metrics
//
// Every failed Redis operation increments Stats.Errors and calls
// Options.OnError with the operation's name: an outage shows up there (and
// in the live.Server's Stats().ClusterErrors), it does not crash anything.
// [Cluster.OnReconnect] registers functions to run once the subscription
// connection is back after a failure.
//
// # Concurrency
//
// All methods are safe for concurrent use. Handlers run on their
// subscription's goroutine, one message at a time; they may call any method
// of the Cluster except Close. OnError and Logger calls happen on whichever
// goroutine failed and must not block.
package liveredis
