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
// by Options.RequestTimeout. When the connection ends every pending request
// fails at once with an error wrapping [ErrClosed] and the close status
// (websocket.CloseStatus reads it).
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
// # Concurrency
//
// All methods are safe for concurrent use. Each Client runs one reader
// goroutine, which stops when the connection ends; writes are serialized in
// call order. Every callback (OnMessage, OnBinary, OnChange, On) runs on the
// reader goroutine, in message order: it must return quickly and must never
// wait for a server reply there (start a goroutine instead), or the client
// stalls until the request times out.
//
// # Lifecycle
//
// A Client serves one connection: after [Client.Close] or a connection loss
// [Client.Done] is closed and [Client.Err] tells why. Automatic reconnection
// is not provided yet; components keep their name, props, mount options and
// newest signed state so that a later version can re-mount or rehydrate
// them on a new connection.
package client
