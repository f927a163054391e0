package livenats_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	live "github.com/live-go/live"
	livenats "github.com/live-go/live/nats"
)

// Many goroutines on many nodes race for one lease, round after round:
// each round has exactly one winner, every loser is told the winner, and
// tokens strictly increase. A lost compare-and-set is retried, never
// reported.
func TestLeaseContention(t *testing.T) {
	nodes := newCluster(t, 6, livenats.Options{})
	ctx := testCtx(t)
	const perNode, rounds = 4, 8
	key := "singleton/Contention"
	var last uint64
	for round := range rounds {
		type result struct {
			l   live.Lease
			err error
		}
		results := make([]result, len(nodes)*perNode)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range results {
			c := nodes[i%len(nodes)]
			wg.Go(func() {
				<-start
				l, err := c.AcquireLease(ctx, key, time.Minute)
				results[i] = result{l, err}
			})
		}
		close(start)
		wg.Wait()
		var winner live.Lease
		winners := 0
		for _, r := range results {
			switch {
			case r.err == nil:
				winners++
				winner = r.l
			case !errors.Is(r.err, live.ErrLeaseHeld):
				t.Fatalf("round %d: AcquireLease: %v", round, r.err)
			}
		}
		// Goroutines of the winning node all succeed: the holder
		// re-acquiring keeps the lease and its token.
		if winners != perNode {
			t.Fatalf("round %d: %d successful acquisitions, want the %d of one node", round, winners, perNode)
		}
		if winner.Token <= last {
			t.Fatalf("round %d: token %d not above %d", round, winner.Token, last)
		}
		last = winner.Token
		for i, r := range results {
			if r.l != winner {
				t.Fatalf("round %d: caller %d got %+v, want %+v", round, i, r.l, winner)
			}
		}
		var holder *livenats.Cluster
		for _, c := range nodes {
			if c.NodeID() == winner.Holder {
				holder = c
			}
		}
		must(t, holder.ReleaseLease(ctx, winner), "ReleaseLease")
	}
	if last != rounds {
		t.Fatalf("last token %d after %d acquisitions: tokens skipped or repeated", last, rounds)
	}
}

// The fencing scenario the tokens exist for: a paused owner whose lease
// expired and was taken over cannot overwrite the new owner's state.
func TestLeaseFencesStaleOwner(t *testing.T) {
	nodes := newCluster(t, 2, livenats.Options{})
	ctx := testCtx(t)
	a, b := nodes[0], nodes[1]
	la, err := a.AcquireLease(ctx, "singleton/Fence", 200*time.Millisecond)
	must(t, err, "AcquireLease")
	must(t, a.PutFenced(ctx, "singleton-state/Fence", la.Token, []byte("a1"), 0), "PutFenced")
	var lb live.Lease
	eventually(t, "b to take the expired lease", func() bool {
		lb, err = b.AcquireLease(ctx, "singleton/Fence", time.Minute)
		return err == nil
	})
	if lb.Token <= la.Token {
		t.Fatalf("takeover token %d not above %d", lb.Token, la.Token)
	}
	must(t, b.PutFenced(ctx, "singleton-state/Fence", lb.Token, []byte("b1"), 0), "PutFenced")
	// a wakes up and carries on as if it still owned the singleton.
	if err := a.RenewLease(ctx, la, time.Minute); !errors.Is(err, live.ErrLeaseLost) {
		t.Fatalf("stale RenewLease: %v, want ErrLeaseLost", err)
	}
	if err := a.PutFenced(ctx, "singleton-state/Fence", la.Token, []byte("a2"), 0); !errors.Is(err, live.ErrFenced) {
		t.Fatalf("stale PutFenced: %v, want ErrFenced", err)
	}
	must(t, a.ReleaseLease(ctx, la), "stale ReleaseLease")
	v, tok, err := a.GetFenced(ctx, "singleton-state/Fence")
	must(t, err, "GetFenced")
	if string(v) != "b1" || tok != lb.Token {
		t.Fatalf("state %q (token %d), want b1 (token %d)", v, tok, lb.Token)
	}
	if h, err := b.LeaseHolder(ctx, "singleton/Fence"); err != nil || h != lb {
		t.Fatalf("holder %+v, %v; want %+v", h, err, lb)
	}
}

// Tokens live in the bucket, not in a node: nodes started later (a
// restarted cluster) continue the sequence.
func TestLeaseTokensSurviveNodes(t *testing.T) {
	first := newCluster(t, 1, livenats.Options{})
	ctx := testCtx(t)
	prefix := first[0].Prefix()
	l1, err := first[0].AcquireLease(ctx, "singleton/Survive", time.Minute)
	must(t, err, "AcquireLease")
	must(t, first[0].ReleaseLease(ctx, l1), "ReleaseLease")
	must(t, first[0].Close(), "Close")

	later := newNode(t, livenats.Options{Prefix: prefix, NodeID: "later"})
	l2, err := later.AcquireLease(ctx, "singleton/Survive", time.Minute)
	must(t, err, "AcquireLease on a new node")
	if l2.Token <= l1.Token {
		t.Fatalf("token %d on a new node, not above %d", l2.Token, l1.Token)
	}
}

// Bad arguments are refused before any write.
func TestLeaseArguments(t *testing.T) {
	nodes := newCluster(t, 1, livenats.Options{})
	ctx := testCtx(t)
	c := nodes[0]
	long := string(make([]byte, 4000))
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"zero ttl", func() error { _, err := c.AcquireLease(ctx, "k", 0); return err }, nil},
		{"negative ttl", func() error { _, err := c.AcquireLease(ctx, "k", -time.Second); return err }, nil},
		{"renew zero ttl", func() error { return c.RenewLease(ctx, live.Lease{Key: "k", Holder: c.NodeID(), Token: 1}, 0) }, nil},
		{"long key", func() error { _, err := c.AcquireLease(ctx, long, time.Second); return err }, livenats.ErrNameTooLong},
		{"long holder key", func() error { _, err := c.LeaseHolder(ctx, long); return err }, livenats.ErrNameTooLong},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want an error (%v)", err, tc.want)
			}
		})
	}
	if _, err := c.LeaseHolder(ctx, "k"); !errors.Is(err, live.ErrNoLease) {
		t.Fatalf("a refused acquisition left a lease: %v", err)
	}
}

// Keys with characters KV keys do not allow (the core's nonce keys hold
// ':') are encoded, distinct keys stay distinct.
func TestKeysAreEncoded(t *testing.T) {
	nodes := newCluster(t, 2, livenats.Options{})
	ctx := testCtx(t)
	keys := []string{
		"nonce/1712345678:abc:def",
		"nonce/1712345678_abc_def",
		"a.b", "a..b", ".a", "a.", "", ".", "..",
		"with space", "star*", "gt>", "eq=", "eq=3D", "ünï", "tab\tnl\n", "\x00",
	}
	for i, k := range keys {
		must(t, nodes[0].PutFenced(ctx, k, uint64(i+1), fmt.Appendf(nil, "v%d", i), 0), fmt.Sprintf("PutFenced(%q)", k))
	}
	for i, k := range keys {
		v, tok, err := nodes[1].GetFenced(ctx, k)
		must(t, err, fmt.Sprintf("GetFenced(%q)", k))
		if string(v) != fmt.Sprintf("v%d", i) || tok != uint64(i+1) {
			t.Fatalf("key %q read %q (token %d): keys collide", k, v, tok)
		}
		l, err := nodes[i%2].AcquireLease(ctx, k, time.Minute)
		must(t, err, fmt.Sprintf("AcquireLease(%q)", k))
		if l.Key != k || l.Token != 1 {
			t.Fatalf("lease on %q: %+v", k, l)
		}
	}
}
