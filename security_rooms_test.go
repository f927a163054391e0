package live_test

// Room security (spec §4.6, §4.11, §6.6 "Room security", "Room-state
// injection") and the room gaps of spec §14.

import (
	"bytes"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	live "github.com/live-go/live"
)

// protoKey reports whether a decoded JSON value holds a prototype-pollution
// key at any depth.
func protoKey(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if k == "__proto__" || k == "constructor" || k == "prototype" || protoKey(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if protoKey(e) {
				return true
			}
		}
	}
	return false
}

// Non-members of an existing room can neither emit, write nor read it;
// leaving it is a quiet no-op; members can do all three until they leave;
// and a connection cannot speak for another connection's component.
func TestSecurity_Rooms_NonMemberAndForeignComponent(t *testing.T) {
	srv, hs := newSecServer(t, live.Options{})
	a, b := dialRaw(t, hs, nil), dialRaw(t, hs, nil)
	aID, _ := a.secMount("Counter", nil)
	bID, _ := b.secMount("Counter", nil)
	a.send(roomMsg("ROOM_JOIN", aID, "club", map[string]any{"initialState": map[string]any{"motto": "hi"}}, "j"))
	a.expect("ROOM_JOINED")

	outsider := []struct {
		name string
		msg  map[string]any
	}{
		{"ROOM_EMIT", roomMsg("ROOM_EMIT", bID, "club", map[string]any{"event": "spam", "data": 1}, "x")},
		{"ROOM_STATE_SET", roomMsg("ROOM_STATE_SET", bID, "club", map[string]any{"state": map[string]any{"motto": "pwned"}}, "x")},
		{"ROOM_STATE_GET", roomMsg("ROOM_STATE_GET", bID, "club", nil, "x")},
	}
	check := func(t *testing.T) {
		t.Helper()
		for _, tc := range outsider {
			b.send(tc.msg)
			wantJSON(t, b.next(), fmt.Sprintf(`{"type":"ERROR","error":"Not a member of this room","componentId":%q,"requestId":"x"}`, bID))
		}
	}
	t.Run("never joined", func(t *testing.T) {
		b.t = t
		check(t)
		b.send(roomMsg("ROOM_LEAVE", bID, "club", nil, "l"))
		b.expect("ROOM_LEFT")
	})
	t.Run("another connection's component", func(t *testing.T) {
		b.t = t
		for _, typ := range []string{"ROOM_EMIT", "ROOM_STATE_SET", "ROOM_STATE_GET", "ROOM_LEAVE", "ROOM_JOIN"} {
			b.send(roomMsg(typ, aID, "club", map[string]any{"event": "e", "state": map[string]any{"motto": "pwned"}}, "f"))
			wantJSON(t, b.next(), fmt.Sprintf(`{"type":"ERROR","error":"Component not found","componentId":%q,"requestId":"f"}`, aID))
		}
	})
	a.quiet() // A saw nothing of it
	if got := a.roomGet(aID, "club"); jsonText(got) != `{"motto":"hi"}` {
		t.Fatalf("club state %s", jsonText(got))
	}
	if m := srv.RoomMembers("club"); len(m) != 1 || m[0].ComponentID != aID {
		t.Fatalf("members %v", m)
	}

	t.Run("member, then left", func(t *testing.T) {
		b.t = t
		b.send(roomMsg("ROOM_JOIN", bID, "club", nil, "j"))
		b.expect("ROOM_JOINED")
		a.expect("ROOM_SYSTEM")
		b.send(roomMsg("ROOM_EMIT", bID, "club", map[string]any{"event": "hello", "data": 1}, ""))
		if ev := a.expect("ROOM_EVENT"); ev["event"] != "hello" {
			t.Fatalf("A got %s", jsonText(ev))
		}
		b.send(roomMsg("ROOM_STATE_SET", bID, "club", map[string]any{"state": map[string]any{"motto": "ok"}}, ""))
		a.expect("ROOM_STATE")
		if got := b.roomGet(bID, "club"); jsonText(got) != `{"motto":"ok"}` {
			t.Fatalf("state %s", jsonText(got))
		}
		b.send(roomMsg("ROOM_LEAVE", bID, "club", nil, "l"))
		b.expect("ROOM_LEFT")
		a.expect("ROOM_SYSTEM")
		check(t)
	})
	b.t = t
	a.quiet()
}

// A server-only room (joined with live.ServerOnlyState) refuses client
// ROOM_STATE_SET from every member, still serves GET and relays EMIT, and
// the server-side write path is not filtered.
func TestSecurity_Rooms_ServerOnlyState(t *testing.T) {
	_, hs := newSecServer(t, live.Options{})
	h, c := dialRaw(t, hs, nil), dialRaw(t, hs, nil)
	hID, _ := h.secMount("Host", nil)
	cID, _ := c.secMount("Counter", nil)
	h.mustCall(hID, "join", map[string]any{"room": "stage", "serverOnly": true, "state": map[string]any{"title": "x"}})
	c.send(roomMsg("ROOM_JOIN", cID, "stage", nil, "j"))
	wantJSON(t, c.expect("ROOM_JOINED")["payload"], `{"roomId":"stage","state":{"title":"x"}}`)
	h.expect("ROOM_SYSTEM")

	for _, who := range []struct {
		rc *rawClient
		id string
	}{{h, hID}, {c, cID}} {
		who.rc.send(roomMsg("ROOM_STATE_SET", who.id, "stage", map[string]any{"state": map[string]any{"title": "hacked"}}, "s"))
		wantJSON(t, who.rc.next(), fmt.Sprintf(`{"type":"ERROR","error":"Room state is server-only","componentId":%q,"requestId":"s"}`, who.id))
	}
	if got := c.roomGet(cID, "stage"); jsonText(got) != `{"title":"x"}` {
		t.Fatalf("state after refused writes %s", jsonText(got))
	}
	c.send(roomMsg("ROOM_EMIT", cID, "stage", map[string]any{"event": "clap", "data": 3}, ""))
	if ev := h.expect("ROOM_EVENT"); ev["event"] != "clap" || ev["componentId"] != hID {
		t.Fatalf("host got %s", jsonText(ev))
	}
	// The server path is unfiltered: $-keys are how servers keep fields
	// clients cannot write.
	h.mustCall(hID, "set", map[string]any{"room": "stage", "state": map[string]any{"$meta": 1, "title": "y"}})
	wantJSON(t, c.expect("ROOM_STATE")["data"], `{"state":{"$meta":1,"title":"y"}}`)
	wantJSON(t, c.roomGet(cID, "stage"), `{"title":"y","$meta":1}`)
}

// Client writes of room state keep only plain top-level keys, and no
// prototype-pollution key from a client reaches another member through
// any room message (spec §6.1 sanitizes every payload recursively; §4.5
// filters client room state).
func TestSecurity_Rooms_StateInjection(t *testing.T) {
	_, hs := newSecServer(t, live.Options{})
	a, b := dialRaw(t, hs, nil), dialRaw(t, hs, nil)
	aID, _ := a.secMount("Counter", nil)
	bID, _ := b.secMount("Counter", nil)
	join := func(rc *rawClient, id, room string, initial string) {
		t.Helper()
		rc.sendRaw(`{"type":"ROOM_JOIN","componentId":"` + id + `","roomId":"` + room + `","requestId":"j","payload":{"initialState":` + initial + `}}`)
		rc.expect("ROOM_JOINED")
	}
	join(a, aID, "inj", `{}`)
	join(b, bID, "inj", `{}`)
	a.expect("ROOM_SYSTEM")
	set := func(state string) {
		a.sendRaw(`{"type":"ROOM_STATE_SET","componentId":"` + aID + `","roomId":"inj","payload":{"state":` + state + `}}`)
	}

	t.Run("top-level $ and prototype keys dropped", func(t *testing.T) {
		set(`{"count":1,"$leak":true,"$":0,"__proto__":{"x":1},"constructor":1,"prototype":2,"\u0024esc":3}`)
		wantJSON(t, b.expect("ROOM_STATE")["data"], `{"state":{"count":1}}`)
		wantJSON(t, b.roomGet(bID, "inj"), `{"count":1}`)
	})
	t.Run("non-object state refused", func(t *testing.T) {
		for _, s := range []string{`null`, `"x"`, `[1]`, `5`} {
			set(s)
			wantJSON(t, a.next(), fmt.Sprintf(`{"type":"ERROR","componentId":%q,"success":false,"error":"Invalid message: payload.state must be an object"}`, aID))
		}
		wantJSON(t, b.roomGet(bID, "inj"), `{"count":1}`)
	})
	// received returns what B got from A's last message, up to and
	// including the reply to a ROOM_STATE_GET of B's own (A's barrier
	// GET orders A's message before it; B's queue is FIFO).
	received := func() []map[string]any {
		a.send(roomMsg("ROOM_STATE_GET", aID, "inj", nil, "barrier"))
		a.skipTo("ROOM_STATE")
		b.send(roomMsg("ROOM_STATE_GET", bID, "inj", nil, "mine"))
		var out []map[string]any
		for {
			m := b.next()
			out = append(out, m)
			if m["type"] == "ROOM_STATE" && m["requestId"] == "mine" {
				return out
			}
		}
	}
	t.Run("nested prototype keys do not reach members", func(t *testing.T) {
		set(`{"nested":{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"$ok":1}}`)
		for _, m := range received() { // the broadcast and the stored state
			if protoKey(m) {
				t.Fatalf("member received %s", jsonText(m))
			}
		}
	})
	t.Run("emit data prototype keys do not reach members", func(t *testing.T) {
		a.sendRaw(`{"type":"ROOM_EMIT","componentId":"` + aID + `","roomId":"inj","payload":{"event":"x","data":{"ok":1,"__proto__":{"polluted":true},"list":[{"\u0063onstructor":{}}]}}}`)
		for _, m := range received() {
			if protoKey(m) {
				t.Fatalf("member received %s", jsonText(m))
			}
		}
	})
	t.Run("join initialState filtered like a client write", func(t *testing.T) {
		join(a, aID, "seeded", `{"topic":"go","$role":"admin","__proto__":{"polluted":true}}`)
		join(b, bID, "seeded", `{}`)
		wantJSON(t, b.roomGet(bID, "seeded"), `{"topic":"go"}`)
	})
}

// The first provider's RoomAuthorizer decides client ROOM_JOINs (spec
// §4.11): allowed, denied and failing joins with the exact strings, the
// caller's identity (a copy) or nil for anonymous, selectively per room id.
// Typed rooms and server-side joins are not asked.
func TestSecurity_Rooms_AuthorizeRoom(t *testing.T) {
	gate := &secGateProvider{secProvider: secProvider{name: "gate", users: map[string]*live.Identity{
		"t-vip": {ID: "vip", Roles: []string{"vip"}},
	}}}
	gate.roomDecide = func(id *live.Identity, room string) (bool, error) {
		switch {
		case strings.HasPrefix(room, "public-"):
			return true, nil
		case strings.HasPrefix(room, "vip-"):
			return id.HasRole("vip"), nil
		case room == "broken":
			return false, fmt.Errorf("directory offline")
		}
		return false, nil
	}
	srv, hs := newSecServer(t, live.Options{AuthProviders: []live.AuthProvider{gate}})
	registerArena(t, srv)
	anon, vip := dialRaw(t, hs, nil), dialRaw(t, hs, nil)
	vip.auth(map[string]any{"token": "t-vip"}, "a")
	anonID, _ := anon.secMount("Who", nil)
	vipID, _ := vip.secMount("Who", nil)

	tests := []struct {
		rc        *rawClient
		id, room  string
		wantErr   string
		wantAsked string
		notAsked  bool
	}{
		{anon, anonID, "public-1", "", "<anonymous> room public-1", false},
		{anon, anonID, "vip-1", "Access to room 'vip-1' denied by auth provider 'gate'", "<anonymous> room vip-1", false},
		{vip, vipID, "vip-1", "", "vip room vip-1", false},
		{vip, vipID, "other", "Access to room 'other' denied by auth provider 'gate'", "vip room other", false},
		{anon, anonID, "broken", "Room authorization error: directory offline", "<anonymous> room broken", false},
		{anon, anonID, "arena:1", "Room requires server-side join via component action", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.room, func(t *testing.T) {
			tc.rc.t = t
			before := len(gate.questions())
			tc.rc.send(roomMsg("ROOM_JOIN", tc.id, tc.room, nil, "j"))
			if tc.wantErr == "" {
				tc.rc.expect("ROOM_JOINED")
			} else {
				wantJSON(t, tc.rc.next(), fmt.Sprintf(`{"type":"ERROR","error":%q,"componentId":%q,"requestId":"j"}`, tc.wantErr, tc.id))
			}
			q := gate.questions()[before:]
			if tc.notAsked && len(q) != 0 || !tc.notAsked && (len(q) != 1 || q[0] != tc.wantAsked) {
				t.Fatalf("provider asked %v, want %q", q, tc.wantAsked)
			}
		})
	}
	anon.t, vip.t = t, t
	// A server-side join of a guarded room id is the component's decision.
	before := len(gate.questions())
	anon.mustCall(anonID, "enter", map[string]any{"room": "vip-2"})
	if q := gate.questions()[before:]; len(q) != 0 {
		t.Fatalf("server-side join asked the provider: %v", q)
	}
	// The provider scribbled on the identity it was handed: a copy.
	wantJSON(t, vip.mustCall(vipID, "whoami", nil), fmt.Sprintf(`{"id":"vip","roles":["vip"],"connectionId":%q,"org":null}`, vip.connID))

	t.Run("provider without RoomAuthorizer allows", func(t *testing.T) {
		_, hs := newSecServer(t, live.Options{AuthProviders: []live.AuthProvider{&secProvider{name: "plain"}}})
		rc := dialRaw(t, hs, nil)
		id, _ := rc.secMount("Counter", nil)
		rc.send(roomMsg("ROOM_JOIN", id, "anything", nil, "j"))
		rc.expect("ROOM_JOINED")
	})
}

// Clients cannot ROOM_JOIN or ROOM_STATE_SET a typed room (its state is
// always server-only); a member may still read it.
func TestSecurity_Rooms_TypedRoomIsServerOnly(t *testing.T) {
	srv, hs := newSecServer(t, live.Options{})
	registerArena(t, srv)
	rc := dialRaw(t, hs, nil)
	id, _ := rc.secMount("Fighter", nil)
	rc.send(roomMsg("ROOM_JOIN", id, "arena:3", nil, "j"))
	rc.expectError("Room requires server-side join via component action")
	rc.mustCall(id, "enter", map[string]any{"arena": "3", "name": "ann"})
	rc.send(roomMsg("ROOM_STATE_SET", id, "arena:3", map[string]any{"state": map[string]any{"players": map[string]any{"eve": "x"}}}, "s"))
	rc.expectError("Room state is server-only")
	wantJSON(t, rc.roomGet(id, "arena:3"), fmt.Sprintf(`{"players":{"ann":%q}}`, id))
}

// §14: a room state change that would exceed MaxRoomStateSize is refused
// BEFORE it is applied and nothing is broadcast — on the server path, for
// growth by writes that are each under the limit, and on the client path.
// And a state under the limit must stay deliverable: joining the room
// (ROOM_JOINED carries the full state) and ROOM_STATE_GET must not get the
// member closed as a slow consumer (every message over twice
// Options.SendQueueBytes, 8 MiB by default, is). The 9 MiB state is built
// once; large frames go over memSockets and are matched, not decoded, to
// keep the test fast under -race.
func TestSecurity_Gap_RoomStateSizeLimit(t *testing.T) {
	srv, hs := newSecServer(t, live.Options{RateLimitBurst: -1})
	h := dialRaw(t, hs, nil)
	hID, _ := h.secMount("Host", nil)
	h.mustCall(hID, "join", map[string]any{"room": "big", "state": map[string]any{"keep": "me"}})
	obs, obsID := memConn(t, srv, "Counter")
	obs.in <- []byte(`{"type":"ROOM_JOIN","componentId":"` + obsID + `","roomId":"big","requestId":"j"}`)
	memAwait(t, obs, `"requestId":"j"`)
	h.expect("ROOM_SYSTEM")
	var updates atomic.Int64
	obs.sink = func(_ bool, b []byte) {
		updates.Add(int64(bytes.Count(b, []byte(`"event":"$state:update"`))))
		if bytes.Contains(b, []byte(`"event":"marker"`)) {
			obs.out <- frameMsg{data: "marker"}
		}
		if bytes.Contains(b, []byte(`Room state exceeds maximum size limit`)) {
			obs.out <- frameMsg{data: "too large"}
		}
	}
	has := func(k string) bool { return h.mustCall(hID, "has", map[string]any{"room": "big", "key": k}) == true }
	marker := func() { // a barrier on the observer's FIFO queue
		if _, err := srv.EmitToRoom("big", "marker", 1); err != nil {
			t.Fatal(err)
		}
		memAwait(t, obs, "marker")
	}

	for _, k := range []string{"a", "b", "c"} { // 9 MiB, each write under the limit
		h.mustCall(hID, "blob", map[string]any{"room": "big", "key": k, "size": 3 << 20})
	}
	marker()
	if n := updates.Load(); n != 3 {
		t.Fatalf("%d state broadcasts, want 3", n)
	}
	t.Run("server write over the limit refused before apply", func(t *testing.T) {
		wantFailed(t, h.callResult(hID, "blob", map[string]any{"room": "big", "key": "d", "size": 1100 << 10}, "b"),
			"Room state exceeds maximum size limit")
		marker()
		if n := updates.Load(); n != 3 {
			t.Fatalf("the refused change was broadcast (%d broadcasts)", n)
		}
		if has("d") || !has("c") {
			t.Fatal("the refused write was applied")
		}
	})
	t.Run("client write over the limit refused before apply", func(t *testing.T) {
		obs.in <- []byte(`{"type":"ROOM_STATE_SET","componentId":"` + obsID + `","roomId":"big","payload":{"state":{"e":"` +
			strings.Repeat("e", 1100<<10) + `"}}}`)
		memAwait(t, obs, "too large")
		h.quiet() // not broadcast
		if has("e") || !has("keep") {
			t.Fatal("the refused write was applied")
		}
	})
	t.Run("state under the limit stays deliverable", func(t *testing.T) {
		n, nID := memConn(t, srv, "Counter")
		n.in <- []byte(`{"type":"ROOM_JOIN","componentId":"` + nID + `","roomId":"big","requestId":"j"}`)
		memAwait(t, n, `"type":"ROOM_JOINED"`)
		n.in <- []byte(`{"type":"ROOM_STATE_GET","componentId":"` + nID + `","roomId":"big","requestId":"g"}`)
		memAwait(t, n, `"requestId":"g"`)
	})
}

// §14: closing one socket of a shared singleton does not take the
// singleton out of its rooms while other connections remain, and room
// traffic reaches every attached connection, not only the first mounter's.
func TestSecurity_Gap_SingletonRoomMembershipOnSocketClose(t *testing.T) {
	srv, hs := newSecServer(t, live.Options{})
	a, b, c := dialRaw(t, hs, nil), dialRaw(t, hs, nil), dialRaw(t, hs, nil)
	hub, _ := a.secMount("Hub", nil)
	b.secMount("Hub", nil)
	cID, _ := c.secMount("Counter", nil)
	a.mustCall(hub, "join", map[string]any{"room": "hall"})
	c.send(roomMsg("ROOM_JOIN", cID, "hall", nil, "j"))
	c.expect("ROOM_JOINED")
	for _, rc := range []*rawClient{a, b} {
		if sys := rc.expect("ROOM_SYSTEM"); sys["componentId"] != hub || sys["event"] != "$sub:join" {
			t.Fatalf("hub connection got %s", jsonText(sys))
		}
	}
	c.send(roomMsg("ROOM_EMIT", cID, "hall", map[string]any{"event": "hello", "data": 1}, ""))
	for _, rc := range []*rawClient{a, b} {
		if ev := rc.expect("ROOM_EVENT"); ev["componentId"] != hub || ev["event"] != "hello" {
			t.Fatalf("hub connection got %s", jsonText(ev))
		}
	}

	must(t, a.c.CloseNow()) // the first mounter leaves abruptly
	// Connections drops only after A's teardown detached all of A's components.
	waitFor(t, "A's teardown", func() bool { return srv.Stats().Connections == 2 })
	if _, n := singletonConns(t, srv, "Hub"); n != 1 {
		t.Fatalf("hub has %d connections, want 1", n)
	}
	c.quiet() // no $sub:leave: the hub is still in the room
	if m := srv.RoomMembers("hall"); len(m) != 2 {
		t.Fatalf("members after A closed: %v", m)
	}
	c.send(roomMsg("ROOM_EMIT", cID, "hall", map[string]any{"event": "still", "data": 2}, ""))
	if ev := b.expect("ROOM_EVENT"); ev["event"] != "still" {
		t.Fatalf("B got %s", jsonText(ev))
	}

	must(t, b.c.CloseNow()) // the last connection: the hub goes
	if sys := c.expect("ROOM_SYSTEM"); sys["event"] != "$sub:leave" || obj(t, sys["data"], "data")["subscriberId"] != hub {
		t.Fatalf("C got %s", jsonText(sys))
	}
	if m := srv.RoomMembers("hall"); len(m) != 1 || m[0].ComponentID != cID {
		t.Fatalf("members %v", m)
	}
}

// §14: the component room hooks fire, for client ROOM_JOIN/ROOM_LEAVE too,
// and with the cleanup reason on unmount.
func TestSecurity_Gap_RoomHooksFire(t *testing.T) {
	_, hs, hooks := newRoomServer(t, live.Options{})
	rc := dialRaw(t, hs, nil)
	id, _ := rc.mount("Lobby", nil)
	rc.send(roomMsg("ROOM_JOIN", id, "x", nil, "j"))
	rc.expect("ROOM_JOINED")
	rc.send(roomMsg("ROOM_LEAVE", id, "x", nil, "l"))
	rc.expect("ROOM_LEFT")
	rc.send(roomMsg("ROOM_JOIN", id, "y", nil, "j"))
	rc.expect("ROOM_JOINED")
	rc.unmount(id, "u")
	rc.expect("MESSAGE_RESPONSE")
	want := []string{id + " join x", id + " leave x leave", id + " join y", id + " leave y cleanup"}
	if got := hooks.get(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("hooks\n got %v\nwant %v", got, want)
	}
}

// MaxRoomsPerConnection (50 client-joined rooms) is a resource bound per
// connection: rooms left through an unmount stop counting, and a second
// component on the same connection cannot be used to push past it.
func TestSecurity_Rooms_PerConnectionLimitAccounting(t *testing.T) {
	_, hs := newSecServer(t, live.Options{RateLimitBurst: -1})
	t.Run("unmount releases the rooms", func(t *testing.T) {
		rc := dialRaw(t, hs, nil)
		id, _ := rc.secMount("Counter", nil)
		for i := range live.MaxRoomsPerConnection {
			rc.send(roomMsg("ROOM_JOIN", id, fmt.Sprintf("u-%d", i), nil, ""))
			rc.expect("ROOM_JOINED")
		}
		rc.unmount(id, "u")
		rc.expect("MESSAGE_RESPONSE")
		id2, _ := rc.secMount("Counter", nil)
		rc.send(roomMsg("ROOM_JOIN", id2, "after-unmount", nil, "j"))
		if m := rc.next(); m["type"] != "ROOM_JOINED" {
			t.Fatalf("join after the 50-room component was unmounted: %s", jsonText(m))
		}
	})
	t.Run("two components cannot bypass it", func(t *testing.T) {
		rc := dialRaw(t, hs, nil)
		c1, _ := rc.secMount("Counter", nil)
		c2, _ := rc.secMount("Counter", nil)
		for i := range live.MaxRoomsPerConnection + 10 {
			room := fmt.Sprintf("b-%d", i)
			rc.send(roomMsg("ROOM_JOIN", c1, room, nil, "j1"))
			m := rc.next()
			for m["type"] == "ROOM_SYSTEM" {
				m = rc.next()
			}
			if m["type"] != "ROOM_JOINED" {
				if i < live.MaxRoomsPerConnection || m["error"] != "Room limit exceeded" {
					t.Fatalf("room %d: %s", i, jsonText(m))
				}
				return
			}
			rc.send(roomMsg("ROOM_JOIN", c2, room, nil, "j2"))
			rc.skipTo("ROOM_JOINED")
			rc.send(roomMsg("ROOM_LEAVE", c2, room, nil, "l2"))
			rc.skipTo("ROOM_LEFT")
		}
		t.Fatalf("one connection's component joined %d rooms; the limit is %d", live.MaxRoomsPerConnection+10, live.MaxRoomsPerConnection)
	})
}
