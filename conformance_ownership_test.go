package live_test

import (
	"fmt"
	"testing"

	"github.com/coder/websocket"

	live "github.com/live-go/live"
)

// Ownership (spec §6.4, §6.6 "Multi-user") and singletons (spec §2.12), with
// this server's ownership check on COMPONENT_UNMOUNT.

func TestConformanceOwnership(t *testing.T) {
	srv, hs := newConfServer(t, live.Options{})
	a := dialRaw(t, hs, nil)
	b := dialRaw(t, hs, nil)
	id, _ := a.mount("Counter", nil)
	a.call(id, "increment", nil, true, "a1")
	a.expect("STATE_DELTA")
	a.expect("ACTION_RESPONSE")

	required := fmt.Sprintf("COMPONENT_REHYDRATION_REQUIRED:%s", id)
	tests := []struct {
		name string
		send func()
		want string
	}{
		{"CALL_ACTION", func() { b.call(id, "increment", nil, true, "b") },
			fmt.Sprintf(`{"type":"ACTION_RESPONSE","componentId":%q,"success":false,"error":%q,"requestId":"b"}`, id, required)},
		{"CALL_ACTION fire-and-forget", func() { b.call(id, "increment", nil, false, "") },
			fmt.Sprintf(`{"type":"ACTION_RESPONSE","componentId":%q,"success":false,"error":%q}`, id, required)},
		{"CALL_ACTION blocked name", func() { b.call(id, "destroy", nil, true, "b") },
			fmt.Sprintf(`{"type":"ACTION_RESPONSE","componentId":%q,"success":false,"error":%q,"requestId":"b"}`, id, required)},
		{"PROPERTY_UPDATE", func() { b.propertyUpdate(id, "count", 1000, "b") },
			fmt.Sprintf(`{"type":"MESSAGE_RESPONSE","componentId":%q,"success":false,"error":%q,"requestId":"b"}`, id, required)},
		{"PROPERTY_UPDATE reserved key", func() { b.propertyUpdate(id, "__proto__", 1, "b") },
			fmt.Sprintf(`{"type":"MESSAGE_RESPONSE","componentId":%q,"success":false,"error":%q,"requestId":"b"}`, id, required)},
		// Answered like a successful unmount, but nothing is destroyed.
		{"COMPONENT_UNMOUNT", func() { b.unmount(id, "b") },
			fmt.Sprintf(`{"type":"MESSAGE_RESPONSE","componentId":%q,"success":true,"requestId":"b"}`, id)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b.t = t
			tc.send()
			wantMsg(t, b.next(), tc.want)
			if n := srv.Stats().Components; n != 1 {
				t.Fatalf("components %d, want 1", n)
			}
		})
	}
	b.t = t
	b.quiet()
	a.quiet() // A saw none of B's attempts

	// A's component is intact and still A's: count continues from 1.
	a.call(id, "increment", nil, true, "a2")
	wantMsg(t, a.next(), fmt.Sprintf(`{"type":"STATE_DELTA","componentId":%q,"payload":{"delta":{"count":2}}}`, id))
	wantMsg(t, a.next(), fmt.Sprintf(`{"type":"ACTION_RESPONSE","componentId":%q,"success":true,"result":{"success":true,"count":2},"requestId":"a2"}`, id))
	a.propertyUpdate(id, "count", 10, "a3")
	a.expect("STATE_DELTA")
	wantMsg(t, a.next(), fmt.Sprintf(`{"type":"MESSAGE_RESPONSE","componentId":%q,"success":true,"requestId":"a3"}`, id))
	b.quiet()
}

func TestConformanceSingleton(t *testing.T) {
	srv, hs := newConfServer(t, live.Options{})
	a := dialRaw(t, hs, nil)
	b := dialRaw(t, hs, nil)

	id, ra := a.mount("TodoList", nil)
	resA := obj(t, ra["result"], "result")
	checkSignedState(t, resA["signedState"], id, "TodoList", 1, decodeJSON(t, `{"todos":null}`))
	a.call(id, "addTodo", map[string]any{"text": "one"}, true, "a1")
	wantMsg(t, a.next(), fmt.Sprintf(`{"type":"STATE_DELTA","componentId":%q,"payload":{"delta":{"todos":[{"id":1,"text":"one","done":false}]}}}`, id))
	wantMsg(t, a.next(), fmt.Sprintf(`{"type":"ACTION_RESPONSE","componentId":%q,"success":true,"result":{"id":1,"text":"one","done":false},"requestId":"a1"}`, id))

	// B joins: same id, a fresh snapshot with a newer signature version,
	// and the mount reply.
	b.send(map[string]any{"type": "COMPONENT_MOUNT", "componentId": "mount-TodoList", "requestId": "bm",
		"payload": map[string]any{"component": "TodoList", "props": map[string]any{"todos": []any{}}}})
	upd := b.expect("STATE_UPDATE")
	if upd["componentId"] != id {
		t.Fatalf("B's STATE_UPDATE for %v, want the shared %s", upd["componentId"], id)
	}
	p := obj(t, upd["payload"], "payload")
	state := `{"todos":[{"id":1,"text":"one","done":false}]}`
	wantJSON(t, p["state"], state)
	checkSignedState(t, p["signedState"], id, "TodoList", 2, decodeJSON(t, state))
	rb := b.expect("MESSAGE_RESPONSE")
	wantKeys(t, rb, "type", "componentId", "success", "result", "requestId")
	resB := obj(t, rb["result"], "result")
	if rb["componentId"] != "mount-TodoList" || rb["requestId"] != "bm" || resB["componentId"] != id {
		t.Fatalf("B's mount reply %s", jsonText(rb))
	}
	wantJSON(t, resB["initialState"], state) // props ignored for an existing singleton
	checkSignedState(t, resB["signedState"], id, "TodoList", 2, decodeJSON(t, state))
	a.quiet() // A receives nothing for B's join
	if n := srv.Stats().Components; n != 1 {
		t.Fatalf("components %d, want 1 shared instance", n)
	}

	// Any attached connection may call; the delta reaches both, the reply
	// only the caller.
	delta2 := fmt.Sprintf(`{"type":"STATE_DELTA","componentId":%q,"payload":{"delta":{"todos":[{"id":1,"text":"one","done":false},{"id":2,"text":"two","done":false}]}}}`, id)
	b.call(id, "addTodo", map[string]any{"text": "two"}, true, "b1")
	wantMsg(t, b.next(), delta2)
	wantMsg(t, b.next(), fmt.Sprintf(`{"type":"ACTION_RESPONSE","componentId":%q,"success":true,"result":{"id":2,"text":"two","done":false},"requestId":"b1"}`, id))
	wantMsg(t, a.next(), delta2)
	a.quiet()

	// A failed call: the component ERROR and the reply go to the caller
	// only (this server's fix of the reference quirk).
	a.call(id, "destroy", nil, true, "a2")
	wantMsg(t, a.next(), fmt.Sprintf(`{"type":"ERROR","componentId":%q,"payload":{"action":"destroy","error":"Action 'destroy' is not callable"}}`, id))
	a.expect("ACTION_RESPONSE")
	b.quiet()

	// A unmounts: the instance lives on for B; A lost access.
	a.unmount(id, "au")
	wantMsg(t, a.next(), fmt.Sprintf(`{"type":"MESSAGE_RESPONSE","componentId":%q,"success":true,"requestId":"au"}`, id))
	if n := srv.Stats().Components; n != 1 {
		t.Fatalf("components after A's unmount %d, want 1", n)
	}
	a.call(id, "addTodo", map[string]any{"text": "x"}, true, "a3")
	wantMsg(t, a.next(), fmt.Sprintf(`{"type":"ACTION_RESPONSE","componentId":%q,"success":false,"error":"COMPONENT_REHYDRATION_REQUIRED:%s","requestId":"a3"}`, id, id))
	b.quiet() // A's refused call changed nothing
	b.call(id, "addTodo", map[string]any{"text": "three"}, true, "b2")
	b.expect("STATE_DELTA")
	wantMsg(t, b.next(), fmt.Sprintf(`{"type":"ACTION_RESPONSE","componentId":%q,"success":true,"result":{"id":3,"text":"three","done":false},"requestId":"b2"}`, id))
	a.quiet() // A is detached: no more deltas

	// B unmounts too: the instance is destroyed; a new mount starts over.
	b.unmount(id, "bu")
	b.expect("MESSAGE_RESPONSE")
	if n := srv.Stats().Components; n != 0 {
		t.Fatalf("components after the last unmount %d, want 0", n)
	}
	nid, r := a.mount("TodoList", nil)
	if nid == id {
		t.Fatalf("a destroyed singleton's id %s was reused", id)
	}
	wantJSON(t, obj(t, r["result"], "result")["initialState"], `{"todos":null}`)
}

func TestConformanceSingletonSeqPerConnection(t *testing.T) {
	_, hs := newConfServer(t, live.Options{})
	a := dialRaw(t, hs, nil)
	b := dialRaw(t, hs, nil)
	id, _ := a.mount("TodoList", nil)
	b.mount("TodoList", nil)
	last := map[*rawClient]float64{a: -1, b: -1}
	for i := range 5 {
		caller := a
		if i%2 == 1 {
			caller = b
		}
		caller.call(id, "addTodo", map[string]any{"text": fmt.Sprint(i)}, false, "")
		for _, rc := range []*rawClient{a, b} {
			d := rc.expect("STATE_DELTA")
			seq := d["seq"].(float64)
			if seq <= last[rc] {
				t.Fatalf("seq %v after %v", seq, last[rc])
			}
			last[rc] = seq
		}
	}
	a.quiet()
	b.quiet()
}

// TestConformanceDisconnectCleanup checks that a closed connection's
// components are destroyed, and that a shared singleton lives until its
// last connection is gone (spec §2.10).
func TestConformanceDisconnectCleanup(t *testing.T) {
	srv, hs := newConfServer(t, live.Options{})
	a := dialRaw(t, hs, nil)
	b := dialRaw(t, hs, nil)
	a.mount("Counter", nil)
	a.mount("Profile", nil)
	a.mount("Counter", nil)
	sid, _ := a.mount("TodoList", nil)
	b.mount("TodoList", nil)
	bid, _ := b.mount("Counter", nil)
	if st := srv.Stats(); st.Components != 5 || st.Connections != 2 {
		t.Fatalf("stats %+v: want 5 components on 2 connections", st)
	}

	must(t, a.c.Close(websocket.StatusNormalClosure, "bye"))
	waitFor(t, "A's components to be cleaned up", func() bool {
		st := srv.Stats()
		return st.Components == 2 && st.Connections == 1
	})
	// The singleton survived for B and still works.
	b.call(sid, "addTodo", map[string]any{"text": "still here"}, true, "b1")
	b.expect("STATE_DELTA")
	b.expect("ACTION_RESPONSE")
	b.call(bid, "increment", nil, true, "b2")
	b.expect("STATE_DELTA")
	b.expect("ACTION_RESPONSE")

	// An abrupt close (no close frame) is cleaned up too.
	must(t, b.c.CloseNow())
	waitFor(t, "B's components to be cleaned up", func() bool {
		st := srv.Stats()
		return st.Components == 0 && st.Connections == 0
	})

	// Repeated mount/unmount cycles leave nothing behind.
	c := dialRaw(t, hs, nil)
	for i := range 30 {
		id, _ := c.mount("Counter", nil)
		c.unmount(id, fmt.Sprint(i))
		c.expect("MESSAGE_RESPONSE")
	}
	if n := srv.Stats().Components; n != 0 {
		t.Fatalf("components after mount/unmount cycles %d, want 0", n)
	}
}
