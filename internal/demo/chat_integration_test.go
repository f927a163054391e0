package demo_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	live "github.com/live-go/live"
	"github.com/live-go/live/internal/demo"
)

// chatView is what a Chat state shows, without the message timestamps.
type chatView struct {
	Name     string
	Online   int
	Members  []string
	Messages []string // "from: text"
}

func viewOf(st map[string]any) chatView {
	v := chatView{Members: []string{}, Messages: []string{}}
	v.Name, _ = st["name"].(string)
	if n, ok := st["online"].(float64); ok {
		v.Online = int(n)
	}
	if ms, ok := st["members"].([]any); ok {
		for _, m := range ms {
			s, _ := m.(string)
			v.Members = append(v.Members, s)
		}
	}
	if ms, ok := st["messages"].([]any); ok {
		for _, m := range ms {
			mm, _ := m.(map[string]any)
			v.Messages = append(v.Messages, fmt.Sprintf("%v: %v", mm["from"], mm["text"]))
		}
	}
	return v
}

// waitChat reads messages until the Chat id shows want.
func (c *client) waitChat(id string, want chatView) {
	c.tb.Helper()
	deadline := time.After(waitTimeout)
	for !cmp.Equal(viewOf(c.states[id]), want) {
		select {
		case m, ok := <-c.msgs:
			if !ok {
				c.tb.Fatal("connection closed while waiting for the chat")
			}
			c.apply(m)
		case <-deadline:
			c.tb.Fatalf("chat %s never showed the expected view (-want +got):\n%s", id, cmp.Diff(want, viewOf(c.states[id])))
		}
	}
}

// waitMessage reads messages until one satisfies ok, and returns it.
func (c *client) waitMessage(what string, ok func(map[string]any) bool) map[string]any {
	c.tb.Helper()
	deadline := time.After(waitTimeout)
	for {
		select {
		case m, open := <-c.msgs:
			if !open {
				c.tb.Fatalf("connection closed while waiting for %s", what)
			}
			c.apply(m)
			if ok(m) {
				return m
			}
		case <-deadline:
			c.tb.Fatalf("timed out waiting for %s", what)
			return nil
		}
	}
}

func TestChatJoinSendPresence(t *testing.T) {
	hs := startDemo(t, live.Options{})
	a, b := dial(t, hs), dial(t, hs)
	idA, idB := a.mount("Chat"), b.mount("Chat")
	if idA == idB {
		t.Fatal("two tabs share one Chat")
	}
	empty := chatView{Members: []string{}, Messages: []string{}}
	if diff := cmp.Diff(empty, viewOf(a.states[idA])); diff != "" {
		t.Fatalf("initial state (-want +got):\n%s", diff)
	}

	res := a.mustCall(idA, "join", map[string]any{"name": "  alice "})
	if diff := cmp.Diff(map[string]any{"name": "alice", "online": 1.0}, res); diff != "" {
		t.Errorf("join result (-want +got):\n%s", diff)
	}
	a.waitChat(idA, chatView{Name: "alice", Online: 1, Members: []string{"alice"}, Messages: []string{}})

	b.mustCall(idB, "join", map[string]any{"name": "bob"})
	both := []string{"alice", "bob"}
	b.waitChat(idB, chatView{Name: "bob", Online: 2, Members: both, Messages: []string{}})
	a.waitChat(idA, chatView{Name: "alice", Online: 2, Members: both, Messages: []string{}})

	msg := a.mustCall(idA, "send", map[string]any{"text": " hi bob "}).(map[string]any)
	if msg["from"] != "alice" || msg["text"] != "hi bob" || msg["id"] != 1.0 {
		t.Errorf("send result = %v", msg)
	}
	b.mustCall(idB, "send", map[string]any{"text": "hi alice"})
	history := []string{"alice: hi bob", "bob: hi alice"}
	a.waitChat(idA, chatView{Name: "alice", Online: 2, Members: both, Messages: history})
	b.waitChat(idB, chatView{Name: "bob", Online: 2, Members: both, Messages: history})

	// A late joiner gets the history once named; before, it sees nothing.
	c := dial(t, hs)
	idC := c.mount("Chat")
	if diff := cmp.Diff(empty, viewOf(c.states[idC])); diff != "" {
		t.Errorf("unnamed late joiner (-want +got):\n%s", diff)
	}
	c.mustCall(idC, "join", map[string]any{"name": "carol"})
	all := []string{"alice", "bob", "carol"}
	c.waitChat(idC, chatView{Name: "carol", Online: 3, Members: all, Messages: history})
	a.waitChat(idA, chatView{Name: "alice", Online: 3, Members: all, Messages: history})

	// Renaming keeps the seat.
	b.mustCall(idB, "join", map[string]any{"name": "robert"})
	renamed := []string{"alice", "robert", "carol"}
	a.waitChat(idA, chatView{Name: "alice", Online: 3, Members: renamed, Messages: history})

	// Closing a tab leaves the lobby at once (presence follows the
	// connection, not the resume grace).
	_ = b.conn.CloseNow()
	left := []string{"alice", "carol"}
	a.waitChat(idA, chatView{Name: "alice", Online: 2, Members: left, Messages: history})
	c.waitChat(idC, chatView{Name: "carol", Online: 2, Members: left, Messages: history})
}

func TestChatErrors(t *testing.T) {
	hs := startDemo(t, live.Options{})
	a := dial(t, hs)
	id := a.mount("Chat")
	r := a.call(id, "send", map[string]any{"text": "too early"})
	if r["success"] != false || r["error"] != "join the chat first" {
		t.Fatalf("send before join: %v", r)
	}
	a.mustCall(id, "join", map[string]any{"name": "alice"})
	tests := []struct {
		name, action string
		payload      any
		wantErr      string
	}{
		{"empty name", "join", map[string]any{"name": " "}, "the name must not be empty"},
		{"long name", "join", map[string]any{"name": strings.Repeat("n", demo.MaxChatName+1)}, "the name must be at most 24 characters"},
		{"newline in name", "join", map[string]any{"name": "a\nb"}, "the name must be one line of text"},
		{"empty text", "send", map[string]any{"text": ""}, "the message must not be empty"},
		{"long text", "send", map[string]any{"text": strings.Repeat("x", demo.MaxChatText+1)}, "the message must be at most 280 characters"},
		{"escape in text", "send", map[string]any{"text": "\x1b[31mred"}, "the message must be one line of text"},
		{"unknown field", "send", map[string]any{"text": "x", "from": "mallory"}, "Action 'send' payload validation failed"},
		{"not an action", "enterLobby", map[string]any{}, "Action 'enterLobby' is not callable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := a.tb
			a.tb = t
			defer func() { a.tb = parent }()
			r := a.call(id, tt.action, tt.payload)
			msg, _ := r["error"].(string)
			if r["success"] != false || !strings.HasPrefix(msg, tt.wantErr) {
				t.Errorf("reply %v, want an error starting with %q", r, tt.wantErr)
			}
		})
	}
	if diff := cmp.Diff(chatView{Name: "alice", Online: 1, Members: []string{"alice"}, Messages: []string{}}, viewOf(a.states[id])); diff != "" {
		t.Errorf("rejected calls changed the chat (-want +got):\n%s", diff)
	}
}

// TestChatIgnoresClientRoomEmits checks that a client emitting into the
// lobby with ROOM_EMIT (allowed: its Chat is a member) cannot inject
// messages or names: the Chats only re-read the server's records.
func TestChatIgnoresClientRoomEmits(t *testing.T) {
	hs := startDemo(t, live.Options{})
	a, m := dial(t, hs), dial(t, hs)
	idA, idM := a.mount("Chat"), m.mount("Chat")
	a.mustCall(idA, "join", map[string]any{"name": "alice"})
	m.mustCall(idM, "join", map[string]any{"name": "mallory"})
	for _, ev := range []struct {
		event string
		data  any
	}{
		{"message", map[string]any{"id": 99, "from": "alice", "text": "forged", "at": 0}},
		{"presence", map[string]any{"members": []string{"nobody"}}},
		{"message", "not even an object"},
	} {
		m.send(map[string]any{"type": "ROOM_EMIT", "componentId": idM, "roomId": demo.LobbyRoom,
			"payload": map[string]any{"event": ev.event, "data": ev.data}})
	}
	m.send(map[string]any{"type": "ROOM_STATE_SET", "componentId": idM, "roomId": demo.LobbyRoom,
		"payload": map[string]any{"state": map[string]any{"big": "x"}}})
	m.waitMessage("the refusal of ROOM_STATE_SET", func(msg map[string]any) bool {
		return msg["type"] == "ERROR" && msg["error"] == "Room state is server-only"
	})
	// A real message after the forgeries: once alice sees it, she has
	// handled the forged events too (one room, one order).
	m.mustCall(idM, "send", map[string]any{"text": "real"})
	members := []string{"alice", "mallory"}
	a.waitChat(idA, chatView{Name: "alice", Online: 2, Members: members, Messages: []string{"mallory: real"}})
}

// TestChatResume checks a tab whose connection dropped and that resumed
// its Chat within the grace period: it is back in the member lists, and it
// receives the messages sent after it came back.
func TestChatResume(t *testing.T) {
	hs := startDemo(t, live.Options{})
	a, b := dial(t, hs), dial(t, hs)
	idA := a.mount("Chat")
	signed := a.lastSigned
	idB := b.mount("Chat")
	a.mustCall(idA, "join", map[string]any{"name": "alice"})
	b.mustCall(idB, "join", map[string]any{"name": "bob"})
	b.waitChat(idB, chatView{Name: "bob", Online: 2, Members: []string{"alice", "bob"}, Messages: []string{}})

	_ = a.conn.CloseNow()
	b.waitChat(idB, chatView{Name: "bob", Online: 1, Members: []string{"bob"}, Messages: []string{}})

	a2 := dial(t, hs)
	r := a2.request(map[string]any{"type": "COMPONENT_REHYDRATE", "componentId": idA,
		"payload": map[string]any{"component": "Chat", "signedState": signed, "seq": 0}})
	res, _ := r["result"].(map[string]any)
	if r["success"] != true || res["newComponentId"] != idA {
		t.Fatalf("resume: %v, want the same component %s", r, idA)
	}
	back := []string{"bob", "alice"} // join order: alice joined again
	b.waitChat(idB, chatView{Name: "bob", Online: 2, Members: back, Messages: []string{}})
	b.mustCall(idB, "send", map[string]any{"text": "welcome back"})
	a2.waitChat(idA, chatView{Name: "alice", Online: 2, Members: back, Messages: []string{"bob: welcome back"}})
}

// TestChatRehydrateAfterRestart checks a tab that comes back to a new
// server (same secret) with its Chat's signed state: it is named, in the
// lobby, and brings the history with it.
func TestChatRehydrateAfterRestart(t *testing.T) {
	opts := live.Options{SignatureRenewInterval: time.Millisecond}
	first := startDemo(t, opts)
	a := dial(t, first)
	id := a.mount("Chat")
	a.mustCall(id, "join", map[string]any{"name": "alice"})
	a.mustCall(id, "send", map[string]any{"text": "before the restart"})
	sig := a.waitMessage("a signature covering the message", func(m map[string]any) bool {
		p, _ := m["payload"].(map[string]any)
		ss, _ := p["signedState"].(map[string]any)
		data, _ := ss["data"].(string)
		return m["type"] == "STATE_SIGNATURE" && strings.Contains(data, "before the restart")
	})
	signed := sig["payload"].(map[string]any)["signedState"]

	second := startDemo(t, opts)
	b := dial(t, second)
	r := b.request(map[string]any{"type": "COMPONENT_REHYDRATE", "componentId": id,
		"payload": map[string]any{"component": "Chat", "signedState": signed}})
	res, _ := r["result"].(map[string]any)
	newID, _ := res["newComponentId"].(string)
	if r["success"] != true || newID == "" {
		t.Fatalf("rehydrate: %v", r)
	}
	b.waitChat(newID, chatView{Name: "alice", Online: 1, Members: []string{"alice"}, Messages: []string{"alice: before the restart"}})

	// The restored history goes on with the next id.
	c := dial(t, second)
	idC := c.mount("Chat")
	c.mustCall(idC, "join", map[string]any{"name": "carol"})
	got := c.mustCall(idC, "send", map[string]any{"text": "after"}).(map[string]any)
	if got["id"] != 2.0 {
		t.Errorf("first id after the restart = %v, want 2", got["id"])
	}
	b.waitChat(newID, chatView{Name: "alice", Online: 2, Members: []string{"alice", "carol"},
		Messages: []string{"alice: before the restart", "carol: after"}})
}
