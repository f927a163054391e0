package livenats_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	live "github.com/live-go/live"
	livenats "github.com/live-go/live/nats"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// natsURL is the server the tests use: LIVE_NATS_URL, or the local default.
func natsURL() string {
	if u := os.Getenv("LIVE_NATS_URL"); u != "" {
		return u
	}
	return livenats.DefaultURL
}

// unavailable skips the test with reason, or fails it when
// LIVE_REQUIRE_SERVICES=1.
func unavailable(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv("LIVE_REQUIRE_SERVICES") == "1" {
		t.Fatalf("LIVE_REQUIRE_SERVICES=1 but %s", reason)
	}
	t.Skipf("skipping: %s (set LIVE_NATS_URL, or LIVE_REQUIRE_SERVICES=1 to fail instead)", reason)
}

var (
	serverOnce sync.Once
	serverErr  error
)

// requireNATS skips (or fails) the test unless a NATS server with
// JetStream answers at natsURL. The check runs once per test binary.
func requireNATS(t testing.TB) {
	t.Helper()
	serverOnce.Do(func() {
		nc, err := nats.Connect(natsURL(), nats.Timeout(2*time.Second), nats.NoReconnect())
		if err != nil {
			serverErr = fmt.Errorf("no NATS server at %s: %w", natsURL(), err)
			return
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_, err = js.AccountInfo(ctx)
			cancel()
		}
		if err != nil {
			serverErr = fmt.Errorf("NATS at %s has no JetStream: %w", natsURL(), err)
		}
	})
	if serverErr != nil {
		unavailable(t, serverErr.Error())
	}
}

// newPrefix returns a random prefix, so tests never share buckets or
// subjects.
func newPrefix() string {
	return "t" + strings.ToLower(rand.Text()[:12])
}

// testCtx is a context bounded by the test.
func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// dropBuckets deletes prefix's buckets at the end of the test, after the
// nodes closed (register it before creating them).
func dropBuckets(t testing.TB, url, prefix string) {
	t.Helper()
	t.Cleanup(func() {
		nc, err := nats.Connect(url, nats.Timeout(2*time.Second), nats.NoReconnect())
		if err != nil {
			t.Logf("dropping buckets of %s: %v", prefix, err)
			return
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, b := range []string{livenats.LeaseBucket(prefix), livenats.StoreBucket(prefix)} {
			if err := js.DeleteKeyValue(ctx, b); err != nil && err != jetstream.ErrBucketNotFound {
				t.Logf("dropping bucket %s: %v", b, err)
			}
		}
	})
}

// newNode returns a node of the cluster named by opts.Prefix, closed at
// cleanup.
func newNode(t testing.TB, opts livenats.Options) *livenats.Cluster {
	t.Helper()
	if opts.URL == "" && opts.Conn == nil {
		opts.URL = natsURL()
	}
	c, err := livenats.New(testCtx(t), opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// newCluster returns n nodes of a fresh cluster (own prefix, own
// connections), all built from base.
func newCluster(t testing.TB, n int, base livenats.Options) []*livenats.Cluster {
	t.Helper()
	requireNATS(t)
	if base.Prefix == "" {
		base.Prefix = newPrefix()
	}
	url := base.URL
	if url == "" {
		url = natsURL()
	}
	dropBuckets(t, url, base.Prefix)
	nodes := make([]*livenats.Cluster, n)
	for i := range nodes {
		o := base
		o.NodeID = fmt.Sprintf("node-%d", i+1)
		nodes[i] = newNode(t, o)
	}
	return nodes
}

// natsNodes is the constructor the conformance suite calls.
func natsNodes(t *testing.T, n int) []live.Cluster {
	t.Helper()
	nodes := newCluster(t, n, livenats.Options{})
	out := make([]live.Cluster, n)
	for i, c := range nodes {
		out[i] = c
	}
	return out
}

// must fails the test on err.
func must(t testing.TB, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// eventually polls cond (every 10 ms) until it holds, failing after 10 s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// rawKV opens bucket directly, to look at or tamper with records.
func rawKV(t testing.TB, bucket string) jetstream.KeyValue {
	t.Helper()
	nc, err := nats.Connect(natsURL())
	must(t, err, "connect")
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	must(t, err, "jetstream")
	kv, err := js.KeyValue(testCtx(t), bucket)
	must(t, err, "KeyValue "+bucket)
	return kv
}
