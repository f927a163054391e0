package live_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	live "github.com/live-go/live"
)

// Lobby joins untyped rooms from actions and mirrors "ping" events it
// receives into its state.
type Lobby struct {
	live.Base
	Seen  []string `json:"seen"`
	hooks *hookLog
}

type hookLog struct {
	mu  sync.Mutex
	log []string
}

func (h *hookLog) add(s string) {
	h.mu.Lock()
	h.log = append(h.log, s)
	h.mu.Unlock()
}

func (h *hookLog) get() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.log...)
}

type RoomArgs struct {
	Room string `json:"room"`
	Text string `json:"text,omitempty"`
}

func (l *Lobby) Enter(ctx *live.Ctx, p RoomArgs) error {
	h := l.JoinRoom(p.Room)
	if err := h.Join(map[string]any{"topic": "general"}); err != nil {
		return err
	}
	_, err := h.On("ping", func(ctx *live.Ctx, data json.RawMessage) {
		var s string
		_ = json.Unmarshal(data, &s)
		l.Seen = append(l.Seen, s)
	})
	return err
}

func (l *Lobby) Exit(ctx *live.Ctx, p RoomArgs) error { return l.JoinRoom(p.Room).Leave() }

func (l *Lobby) Shout(ctx *live.Ctx, p RoomArgs) error {
	return l.JoinRoom(p.Room).Emit("ping", p.Text)
}

func (l *Lobby) Who(ctx *live.Ctx, p RoomArgs) ([]live.Member, error) {
	return l.JoinRoom(p.Room).Members()
}

func (l *Lobby) OnRoomJoin(ctx *live.Ctx, room string) { l.hooks.add(l.ID() + " join " + room) }
func (l *Lobby) OnRoomLeave(ctx *live.Ctx, room, reason string) {
	l.hooks.add(l.ID() + " leave " + room + " " + reason)
}

func newRoomServer(t *testing.T, opts live.Options) (*live.Server, *httptest.Server, *hookLog) {
	t.Helper()
	if opts.ResumeGrace == 0 {
		opts.ResumeGrace = -1
	}
	srv, hs := newTestServer(t, opts)
	hooks := &hookLog{}
	must(t, live.Register(srv, live.Component[Lobby]{
		Name:    "Lobby",
		Actions: []string{"enter", "exit", "shout", "who"},
		New:     func() *Lobby { return &Lobby{hooks: hooks} },
	}))
	return srv, hs, hooks
}

func roomMsg(typ, cid, room string, payload map[string]any, req string) map[string]any {
	m := map[string]any{"type": typ, "componentId": cid, "roomId": room}
	if payload != nil {
		m["payload"] = payload
	}
	if req != "" {
		m["requestId"] = req
	}
	return m
}

func TestClientRoomMessages(t *testing.T) {
	srv, hs, _ := newRoomServer(t, live.Options{})
	a, b := dialRaw(t, hs, nil), dialRaw(t, hs, nil)
	aID, _ := a.mount("Counter", nil)
	bID, _ := b.mount("Counter", nil)

	a.send(roomMsg("ROOM_JOIN", aID, "chat", map[string]any{"initialState": map[string]any{"topic": "go"}}, "j1"))
	j := a.expect("ROOM_JOINED")
	wantJSON(t, j, fmt.Sprintf(`{"type":"ROOM_JOINED","componentId":%q,"payload":{"roomId":"chat","state":{"topic":"go"}},"requestId":"j1"}`, aID))

	b.send(roomMsg("ROOM_JOIN", bID, "chat", map[string]any{"initialState": map[string]any{"topic": "ignored"}}, "j2"))
	wantJSON(t, b.expect("ROOM_JOINED")["payload"], `{"roomId":"chat","state":{"topic":"go"}}`)
	sys := a.expect("ROOM_SYSTEM")
	if sys["componentId"] != aID || sys["roomId"] != "chat" || sys["event"] != "$sub:join" {
		t.Fatalf("ROOM_SYSTEM: %v", sys)
	}
	wantJSON(t, sys["data"], fmt.Sprintf(`{"subscriberId":%q,"count":2}`, bID))
	if _, ok := sys["timestamp"].(float64); !ok {
		t.Fatalf("ROOM_SYSTEM without timestamp: %v", sys)
	}

	// Emit: the other member gets it with ITS componentId; the sender does not.
	a.send(roomMsg("ROOM_EMIT", aID, "chat", map[string]any{"event": "typing", "data": map[string]any{"who": "a"}}, ""))
	ev := b.expect("ROOM_EVENT")
	if ev["componentId"] != bID || ev["event"] != "typing" || ev["roomId"] != "chat" {
		t.Fatalf("ROOM_EVENT: %v", ev)
	}
	wantJSON(t, ev["data"], `{"who":"a"}`)
	a.quiet()

	// State set: $ and prototype keys stripped; the others get the changes.
	a.send(roomMsg("ROOM_STATE_SET", aID, "chat", map[string]any{"state": map[string]any{"count": 1, "$leak": true, "__proto__": map[string]any{"x": 1}}}, ""))
	st := b.expect("ROOM_STATE")
	if st["componentId"] != bID || st["event"] != "$state:update" {
		t.Fatalf("ROOM_STATE broadcast: %v", st)
	}
	wantJSON(t, st["data"], `{"state":{"count":1}}`)
	a.quiet()

	b.send(roomMsg("ROOM_STATE_GET", bID, "chat", nil, "g"))
	wantJSON(t, b.expect("ROOM_STATE"), fmt.Sprintf(`{"type":"ROOM_STATE","componentId":%q,"payload":{"roomId":"chat","state":{"topic":"go","count":1}},"requestId":"g"}`, bID))

	// Leave: ROOM_LEFT, the remaining member sees $sub:leave, the leaver is
	// no longer a member.
	b.send(roomMsg("ROOM_LEAVE", bID, "chat", nil, "l"))
	wantJSON(t, b.expect("ROOM_LEFT"), fmt.Sprintf(`{"type":"ROOM_LEFT","componentId":%q,"payload":{"roomId":"chat"},"requestId":"l"}`, bID))
	leave := a.expect("ROOM_SYSTEM")
	wantJSON(t, leave["data"], fmt.Sprintf(`{"subscriberId":%q,"count":1}`, bID))
	if leave["event"] != "$sub:leave" {
		t.Fatalf("leave event: %v", leave)
	}
	b.send(roomMsg("ROOM_EMIT", bID, "chat", map[string]any{"event": "x"}, "e"))
	if r := b.expect("ERROR"); r["error"] != "Not a member of this room" || r["requestId"] != "e" {
		t.Fatalf("emit after leave: %v", r)
	}
	if m := srv.RoomMembers("chat"); len(m) != 1 || m[0].ComponentID != aID {
		t.Fatalf("members %v", m)
	}
}

func TestClientRoomErrors(t *testing.T) {
	_, hs, _ := newRoomServer(t, live.Options{})
	a, b := dialRaw(t, hs, nil), dialRaw(t, hs, nil)
	aID, _ := a.mount("Counter", nil)
	cases := []struct {
		name string
		msg  map[string]any
		want string
	}{
		{"foreign component", roomMsg("ROOM_JOIN", aID, "r", nil, "x"), "Component not found"},
		{"unknown component", roomMsg("ROOM_JOIN", "nope", "r", nil, "x"), "Component not found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b.send(tc.msg)
			if r := b.expect("ERROR"); r["error"] != tc.want {
				t.Fatalf("got %v want %q", r, tc.want)
			}
		})
	}
	own := []struct {
		name string
		msg  map[string]any
		want string
	}{
		{"invalid name", roomMsg("ROOM_JOIN", aID, "bad room", nil, "x"), "Invalid room name. Must be 1-64 alphanumeric characters, hyphens, underscores, dots, or colons."},
		{"too long", roomMsg("ROOM_JOIN", aID, strings.Repeat("a", 65), nil, "x"), "Invalid room name. Must be 1-64 alphanumeric characters, hyphens, underscores, dots, or colons."},
		{"emit not member", roomMsg("ROOM_EMIT", aID, "r", map[string]any{"event": "e"}, "x"), "Not a member of this room"},
		{"set not member", roomMsg("ROOM_STATE_SET", aID, "r", map[string]any{"state": map[string]any{}}, "x"), "Not a member of this room"},
		{"get not member", roomMsg("ROOM_STATE_GET", aID, "r", nil, "x"), "Not a member of this room"},
	}
	for _, tc := range own {
		t.Run(tc.name, func(t *testing.T) {
			a.send(tc.msg)
			if r := a.expect("ERROR"); r["error"] != tc.want || r["componentId"] != aID || r["requestId"] != "x" {
				t.Fatalf("got %v want %q", r, tc.want)
			}
		})
	}
	// Leaving a room never joined is a quiet success.
	a.send(roomMsg("ROOM_LEAVE", aID, "never", nil, "lv"))
	a.expect("ROOM_LEFT")
	// The 51st room is refused.
	for i := range live.MaxRoomsPerConnection {
		a.send(roomMsg("ROOM_JOIN", aID, fmt.Sprintf("room-%d", i), nil, ""))
		a.expect("ROOM_JOINED")
	}
	a.send(roomMsg("ROOM_JOIN", aID, "one-too-many", nil, "over"))
	if r := a.expect("ERROR"); r["error"] != "Room limit exceeded" {
		t.Fatalf("51st room: %v", r)
	}
}

func TestRoomStateLimitCheckedBeforeApply(t *testing.T) {
	_, hs, _ := newRoomServer(t, live.Options{MaxMessageSize: 16 << 20, RateLimitBurst: -1})
	a := dialRaw(t, hs, nil)
	aID, _ := a.mount("Counter", nil)
	a.send(roomMsg("ROOM_JOIN", aID, "big", map[string]any{"initialState": map[string]any{"keep": "me"}}, "j"))
	a.expect("ROOM_JOINED")
	huge := strings.Repeat("x", live.MaxRoomStateSize)
	a.send(roomMsg("ROOM_STATE_SET", aID, "big", map[string]any{"state": map[string]any{"blob": huge}}, "s"))
	if r := a.expect("ERROR"); r["error"] != "Room state exceeds maximum size limit" {
		t.Fatalf("oversize: %v", r)
	}
	a.send(roomMsg("ROOM_STATE_GET", aID, "big", nil, "g"))
	wantJSON(t, a.expect("ROOM_STATE")["payload"], `{"roomId":"big","state":{"keep":"me"}}`)
}

// Component-side rooms: joins from actions, handlers on other members,
// hooks that really fire, presence, and leave on disconnect.
func TestComponentRoomsAndHooks(t *testing.T) {
	srv, hs, hooks := newRoomServer(t, live.Options{})
	a, b := dialRaw(t, hs, nil), dialRaw(t, hs, nil)
	aID, _ := a.mount("Lobby", nil)
	bID, _ := b.mount("Lobby", nil)
	a.call(aID, "enter", map[string]any{"room": "hall"}, true, "e1")
	a.expect("ACTION_RESPONSE")
	b.call(bID, "enter", map[string]any{"room": "hall"}, true, "e2")
	b.expect("ACTION_RESPONSE")
	if sys := a.expect("ROOM_SYSTEM"); sys["event"] != "$sub:join" {
		t.Fatalf("a saw %v", sys)
	}

	// a shouts: b's handler runs on b's component, b's client gets the
	// room event and then b's state delta.
	a.call(aID, "shout", map[string]any{"room": "hall", "text": "hello"}, true, "s")
	a.expect("ACTION_RESPONSE")
	if ev := b.expect("ROOM_EVENT"); ev["event"] != "ping" || ev["data"] != "hello" {
		t.Fatalf("b got %v", ev)
	}
	if d := b.expect("STATE_DELTA"); fmt.Sprint(d["payload"].(map[string]any)["delta"]) != "map[seen:[hello]]" {
		t.Fatalf("b's handler delta: %v", d)
	}
	a.quiet() // a's own handler did not run (the emitter is excluded)

	b.call(bID, "who", map[string]any{"room": "hall"}, true, "w")
	who := b.expect("ACTION_RESPONSE")["result"].([]any)
	if len(who) != 2 || who[0].(map[string]any)["componentId"] != aID || who[1].(map[string]any)["componentId"] != bID {
		t.Fatalf("presence: %v", who)
	}

	// b disconnects abruptly: a sees the leave, the room keeps only a.
	b.c.CloseNow()
	if sys := a.expect("ROOM_SYSTEM"); sys["event"] != "$sub:leave" {
		t.Fatalf("a after b dropped: %v", sys)
	}
	if m := srv.RoomMembers("hall"); len(m) != 1 || m[0].ComponentID != aID {
		t.Fatalf("members after disconnect: %v", m)
	}
	a.call(aID, "exit", map[string]any{"room": "hall"}, true, "x")
	a.expect("ACTION_RESPONSE")
	want := []string{aID + " join hall", bID + " join hall", bID + " leave hall disconnect", aID + " leave hall leave"}
	if got := hooks.get(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("hooks\n got %v\nwant %v", got, want)
	}
}

func TestClientCannotEmitReservedEvents(t *testing.T) {
	_, hs, _ := newRoomServer(t, live.Options{})
	a, b := dialRaw(t, hs, nil), dialRaw(t, hs, nil)
	aID, _ := a.mount("Counter", nil)
	bID, _ := b.mount("Counter", nil)
	for _, rc := range []struct {
		c  *rawClient
		id string
	}{{a, aID}, {b, bID}} {
		rc.c.send(roomMsg("ROOM_JOIN", rc.id, "r", nil, "j"))
		rc.c.expect("ROOM_JOINED")
	}
	a.expect("ROOM_SYSTEM") // b joined
	a.send(roomMsg("ROOM_EMIT", aID, "r", map[string]any{"event": "$sub:leave", "data": map[string]any{"subscriberId": bID, "count": 1}}, "e"))
	if r := a.expect("ERROR"); r["error"] != "Event names starting with '$' are reserved for the server" {
		t.Fatalf("forged system event: %v", r)
	}
	b.quiet()
}

// Echo registers its room handler from its OnRoomJoin hook (the room must
// be usable there) and counts the pings it hears.
type Echo struct {
	live.Base
	Heard int `json:"heard"`
}

func (e *Echo) Enter(ctx *live.Ctx, p RoomArgs) error { return e.JoinRoom(p.Room).Join(nil) }

func (e *Echo) Shout(ctx *live.Ctx, p RoomArgs) error { return e.JoinRoom(p.Room).Emit("ping", p.Text) }

func (e *Echo) OnRoomJoin(ctx *live.Ctx, room string) {
	_, _ = e.JoinRoom(room).On("ping", func(ctx *live.Ctx, data json.RawMessage) { e.Heard++ })
}

func TestRoomHandlersFromJoinHookSurviveResume(t *testing.T) {
	srv, hs := newTestServer(t, live.Options{})
	must(t, live.Register(srv, live.Component[Echo]{Name: "Echo", Actions: []string{"enter", "shout"}}))
	a, b := dialRaw(t, hs, nil), dialRaw(t, hs, nil)
	aID, reply := a.mount("Echo", nil)
	signed := signedOf(t, reply)
	bID, _ := b.mount("Echo", nil)
	for _, x := range []struct {
		rc *rawClient
		id string
	}{{a, aID}, {b, bID}} {
		x.rc.call(x.id, "enter", map[string]any{"room": "hall"}, true, "e")
		for x.rc.next()["type"] != "ACTION_RESPONSE" {
		}
	}
	// a drops and resumes within the grace period.
	a.c.CloseNow()
	waitFor(t, "a's connection to go", func() bool { return srv.Stats().Connections == 1 })
	a2 := dialRaw(t, hs, nil)
	a2.send(rehydrateMsg(aID, "Echo", signed, map[string]any{"seq": 0}))
	for {
		m := a2.next()
		if m["type"] == "COMPONENT_REHYDRATED" {
			if m["success"] != true || m["result"].(map[string]any)["newComponentId"] != aID {
				t.Fatalf("resume: %v", m)
			}
			break
		}
	}
	// b shouts: a's handler (registered in its join hook before the drop)
	// still runs, and the resumed client sees the delta.
	b.call(bID, "shout", map[string]any{"room": "hall", "text": "hi"}, true, "s")
	for {
		m := a2.next()
		if m["type"] == "STATE_DELTA" {
			wantJSON(t, m["payload"], `{"delta":{"heard":1}}`)
			break
		}
	}
}
