// Package demo holds the components and the page of the `live demo`
// command: a per-tab Counter and a TodoList shared by every tab (a
// singleton), served from memory with no setup.
//
// # Entry points
//
// Register adds the demo components to a live.Server; Handler serves the
// demo page at "/" and the server's own routes under live.DefaultPrefix.
//
//	srv, err := live.New(live.Options{Logger: logger})
//	if err != nil { ... }
//	if err := demo.Register(srv); err != nil { ... }
//	http.ListenAndServe("127.0.0.1:8080", demo.Handler(srv))
//
// The page (page.html, embedded) is plain HTML with inline JavaScript that
// speaks the raw wire protocol over a WebSocket to /api/live/ws: it mounts
// both components, calls actions with expectResponse, and applies
// STATE_UPDATE snapshots and STATE_DELTA deltas with the protocol's rules.
// It stands in until the embedded JS client exists.
//
// # Concurrency
//
// Component methods run under the engine's per-instance lock, one at a time,
// as every live action does. When the TodoList singleton is destroyed (its
// last tab closed), it saves its todos in a store owned by the server it was
// registered on, and the next instance starts from there: the list lasts as
// long as the process.
package demo
