package livenats_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	live "github.com/live-go/live"
	livenats "github.com/live-go/live/nats"
	"github.com/nats-io/nats.go"
)

// counter is a subscription handler counting messages, with a channel
// closed once it saw want of them.
type counter struct {
	n    atomic.Int64
	want int64
	done chan struct{}
	once sync.Once
}

func newCounter(want int) *counter { return &counter{want: int64(want), done: make(chan struct{})} }

func (c *counter) add([]byte) {
	if c.n.Add(1) == c.want {
		c.once.Do(func() { close(c.done) })
	}
}

func (c *counter) wait(t testing.TB, what string) {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s: %d of %d", what, c.n.Load(), c.want)
	}
}

// A handler that blocks delays only its own subscription: another one on
// the same node and subject gets everything. Once the slow subscription's
// pending limit is reached, messages are dropped, counted and reported,
// and every message is either handled or counted as dropped.
func TestSlowSubscription(t *testing.T) {
	var reported atomic.Int64
	onError := func(op string, err error) {
		if op == "deliver" && errors.Is(err, livenats.ErrSlowConsumer) {
			reported.Add(1)
		}
	}
	nodes := newCluster(t, 2, livenats.Options{MaxPendingMsgs: 10, OnError: onError})
	ctx := testCtx(t)
	pub, sub := nodes[0], nodes[1]
	const total = 200
	release := make(chan struct{})
	var slowHandled atomic.Int64
	slow, err := sub.Subscribe(ctx, "live.room.slow", func([]byte) {
		<-release
		slowHandled.Add(1)
	})
	must(t, err, "Subscribe")
	defer slow.Close()
	fast := newCounter(total)
	fs, err := sub.Subscribe(ctx, "live.room.slow", fast.add)
	must(t, err, "Subscribe")
	defer fs.Close()

	for i := range total {
		must(t, pub.Publish(ctx, "live.room.slow", fmt.Appendf(nil, "%d", i)), "Publish")
	}
	fast.wait(t, "the fast subscription to get every message")
	// Every message reached sub's connection (Publish is confirmed, and
	// the flush answer comes after the messages).
	must(t, sub.Flush(ctx), "Flush")
	dropped := sub.Stats().Dropped
	if dropped == 0 || dropped > total-10 {
		t.Fatalf("Stats.Dropped = %d with a blocked handler and a limit of 10 of %d", dropped, total)
	}
	if reported.Load() == 0 {
		t.Fatal("drops were not reported to OnError")
	}
	close(release)
	eventually(t, "the slow subscription to handle what it kept", func() bool {
		return slowHandled.Load() == int64(total)-int64(dropped)
	})
	if st := sub.Stats(); st.Delivered != uint64(2*total)-dropped {
		t.Fatalf("Stats.Delivered = %d, want %d", st.Delivered, uint64(2*total)-dropped)
	}
}

// Subjects are encoded: wildcards and spaces in the core's subjects are
// plain characters, and subjects differing only in empty tokens or escapes
// do not share messages.
func TestSubjectsAreEncoded(t *testing.T) {
	nodes := newCluster(t, 2, livenats.Options{})
	ctx := testCtx(t)
	subjects := []string{
		"live.room.x", "live.room.*", "live.room.>", "live.room.x y", "live..room.x",
		"live.room.x.", ".live.room.x", "live.room.x=2E", "live.room.x:1", "live.room.\r\nPUB x 1",
		"", ".", "live.room.ü",
	}
	boxes := make([]*counter, len(subjects))
	got := make([][]string, len(subjects))
	var mu sync.Mutex
	for i, s := range subjects {
		boxes[i] = newCounter(1)
		sub, err := nodes[1].Subscribe(ctx, s, func(data []byte) {
			mu.Lock()
			got[i] = append(got[i], string(data))
			mu.Unlock()
			boxes[i].add(data)
		})
		must(t, err, fmt.Sprintf("Subscribe(%q)", s))
		defer sub.Close()
	}
	for i, s := range subjects {
		must(t, nodes[0].Publish(ctx, s, fmt.Appendf(nil, "%d", i)), fmt.Sprintf("Publish(%q)", s))
	}
	for i := range subjects {
		boxes[i].wait(t, fmt.Sprintf("subject %q", subjects[i]))
	}
	must(t, nodes[1].Flush(ctx), "Flush")
	mu.Lock()
	defer mu.Unlock()
	for i, s := range subjects {
		if len(got[i]) != 1 || got[i][0] != fmt.Sprint(i) {
			t.Fatalf("subscription to %q got %q, want only %q", s, got[i], fmt.Sprint(i))
		}
	}
	long := strings.Repeat("x", 4000)
	if err := nodes[0].Publish(ctx, long, nil); !errors.Is(err, livenats.ErrNameTooLong) {
		t.Fatalf("Publish on a 4000-byte subject: %v", err)
	}
	if _, err := nodes[0].Subscribe(ctx, long, func([]byte) {}); !errors.Is(err, livenats.ErrNameTooLong) {
		t.Fatalf("Subscribe to a 4000-byte subject: %v", err)
	}
}

// Every call on a closed node fails with ErrClosed, and Close is
// idempotent.
func TestClosedNode(t *testing.T) {
	nodes := newCluster(t, 1, livenats.Options{})
	c := nodes[0]
	ctx := testCtx(t)
	sub, err := c.Subscribe(ctx, "live.node.x", func([]byte) {})
	must(t, err, "Subscribe")
	must(t, c.Close(), "Close")
	must(t, c.Close(), "second Close")
	must(t, sub.Close(), "Subscription.Close after Close")
	if !c.Conn().IsClosed() {
		t.Fatal("Close left the connection it made open")
	}
	l := live.Lease{Key: "k", Holder: c.NodeID(), Token: 1}
	calls := map[string]func() error{
		"Publish":     func() error { return c.Publish(ctx, "s", nil) },
		"Subscribe":   func() error { _, err := c.Subscribe(ctx, "s", func([]byte) {}); return err },
		"Acquire":     func() error { _, err := c.AcquireLease(ctx, "k", time.Second); return err },
		"Renew":       func() error { return c.RenewLease(ctx, l, time.Second) },
		"Release":     func() error { return c.ReleaseLease(ctx, l) },
		"Holder":      func() error { _, err := c.LeaseHolder(ctx, "k"); return err },
		"PutFenced":   func() error { return c.PutFenced(ctx, "k", 1, nil, 0) },
		"GetFenced":   func() error { _, _, err := c.GetFenced(ctx, "k"); return err },
		"PutIfAbsent": func() error { _, err := c.PutIfAbsent(ctx, "k", nil, 0); return err },
		"Delete":      func() error { return c.Delete(ctx, "k") },
		"Flush":       func() error { return c.Flush(ctx) },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			if err := call(); !errors.Is(err, livenats.ErrClosed) {
				t.Fatalf("%s on a closed node: %v, want ErrClosed", name, err)
			}
		})
	}
}

// With a caller's connection, Close removes only the node's own
// subscriptions and leaves the connection open.
func TestCallerConnection(t *testing.T) {
	requireNATS(t)
	nc, err := nats.Connect(natsURL())
	must(t, err, "connect")
	defer nc.Close()
	own, err := nc.SubscribeSync("caller.own")
	must(t, err, "SubscribeSync")
	defer own.Unsubscribe()
	prefix := newPrefix()
	dropBuckets(t, natsURL(), prefix)
	c := newNode(t, livenats.Options{Conn: nc, Prefix: prefix})
	if c.Conn() != nc {
		t.Fatal("Conn() is not the caller's connection")
	}
	ctx := testCtx(t)
	got := newCounter(1)
	for i := range 3 {
		sub, err := c.Subscribe(ctx, fmt.Sprintf("live.room.%d", i), got.add)
		must(t, err, "Subscribe")
		if i == 0 {
			must(t, sub.Close(), "Subscription.Close")
		}
	}
	must(t, c.Publish(ctx, "live.room.1", []byte("x")), "Publish")
	got.wait(t, "a message on the caller's connection")
	before := nc.NumSubscriptions()
	must(t, c.Close(), "Close")
	if !nc.IsConnected() {
		t.Fatal("Close closed the caller's connection")
	}
	if after := nc.NumSubscriptions(); after != before-2 {
		t.Fatalf("subscriptions on the caller's connection: %d before Close, %d after; want 2 fewer", before, after)
	}
	must(t, nc.Publish("caller.own", []byte("still mine")), "Publish on the caller's connection")
	if _, err := own.NextMsg(5 * time.Second); err != nil {
		t.Fatalf("the caller's own subscription after Close: %v", err)
	}
}

// Options are validated before anything connects.
func TestOptionsValidation(t *testing.T) {
	tests := []struct {
		name string
		opts livenats.Options
		want string // in the error
	}{
		{"dotted prefix", livenats.Options{Prefix: "a.b"}, "Prefix"},
		{"wildcard prefix", livenats.Options{Prefix: "a*"}, "Prefix"},
		{"slash prefix", livenats.Options{Prefix: "a/b"}, "Prefix"},
		{"long prefix", livenats.Options{Prefix: strings.Repeat("p", 65)}, "Prefix"},
		{"long node id", livenats.Options{NodeID: strings.Repeat("n", 257)}, "NodeID"},
		{"no server", livenats.Options{URL: "nats://127.0.0.1:1"}, "connect"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if tc.opts.URL == "" {
				tc.opts.URL = "nats://127.0.0.1:1" // never reached
			}
			c, err := livenats.New(ctx, tc.opts)
			if err == nil {
				_ = c.Close()
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %s", err, tc.want)
			}
		})
	}
}
