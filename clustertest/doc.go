// Package clustertest is the conformance suite for implementations of
// [live.Cluster]. A backend (Redis, NATS, the in-memory reference, or your
// own) is correct for the live server when it passes [Run] and
// [RunServers].
//
// # Using it
//
// A backend's test package calls [Run] with a constructor that returns n
// handles of one fresh cluster — n nodes that share pub/sub, leases and the
// store, and share nothing with nodes made by any earlier call (use a new
// random key and subject prefix per call). The constructor registers the
// nodes' Close with t.Cleanup; Close must be idempotent, because some
// subtests close a node early.
//
//	func TestConformance(t *testing.T) {
//		clustertest.Run(t, func(t *testing.T, n int) []live.Cluster {
//			prefix := "test-" + rand.Text()[:8] + ":"
//			nodes := make([]live.Cluster, n)
//			for i := range nodes {
//				c, err := mybackend.New(mybackend.Options{Prefix: prefix})
//				if err != nil {
//					t.Fatal(err)
//				}
//				t.Cleanup(func() { c.Close() })
//				nodes[i] = c
//			}
//			return nodes
//		})
//	}
//
// [RunServers] takes the same constructor and runs end-to-end scenarios:
// three live.Servers on three nodes, with Go clients spread over them
// (singletons with exactly-once actions, rooms across nodes, a graceful
// hand-off).
//
// # What is checked
//
// Pub/sub: delivery to every subscriber on every node (the publisher's own
// node included), per-publisher order, many subjects without cross-talk,
// Close stopping delivery, concurrent publishers on several nodes, 1 MiB
// and binary payloads, handlers that publish or subscribe without
// deadlocking. Leases: one winner under contention, fencing tokens that
// strictly increase across release and expiry (including tokens above
// 2^53, which a float comparison gets wrong), re-acquisition by the holder
// keeping its token, renewal and release only with the current token, TTL
// expiry and LeaseHolder. Store: PutFenced refusing lower tokens with
// ErrFenced, GetFenced, ErrNotFound, TTLs (and a later put without TTL
// clearing one), exactly-once PutIfAbsent under contention, Delete. Node
// ids are unique and a closed node fails its calls.
//
// Subjects and keys in the suite use the characters the core puts in them:
// subjects are dot-separated tokens of [A-Za-z0-9_:-] (room ids may also
// contain dots), keys are made of [A-Za-z0-9_./-].
//
// # Timing
//
// TTLs are short (300 ms) and every wait polls with a deadline of
// [WaitTimeout] (LIVE_CLUSTERTEST_WAIT overrides it); nothing sleeps to
// synchronize, so a slow machine makes the suite slower, not flaky. A
// message that must not arrive is watched for 100 ms after a later one
// arrived on the same node. The whole suite takes a few seconds on a local
// server.
package clustertest
