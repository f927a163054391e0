package live_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	live "github.com/live-go/live"
)

func benchServer(b *testing.B) *live.Server {
	b.Helper()
	return benchServerObserved(b, nil)
}

// benchServerObserved is benchServer with an Observer (nil: none).
func benchServerObserved(b *testing.B, obs live.Observer) *live.Server {
	b.Helper()
	srv, err := live.New(live.Options{
		StateSecret:    []byte("bench-secret-bench-secret-bench-secret"),
		RateLimitBurst: -1,
		PingInterval:   -1,
		Observer:       obs,
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := live.Register(srv, live.Component[Counter]{Name: "Counter", Actions: []string{"increment"}}); err != nil {
		b.Fatal(err)
	}
	if err := live.Register(srv, live.Component[Counter]{Name: "SingletonCounter", Actions: []string{"increment"}, Singleton: true}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	return srv
}

// mountMem connects a memSocket and mounts name, returning the component id.
func mountMem(b *testing.B, srv *live.Server, sock *memSocket, name string) string {
	b.Helper()
	go func() { _ = srv.ServeSocket(context.Background(), sock, live.Request{}) }()
	<-sock.out // CONNECTION_ESTABLISHED
	sock.in <- []byte(`{"type":"COMPONENT_MOUNT","componentId":"m","payload":{"component":"` + name + `"},"requestId":"mount"}`)
	for {
		f := <-sock.out
		if i := strings.Index(f.data, `"result":{"componentId":"`); i >= 0 {
			return f.data[i+len(`"result":{"componentId":"`) : i+len(`"result":{"componentId":"`)+8]
		}
	}
}

// BenchmarkActionRoundTrip measures one CALL_ACTION with expectResponse
// through the whole engine (decode, dispatch, action, diff, encode, queue,
// writer goroutine, framing) on an in-memory socket.
func BenchmarkActionRoundTrip(b *testing.B) {
	benchActionRoundTrip(b, benchServer(b))
}

// BenchmarkActionRoundTripObserved is BenchmarkActionRoundTrip with a
// no-op Observer: the cost of building and dispatching the events (action,
// delta, flush) when one is set.
func BenchmarkActionRoundTripObserved(b *testing.B) {
	benchActionRoundTrip(b, benchServerObserved(b, live.NopObserver{}))
}

func benchActionRoundTrip(b *testing.B, srv *live.Server) {
	sock := newMemSocket()
	id := mountMem(b, srv, sock, "Counter")
	frame := []byte(`{"type":"CALL_ACTION","componentId":"` + id + `","action":"increment","payload":{},"requestId":"r1","expectResponse":true}`)
	b.ReportAllocs()
	for b.Loop() {
		sock.in <- frame
		for {
			f := <-sock.out
			if strings.Contains(f.data, `"ACTION_RESPONSE"`) {
				break
			}
		}
	}
}

// BenchmarkSingletonFanout measures one action on a singleton shared by N
// connections until every connection's writer has written the delta: encode
// once, push N times, N writer wake-ups. ns/op is per action; the
// ns/delivery metric divides by N.
func BenchmarkSingletonFanout(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(itoa(n), func(b *testing.B) {
			srv := benchServer(b)
			var delivered atomic.Int64
			var wg sync.WaitGroup
			var id string
			for i := range n {
				sock := newMemSocket()
				got := mountMem(b, srv, sock, "SingletonCounter")
				if i == 0 {
					id = got
				}
				sock.sink = func(binary bool, data []byte) {
					if bytes.Contains(data, []byte(`"STATE_DELTA"`)) {
						delivered.Add(1)
						wg.Done()
					}
				}
			}
			sender := newMemSocket()
			mountMem(b, srv, sender, "SingletonCounter")
			frame := []byte(`{"type":"CALL_ACTION","componentId":"` + id + `","action":"increment","payload":{}}`)
			// Drain the sender's own copy of every delta.
			go func() {
				for {
					select {
					case <-sender.out:
					case <-sender.closed:
						return
					}
				}
			}()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				wg.Add(n)
				sender.in <- frame
				wg.Wait()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(delivered.Load()), "ns/delivery")
		})
	}
}

func itoa(n int) string {
	s := ""
	for {
		s = string(rune('0'+n%10)) + s
		n /= 10
		if n == 0 {
			return s
		}
	}
}
