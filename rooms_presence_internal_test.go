package live

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/live-go/live/internal/sendq"
)

// presenceRoom returns an untyped room with n members, each with one
// connection whose queue nobody drains (tests Take from it).
func presenceRoom(t *testing.T, n int) (*room, []*conn) {
	t.Helper()
	srv, err := New(Options{StateSecret: []byte("presence-test-secret-presence-test"), PingInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	r := srv.roomFor("lobby", true)
	conns := make([]*conn, n)
	for i := range conns {
		c := srv.newConn(context.Background(), nil, Request{})
		c.flushState.Store(flushDone) // no socket: nothing may start a flusher
		in := &instance{srv: srv, id: fmt.Sprintf("member%02d", i), subs: []*conn{c}}
		conns[i] = c
		if _, _, err := r.admit(context.Background(), in, nil, nil, nil, false, nil); err != nil {
			t.Fatal(err)
		}
	}
	r.mu.Lock()
	r.flushNotices(time.Now())
	r.mu.Unlock()
	return r, conns
}

// One presence notice to every member costs the same few allocations
// whatever the room's size (the tail is built once; each member gets a
// slice of the shared tails, not a copy).
func TestPresenceNoticeAllocationsDoNotGrowWithMembers(t *testing.T) {
	var spare []sendq.Item
	perNotice := map[int]float64{}
	for _, n := range []int{10, 500} {
		r, conns := presenceRoom(t, n)
		subject := &instance{id: "subjectX"}
		drain := func() {
			for _, c := range conns {
				spare, _ = c.q.Take(spare)
			}
		}
		drain()
		r.mu.Lock()
		perNotice[n] = testing.AllocsPerRun(50, func() {
			r.system(subject, "$sub:join", n)
			r.flushNotices(time.Now())
			drain()
		})
		r.mu.Unlock()
	}
	t.Logf("allocations per notice to all members: %v", perNotice)
	if perNotice[10] != perNotice[500] || perNotice[500] > 3 {
		t.Fatalf("allocations per notice to all members: %v at 10 members, %v at 500; want equal and at most 3",
			perNotice[10], perNotice[500])
	}
}

// A batch of notices reaches each member as one queue item holding exactly
// the notices after its own join.
func TestPresenceFlushOneItemPerMember(t *testing.T) {
	r, conns := presenceRoom(t, 4)
	for _, c := range conns {
		_, _ = c.q.Take(nil)
	}
	r.mu.Lock()
	r.lastFlush = time.Now().Add(time.Hour) // keep the window open
	for i := range 3 {
		c := r.srv.newConn(context.Background(), nil, Request{})
		c.flushState.Store(flushDone)
		conns = append(conns, c)
		in := &instance{srv: r.srv, id: fmt.Sprintf("late%04d", i), subs: []*conn{c}}
		r.mu.Unlock()
		if _, _, err := r.admit(context.Background(), in, nil, nil, nil, false, nil); err != nil {
			t.Fatal(err)
		}
		r.mu.Lock()
	}
	if len(r.pend) != 3 {
		t.Fatalf("%d notices pending, want 3", len(r.pend))
	}
	r.flushNotices(time.Now())
	r.flushTimer.Stop()
	r.mu.Unlock()
	for i, c := range conns {
		batch, _ := c.q.Take(nil)
		want := min(3, 6-i) // the early members get all 3, late0 2, late1 1, late2 none
		if want == 0 {
			if len(batch) != 0 {
				t.Fatalf("conn %d: %d items, want none", i, len(batch))
			}
			continue
		}
		if len(batch) != 1 || len(batch[0].Tails) != want {
			t.Fatalf("conn %d: %+v, want one item of %d notices", i, batch, want)
		}
	}
}
