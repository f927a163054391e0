package clustertest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	live "github.com/live-go/live"
)

var leaseTests = []subtest{
	{"ExclusiveUnderContention", testLeaseExclusive},
	{"TokensIncrease", testLeaseTokensIncrease},
	{"Renew", testLeaseRenew},
	{"RenewExtends", testLeaseRenewExtends},
	{"Release", testLeaseRelease},
	{"Holder", testLeaseHolder},
	{"Expiry", testLeaseExpiry},
}

// acquire takes key on c and fails the test unless it got it.
func acquire(t *testing.T, c live.Cluster, key string, ttl time.Duration) live.Lease {
	t.Helper()
	l, err := c.AcquireLease(testContext(t), key, ttl)
	must(t, err, fmt.Sprintf("node %s: AcquireLease(%q)", c.NodeID(), key))
	if l.Key != key || l.Holder != c.NodeID() || l.Token == 0 {
		t.Fatalf("node %s: AcquireLease(%q) = %+v, want key, this node as holder and a non-zero token", c.NodeID(), key, l)
	}
	return l
}

// holder returns key's holder as seen by c, or a zero Lease for ErrNoLease.
func holder(t *testing.T, c live.Cluster, key string) live.Lease {
	t.Helper()
	l, err := c.LeaseHolder(testContext(t), key)
	if errors.Is(err, live.ErrNoLease) {
		return live.Lease{}
	}
	must(t, err, "LeaseHolder")
	return l
}

// waitExpired polls until key has no holder.
func waitExpired(t *testing.T, c live.Cluster, key string) {
	t.Helper()
	eventually(t, "lease "+key+" to expire", func() (bool, error) {
		_, err := c.LeaseHolder(testContext(t), key)
		if errors.Is(err, live.ErrNoLease) {
			return true, nil
		}
		return false, err
	})
}

// Every node tries to take the same lease at once: exactly one wins, every
// loser is told who won with which token, and the same holds round after
// round with strictly increasing tokens.
func testLeaseExclusive(t *testing.T, newNodes newNodesFunc) {
	ns := nodes(t, newNodes, 5)
	ctx := testContext(t)
	key := "singleton/Contended-" + unique()
	var last uint64
	for round := range 4 {
		type result struct {
			l   live.Lease
			err error
		}
		results := make([]result, len(ns))
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, c := range ns {
			wg.Go(func() {
				<-start
				l, err := c.AcquireLease(ctx, key, time.Minute)
				results[i] = result{l, err}
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for i, r := range results {
			switch {
			case r.err == nil:
				if winner >= 0 {
					t.Fatalf("round %d: nodes %d and %d both acquired the lease", round, winner, i)
				}
				winner = i
			case !errors.Is(r.err, live.ErrLeaseHeld):
				t.Fatalf("round %d: node %d: AcquireLease: %v", round, i, r.err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no node acquired a free lease", round)
		}
		w := results[winner].l
		if w.Holder != ns[winner].NodeID() || w.Key != key || w.Token <= last {
			t.Fatalf("round %d: winner's lease %+v (previous token %d)", round, w, last)
		}
		last = w.Token
		for i, r := range results {
			if i != winner && (r.l.Holder != w.Holder || r.l.Token != w.Token) {
				t.Fatalf("round %d: node %d got ErrLeaseHeld with %+v, want the winner %+v", round, i, r.l, w)
			}
		}
		for i, c := range ns {
			if h := holder(t, c, key); h != w {
				t.Fatalf("round %d: node %d sees holder %+v, want %+v", round, i, h, w)
			}
		}
		must(t, ns[winner].ReleaseLease(ctx, w), "ReleaseLease")
	}
}

// Tokens strictly increase across release, expiry and holders; the holder
// acquiring again keeps its token.
func testLeaseTokensIncrease(t *testing.T, newNodes newNodesFunc) {
	ns := nodes(t, newNodes, 2)
	ctx := testContext(t)
	a, b := ns[0], ns[1]
	key := "singleton/Tokens-" + unique()

	l1 := acquire(t, a, key, time.Minute)
	if again := acquire(t, a, key, time.Minute); again.Token != l1.Token {
		t.Fatalf("re-acquisition by the holder changed the token: %d then %d", l1.Token, again.Token)
	}
	must(t, a.ReleaseLease(ctx, l1), "ReleaseLease")
	l2 := acquire(t, b, key, time.Minute)
	if l2.Token <= l1.Token {
		t.Fatalf("token after release %d, not above %d", l2.Token, l1.Token)
	}
	must(t, b.ReleaseLease(ctx, l2), "ReleaseLease")
	l3 := acquire(t, b, key, shortTTL) // the same node again, after its release
	if l3.Token <= l2.Token {
		t.Fatalf("token of a new acquisition by the same node %d, not above %d", l3.Token, l2.Token)
	}
	waitExpired(t, a, key)
	l4 := acquire(t, a, key, shortTTL)
	if l4.Token <= l3.Token {
		t.Fatalf("token after expiry %d, not above %d", l4.Token, l3.Token)
	}
	waitExpired(t, b, key)
	l5 := acquire(t, a, key, time.Minute) // same node, after its own lease expired
	if l5.Token <= l4.Token {
		t.Fatalf("token after the holder's own lease expired %d, not above %d", l5.Token, l4.Token)
	}
	// Another key has its own lease.
	other := acquire(t, b, key+"-other", time.Minute)
	if h := holder(t, a, key); h != l5 {
		t.Fatalf("holder after acquiring another key: %+v, want %+v", h, l5)
	}
	if h := holder(t, a, key+"-other"); h != other {
		t.Fatalf("holder of the other key: %+v, want %+v", h, other)
	}
}

// Renewal works for the holder with its token only.
func testLeaseRenew(t *testing.T, newNodes newNodesFunc) {
	ns := nodes(t, newNodes, 2)
	ctx := testContext(t)
	a, b := ns[0], ns[1]
	key := "singleton/Renew-" + unique()

	l := acquire(t, a, key, time.Minute)
	must(t, a.RenewLease(ctx, l, time.Minute), "RenewLease by the holder")
	if h := holder(t, b, key); h != l {
		t.Fatalf("holder after renewal %+v, want %+v", h, l)
	}
	tests := []struct {
		name string
		node live.Cluster
		l    live.Lease
	}{
		{"non-holder node with the holder's lease", b, l},
		{"non-holder naming itself", b, live.Lease{Key: key, Holder: b.NodeID(), Token: l.Token}},
		{"holder with a newer token", a, live.Lease{Key: key, Holder: a.NodeID(), Token: l.Token + 1}},
		{"holder with an older token", a, live.Lease{Key: key, Holder: a.NodeID(), Token: l.Token - 1}},
		{"holder with another key", a, live.Lease{Key: key + "-x", Holder: a.NodeID(), Token: l.Token}},
	}
	for _, tc := range tests {
		wantErr(t, tc.node.RenewLease(ctx, tc.l, time.Minute), live.ErrLeaseLost, "RenewLease by "+tc.name)
	}
	if h := holder(t, b, key); h != l {
		t.Fatalf("failed renewals changed the lease: %+v, want %+v", h, l)
	}

	// After release, and after another acquisition, the old lease is lost
	// for good.
	must(t, a.ReleaseLease(ctx, l), "ReleaseLease")
	wantErr(t, a.RenewLease(ctx, l, time.Minute), live.ErrLeaseLost, "RenewLease after release")
	lb := acquire(t, b, key, shortTTL)
	wantErr(t, a.RenewLease(ctx, l, time.Minute), live.ErrLeaseLost, "RenewLease of a lease another node took")
	// After expiry too, even when nobody took it.
	waitExpired(t, a, key)
	wantErr(t, b.RenewLease(ctx, lb, time.Minute), live.ErrLeaseLost, "RenewLease after expiry")
	if h := holder(t, a, key); h != (live.Lease{}) {
		t.Fatalf("a failed renewal revived the lease: %+v", h)
	}
	// The old holder re-acquiring gets a new token, and the stale lease
	// stays lost.
	la := acquire(t, a, key, time.Minute)
	wantErr(t, a.RenewLease(ctx, l, time.Minute), live.ErrLeaseLost, "RenewLease with the token of an earlier acquisition")
	must(t, a.RenewLease(ctx, la, time.Minute), "RenewLease of the new lease")
}

// Renewal and re-acquisition by the holder extend the lease: a lease
// renewed for a minute outlives one of the same age that was not.
func testLeaseRenewExtends(t *testing.T, newNodes newNodesFunc) {
	ns := nodes(t, newNodes, 2)
	ctx := testContext(t)
	base := "singleton/Extend-" + unique()
	renewed := acquire(t, ns[0], base+"-renewed", shortTTL)
	reacquired := acquire(t, ns[0], base+"-reacquired", shortTTL)
	plain := acquire(t, ns[0], base+"-plain", shortTTL)
	must(t, ns[0].RenewLease(ctx, renewed, time.Minute), "RenewLease")
	if l := acquire(t, ns[0], base+"-reacquired", time.Minute); l.Token != reacquired.Token {
		t.Fatalf("re-acquisition changed the token")
	}
	waitExpired(t, ns[1], plain.Key)
	for _, l := range []live.Lease{renewed, reacquired} {
		if h := holder(t, ns[1], l.Key); h != l {
			t.Fatalf("lease %s extended to a minute is gone with the unextended one: %+v", l.Key, h)
		}
	}
}

// Release by the holder frees the lease at once; release by another node
// or with a stale token does nothing; releasing twice is harmless.
func testLeaseRelease(t *testing.T, newNodes newNodesFunc) {
	ns := nodes(t, newNodes, 2)
	ctx := testContext(t)
	a, b := ns[0], ns[1]
	key := "singleton/Release-" + unique()
	l := acquire(t, a, key, time.Minute)

	must(t, b.ReleaseLease(ctx, l), "ReleaseLease by another node")
	must(t, a.ReleaseLease(ctx, live.Lease{Key: key, Holder: a.NodeID(), Token: l.Token + 1}), "ReleaseLease with a wrong token")
	if h := holder(t, b, key); h != l {
		t.Fatalf("a release without the holder's token changed the lease: %+v", h)
	}
	must(t, a.ReleaseLease(ctx, l), "ReleaseLease")
	if h := holder(t, b, key); h != (live.Lease{}) {
		t.Fatalf("holder after release: %+v", h)
	}
	must(t, a.ReleaseLease(ctx, l), "second ReleaseLease")
	lb := acquire(t, b, key, time.Minute) // at once, no waiting for the TTL
	must(t, a.ReleaseLease(ctx, l), "ReleaseLease of a stale lease")
	if h := holder(t, a, key); h != lb {
		t.Fatalf("a stale release removed the new holder's lease: %+v", h)
	}
}

// LeaseHolder reports the holder and token from every node, and
// ErrNoLease for keys never taken.
func testLeaseHolder(t *testing.T, newNodes newNodesFunc) {
	ns := nodes(t, newNodes, 3)
	ctx := testContext(t)
	key := "singleton/Holder-" + unique()
	for _, c := range ns {
		_, err := c.LeaseHolder(ctx, key)
		wantErr(t, err, live.ErrNoLease, "LeaseHolder of a key never taken")
	}
	l := acquire(t, ns[2], key, time.Minute)
	for i, c := range ns {
		if h := holder(t, c, key); h != l {
			t.Fatalf("node %d: LeaseHolder = %+v, want %+v", i, h, l)
		}
	}
	_, err := ns[0].AcquireLease(ctx, key, time.Minute)
	wantErr(t, err, live.ErrLeaseHeld, "AcquireLease of a held lease")
}

// A lease that is not renewed expires after its TTL and another node can
// take it.
func testLeaseExpiry(t *testing.T, newNodes newNodesFunc) {
	ns := nodes(t, newNodes, 2)
	key := "singleton/Expiry-" + unique()
	l := acquire(t, ns[0], key, shortTTL)
	var got live.Lease
	eventually(t, "another node to take the expired lease", func() (bool, error) {
		nl, err := ns[1].AcquireLease(testContext(t), key, time.Minute)
		switch {
		case errors.Is(err, live.ErrLeaseHeld):
			if nl.Holder != l.Holder || nl.Token != l.Token {
				return false, fmt.Errorf("held by %+v, want %+v", nl, l)
			}
			return false, nil
		case err != nil:
			return false, err
		}
		got = nl
		return true, nil
	})
	if got.Holder != ns[1].NodeID() || got.Token <= l.Token {
		t.Fatalf("lease after expiry %+v (expired token %d)", got, l.Token)
	}
}
