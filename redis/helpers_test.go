package liveredis_test

import (
	"context"
	"crypto/rand"
	"os"
	"testing"
	"time"

	live "github.com/live-go/live"
	liveredis "github.com/live-go/live/redis"
	"github.com/redis/go-redis/v9"
)

// redisAddr is the Redis server of the integration tests.
func redisAddr() string {
	if a := os.Getenv("LIVE_REDIS_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

// needRedis skips the test when Redis is unreachable, or fails it when
// LIVE_REQUIRE_SERVICES=1.
func needRedis(t testing.TB) string {
	t.Helper()
	addr := redisAddr()
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		if os.Getenv("LIVE_REQUIRE_SERVICES") == "1" {
			t.Fatalf("Redis at %s is required (LIVE_REQUIRE_SERVICES=1) but unreachable: %v", addr, err)
		}
		t.Skipf("Redis at %s unreachable (set LIVE_REDIS_ADDR): %v", addr, err)
	}
	return addr
}

// testPrefix is a key and channel prefix of its own for one test.
func testPrefix() string { return "live-test:" + rand.Text()[:12] + ":" }

// cleanPrefix returns a prefix of its own for one test on the Redis at
// addr, whose keys are deleted at cleanup (after the nodes closed).
func cleanPrefix(t testing.TB, addr string) string {
	t.Helper()
	prefix := testPrefix()
	t.Cleanup(func() {
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		defer rdb.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if len(keys) > 0 {
			_ = rdb.Del(ctx, keys...).Err()
		}
	})
	return prefix
}

// newNode returns a Cluster on addr, closed at cleanup.
func newNode(t testing.TB, opts liveredis.Options) *liveredis.Cluster {
	t.Helper()
	c, err := liveredis.New(opts)
	if err != nil {
		t.Fatalf("liveredis.New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// nodesOn returns a constructor of fresh clusters on addr, for clustertest.
func nodesOn(addr string) func(t *testing.T, n int) []live.Cluster {
	return func(t *testing.T, n int) []live.Cluster {
		t.Helper()
		prefix := cleanPrefix(t, addr)
		nodes := make([]live.Cluster, n)
		for i := range nodes {
			nodes[i] = newNode(t, liveredis.Options{Addr: addr, Prefix: prefix})
		}
		return nodes
	}
}
