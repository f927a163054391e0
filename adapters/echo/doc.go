// Package liveecho serves a live.Server through Echo (v4).
//
// Mount registers the server's routes (the WebSocket endpoint, the SSE and
// long-polling transports, the embedded browser client and the monitoring
// routes) on an Echo instance or group under a path prefix; Handler is the
// single echo.HandlerFunc behind them. Echo runs on net/http, so every
// transport works unchanged and the Server applies its own origin rules
// (close code 4003 or status 403) to requests that went through Echo's
// router and middleware.
//
// # Identity
//
// Authentication stays in the application's Echo middleware. A middleware
// that has authenticated a request stores the caller's *live.Identity under
// IdentityKey:
//
//	c.Set(liveecho.IdentityKey, &live.Identity{ID: user.ID, Roles: user.Roles})
//
// Handler carries that value into the request's context.Context, where
// Options.Identify finds it: pass Identify as live.Options.Identify, or call
// IdentityFromContext from an Identify function of your own. The identity
// is read when a connection opens (the WebSocket upgrade, the SSE stream or
// the long-polling session's first request) and is kept for the
// connection's life. A middleware that returns an error (echo.ErrUnauthorized)
// keeps the connection from opening at all.
//
// # Concurrency
//
// Handler is safe for concurrent use; the Server's concurrency contract
// applies unchanged.
package liveecho
