package live_test

// Adversarial checklist of spec §6.6 (races and rooms). Slow actions are
// gated by channels, never by sleeps; goleak (TestMain) fails the package if
// any of these leaves a goroutine behind.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	live "github.com/live-go/live"
)

// waitStarted receives n action starts from g.
func waitStarted(t *testing.T, g *secGate, n int) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for range n {
		select {
		case <-g.started:
		case <-deadline:
			t.Fatalf("timed out waiting for %d slow actions to start", n)
		}
	}
}

// A client that disconnects while its action is in flight: the action
// settles, the server keeps serving others, and the connection and its
// component are cleaned up once the action returned.
func TestSecurity_Adversarial_DisconnectDuringSlowAction(t *testing.T) {
	srv, hs := newSecServer(t, live.Options{})
	g := registerSlow(t, srv)
	a := dialRaw(t, hs, nil)
	id, _ := a.secMount("Slow", nil)
	a.call(id, "wait", nil, true, "w")
	waitStarted(t, g, 1)

	must(t, a.c.CloseNow()) // abrupt: no close frame
	g.open()
	waitFor(t, "the slow action to settle", func() bool { return g.finished.Load() == 1 })
	waitFor(t, "the connection and its component to be cleaned up", func() bool {
		st := srv.Stats()
		return st.Connections == 0 && st.Components == 0
	})

	// The server is unharmed.
	b := dialRaw(t, hs, nil)
	bid, _ := b.secMount("Slow", nil)
	if r := b.callResult(bid, "wait", nil, "w2"); r["success"] != true || r["result"] != float64(1) {
		t.Fatalf("after the disconnect: %s", jsonText(r))
	}
}

// The Ctx of an action is documented as "cancelled when the calling
// connection closes": an action blocked on ctx.Done() must be released by
// the client's disconnect, without any help from the test.
func TestSecurity_Connection_ActionCtxCancelledOnDisconnect(t *testing.T) {
	srv, hs := newSecServer(t, live.Options{})
	g := registerSlow(t, srv)
	a := dialRaw(t, hs, nil)
	id, _ := a.secMount("Slow", nil)
	a.call(id, "wait", nil, true, "w")
	waitStarted(t, g, 1)
	must(t, a.c.CloseNow())

	deadline := time.Now().Add(2 * time.Second)
	for g.cancelled.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancelled := g.cancelled.Load()
	g.open() // release it anyway so the test ends cleanly
	if cancelled == 0 {
		t.Fatalf("the action's Ctx was not cancelled within 2 s of the client disconnecting " +
			"(the reader goroutine runs the action, so nothing observes the closed socket until it returns)")
	}
}

// 100 concurrent slow actions (10 connections × 10 pipelined calls), half
// released, then half of the clients drop abruptly and the gate opens: every
// action that started also finished, the surviving clients get all their
// replies, and nothing is left behind.
func TestSecurity_Adversarial_HundredSlowActionsDisconnectHalfway(t *testing.T) {
	srv, hs := newSecServer(t, live.Options{})
	g := registerSlow(t, srv)
	const clients, calls = 10, 10
	rcs := make([]*rawClient, clients)
	ids := make([]string, clients)
	for i := range rcs {
		rcs[i] = dialRaw(t, hs, nil)
		ids[i], _ = rcs[i].secMount("Slow", nil)
	}
	for i, rc := range rcs {
		for j := range calls {
			rc.call(ids[i], "wait", nil, true, fmt.Sprintf("c%d-%d", i, j))
		}
	}
	// Release half of the 100 calls, one token each.
	for range clients * calls / 2 {
		select {
		case g.release <- struct{}{}:
		case <-time.After(5 * time.Second):
			t.Fatal("timed out handing out tokens")
		}
	}
	waitFor(t, "half of the actions to finish", func() bool { return g.finished.Load() >= clients*calls/2 })

	// Half of the clients vanish, then everything still waiting is released.
	for _, rc := range rcs[:clients/2] {
		must(t, rc.c.CloseNow())
	}
	g.open()

	for i, rc := range rcs[clients/2:] {
		i += clients / 2
		got := 0
		for got < calls {
			m := rc.next()
			if m["type"] != "ACTION_RESPONSE" {
				continue
			}
			if m["success"] != true || m["requestId"] != fmt.Sprintf("c%d-%d", i, got) {
				t.Fatalf("client %d reply %d: %s", i, got, jsonText(m))
			}
			got++
		}
	}
	waitFor(t, "the dropped clients to be cleaned up", func() bool {
		st := srv.Stats()
		return st.Connections == clients/2 && st.Components == clients/2
	})
	if b, f := g.begun.Load(), g.finished.Load(); b != f || f < clients*calls/2 {
		t.Fatalf("begun %d, finished %d: every started action must settle", b, f)
	}
}

// 100 sequential mount/unmount cycles (a plain component and a singleton
// alternately) leave no component, no singleton and no room behind.
func TestSecurity_Adversarial_HundredMountUnmountCycles(t *testing.T) {
	srv, hs := newSecServer(t, live.Options{RateLimitBurst: -1})
	rc := dialRaw(t, hs, nil)
	for i := range 100 {
		name := "Counter"
		if i%2 == 1 {
			name = "TodoList"
		}
		id, _ := rc.secMount(name, nil)
		if i%4 == 0 { // sometimes in a room too
			rc.send(roomMsg("ROOM_JOIN", id, "cycle", nil, "j"))
			rc.expect("ROOM_JOINED")
		}
		rc.unmount(id, fmt.Sprint(i))
		rc.expect("MESSAGE_RESPONSE")
	}
	st := srv.Stats()
	if st.Components != 0 || st.Mounts != 100 {
		t.Fatalf("after 100 cycles: %d components, %d mounts; want 0 and 100", st.Components, st.Mounts)
	}
	if _, n := singletonConns(t, srv, "TodoList"); n != 0 {
		t.Fatalf("singleton TodoList still has %d connections", n)
	}
	if m := srv.RoomMembers("cycle"); len(m) != 0 {
		t.Fatalf("room members left: %v", m)
	}
}

// 500 ROOM_EMIT frames against a bucket of 50 refilled at 5/s: some are
// refused with the bare rate-limit ERROR, every frame is accounted for
// (delivered to the other member or refused), and the socket stays open.
func TestSecurity_Adversarial_RoomEmitBurstRateLimited(t *testing.T) {
	srv, hs := newSecServer(t, live.Options{RateLimitBurst: 50, RateLimitPerSecond: 5})
	a, b := dialRaw(t, hs, nil), dialRaw(t, hs, nil)
	aID, _ := a.secMount("Counter", nil)
	bID, _ := b.secMount("Counter", nil)
	a.send(roomMsg("ROOM_JOIN", aID, "flood", nil, "j"))
	a.expect("ROOM_JOINED")
	b.send(roomMsg("ROOM_JOIN", bID, "flood", nil, "j"))
	b.expect("ROOM_JOINED")
	a.expect("ROOM_SYSTEM")

	const n = 500
	var sb strings.Builder
	for i := range n {
		sb.Reset()
		fmt.Fprintf(&sb, `{"type":"ROOM_EMIT","componentId":%q,"roomId":"flood","payload":{"event":"spam","data":%d}}`, aID, i)
		a.sendRaw(sb.String())
	}
	limited, delivered := 0, 0
	last := -1
	waitFor(t, "all 500 frames to be accounted for", func() bool {
		for _, m := range a.takeQueued() {
			if m["type"] != "ERROR" || m["error"] != "Rate limit exceeded" || len(m) != 2 {
				t.Fatalf("sender got %s", jsonText(m))
			}
			limited++
		}
		for _, m := range b.takeQueued() {
			if m["type"] != "ROOM_EVENT" || m["event"] != "spam" || m["componentId"] != bID {
				t.Fatalf("receiver got %s", jsonText(m))
			}
			seq := int(m["data"].(float64))
			if seq <= last {
				t.Fatalf("event %d after %d: order broken", seq, last)
			}
			last = seq
			delivered++
		}
		return limited+delivered == n
	})
	if limited == 0 || delivered == 0 {
		t.Fatalf("limited %d, delivered %d: want both served and refused frames", limited, delivered)
	}
	if got := srv.Stats().RateLimited; got != uint64(limited) {
		t.Fatalf("Stats().RateLimited %d, sender counted %d", got, limited)
	}
	// The socket was kept: once a token refills the sender is served again.
	deadline := time.Now().Add(5 * time.Second)
	for {
		a.send(roomMsg("ROOM_STATE_GET", aID, "flood", nil, "alive"))
		m := a.next()
		if m["type"] == "ROOM_STATE" && m["requestId"] == "alive" {
			break
		}
		if m["error"] != "Rate limit exceeded" || time.Now().After(deadline) {
			t.Fatalf("after the burst: %s", jsonText(m))
		}
		time.Sleep(20 * time.Millisecond) // poll for the refill
	}
}

// Two players in one typed room; A's connection drops abruptly: the room's
// OnLeave finds A's entry only through A's membership bag, so afterwards
// only B's entry remains, and B saw the removal.
func TestSecurity_Adversarial_TypedRoomAbruptDisconnectLeavesOnlyOtherEntry(t *testing.T) {
	srv, hs := newSecServer(t, live.Options{})
	rec := registerArena(t, srv)
	a, b := dialRaw(t, hs, nil), dialRaw(t, hs, nil)
	aID, _ := a.secMount("Fighter", nil)
	bID, _ := b.secMount("Fighter", nil)
	a.mustCall(aID, "enter", map[string]any{"arena": "1", "name": "ann"})
	b.mustCall(bID, "enter", map[string]any{"arena": "1", "name": "bob"})
	a.nextBinary() // bob added
	a.nextBinary() // $sub:join

	must(t, a.c.CloseNow())
	st := decodeRoomFrame(t, b.nextBinary())
	wantJSON(t, st.data, `{"state":{"players":{"ann":null}}}`)
	if f := decodeRoomFrame(t, b.nextBinary()); f.event != "$sub:leave" {
		t.Fatalf("second frame after the drop: %+v", f)
	}
	wantJSON(t, b.mustCall(bID, "peek", map[string]any{"arena": "1"}), fmt.Sprintf(`{"players":{"bob":%q}}`, bID))
	if m := srv.RoomMembers("arena:1"); len(m) != 1 || m[0].ComponentID != bID {
		t.Fatalf("members %v, want only bob's component", m)
	}
	if got := rec.get(); len(got) != 1 || got[0] != "leave ann moves=0 reason=disconnect" {
		t.Fatalf("leave log %v", got)
	}
}

// Membership bags are per member: A's moves are counted in A's bag only,
// each leave hands back the member's own bag, and no bag content ever
// reaches a client.
func TestSecurity_Adversarial_MembershipBagsPerMember(t *testing.T) {
	srv, hs := newSecServer(t, live.Options{})
	rec := registerArena(t, srv)
	a, b := dialRaw(t, hs, nil), dialRaw(t, hs, nil)
	aID, _ := a.secMount("Fighter", nil)
	bID, _ := b.secMount("Fighter", nil)
	a.mustCall(aID, "enter", map[string]any{"arena": "2", "name": "ann"})
	b.mustCall(bID, "enter", map[string]any{"arena": "2", "name": "bob"})
	a.mustCall(aID, "move", map[string]any{"arena": "2"})
	a.mustCall(aID, "move", map[string]any{"arena": "2"})
	// A client ROOM_EMIT into the typed room is observed too, in A's bag.
	a.send(roomMsg("ROOM_EMIT", aID, "arena:2", map[string]any{"event": "move", "data": 1}, ""))
	for range 3 {
		if f := decodeRoomFrame(t, b.nextBinary()); f.kind != 0x02 || f.event != "move" {
			t.Fatalf("B got %+v, want the three moves", f)
		}
	}

	b.mustCall(bID, "peek", map[string]any{"arena": "2"}) // a barrier behind the emits
	must(t, a.c.CloseNow())
	waitFor(t, "A's leave", func() bool { return len(rec.get()) == 1 })
	must(t, b.c.CloseNow())
	waitFor(t, "B's leave", func() bool { return len(rec.get()) == 2 })
	want := []string{"leave ann moves=3 reason=disconnect", "leave bob moves=0 reason=disconnect"}
	if got := rec.get(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("bags at leave\n got %v\nwant %v", got, want)
	}
	for _, rc := range []*rawClient{a, b} {
		rc.mu.Lock()
		all := strings.Join(rc.frames, "\n")
		for _, bin := range rc.bins {
			all += string(bin)
		}
		rc.mu.Unlock()
		if strings.Contains(all, "bag-secret-") {
			t.Fatal("a membership bag value reached a client")
		}
	}
}
