// Package livetest tests live components in memory: it mounts components on
// a real live.Server through in-memory connections, calls their actions and
// lets the test assert their state, their events and their room traffic,
// with no sockets and no sleeps. It plays for live what LiveViewTest plays
// for Phoenix.
//
// # Entry points
//
// NewServer builds a live.Server for a test and registers components with
// setup functions (a generated RegisterLive fits as it is); New wraps a
// server the test built itself. Server.Connect opens a connection (a browser
// tab), optionally authenticated with WithIdentity. Conn.Mount mounts a
// component and returns a Component, whose Call, Set and Unmount send the
// protocol's messages, and whose State, Decode and Events read what the
// server sent back:
//
//	func TestCounter(t *testing.T) {
//		s := livetest.NewServer(t, live.Options{}, RegisterLive)
//		c := s.Connect().Mount("Counter", nil)
//		if _, err := c.Call("increment", nil); err != nil {
//			t.Fatal(err)
//		}
//		var got Counter
//		c.Decode(&got)
//		if got.Count != 1 {
//			t.Fatalf("count = %d, want 1", got.Count)
//		}
//	}
//
// Component.Room speaks the client room messages; Conn.Request and Conn.Send
// speak any other message; Conn.Messages lists every message the server sent.
//
// # Synchronous by design
//
// Every request waits for the server's reply, and the server writes a
// connection's messages in order, so when a call returns, everything the
// action caused on that connection (its delta, its emits, its ERROR) has
// been recorded. Server.Sync waits for the other connections too (a
// singleton's delta to another tab). Nothing polls or sleeps.
//
// # Time
//
// Run tests that involve time (component timers, signature renewal, resume
// grace, rate-limit windows) inside testing/synctest.Test, and create the
// server inside the bubble: Server.Advance then moves the bubble's fake
// clock, so timers fire at once, in order, and the test takes no real time.
// Server.Sync waits for every goroutine of the bubble. Outside a bubble both
// still work, with real time: Sync does a round trip on every connection and
// Advance really sleeps. Component.WaitFor and Component.WaitEvent wait for
// a state or an event caused by a background goroutine, in and out of a
// bubble. Every wait is bounded by DefaultTimeout (WithTimeout), in fake
// time inside a bubble.
//
// # Lifecycle and concurrency
//
// Connections are closed, and a server made by NewServer is shut down, by
// the test's cleanup, which waits for the engine's goroutines to stop, so
// tests stay leak-free (goleak) and can run with t.Parallel. The kit starts
// one goroutine per Conn, the connection's reader (Server.ServeSocket),
// which starts the engine's writer; nothing else.
//
// Methods that fail the test on error (Connect, Mount, MustCall, Decode,
// Unmount, WaitFor, WaitEvent, Sync, Advance) must be called from the test's
// goroutine; the others return errors and are safe for concurrent use.
package livetest
