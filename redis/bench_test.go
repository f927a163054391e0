package liveredis_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	liveredis "github.com/live-go/live/redis"
	"github.com/redis/go-redis/v9"
)

// benchPayload is the size of a typical room event or singleton delta.
var benchPayload = make([]byte, 200)

// runPublishers publishes b.N messages from publishers goroutines with
// publish and reports the rate.
func runPublishers(b *testing.B, publishers int, publish func(ctx context.Context) error) {
	b.Helper()
	ctx := context.Background()
	work := make(chan struct{}, publishers)
	var (
		wg      sync.WaitGroup
		errOnce sync.Once
		failed  error
	)
	for range publishers {
		wg.Go(func() {
			for range work {
				if err := publish(ctx); err != nil {
					errOnce.Do(func() { failed = err })
				}
			}
		})
	}
	b.ReportAllocs()
	for b.Loop() {
		work <- struct{}{}
	}
	close(work)
	wg.Wait()
	if failed != nil {
		b.Fatal(failed)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "publishes/s")
}

// Publish through the backend (pipelined by its publishing goroutine)
// against one PUBLISH round trip per message straight on go-redis, with 1
// and 64 concurrent publishers.
func BenchmarkPublish(b *testing.B) {
	addr := needRedis(b)
	subject := "live.room.bench"
	for _, publishers := range []int{1, 64} {
		b.Run(fmt.Sprintf("backend/publishers=%d", publishers), func(b *testing.B) {
			c := newNode(b, liveredis.Options{Addr: addr, Prefix: cleanPrefix(b, addr)})
			runPublishers(b, publishers, func(ctx context.Context) error {
				return c.Publish(ctx, subject, benchPayload)
			})
			st := c.Stats()
			b.ReportMetric(float64(st.Published)/float64(max(st.Batches, 1)), "msgs/batch")
		})
		b.Run(fmt.Sprintf("unbatched/publishers=%d", publishers), func(b *testing.B) {
			rdb := redis.NewClient(&redis.Options{Addr: addr})
			defer rdb.Close()
			channel := testPrefix() + subject
			runPublishers(b, publishers, func(ctx context.Context) error {
				return rdb.Publish(ctx, channel, benchPayload).Err()
			})
		})
	}
}

// A message from Publish on one node to a handler on another.
func BenchmarkPublishDeliver(b *testing.B) {
	addr := needRedis(b)
	prefix := cleanPrefix(b, addr)
	pub := newNode(b, liveredis.Options{Addr: addr, Prefix: prefix})
	sub := newNode(b, liveredis.Options{Addr: addr, Prefix: prefix})
	got := make(chan struct{}, 1)
	s, err := sub.Subscribe(context.Background(), "live.room.bench", func([]byte) { got <- struct{}{} })
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := pub.Publish(ctx, "live.room.bench", benchPayload); err != nil {
			b.Fatal(err)
		}
		<-got
	}
}
