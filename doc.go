// Package live is a real-time, server-authoritative state synchronisation
// library: server-side live components are plain Go structs whose public
// state is kept in sync with connected clients over WebSocket.
//
// It speaks the wire protocol of @fluxstack/live 0.11.0, so existing
// @fluxstack/live browser clients work against it unchanged, and it ships a
// Go client (package client).
//
// # Entry points
//
//   - New creates a Server from Options (every zero value is a documented
//     default). Server is an http.Handler: mount it under its prefix
//     (default "/api/live/") and clients connect to "/api/live/ws".
//   - Register adds a component type with its action allow-list.
//   - Server.Shutdown drains queues, closes connections with 1001 and waits.
//   - Server.ServeSocket serves a connection from any transport that
//     implements Socket.
//
// # Components
//
// A component embeds Base. Its exported JSON fields are public state;
// unexported fields are server-only. Actions are methods listed in
// Component.Actions:
//
//	type Counter struct {
//		live.Base
//		Count int `json:"count"`
//	}
//
//	func (c *Counter) Increment(ctx *live.Ctx) (int, error) {
//		c.Count++
//		return c.Count, nil
//	}
//
// After every action (and every Base.Update) the engine diffs the public
// state field by field and sends one STATE_DELTA with only what changed,
// following the protocol's rules: nested objects are diffed to depth 3, a
// removed nested key is sent as null, arrays are replaced whole. Nothing needs
// to call "sync".
//
// # Concurrency
//
// Each connection's frames are read and decoded by one reader at a time and
// handled in order by a worker goroutine (a call of an action known to be
// fast runs on the reader itself when the worker is idle); both exist only
// while the connection is busy (an idle WebSocket connection on Linux has no goroutine
// at all: an epoll poller wakes it). At most one flusher writes to the
// socket: the worker for its own replies, or a goroutine started when other
// code queues something. Everything else queues encoded bytes on the
// connection's bounded send queue; a message for many connections (a
// singleton's delta) is encoded once. Actions, hooks and
// Base.Update of one component instance run one at a time under the
// instance's mutex, so component code needs no locking of its own for its
// fields. Hooks run on the goroutine of the call that triggered them (the
// reader of the calling connection, or the caller of Update) and must not
// block for long: they hold up that connection and that component.
//
// A client that cannot keep up first has its queued deltas replaced by one
// fresh signed snapshot per component (resync), and is disconnected with
// close code 1008 only if its queue keeps growing past twice
// Options.SendQueueBytes or a write blocks for Options.WriteTimeout. A slow
// client never slows anyone else.
//
// # Monitoring
//
// Server.Stats and the GET routes {prefix}/stats and {prefix}/components
// report counters and snapshots. Options.Observer receives every event
// (connections, mounts, actions with their duration, deltas, send-queue
// samples, rooms, rate limits, cluster) for metrics; its methods run
// synchronously on the goroutine that caused the event and must not block.
// The module github.com/live-go/live/liveprom implements it for
// Prometheus. Options.ActionWarnings logs slow actions and actions with a
// high error rate, each at most once per action per window. See
// docs/monitoring.md.
//
// # Security
//
// Origins are checked (close 4003), frames are size-, depth- and rate-limited
// (token bucket per connection), only allow-listed actions are callable,
// payloads are decoded strictly into the action's parameter type (unknown
// fields and prototype-pollution keys rejected), every component message is
// checked against the connection's ownership (including unmount), and mount
// props can only set fields declared Writable. State snapshots are signed with
// HMAC-SHA256 so clients can later rehydrate them.
package live
