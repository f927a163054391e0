package live_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"testing"

	live "github.com/live-go/live"
)

// GameRoom is a typed room: players by component id, a round counter.
type GameRoom struct {
	live.RoomBase
	Players map[string]string `json:"players"`
	Round   int               `json:"round"`
	log     *hookLog
}

func (g *GameRoom) OnCreate(ctx context.Context) error { g.log.add("create " + g.ID()); return nil }

func (g *GameRoom) OnJoin(rc *live.RoomCtx) error {
	var p struct{ Name string }
	_ = json.Unmarshal(rc.Payload, &p)
	if p.Name == "blocked" {
		return errors.New("no")
	}
	rc.Membership["name"] = p.Name
	g.Players[rc.ComponentID] = p.Name
	g.log.add("join " + p.Name)
	return nil
}

func (g *GameRoom) OnLeave(rc *live.RoomCtx) {
	delete(g.Players, rc.ComponentID)
	g.log.add(fmt.Sprintf("leave %v %s", rc.Membership["name"], rc.Reason))
}

func (g *GameRoom) OnEvent(rc *live.RoomCtx, event string, data json.RawMessage) {
	g.log.add("event " + event)
}

type Player struct{ live.Base }

type JoinGame struct {
	Game string `json:"game"`
	Name string `json:"name"`
}

func (p *Player) Play(ctx *live.Ctx, a JoinGame) error {
	return p.JoinRoom("game:" + a.Game).Join(map[string]any{"name": a.Name})
}

func (p *Player) Move(ctx *live.Ctx, a JoinGame) error {
	return p.JoinRoom("game:"+a.Game).Emit("move", map[string]any{"x": 1, "name": a.Name})
}

func (p *Player) NextRound(ctx *live.Ctx, a JoinGame) error {
	return live.UpdateRoom(p.JoinRoom("game:"+a.Game), func(g *GameRoom) error { g.Round++; return nil })
}

// ---- an independent decoder for room frames and the msgpack subset ----

type roomFrame struct {
	kind        byte
	componentID string
	roomID      string
	event       string
	data        any
}

func decodeRoomFrame(t *testing.T, b []byte) roomFrame {
	t.Helper()
	var f roomFrame
	if len(b) < 6 {
		t.Fatalf("frame too short: %x", b)
	}
	f.kind = b[0]
	n := int(b[1])
	f.componentID = string(b[2 : 2+n])
	b = b[2+n:]
	n = int(b[0])
	f.roomID = string(b[1 : 1+n])
	b = b[1+n:]
	n = int(binary.BigEndian.Uint16(b))
	f.event = string(b[2 : 2+n])
	rest := b[2+n:]
	var err error
	f.data, rest, err = mpDecode(rest)
	if err != nil || len(rest) != 0 {
		t.Fatalf("payload %x: %v (rest %d)", b[2+n:], err, len(rest))
	}
	return f
}

func mpDecode(b []byte) (any, []byte, error) {
	if len(b) == 0 {
		return nil, nil, errors.New("truncated")
	}
	c, b := b[0], b[1:]
	str := func(n int) (any, []byte, error) {
		if len(b) < n {
			return nil, nil, errors.New("truncated")
		}
		return string(b[:n]), b[n:], nil
	}
	coll := func(n int, isMap bool) (any, []byte, error) {
		var arr []any
		m := map[string]any{}
		rest := b
		for range n {
			var k, v any
			var err error
			if isMap {
				if k, rest, err = mpDecode(rest); err != nil {
					return nil, nil, err
				}
			}
			if v, rest, err = mpDecode(rest); err != nil {
				return nil, nil, err
			}
			if isMap {
				m[fmt.Sprint(k)] = v
			} else {
				arr = append(arr, v)
			}
		}
		if isMap {
			return m, rest, nil
		}
		return arr, rest, nil
	}
	switch {
	case c <= 0x7f:
		return float64(c), b, nil
	case c >= 0xe0:
		return float64(int8(c)), b, nil
	case c&0xe0 == 0xa0:
		return str(int(c & 0x1f))
	case c&0xf0 == 0x80:
		return coll(int(c&0x0f), true)
	case c&0xf0 == 0x90:
		return coll(int(c&0x0f), false)
	}
	switch c {
	case 0xc0:
		return nil, b, nil
	case 0xc2:
		return false, b, nil
	case 0xc3:
		return true, b, nil
	case 0xcc:
		return float64(b[0]), b[1:], nil
	case 0xcd:
		return float64(binary.BigEndian.Uint16(b)), b[2:], nil
	case 0xce:
		return float64(binary.BigEndian.Uint32(b)), b[4:], nil
	case 0xd0:
		return float64(int8(b[0])), b[1:], nil
	case 0xd1:
		return float64(int16(binary.BigEndian.Uint16(b))), b[2:], nil
	case 0xd2:
		return float64(int32(binary.BigEndian.Uint32(b))), b[4:], nil
	case 0xcb:
		return math.Float64frombits(binary.BigEndian.Uint64(b)), b[8:], nil
	case 0xd9:
		n := int(b[0])
		b = b[1:]
		return str(n)
	case 0xda:
		n := int(binary.BigEndian.Uint16(b))
		b = b[2:]
		return str(n)
	case 0xde:
		n := int(binary.BigEndian.Uint16(b))
		b = b[2:]
		return coll(n, true)
	case 0xdc:
		n := int(binary.BigEndian.Uint16(b))
		b = b[2:]
		return coll(n, false)
	}
	return nil, nil, fmt.Errorf("type byte %#x not in the subset", c)
}

func TestTypedRoomFramesAndHooks(t *testing.T) {
	srv, hs, _ := newRoomServer(t, live.Options{})
	log := &hookLog{}
	must(t, live.RegisterRoom(srv, live.Room[GameRoom]{Name: "game", MaxMembers: 2,
		New: func() *GameRoom { return &GameRoom{Players: map[string]string{}, log: log} }}))
	must(t, live.Register(srv, live.Component[Player]{Name: "Player", Actions: []string{"play", "move", "nextRound"}}))

	a, b, c := dialRaw(t, hs, nil), dialRaw(t, hs, nil), dialRaw(t, hs, nil)
	aID, _ := a.mount("Player", nil)
	bID, _ := b.mount("Player", nil)
	cID, _ := c.mount("Player", nil)

	// Clients cannot ROOM_JOIN a typed room.
	a.send(roomMsg("ROOM_JOIN", aID, "game:1", nil, "j"))
	if r := a.expect("ERROR"); r["error"] != "Room requires server-side join via component action" {
		t.Fatalf("client join of typed room: %v", r)
	}

	a.call(aID, "play", map[string]any{"game": "1", "name": "ana"}, true, "p")
	joined := a.expect("ROOM_JOINED") // server-initiated form
	if joined["componentId"] != aID || joined["roomId"] != "game:1" || joined["event"] != "$room:joined" {
		t.Fatalf("ROOM_JOINED: %v", joined)
	}
	wantJSON(t, joined["data"], fmt.Sprintf(`{"state":{"players":{%q:"ana"},"round":0}}`, aID))
	a.expect("ACTION_RESPONSE")

	b.call(bID, "play", map[string]any{"game": "1", "name": "bo"}, true, "p")
	b.expect("ROOM_JOINED")
	b.expect("ACTION_RESPONSE")
	// a: the state change (bo added), then $sub:join.
	st := decodeRoomFrame(t, a.nextBinary())
	if st.kind != 0x03 || st.componentID != aID || st.roomID != "game:1" || st.event != "$state:update" {
		t.Fatalf("state frame: %+v", st)
	}
	wantJSON(t, st.data, fmt.Sprintf(`{"state":{"players":{%q:"bo"}}}`, bID))
	sys := decodeRoomFrame(t, a.nextBinary())
	if sys.kind != 0x02 || sys.event != "$sub:join" {
		t.Fatalf("system frame: %+v", sys)
	}
	wantJSON(t, sys.data, fmt.Sprintf(`{"subscriberId":%q,"count":2}`, bID))

	// The room is full for a third player; a blocked name is rejected.
	c.call(cID, "play", map[string]any{"game": "1", "name": "cy"}, true, "p")
	c.expect("ERROR")
	if r := c.expect("ACTION_RESPONSE"); r["error"] != "Room is full" {
		t.Fatalf("third join: %v", r)
	}
	c.call(cID, "play", map[string]any{"game": "2", "name": "blocked"}, true, "p")
	c.expect("ERROR")
	if r := c.expect("ACTION_RESPONSE"); r["error"] != "Join rejected by room" {
		t.Fatalf("blocked join: %v", r)
	}

	// Events reach the other member as 0x02 with msgpack data.
	a.call(aID, "move", map[string]any{"game": "1", "name": "ana"}, true, "m")
	a.expect("ACTION_RESPONSE")
	mv := decodeRoomFrame(t, b.nextBinary())
	if mv.kind != 0x02 || mv.componentID != bID || mv.event != "move" {
		t.Fatalf("move frame: %+v", mv)
	}
	wantJSON(t, mv.data, `{"x":1,"name":"ana"}`)

	// UpdateRoom: every member gets the state change.
	b.call(bID, "nextRound", map[string]any{"game": "1"}, true, "n")
	b.expect("ACTION_RESPONSE")
	for _, rc := range []*rawClient{a, b} {
		f := decodeRoomFrame(t, rc.nextBinary())
		wantJSON(t, f.data, `{"state":{"round":1}}`)
	}

	// b drops: a sees the state (b removed → null) and $sub:leave; the room
	// holds only a.
	b.c.CloseNow()
	st = decodeRoomFrame(t, a.nextBinary())
	wantJSON(t, st.data, fmt.Sprintf(`{"state":{"players":{%q:null}}}`, bID))
	if f := decodeRoomFrame(t, a.nextBinary()); f.event != "$sub:leave" {
		t.Fatalf("leave frame: %+v", f)
	}
	if m := srv.RoomMembers("game:1"); len(m) != 1 || m[0].ComponentID != aID {
		t.Fatalf("members: %v", m)
	}
	want := []string{"create game:1", "join ana", "join bo", "create game:2", "event move", "leave bo disconnect"}
	if got := log.get(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("room hooks\n got %v\nwant %v", got, want)
	}
}
