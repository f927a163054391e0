package live_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	live "github.com/live-go/live"
)

// presenceMember is one connection with a mounted Counter, in a synctest
// bubble.
type presenceMember struct {
	sock *memSocket
	id   string
}

func newPresenceMembers(t *testing.T, srv *live.Server, n int) []*presenceMember {
	t.Helper()
	ms := make([]*presenceMember, n)
	for i := range ms {
		sock, _ := serveMem(t, srv)
		<-sock.out // CONNECTION_ESTABLISHED
		sock.in <- []byte(`{"type":"COMPONENT_MOUNT","componentId":"m","payload":{"component":"Counter"},"requestId":"mount"}`)
		synctest.Wait()
		m := &presenceMember{sock: sock}
		for _, f := range m.frames() {
			if j := strings.Index(f, `"result":{"componentId":"`); j >= 0 {
				m.id = f[j+25 : j+33]
			}
		}
		if m.id == "" {
			t.Fatal("mount reply not received")
		}
		ms[i] = m
	}
	return ms
}

// frames returns the frames written to m so far.
func (m *presenceMember) frames() []string {
	var out []string
	for {
		select {
		case f := <-m.sock.out:
			out = append(out, f.data)
		default:
			return out
		}
	}
}

func (m *presenceMember) send(typ, room string) {
	m.sock.in <- []byte(`{"type":"` + typ + `","componentId":"` + m.id + `","roomId":"` + room + `","requestId":"r"}`)
}

// fakeNow is the bubble's clock in milliseconds: it never moves while the
// bubble's goroutines run.
func fakeNow() string { return fmt.Sprint(time.Now().UnixMilli()) }

func notice(to, event, subject string, count int, ts string) string {
	return `{"componentId":"` + to + `","type":"ROOM_SYSTEM","roomId":"lobby","event":"` + event +
		`","data":{"subscriberId":"` + subject + `","count":` + fmt.Sprint(count) + `},"timestamp":` + ts + `}`
}

func joined(to string) string {
	return `{"type":"ROOM_JOINED","componentId":"` + to + `","payload":{"roomId":"lobby","state":{}},"requestId":"r"}`
}

// Four members join in quick succession: the first notice after a quiet
// room goes out at once, the others wait for the room's notice window and
// then reach each member as one frame, with every $sub:join the member is
// owed (the later joiners'), in join order, with the count of its moment.
func TestJoinNoticesBatchedExactFrames(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newBareServer(t, live.Options{PingInterval: -1, RateLimitBurst: -1})
		defer srv.Shutdown(context.Background())
		ms := newPresenceMembers(t, srv, 4)
		a, b, c, d := ms[0], ms[1], ms[2], ms[3]
		ts := fakeNow()

		a.send("ROOM_JOIN", "lobby")
		synctest.Wait()
		b.send("ROOM_JOIN", "lobby") // right after A's flush: A's notice waits
		synctest.Wait()
		c.send("ROOM_JOIN", "lobby")
		synctest.Wait()
		d.send("ROOM_JOIN", "lobby")
		synctest.Wait()
		got := [][]string{a.frames(), b.frames(), c.frames(), d.frames()}
		want := [][]string{{joined(a.id)}, {joined(b.id)}, {joined(c.id)}, {joined(d.id)}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("frames before the window closed (-want +got):\n%s", diff)
		}

		time.Sleep(time.Second) // the window closes
		synctest.Wait()
		got = [][]string{a.frames(), b.frames(), c.frames(), d.frames()}
		want = [][]string{
			{"[" + notice(a.id, "$sub:join", b.id, 2, ts) + "," + notice(a.id, "$sub:join", c.id, 3, ts) + "," + notice(a.id, "$sub:join", d.id, 4, ts) + "]"},
			{"[" + notice(b.id, "$sub:join", c.id, 3, ts) + "," + notice(b.id, "$sub:join", d.id, 4, ts) + "]"},
			{notice(c.id, "$sub:join", d.id, 4, ts)},
			nil,
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("frames after the window (-want +got):\n%s", diff)
		}

		// A quiet room delivers the next notice at once.
		time.Sleep(time.Second)
		e := newPresenceMembers(t, srv, 1)[0]
		ts = fakeNow()
		e.send("ROOM_JOIN", "lobby")
		synctest.Wait()
		for i, m := range ms {
			if diff := cmp.Diff([]string{notice(m.id, "$sub:join", e.id, 5, ts)}, m.frames()); diff != "" {
				t.Fatalf("member %d after a quiet join (-want +got):\n%s", i, diff)
			}
		}
	})
}

// messages flattens frames into their messages (a frame is one object or
// an array of them).
func messages(frames []string) []string {
	var out []string
	for _, f := range frames {
		if !strings.HasPrefix(f, "[") {
			out = append(out, f)
			continue
		}
		depth, start := 0, 1
		inStr, esc := false, false
		for i := 1; i < len(f)-1; i++ {
			ch := f[i]
			switch {
			case esc:
				esc = false
			case inStr && ch == '\\':
				esc = true
			case ch == '"':
				inStr = !inStr
			case inStr:
			case ch == '{':
				depth++
			case ch == '}':
				depth--
			case ch == ',' && depth == 0:
				out = append(out, f[start:i])
				start = i + 1
			}
		}
		out = append(out, f[start:len(f)-1])
	}
	return out
}

// A room event never overtakes the presence notices queued before it, and
// a member that leaves first receives the notices it was owed.
func TestJoinNoticesKeepOrderWithEventsAndLeaves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newBareServer(t, live.Options{PingInterval: -1, RateLimitBurst: -1})
		defer srv.Shutdown(context.Background())
		ms := newPresenceMembers(t, srv, 3)
		a, b, c := ms[0], ms[1], ms[2]
		ts := fakeNow()
		for _, m := range ms {
			m.send("ROOM_JOIN", "lobby")
			synctest.Wait()
		}
		// B's and C's joins are pending for A, C's for B. B leaves: it gets
		// C's join before its ROOM_LEFT; A keeps its notices for the window.
		b.send("ROOM_LEAVE", "lobby")
		synctest.Wait()
		left := `{"type":"ROOM_LEFT","componentId":"` + b.id + `","payload":{"roomId":"lobby"},"requestId":"r"}`
		if diff := cmp.Diff([]string{joined(b.id), notice(b.id, "$sub:join", c.id, 3, ts), left}, messages(b.frames())); diff != "" {
			t.Fatalf("leaving member's messages (-want +got):\n%s", diff)
		}
		// C emits: A gets every pending notice first, then the event.
		c.sock.in <- []byte(`{"type":"ROOM_EMIT","componentId":"` + c.id + `","roomId":"lobby","payload":{"event":"hi","data":1}}`)
		synctest.Wait()
		event := `{"componentId":"` + a.id + `","type":"ROOM_EVENT","roomId":"lobby","event":"hi","data":1,"timestamp":` + ts + `}`
		want := []string{joined(a.id), notice(a.id, "$sub:join", b.id, 2, ts), notice(a.id, "$sub:join", c.id, 3, ts),
			notice(a.id, "$sub:leave", b.id, 2, ts), event}
		if diff := cmp.Diff(want, messages(a.frames())); diff != "" {
			t.Fatalf("messages of A (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{joined(c.id), notice(c.id, "$sub:leave", b.id, 2, ts)}, messages(c.frames())); diff != "" {
			t.Fatalf("messages of C (-want +got):\n%s", diff)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		for i, m := range ms {
			if f := m.frames(); len(f) != 0 {
				t.Fatalf("member %d got more after the window: %q", i, f)
			}
		}
	})
}
