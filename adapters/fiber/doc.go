// Package livefiber serves a live.Server through Fiber v3.
//
// Fiber runs on fasthttp, not net/http, so the adapter has two halves:
//
//   - WebSocketHandler serves the WebSocket endpoint itself: it upgrades the
//     request with fasthttp's WebSocket implementation, wraps the connection
//     in a live.Socket and hands it to Server.ServeSocket. It applies the
//     server's origin rules (close code 4003) to the upgrade; see
//     Options.AllowedOrigins.
//   - HTTPHandler serves every other route (the SSE and long-polling
//     transports, the embedded browser client, the monitoring routes)
//     through Fiber's net/http adaptor, which lets the Server apply its own
//     rules.
//
// Mount registers both under a path prefix.
//
// # Identity
//
// Authentication stays in the application's Fiber middleware. A middleware
// that has authenticated a request stores the caller's *live.Identity in
// the request's locals under IdentityKey:
//
//	c.Locals(livefiber.IdentityKey, &live.Identity{ID: user.ID, Roles: user.Roles})
//
// Both handlers carry that value into the context.Context that
// Options.Identify receives: pass Identify as live.Options.Identify, or call
// IdentityFromContext from an Identify function of your own. The identity
// is read when a connection opens and kept for the connection's life.
//
// Strings that Fiber returns (c.Get, c.Params, c.Cookies...) point into
// fasthttp's reused buffers unless the app runs with Config.Immutable, so
// the handlers copy the identity's ID, Roles, Permissions and the keys and
// top-level string values of Claims; anything deeper in Claims must be
// copied by the middleware (strings.Clone).
//
// # Limitations
//
// Requests are copied out of fasthttp's reused buffers before they reach
// the Server, because SSE and long-polling sessions outlive the request
// that opened them. fasthttp does not report a client that disconnects
// while its handler runs: an SSE stream whose client went away is noticed at
// its next write (an event or, at the latest, the next heartbeat), and an
// abandoned long poll is answered when its poll timeout ends. The server's
// per-write deadline (Options.WriteTimeout) is not applied to SSE writes,
// which go through the adaptor's pipe; a stuck stream is still bounded by
// SSEOptions.MaxBufferedBytes. Fiber's BodyLimit (4 MiB by default) caps
// the frames the HTTP transports accept before the Server's own
// MaxMessageSize does.
//
// # Concurrency
//
// The handlers are safe for concurrent use. Each WebSocket connection runs
// on the goroutine fasthttp hands the hijacked connection to, for as long as
// the connection lives; Server.Shutdown closes it.
package livefiber
