package clustertest_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	live "github.com/live-go/live"
	"github.com/live-go/live/clustertest"
)

// mutantEnv names the defect a child test process runs the suite with.
const mutantEnv = "CLUSTERTEST_MUTANT"

// mutant is a backend defect and the subtest of Run that must catch it.
type mutant struct {
	name    string
	catches string // subtest path under Run, e.g. "Lease/Renew"
	wrap    func(c live.Cluster) live.Cluster
}

var mutants = []mutant{
	{"publisher's node not served", "PubSub/DeliversToEveryNode", func(c live.Cluster) live.Cluster { return &noSelfDelivery{Cluster: c} }},
	{"Close does not stop delivery", "PubSub/CloseStopsDelivery", func(c live.Cluster) live.Cluster { return &stickySubs{Cluster: c} }},
	{"re-acquisition issues a new token", "Lease/TokensIncrease", func(c live.Cluster) live.Cluster { return &reacquireNewToken{Cluster: c} }},
	{"renewal ignores the token", "Lease/Renew", func(c live.Cluster) live.Cluster { return &renewByHolder{Cluster: c} }},
	{"tokens compared as float64", "Store/LargeTokens", func(c live.Cluster) live.Cluster { return &floatTokens{Cluster: c} }},
	{"PutIfAbsent checks then sets", "Store/PutIfAbsentOnce", func(c live.Cluster) live.Cluster { return &racyPutIfAbsent{Cluster: c} }},
	{"a put without TTL keeps the old TTL", "Store/TTL", func(c live.Cluster) live.Cluster { return newStickyTTL(c) }},
}

// The suite fails each broken backend in the subtest meant to catch its
// defect. The suite fails the test it runs in, so each runs in a child
// process of this test binary.
func TestSuiteCatchesDefects(t *testing.T) {
	if os.Getenv(mutantEnv) != "" {
		t.Skip("inside a child process")
	}
	for _, m := range mutants {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			group, sub, _ := strings.Cut(m.catches, "/")
			cmd := exec.Command(os.Args[0], "-test.run=^TestMutantChild$/^"+group+"$/^"+sub+"$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), mutantEnv+"="+m.name, "LIVE_CLUSTERTEST_WAIT=1s")
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a backend whose %s:\n%s", m.name, out)
			}
			if !strings.Contains(string(out), "--- FAIL: TestMutantChild/"+m.catches) {
				t.Fatalf("the backend whose %s did not fail %s:\n%s", m.name, m.catches, out)
			}
		})
	}
}

// TestMutantChild runs the suite against the in-memory backend with the
// defect named in CLUSTERTEST_MUTANT.
func TestMutantChild(t *testing.T) {
	name := os.Getenv(mutantEnv)
	if name == "" {
		t.Skip("run by TestSuiteCatchesDefects")
	}
	for _, m := range mutants {
		if m.name == name {
			clustertest.Run(t, func(t *testing.T, n int) []live.Cluster {
				nodes := memoryNodes(t, n)
				for i := range nodes {
					nodes[i] = m.wrap(nodes[i])
				}
				return nodes
			})
			return
		}
	}
	t.Fatalf("no mutant %q", name)
}

// noSelfDelivery drops messages the node published itself.
type noSelfDelivery struct{ live.Cluster }

func (c *noSelfDelivery) Publish(ctx context.Context, subject string, data []byte) error {
	return c.Cluster.Publish(ctx, subject, append([]byte(c.NodeID()+"\x00"), data...))
}

func (c *noSelfDelivery) Subscribe(ctx context.Context, subject string, fn func([]byte)) (live.Subscription, error) {
	return c.Cluster.Subscribe(ctx, subject, func(data []byte) {
		from, msg, _ := strings.Cut(string(data), "\x00")
		if from != c.NodeID() {
			fn([]byte(msg))
		}
	})
}

// stickySubs ignores Subscription.Close.
type stickySubs struct{ live.Cluster }

type ignoredClose struct{ live.Subscription }

func (ignoredClose) Close() error { return nil }

func (c *stickySubs) Subscribe(ctx context.Context, subject string, fn func([]byte)) (live.Subscription, error) {
	s, err := c.Cluster.Subscribe(ctx, subject, fn)
	if err != nil {
		return nil, err
	}
	return ignoredClose{s}, nil
}

// reacquireNewToken releases and takes the lease again when its holder
// acquires it.
type reacquireNewToken struct{ live.Cluster }

func (c *reacquireNewToken) AcquireLease(ctx context.Context, key string, ttl time.Duration) (live.Lease, error) {
	if l, err := c.LeaseHolder(ctx, key); err == nil && l.Holder == c.NodeID() {
		_ = c.ReleaseLease(ctx, l)
	}
	return c.Cluster.AcquireLease(ctx, key, ttl)
}

// renewByHolder renews whatever lease this node holds on the key, whatever
// the token.
type renewByHolder struct{ live.Cluster }

func (c *renewByHolder) RenewLease(ctx context.Context, l live.Lease, ttl time.Duration) error {
	if cur, err := c.LeaseHolder(ctx, l.Key); err == nil && cur.Holder == c.NodeID() {
		l = cur
	}
	return c.Cluster.RenewLease(ctx, l, ttl)
}

// floatTokens fences with float64 comparisons.
type floatTokens struct{ live.Cluster }

func (c *floatTokens) PutFenced(ctx context.Context, key string, token uint64, value []byte, ttl time.Duration) error {
	_, cur, err := c.GetFenced(ctx, key)
	if err == nil && float64(cur) > float64(token) {
		return live.ErrFenced
	}
	_ = c.Delete(ctx, key)
	return c.Cluster.PutFenced(ctx, key, token, value, ttl)
}

// racyPutIfAbsent checks for the key, then stores without a condition.
type racyPutIfAbsent struct{ live.Cluster }

func (c *racyPutIfAbsent) PutIfAbsent(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if _, _, err := c.GetFenced(ctx, key); !errors.Is(err, live.ErrNotFound) {
		return false, err
	}
	time.Sleep(time.Millisecond) // the window the defect leaves open
	_ = c.Delete(ctx, key)
	return c.Cluster.PutIfAbsent(ctx, key, value, ttl)
}

// stickyTTL keeps a key's first TTL when it is written again without one.
type stickyTTL struct {
	live.Cluster
	mu   sync.Mutex
	ttls map[string]time.Duration
}

func newStickyTTL(c live.Cluster) *stickyTTL {
	return &stickyTTL{Cluster: c, ttls: map[string]time.Duration{}}
}

func (c *stickyTTL) PutFenced(ctx context.Context, key string, token uint64, value []byte, ttl time.Duration) error {
	c.mu.Lock()
	if ttl > 0 {
		c.ttls[key] = ttl
	} else if old, ok := c.ttls[key]; ok {
		ttl = old
	}
	c.mu.Unlock()
	return c.Cluster.PutFenced(ctx, key, token, value, ttl)
}
