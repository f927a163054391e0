package live

import (
	"slices"
	"testing"
)

// The pool's queue under sustained load: one connection taken for every
// one queued, so it never empties. Its array must stay bounded by the
// queue's length, not grow with every connection ever queued.
func TestConnQueueDoesNotGrowWhileNeverEmpty(t *testing.T) {
	conns := make([]*conn, 100)
	for i := range conns {
		conns[i] = &conn{id: string(rune('a' + i%26))}
	}
	var q connQueue
	for _, c := range conns[:40] {
		q.push(c)
	}
	var got []*conn
	next := 40 // conns[next%100] is pushed next; the queue holds 40
	for range 100_000 {
		got = q.take(got[:0], 1)
		q.push(conns[next%len(conns)])
		next++
		if q.len() != 40 {
			t.Fatalf("queue holds %d, want 40", q.len())
		}
	}
	if c := cap(q.buf); c > 160 {
		t.Fatalf("after 100,000 turns of a 40-long queue its array holds %d slots; want it bounded (≤ 160)", c)
	}
	// Order survives the compactions: the front is the oldest.
	got = q.take(got[:0], 40)
	for i, c := range got {
		if want := conns[(next-40+i)%len(conns)]; c != want {
			t.Fatalf("position %d: got %p, want %p (FIFO order lost)", i, c, want)
		}
	}
	if q.len() != 0 || len(q.buf) != 0 || q.head != 0 {
		t.Fatalf("emptied queue: len %d, buf %d, head %d", q.len(), len(q.buf), q.head)
	}
}

// After a burst (every connection queued at once) the emptied queue gives
// its array back; a small one is kept for reuse.
func TestConnQueueGivesBackABurst(t *testing.T) {
	var q connQueue
	burst := make([]*conn, 10_000)
	for i := range burst {
		burst[i] = &conn{}
		q.push(burst[i])
	}
	var got []*conn
	for q.len() > 0 {
		got = q.take(got, writerChunk)
	}
	if !slices.Equal(got, burst) {
		t.Fatal("the burst did not come out in order")
	}
	if q.buf != nil {
		t.Fatalf("the emptied queue still holds an array of %d slots", cap(q.buf))
	}
	for range 10 {
		q.push(burst[0])
	}
	got = q.take(got[:0], writerChunk)
	if len(got) != 10 || cap(q.buf) == 0 || cap(q.buf) > connQueueKeep {
		t.Fatalf("small queue: took %d, kept capacity %d", len(got), cap(q.buf))
	}
	for _, s := range q.buf[:cap(q.buf)] {
		if s != nil {
			t.Fatal("an emptied slot still references a connection")
		}
	}
}
