package live_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/coder/websocket"

	live "github.com/live-go/live"
)

// Parting records its lifecycle hooks, to tell a component destroyed when
// its connection ended from one kept for a resuming client.
type Parting struct {
	live.Base
	Count int `json:"count"`

	hooks *hookLog
}

// OnDisconnect implements live.DisconnectHook.
func (p *Parting) OnDisconnect(*live.Ctx) { p.hooks.add("disconnect") }

// OnDestroy implements live.DestroyHook.
func (p *Parting) OnDestroy() { p.hooks.add("destroy") }

// Increment adds one.
func (p *Parting) Increment(*live.Ctx) error { p.Count++; return nil }

func newPartingServer(t *testing.T, hooks *hookLog) (*live.Server, http.Handler) {
	t.Helper()
	srv, h := newTransportHandler(t, live.Options{ResumeGrace: time.Hour}, live.SSEOptions{}, live.LongPollOptions{})
	must(t, live.Register(srv, live.Component[Parting]{
		Name:    "Parting",
		Actions: []string{"increment"},
		New:     func() *Parting { return &Parting{hooks: hooks} },
	}))
	return srv, h
}

// A client that closes its WebSocket with 1000 (normal closure) has left:
// its component is destroyed as the connection ends, with OnDisconnect
// then OnDestroy, and nothing is kept for a resume; its signed state still
// brings the state back on a new connection. A close with 1001 (a browser
// putting a page away, maybe into the back-forward cache) and a dropped
// connection keep the component for the grace period, and the client
// resumes the same instance.
func TestClientLeftEndsSession(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(c *websocket.Conn)
		kept bool
	}{
		{"close 1000", func(c *websocket.Conn) { _ = c.Close(websocket.StatusNormalClosure, "bye") }, false},
		{"close 1001", func(c *websocket.Conn) { _ = c.Close(websocket.StatusGoingAway, "page hidden") }, true},
		{"dropped", func(c *websocket.Conn) { _ = c.CloseNow() }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hooks := &hookLog{}
			srv, h := newPartingServer(t, hooks)
			hs := httptest.NewServer(h)
			t.Cleanup(hs.Close)

			rc := dialRaw(t, hs, nil)
			id, _ := rc.mount("Parting", nil)
			rc.call(id, "increment", map[string]any{}, true, "inc")
			delta := rc.expect("STATE_DELTA")
			seq := delta["seq"]
			rc.expect("ACTION_RESPONSE")
			signed := rc.expect("STATE_SIGNATURE") // the signed state after the increment
			tc.end(rc.c)
			waitFor(t, "the connection to end", func() bool { return srv.Stats().Connections == 0 })

			st := srv.Stats()
			if tc.kept {
				if st.Components != 1 || st.Detached != 1 {
					t.Fatalf("components %d, detached %d: want the component kept for a resume", st.Components, st.Detached)
				}
				if got := hooks.get(); len(got) != 1 || got[0] != "disconnect" {
					t.Fatalf("hooks %v, want [disconnect] only", got)
				}
			} else {
				if st.Components != 0 || st.Detached != 0 {
					t.Fatalf("components %d, detached %d: want the component destroyed", st.Components, st.Detached)
				}
				if got := hooks.get(); len(got) != 2 || got[0] != "disconnect" || got[1] != "destroy" {
					t.Fatalf("hooks %v, want [disconnect destroy]", got)
				}
			}

			// The client comes back with its signed state and the last
			// sequence number it saw.
			back := dialRaw(t, hs, nil)
			back.send(rehydrateMsg(id, "Parting", signed["payload"].(map[string]any)["signedState"].(map[string]any), map[string]any{"seq": seq}))
			var done map[string]any
			for done == nil {
				if m := back.next(); m["type"] == "COMPONENT_REHYDRATED" {
					done = m
				}
			}
			if done["success"] != true {
				t.Fatalf("coming back: %v", done)
			}
			newID := done["result"].(map[string]any)["newComponentId"]
			if tc.kept && newID != id {
				t.Fatalf("new id %v, want a resume of %s", newID, id)
			}
			if !tc.kept && newID == id {
				t.Fatalf("resumed %s, which should have been destroyed", id)
			}
			back.call(newID.(string), "increment", map[string]any{}, true, "inc2")
			if d := back.expect("STATE_DELTA"); d["payload"].(map[string]any)["delta"].(map[string]any)["count"] != float64(2) {
				t.Fatalf("delta %v: want count 2 (the state came back)", d)
			}
		})
	}
}

// A long-poll client's close request is the same goodbye as a WebSocket
// close with 1000: the session's component is destroyed at once.
func TestLongPollCloseEndsSession(t *testing.T) {
	hooks := &hookLog{}
	srv, h := newPartingServer(t, hooks)
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	c := openPollRaw(t, hs.URL, nil)
	c.send(`{"type":"COMPONENT_MOUNT","componentId":"m","payload":{"component":"Parting"},"requestId":"m"}`)
	expectType(t, c, "STATE_UPDATE")
	expectType(t, c, "MESSAGE_RESPONSE")
	if resp := postFrame(t, hs.URL+"/api/live/http/close", c.token, "", "", nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("close: %d", resp.StatusCode)
	}
	waitFor(t, "the session to end", func() bool { return srv.Stats().Connections == 0 })
	if st := srv.Stats(); st.Components != 0 || st.Detached != 0 {
		t.Fatalf("components %d, detached %d after the client closed: want 0, 0", st.Components, st.Detached)
	}
	if got := hooks.get(); len(got) != 2 || got[1] != "destroy" {
		t.Fatalf("hooks %v, want [disconnect destroy]", got)
	}
}
