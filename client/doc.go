// Package client is a Go client for the live protocol (the wire protocol of
// @fluxstack/live 0.11.0, which the live server speaks).
//
// # Entry points
//
// [Dial] opens a WebSocket to the server (normally ws://host/api/live/ws)
// and waits for CONNECTION_ESTABLISHED. [Client.Mount] mounts a server
// component and returns a [Component] whose state is mirrored locally;
// [Component.Call], [Component.Fire] and [Component.Set] invoke actions and
// update properties. [Client.Request] and [Client.Send] speak any other
// message of the protocol (rooms, auth, uploads).
//
//	c, err := client.Dial(ctx, "ws://localhost:8080/api/live/ws", nil)
//	if err != nil { ... }
//	defer c.Close()
//	counter, err := c.Mount(ctx, "Counter", nil)
//	if err != nil { ... }
//	if _, err := counter.Call(ctx, "increment", nil); err != nil { ... }
//	fmt.Println(counter.State()["count"])
//
// # Requests and errors
//
// Every awaited request carries a fresh 8-character requestId and
// "expectResponse":true and is matched to the reply echoing that id. A reply
// with "success":false or of type ERROR fails the call with an [*Error]
// holding the server's message; when that message contains
// COMPONENT_REHYDRATION_REQUIRED the error also matches
// [ErrRehydrationRequired]. A request without a context deadline is bounded
// by Options.RequestTimeout. When a connection ends, every request waiting
// for a reply on it fails at once with an error wrapping [ErrClosed] and the
// close status (websocket.CloseStatus reads it) — except [Component.Call],
// which is retried (see below).
//
// # Routing and ordering
//
// Server text frames hold one JSON object or an array of them; each object
// is handled in order. Replies resolve their request; BROADCAST goes to
// every component except the sender; everything else is routed by
// componentId. The server sends a component's first STATE_UPDATE before the
// mount reply that reveals its id, so messages for unknown ids are buffered
// (at most 32 per id, 64 ids, 5 s) and replayed when the mount reply
// registers the component. Binary frames of type 0x01 go to the addressed
// component's OnBinary handlers, other binary frames to [Client.OnBinary].
//
// # Reconnection and recovery
//
// After a connection loss the client reconnects by itself, forever by
// default, waiting 1 s before the first attempt and doubling the wait up to
// 16 s, each wait shortened by a random part of up to half (so many clients
// dropped together spread out); the backoff restarts after a successful
// recovery. Close code 4003 (origin refused) and [Client.Close] stop it;
// [ReconnectOptions] tunes or disables it, and Options.OnStateChange
// observes the [ConnState] transitions (connecting, connected,
// reconnecting, closed).
//
// On each new connection every mounted component is reattached before the
// client reports StateConnected, and requests issued meanwhile wait for
// that (bounded by their context):
//
//   - COMPONENT_REHYDRATE is sent with the component's newest signed state
//     (signed states are single-use: one already sent is never sent again)
//     and, when the server numbers state messages, payload.seq = the last
//     applied sequence number. A server that still has the instance resumes
//     it: same id, the missed STATE_DELTAs (or a snapshot), a fresh
//     signature. Otherwise it creates a new instance from the signed state
//     and the component adopts the new id.
//   - If rehydration is refused for any reason, the component is mounted
//     afresh with its original props and options; its state restarts.
//
// The [*Component] handle stays valid throughout; [Component.OnRecover]
// tells what happened ([Recovery]).
//
// Every [Component.Call] carries a fresh idempotency key. A call whose
// connection is lost before the reply waits for the recovery and is sent
// again with the same key: a resumed server instance answers with the
// first outcome without running the action twice. If the component came
// back as a new instance instead, the call fails with [ErrOutcomeUnknown].
// Fire, Set, Mount, Unmount and Request are never retried.
//
// # Concurrency
//
// All methods are safe for concurrent use. Each connection has one reader
// goroutine, and each Client one supervisor goroutine (reconnection,
// recovery, OnStateChange and OnRecover callbacks); Close stops them.
// Writes are serialized in call order. Every message callback (OnMessage,
// OnBinary, OnChange, On) runs on the reader goroutine, in message order: it
// must return quickly and must never wait for a server reply there (start a
// goroutine instead), or the client stalls until the request times out.
//
// # Lifecycle
//
// [Client.Done] is closed, and [Client.Err] tells why, only when the Client
// has ended for good: Close, close code 4003, or a loss with reconnection
// disabled or given up. A Client that is reconnecting is not done.
package client
