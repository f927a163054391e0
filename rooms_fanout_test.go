package live_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	live "github.com/live-go/live"
)

// roomMember connects a memSocket, mounts Counter and joins room with
// ROOM_JOIN. Its frames go to sink.
func joinMem(tb testing.TB, srv *live.Server, room string, sink func([]byte)) (*memSocket, string) {
	tb.Helper()
	sock := newMemSocket()
	go func() { _ = srv.ServeSocket(context.Background(), sock, live.Request{}) }()
	<-sock.out
	sock.in <- []byte(`{"type":"COMPONENT_MOUNT","componentId":"m","payload":{"component":"Counter"},"requestId":"mount"}`)
	var id string
	for id == "" {
		f := <-sock.out
		if i := strings.Index(f.data, `"result":{"componentId":"`); i >= 0 {
			id = f.data[i+25 : i+33]
		}
	}
	sock.in <- []byte(`{"type":"ROOM_JOIN","componentId":"` + id + `","roomId":"` + room + `","requestId":"j"}`)
	for {
		f := <-sock.out
		if strings.Contains(f.data, `"requestId":"j"`) {
			break
		}
	}
	sock.sink = func(_ bool, b []byte) { sink(b) }
	return sock, id
}

func newRoomBenchServer(tb testing.TB) *live.Server {
	tb.Helper()
	srv, err := live.New(live.Options{StateSecret: []byte("room-fanout-secret-room-fanout!!"),
		RateLimitBurst: -1, PingInterval: -1, ResumeGrace: -1})
	if err != nil {
		tb.Fatal(err)
	}
	if err := live.Register(srv, live.Component[Counter]{Name: "Counter", Actions: []string{"increment"}}); err != nil {
		tb.Fatal(err)
	}
	return srv
}

// 1,000 members each emit once: every member receives every other
// member's event exactly once, and none of its own.
func TestRoomThousandMembersEachEmit(t *testing.T) {
	const n = 1000
	srv := newRoomBenchServer(t)
	defer srv.Shutdown(context.Background())
	type box struct {
		mu   sync.Mutex
		from map[string]int
	}
	boxes := make([]*box, n)
	socks := make([]*memSocket, n)
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		b := &box{from: map[string]int{}}
		boxes[i] = b
		socks[i], ids[i] = joinMem(t, srv, "arena", func(frame []byte) {
			var msgs []map[string]any
			if frame[0] == '[' {
				_ = json.Unmarshal(frame, &msgs)
			} else {
				var m map[string]any
				_ = json.Unmarshal(frame, &m)
				msgs = append(msgs, m)
			}
			for _, m := range msgs {
				if m["type"] == "ROOM_EVENT" {
					b.mu.Lock()
					b.from[fmt.Sprint(m["data"])]++
					b.mu.Unlock()
					wg.Done()
				}
			}
		})
	}
	wg.Add(n * (n - 1))
	for i := range n {
		socks[i].in <- []byte(fmt.Sprintf(`{"type":"ROOM_EMIT","componentId":%q,"roomId":"arena","payload":{"event":"hi","data":%q}}`, ids[i], ids[i]))
	}
	wg.Wait()
	for i, b := range boxes {
		b.mu.Lock()
		if len(b.from) != n-1 || b.from[ids[i]] != 0 {
			t.Fatalf("member %d heard %d distinct senders (own: %d)", i, len(b.from), b.from[ids[i]])
		}
		for from, k := range b.from {
			if k != 1 {
				t.Fatalf("member %d got %s's event %d times", i, from, k)
			}
		}
		b.mu.Unlock()
	}
}

// BenchmarkRoomEmit shows encode-once fan-out: allocations per emit do not
// grow with the number of members (compare the N=10 and N=1000 rows).
func BenchmarkRoomEmit(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			srv := newRoomBenchServer(b)
			defer srv.Shutdown(context.Background())
			var wg sync.WaitGroup
			var senderID string
			var sender *memSocket
			for i := range n {
				sock, id := joinMem(b, srv, "arena", func(frame []byte) {
					if bytes.Contains(frame, []byte(`"ROOM_EVENT"`)) {
						wg.Add(-bytes.Count(frame, []byte(`"ROOM_EVENT"`)))
					}
				})
				if i == 0 {
					sender, senderID = sock, id
				}
			}
			frame := []byte(`{"type":"ROOM_EMIT","componentId":"` + senderID + `","roomId":"arena","payload":{"event":"tick","data":{"n":1}}}`)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				wg.Add(n - 1)
				sender.in <- frame
				wg.Wait()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*(n-1)), "ns/delivery")
		})
	}
}

// BenchmarkRoomJoins measures N components joining one room with ROOM_JOIN
// (all in flight at once), until every member has received the $sub:join
// of every later joiner: N(N−1)/2 notices per op. The ns/join metric
// divides the wall time by N; cpu-ns/join divides the process's CPU time
// (user+system, all goroutines) by N, which is the cost that matters when
// notices wait for a room's presence window. Leaving (untimed) resets the
// room between ops.
func BenchmarkRoomJoins(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			srv := newRoomBenchServer(b)
			defer srv.Shutdown(context.Background())
			var joins, leaves, replies sync.WaitGroup
			var leaving atomic.Bool
			socks := make([]*memSocket, n)
			ids := make([]string, n)
			for i := range n {
				sock := newMemSocket()
				go func() { _ = srv.ServeSocket(context.Background(), sock, live.Request{}) }()
				<-sock.out
				sock.in <- []byte(`{"type":"COMPONENT_MOUNT","componentId":"m","payload":{"component":"Counter"},"requestId":"mount"}`)
				for ids[i] == "" {
					f := <-sock.out
					if j := strings.Index(f.data, `"result":{"componentId":"`); j >= 0 {
						ids[i] = f.data[j+25 : j+33]
					}
				}
				sock.sink = func(_ bool, frame []byte) {
					// One cheap pass ('$' is rare): the harness must not cost
					// more than the server work it measures.
					j, l := countPresence(frame)
					if j > 0 {
						joins.Add(-j)
					}
					if l > 0 {
						leaves.Add(-l)
					}
					if leaving.Load() {
						if k := bytes.Count(frame, []byte(`"ROOM_LEFT"`)); k > 0 {
							replies.Add(-k)
						}
					}
				}
				socks[i] = sock
			}
			join := make([][]byte, n)
			leave := make([][]byte, n)
			for i, id := range ids {
				join[i] = []byte(`{"type":"ROOM_JOIN","componentId":"` + id + `","roomId":"arena","requestId":"j"}`)
				leave[i] = []byte(`{"type":"ROOM_LEAVE","componentId":"` + id + `","roomId":"arena","requestId":"l"}`)
			}
			var cpu time.Duration
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				cpu0 := processCPU()
				joins.Add(n * (n - 1) / 2)
				for i, s := range socks {
					s.in <- join[i]
				}
				joins.Wait()
				cpu += processCPU() - cpu0
				b.StopTimer()
				leaving.Store(true)
				leaves.Add(n * (n - 1) / 2)
				replies.Add(n)
				for i, s := range socks {
					s.in <- leave[i]
				}
				leaves.Wait()
				replies.Wait()
				leaving.Store(false)
				b.StartTimer()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/join")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*n), "cpu-ns/join")
		})
	}
}

// countPresence counts the $sub:join and $sub:leave events in frame.
func countPresence(frame []byte) (joins, leaves int) {
	for {
		i := bytes.IndexByte(frame, '$')
		if i < 0 {
			return joins, leaves
		}
		frame = frame[i+1:]
		switch {
		case bytes.HasPrefix(frame, []byte("sub:join\"")):
			joins++
		case bytes.HasPrefix(frame, []byte("sub:leave\"")):
			leaves++
		}
	}
}
