package live

import (
	"context"
	"net/http/httptest"
	"testing"
)

var benchDelta = []byte(`{"type":"STATE_DELTA","componentId":"AbCdEfGh","payload":{"delta":{"count":42,"lastAction":"increment"}},"seq":7}`)

// BenchmarkSSESessionWrite measures the engine-side cost of one frame on
// an SSE stream: encoding the event into the stream buffer, which the
// stream handler then takes.
func BenchmarkSSESessionWrite(b *testing.B) {
	s, err := New(Options{StateSecret: []byte("bench-transport-secret-bench-xxxx")})
	if err != nil {
		b.Fatal(err)
	}
	sse, _ := SSEOptions{}.withDefaults()
	sess := &sseSession{hub: newSSEHub(s, sse), wake: make(chan struct{}, 1)}
	sess.init(httptest.NewRequest("GET", "/api/live/sse", nil))
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(benchDelta)))
	for b.Loop() {
		if err := sess.Write(ctx, false, benchDelta); err != nil {
			b.Fatal(err)
		}
		sess.mu.Lock()
		sess.buf = sess.buf[:0] // the stream handler took it
		sess.mu.Unlock()
		select {
		case <-sess.wake:
		default:
		}
	}
}

// BenchmarkPollSessionWrite measures queueing one frame for the next poll.
func BenchmarkPollSessionWrite(b *testing.B) {
	s, err := New(Options{StateSecret: []byte("bench-transport-secret-bench-xxxx")})
	if err != nil {
		b.Fatal(err)
	}
	lp, _ := LongPollOptions{}.withDefaults()
	sess := &pollSession{hub: newPollHub(s, lp)}
	sess.init(httptest.NewRequest("GET", "/api/live/http", nil))
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(benchDelta)))
	n := 0
	for b.Loop() {
		if err := sess.Write(ctx, false, benchDelta); err != nil {
			b.Fatal(err)
		}
		if n++; n == 64 { // a poll takes a batch
			sess.mu.Lock()
			sess.items = sess.items[:0]
			sess.mu.Unlock()
			n = 0
		}
	}
}
