package live_test

import (
	"testing"

	live "github.com/live-go/live"
)

type Chat struct {
	live.Base
	Sent int `json:"sent"`
}

func (c *Chat) Say(ctx *live.Ctx, p TextArgs) error {
	c.Sent++
	return c.Broadcast("chat:message", map[string]any{"text": p.Text})
}

func TestBroadcastReachesRoomConnectionsOnce(t *testing.T) {
	srv, hs := newTestServer(t, live.Options{})
	must(t, live.Register(srv, live.Component[Chat]{Name: "Chat", Actions: []string{"say"}}))
	mountIn := func(rc *rawClient, room string) string {
		payload := map[string]any{"component": "Chat"}
		if room != "" {
			payload["room"] = room
		}
		rc.send(map[string]any{"type": "COMPONENT_MOUNT", "componentId": "m", "payload": payload, "requestId": "m"})
		rc.expect("STATE_UPDATE")
		r := rc.expect("MESSAGE_RESPONSE")
		if r["success"] != true {
			t.Fatalf("mount: %v", r)
		}
		return r["result"].(map[string]any)["componentId"].(string)
	}
	a, b, other, none := dialRaw(t, hs, nil), dialRaw(t, hs, nil), dialRaw(t, hs, nil), dialRaw(t, hs, nil)
	aID := mountIn(a, "lobby")
	mountIn(b, "lobby")
	mountIn(b, "lobby") // two components of b in the room: b still gets one copy
	mountIn(other, "elsewhere")
	noneID := mountIn(none, "")

	a.call(aID, "say", map[string]any{"text": "hello"}, true, "s1")
	// Sender: its delta, the broadcast (sender included), then the reply.
	a.expect("STATE_DELTA")
	bc := a.expect("BROADCAST")
	if bc["componentId"] != aID || bc["room"] != "lobby" {
		t.Fatalf("broadcast envelope: %v", bc)
	}
	p := bc["payload"].(map[string]any)
	if p["type"] != "chat:message" || p["data"].(map[string]any)["text"] != "hello" {
		t.Fatalf("broadcast payload: %v", p)
	}
	a.expect("ACTION_RESPONSE")
	b.expect("BROADCAST")
	b.quiet() // exactly one copy
	other.quiet()

	// A component with no room cannot broadcast.
	none.call(noneID, "say", map[string]any{"text": "x"}, true, "s2")
	none.expect("STATE_DELTA")
	none.expect("ERROR")
	if r := none.expect("ACTION_RESPONSE"); r["error"] != live.ErrNoRoom.Error() {
		t.Fatalf("broadcast without room: %v", r)
	}

	// An invalid room name is refused at mount.
	a.send(map[string]any{"type": "COMPONENT_MOUNT", "componentId": "m", "payload": map[string]any{"component": "Chat", "room": "bad room!"}, "requestId": "bad"})
	if r := a.expect("MESSAGE_RESPONSE"); r["success"] != false || r["error"] != "Invalid room name. Must be 1-64 alphanumeric characters, hyphens, underscores, dots, or colons." {
		t.Fatalf("bad room mount: %v", r)
	}
}
