package clustertest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	live "github.com/live-go/live"
)

// WaitTimeout bounds every wait of the suite (a message that should
// arrive, a lease or key that should expire) unless the environment
// variable LIVE_CLUSTERTEST_WAIT holds another duration ("30s").
const WaitTimeout = 10 * time.Second

// quietPeriod is how long the suite watches for a message that must not
// arrive, after a later message on the same node already did.
const quietPeriod = 100 * time.Millisecond

// waitTimeout is WaitTimeout or its override from the environment.
var waitTimeout = sync.OnceValue(func() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("LIVE_CLUSTERTEST_WAIT")); err == nil && d > 0 {
		return d
	}
	return WaitTimeout
})

// shortTTL is the TTL of leases and keys the suite waits to expire.
const shortTTL = 300 * time.Millisecond

// newNodesFunc returns n nodes of one fresh cluster (see the package doc).
type newNodesFunc = func(t *testing.T, n int) []live.Cluster

// Run runs the backend conformance suite as subtests of t. newNodes returns
// n nodes of one fresh cluster (see the package doc); each subtest calls it
// for the nodes it needs.
func Run(t *testing.T, newNodes func(t *testing.T, n int) []live.Cluster) {
	t.Helper()
	groups := []struct {
		name  string
		tests []subtest
	}{
		{"PubSub", pubSubTests},
		{"Lease", leaseTests},
		{"Store", storeTests},
		{"Node", nodeTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) { tc.fn(t, newNodes) })
			}
		})
	}
}

// subtest is one conformance check.
type subtest struct {
	name string
	fn   func(t *testing.T, newNodes newNodesFunc)
}

// nodes calls newNodes and checks that it kept its promise.
func nodes(t *testing.T, newNodes newNodesFunc, n int) []live.Cluster {
	t.Helper()
	ns := newNodes(t, n)
	if len(ns) != n {
		t.Fatalf("newNodes(%d) returned %d nodes", n, len(ns))
	}
	for i, c := range ns {
		if c == nil {
			t.Fatalf("newNodes(%d) returned a nil node at %d", n, i)
		}
	}
	return ns
}

// testContext is a context that ends with the test (or after a generous
// bound, so that a hung backend call fails the test instead of hanging it).
func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*waitTimeout())
	t.Cleanup(cancel)
	return ctx
}

// unique returns a random identifier usable in subjects and keys.
func unique() string { return rand.Text()[:10] }

// must fails the test on err.
func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// eventually polls cond until it holds, failing the test after the wait
// timeout.
func eventually(t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout())
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", waitTimeout(), what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// inbox records the messages one subscription received.
type inbox struct {
	mu      sync.Mutex
	msgs    [][]byte
	changed chan struct{} // closed and replaced on every message
}

func newInbox() *inbox { return &inbox{changed: make(chan struct{})} }

// add is the subscription handler. It keeps its own copy of data, so a
// backend reusing buffers after the handler returns is not mistaken for
// one that corrupts messages.
func (b *inbox) add(data []byte) {
	b.mu.Lock()
	b.msgs = append(b.msgs, append([]byte(nil), data...))
	close(b.changed)
	b.changed = make(chan struct{})
	b.mu.Unlock()
}

// snapshot returns the messages received so far.
func (b *inbox) snapshot() [][]byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([][]byte(nil), b.msgs...)
}

// wait blocks until cond holds for the received messages, failing the
// test after the wait timeout.
func (b *inbox) wait(t *testing.T, what string, cond func(msgs [][]byte) bool) [][]byte {
	t.Helper()
	timer := time.NewTimer(waitTimeout())
	defer timer.Stop()
	for {
		b.mu.Lock()
		msgs := append([][]byte(nil), b.msgs...)
		ch := b.changed
		b.mu.Unlock()
		if cond(msgs) {
			return msgs
		}
		select {
		case <-ch:
		case <-timer.C:
			t.Fatalf("timed out after %v waiting for %s (have %d messages)", waitTimeout(), what, len(msgs))
		}
	}
}

// quiet fails the test if the inbox gets more than n messages within
// quietPeriod. It checks a message that must not arrive: once a later
// message reached another subscription, a stray one would be on its way,
// but subscriptions deliver independently, so give it a moment.
func (b *inbox) quiet(t *testing.T, what string, n int) {
	t.Helper()
	timer := time.NewTimer(quietPeriod)
	defer timer.Stop()
	for {
		b.mu.Lock()
		msgs := append([][]byte(nil), b.msgs...)
		ch := b.changed
		b.mu.Unlock()
		if len(msgs) > n {
			t.Fatalf("%s: got %q", what, msgs[n:])
		}
		select {
		case <-ch:
		case <-timer.C:
			return
		}
	}
}

// waitN waits for at least n messages and returns them.
func (b *inbox) waitN(t *testing.T, what string, n int) [][]byte {
	t.Helper()
	return b.wait(t, what, func(msgs [][]byte) bool { return len(msgs) >= n })
}

// subscribe subscribes c to subject with a new inbox and closes the
// subscription at cleanup.
func subscribe(t *testing.T, c live.Cluster, subject string) *inbox {
	t.Helper()
	b := newInbox()
	sub, err := c.Subscribe(testContext(t), subject, b.add)
	must(t, err, fmt.Sprintf("node %s: Subscribe(%q)", c.NodeID(), subject))
	t.Cleanup(func() { _ = sub.Close() })
	return b
}

// wantErr fails unless err matches target.
func wantErr(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}
