package clustertest

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	live "github.com/live-go/live"
)

var pubSubTests = []subtest{
	{"DeliversToEveryNode", testDeliversToEveryNode},
	{"PerPublisherOrder", testPerPublisherOrder},
	{"ManySubjects", testManySubjects},
	{"CloseStopsDelivery", testCloseStopsDelivery},
	{"ConcurrentPublishers", testConcurrentPublishers},
	{"Payloads", testPayloads},
	{"HandlerPublishes", testHandlerPublishes},
	{"HandlerSubscribes", testHandlerSubscribes},
}

// Every subscription on every node gets a message once, the publisher's
// own node and two subscriptions of one node included.
func testDeliversToEveryNode(t *testing.T, newNodes newNodesFunc) {
	ns := nodes(t, newNodes, 3)
	ctx := testContext(t)
	subject := "live.room.deliver:" + unique() + ".a-b_c"
	var boxes []*inbox
	for _, c := range ns {
		boxes = append(boxes, subscribe(t, c, subject))
	}
	boxes = append(boxes, subscribe(t, ns[1], subject)) // a second one on node 1
	other := subscribe(t, ns[2], subject+".other")

	for i, c := range ns {
		must(t, c.Publish(ctx, subject, []byte("from-"+strconv.Itoa(i))), "Publish")
	}
	for i, b := range boxes {
		msgs := b.waitN(t, fmt.Sprintf("subscription %d to get 3 messages", i), 3)
		got := map[string]int{}
		for _, m := range msgs {
			got[string(m)]++
		}
		for j := range ns {
			if got["from-"+strconv.Itoa(j)] != 1 {
				t.Fatalf("subscription %d got %q, want one message from each node", i, msgs)
			}
		}
	}
	// A marker on the other subject arrives after any stray message would
	// have: the similar subject got nothing.
	must(t, ns[0].Publish(ctx, subject+".other", []byte("marker")), "Publish")
	if msgs := other.waitN(t, "the marker", 1); len(msgs) != 1 || string(msgs[0]) != "marker" {
		t.Fatalf("a subscription to %q got %q", subject+".other", msgs)
	}
	for i, b := range boxes {
		if n := len(b.snapshot()); n != 3 {
			t.Fatalf("subscription %d got %d messages, want 3", i, n)
		}
	}
}

// Messages from one publisher on one subject arrive in publish order on
// every node.
func testPerPublisherOrder(t *testing.T, newNodes newNodesFunc) {
	ns := nodes(t, newNodes, 2)
	ctx := testContext(t)
	subject := "live.singleton.order-" + unique()
	local, remote := subscribe(t, ns[0], subject), subscribe(t, ns[1], subject)
	const n = 300
	for i := range n {
		must(t, ns[0].Publish(ctx, subject, []byte(strconv.Itoa(i))), "Publish")
	}
	for name, b := range map[string]*inbox{"publisher's node": local, "other node": remote} {
		msgs := b.waitN(t, name, n)
		for i, m := range msgs {
			if string(m) != strconv.Itoa(i) {
				t.Fatalf("%s: message %d is %q: lost, duplicated or reordered", name, i, m)
			}
		}
	}
}

// Many subjects at once: each subscription sees only its own subject's
// messages.
func testManySubjects(t *testing.T, newNodes newNodesFunc) {
	ns := nodes(t, newNodes, 2)
	ctx := testContext(t)
	base := "live.room.many-" + unique() + "."
	const n = 40
	boxes := make([]*inbox, n)
	for i := range boxes {
		boxes[i] = subscribe(t, ns[i%2], base+strconv.Itoa(i))
	}
	for round := range 2 {
		for i := range n {
			must(t, ns[(i+1)%2].Publish(ctx, base+strconv.Itoa(i), fmt.Appendf(nil, "%d/%d", i, round)), "Publish")
		}
	}
	for i, b := range boxes {
		msgs := b.waitN(t, fmt.Sprintf("subject %d", i), 2)
		want := [][]byte{fmt.Appendf(nil, "%d/0", i), fmt.Appendf(nil, "%d/1", i)}
		if len(msgs) != 2 || !bytes.Equal(msgs[0], want[0]) || !bytes.Equal(msgs[1], want[1]) {
			t.Fatalf("subject %d got %q, want %q", i, msgs, want)
		}
	}
}

// After Subscription.Close returns, the closed subscription gets nothing
// more while others on the same subject and node still do; closing twice
// is harmless.
func testCloseStopsDelivery(t *testing.T, newNodes newNodesFunc) {
	ns := nodes(t, newNodes, 2)
	ctx := testContext(t)
	subject := "live.node.close-" + unique()
	closed := newInbox()
	sub, err := ns[1].Subscribe(ctx, subject, closed.add)
	must(t, err, "Subscribe")
	t.Cleanup(func() { _ = sub.Close() })
	kept := subscribe(t, ns[1], subject)
	remote := subscribe(t, ns[0], subject)

	must(t, ns[0].Publish(ctx, subject, []byte("before")), "Publish")
	closed.waitN(t, "the first message", 1)
	kept.waitN(t, "the first message", 1)
	must(t, sub.Close(), "Subscription.Close")
	must(t, sub.Close(), "second Subscription.Close")

	for _, p := range []live.Cluster{ns[0], ns[1]} {
		must(t, p.Publish(ctx, subject, []byte("after")), "Publish")
	}
	must(t, ns[0].Publish(ctx, subject, []byte("marker")), "Publish")
	// kept and remote get everything; the closed one nothing more.
	for name, b := range map[string]*inbox{"kept": kept, "remote": remote} {
		b.wait(t, name+" to get the marker", func(msgs [][]byte) bool {
			return len(msgs) > 0 && string(msgs[len(msgs)-1]) == "marker"
		})
		if n := len(b.snapshot()); n != 4 {
			t.Fatalf("%s subscription got %d messages, want 4", name, n)
		}
	}
	closed.quiet(t, "the closed subscription after Close", 1)
	// A new subscription after a closed one works.
	again := subscribe(t, ns[1], subject)
	must(t, ns[0].Publish(ctx, subject, []byte("again")), "Publish")
	again.waitN(t, "a message after resubscribing", 1)
}

// Several goroutines on every node publish to one subject at once: every
// subscriber gets every message exactly once, each publisher's in order.
func testConcurrentPublishers(t *testing.T, newNodes newNodesFunc) {
	ns := nodes(t, newNodes, 3)
	ctx := testContext(t)
	subject := "live.room.concurrent-" + unique()
	var boxes []*inbox
	for _, c := range ns {
		boxes = append(boxes, subscribe(t, c, subject))
	}
	const perNode, perPublisher = 8, 40
	var wg sync.WaitGroup
	errs := make(chan error, len(ns)*perNode)
	for ni, c := range ns {
		for g := range perNode {
			wg.Go(func() {
				for i := range perPublisher {
					if err := c.Publish(ctx, subject, fmt.Appendf(nil, "%d-%d:%d", ni, g, i)); err != nil {
						errs <- err
						return
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Publish: %v", err)
	}
	total := len(ns) * perNode * perPublisher
	for bi, b := range boxes {
		msgs := b.waitN(t, fmt.Sprintf("node %d to get %d messages", bi, total), total)
		next := map[string]int{}
		for _, m := range msgs {
			pub, seq, ok := strings.Cut(string(m), ":")
			if !ok {
				t.Fatalf("node %d got a corrupt message %q", bi, m)
			}
			if seq != strconv.Itoa(next[pub]) {
				t.Fatalf("node %d: publisher %s's message %s arrived when %d was due (lost, duplicated or reordered)", bi, pub, seq, next[pub])
			}
			next[pub]++
		}
		if len(msgs) != total {
			t.Fatalf("node %d got %d messages, want %d", bi, len(msgs), total)
		}
	}
}

// Payloads arrive byte for byte: empty, every byte value, 1 MiB. The
// publisher may reuse its buffer once Publish returned.
func testPayloads(t *testing.T, newNodes newNodesFunc) {
	ns := nodes(t, newNodes, 2)
	ctx := testContext(t)
	allBytes := make([]byte, 512)
	for i := range allBytes {
		allBytes[i] = byte(i)
	}
	big := make([]byte, 1<<20)
	_, _ = rand.Read(big)
	tests := []struct {
		name    string
		payload []byte
	}{
		{"empty", []byte{}},
		{"all-bytes", allBytes},
		{"utf8", []byte(`{"k":"héllo ☃ 𝄞","n":null}`)},
		{"1MiB", big},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			subject := "live.room.payload-" + unique()
			b := subscribe(t, ns[1], subject)
			buf := append([]byte(nil), tc.payload...)
			must(t, ns[0].Publish(ctx, subject, buf), "Publish")
			for i := range buf {
				buf[i] ^= 0xff // the publisher reuses its buffer
			}
			msgs := b.waitN(t, "the payload", 1)
			if !bytes.Equal(msgs[0], tc.payload) {
				t.Fatalf("payload of %d bytes arrived as %d different bytes", len(tc.payload), len(msgs[0]))
			}
		})
	}
}

// A handler may publish, to another subject or its own, without
// deadlocking the subscription or the node.
func testHandlerPublishes(t *testing.T, newNodes newNodesFunc) {
	ns := nodes(t, newNodes, 2)
	ctx := testContext(t)
	ping, pong := "live.node.ping-"+unique(), "live.node.pong-"+unique()
	replies := subscribe(t, ns[0], pong)
	// Node 1 answers every ping on the same node's connection.
	sub, err := ns[1].Subscribe(ctx, ping, func(data []byte) {
		if err := ns[1].Publish(ctx, pong, append([]byte("re:"), data...)); err != nil {
			t.Errorf("Publish from a handler: %v", err)
		}
	})
	must(t, err, "Subscribe")
	t.Cleanup(func() { _ = sub.Close() })
	// A chain on one subject: each message makes the handler publish the
	// next one to the subject it is subscribed to.
	chain := "live.singleton.chain-" + unique()
	const hops = 25
	links := newInbox()
	sub2, err := ns[0].Subscribe(ctx, chain, func(data []byte) {
		links.add(data)
		n, _ := strconv.Atoi(string(data))
		if n < hops {
			if err := ns[0].Publish(ctx, chain, []byte(strconv.Itoa(n+1))); err != nil {
				t.Errorf("Publish from a handler: %v", err)
			}
		}
	})
	must(t, err, "Subscribe")
	t.Cleanup(func() { _ = sub2.Close() })

	for i := range 20 {
		must(t, ns[0].Publish(ctx, ping, []byte(strconv.Itoa(i))), "Publish")
	}
	must(t, ns[0].Publish(ctx, chain, []byte("0")), "Publish")
	msgs := replies.waitN(t, "20 replies", 20)
	for i, m := range msgs {
		if string(m) != "re:"+strconv.Itoa(i) {
			t.Fatalf("reply %d is %q", i, m)
		}
	}
	got := links.waitN(t, "the chain to finish", hops+1)
	for i, m := range got {
		if string(m) != strconv.Itoa(i) {
			t.Fatalf("chain link %d is %q", i, m)
		}
	}
}

// A handler may subscribe (and the new subscription works), and closing a
// subscription from inside its own handler does not deadlock.
func testHandlerSubscribes(t *testing.T, newNodes newNodesFunc) {
	ns := nodes(t, newNodes, 2)
	ctx := testContext(t)
	first, second := "live.room.first-"+unique(), "live.room.second-"+unique()
	inner := newInbox()
	var (
		mu   sync.Mutex
		subs []live.Subscription
	)
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, s := range subs {
			_ = s.Close()
		}
	})
	done := newInbox()
	var self live.Subscription
	var selfMu sync.Mutex
	outer, err := ns[1].Subscribe(ctx, first, func(data []byte) {
		s, err := ns[1].Subscribe(ctx, second, inner.add)
		if err != nil {
			t.Errorf("Subscribe from a handler: %v", err)
			return
		}
		mu.Lock()
		subs = append(subs, s)
		mu.Unlock()
		selfMu.Lock()
		me := self
		selfMu.Unlock()
		if me != nil {
			_ = me.Close() // closing itself from its handler
		}
		done.add(data)
	})
	must(t, err, "Subscribe")
	selfMu.Lock()
	self = outer
	selfMu.Unlock()
	t.Cleanup(func() { _ = outer.Close() })

	must(t, ns[0].Publish(ctx, first, []byte("go")), "Publish")
	done.waitN(t, "the handler to subscribe", 1)
	must(t, ns[0].Publish(ctx, second, []byte("inner")), "Publish")
	if msgs := inner.waitN(t, "the handler's subscription", 1); string(msgs[0]) != "inner" {
		t.Fatalf("handler's subscription got %q", msgs[0])
	}
	// The outer subscription closed itself: a second message on first is
	// not handled.
	must(t, ns[0].Publish(ctx, first, []byte("again")), "Publish")
	must(t, ns[0].Publish(ctx, second, []byte("marker")), "Publish")
	inner.waitN(t, "the marker", 2)
	done.quiet(t, "a subscription closed from its own handler", 1)
}
