package livenats_test

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	livenats "github.com/live-go/live/nats"
)

// Publish throughput with 1 and 64 concurrent publishers on one node, a
// subscriber on another node receiving everything. Each Publish returns
// once the server accepted it; concurrent publishers share that round
// trip.
func BenchmarkPublish(b *testing.B) {
	for _, publishers := range []int{1, 64} {
		b.Run(fmt.Sprintf("publishers=%d", publishers), func(b *testing.B) {
			nodes := newCluster(b, 2, livenats.Options{})
			ctx := testCtx(b)
			var received, sent atomic.Int64
			sub, err := nodes[1].Subscribe(ctx, "live.room.bench", func([]byte) { received.Add(1) })
			must(b, err, "Subscribe")
			defer sub.Close()
			payload := make([]byte, 128)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			if publishers == 1 {
				for b.Loop() {
					if err := nodes[0].Publish(ctx, "live.room.bench", payload); err != nil {
						b.Fatal(err)
					}
					sent.Add(1)
				}
			} else {
				b.SetParallelism(max(1, publishers/runtime.GOMAXPROCS(0)))
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := nodes[0].Publish(ctx, "live.room.bench", payload); err != nil {
							b.Error(err)
							return
						}
						sent.Add(1)
					}
				})
			}
			b.StopTimer()
			b.ReportMetric(float64(sent.Load())/time.Since(start).Seconds(), "msgs/s")
			eventually(b, "the subscriber to receive every message", func() bool { return received.Load() == sent.Load() })
		})
	}
}

// AcquireLease of a free lease (each iteration releases it again, which
// is included), and of a lease the node holds already (an extension).
func BenchmarkAcquireLease(b *testing.B) {
	nodes := newCluster(b, 1, livenats.Options{})
	c := nodes[0]
	ctx := testCtx(b)
	b.Run("acquire+release", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			l, err := c.AcquireLease(ctx, "singleton/Bench", time.Minute)
			if err != nil {
				b.Fatal(err)
			}
			if err := c.ReleaseLease(ctx, l); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("reacquire-held", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.AcquireLease(ctx, "singleton/BenchHeld", time.Minute); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("holder", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.LeaseHolder(ctx, "singleton/BenchHeld"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// The store's calls: a mirrored-state write (PutFenced), its read, and a
// nonce (PutIfAbsent of a new key, the common case).
func BenchmarkStore(b *testing.B) {
	nodes := newCluster(b, 1, livenats.Options{})
	c := nodes[0]
	ctx := testCtx(b)
	state := []byte(`{"id":"c1","seq":42,"version":3,"state":{"count":42,"last":{"a":41,"b":42}}}`)
	b.Run("PutFenced", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := c.PutFenced(ctx, "singleton-state/Bench", 5, state, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("GetFenced", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := c.GetFenced(ctx, "singleton-state/Bench"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("PutIfAbsent", func(b *testing.B) {
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			n++
			ok, err := c.PutIfAbsent(ctx, fmt.Sprintf("nonce/%d:bench", n), []byte{1}, time.Minute)
			if err != nil || !ok {
				b.Fatal(ok, err)
			}
		}
	})
}
