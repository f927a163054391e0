// Package demo holds the components and the page of the `live demo`
// command, the showcase of live-go, served from memory with no setup and no
// build step. The page has five panels:
//
//   - Counter: a counter of each tab's own (a per-connection component).
//   - Todos: a todo list shared by every tab (TodoList, a singleton).
//   - Chat: a chat room with presence. Each tab's Chat joins the untyped
//     room LobbyRoom server-side once it has a name; messages and the member
//     list reach every tab, and a closed tab leaves the list at once.
//   - Upload: images uploaded in chunks with a progress bar, listed by the
//     Gallery singleton and served by the demo under FilesPath.
//   - Monitor: connections, components and actions per second, polled from
//     GET /api/live/stats every second.
//
// # Entry points
//
// New makes a Demo; its Options adds the upload settings to the server's
// options, Register adds the components, and Handler serves the page at
// "/", the uploaded files and the server's own routes under
// live.DefaultPrefix:
//
//	d := demo.New()
//	srv, err := live.New(d.Options(live.Options{Logger: logger}))
//	if err != nil { ... }
//	if err := d.Register(srv); err != nil { ... }
//	http.ListenAndServe("127.0.0.1:8080", d.Handler(srv))
//
// The package-level Register registers the components alone (for tests
// and tools that need no uploads).
//
// # The page
//
// page.html (embedded) is plain HTML, CSS and one inline ES module that
// imports the embedded browser client from /api/live/client.js. Its
// Content-Security-Policy allows only that module and the inline style (by
// hash), scripts, images and connections of its own origin; it renders all
// text with textContent. The client keeps each tab's signed states in
// sessionStorage, so a reload or a server restart (with the same
// LIVE_STATE_SECRET) brings the tab's components back with their state,
// while two tabs never take over each other's per-tab components, as they
// would with the origin-wide localStorage.
//
// # Concurrency
//
// Component methods run under the engine's per-instance lock, one at a time,
// as every live action does. What several instances share lives in stores
// owned by the Demo, each behind its own mutex, taken last: the todo list
// (saved when the TodoList singleton is destroyed, so the list lasts as long
// as the process), the chat history and names, and the uploaded files. A
// Chat learns about other members through room events (handlers that run
// under its own lock); the one piece of work it cannot do in place, after
// the engine re-joins the lobby for a resumed client, it does on a goroutine
// through Base.Update.
package demo
