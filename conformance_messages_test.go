package live_test

import (
	"fmt"
	"strings"
	"testing"

	live "github.com/live-go/live"
)

// Happy paths of every in-scope message, with exact field sets (spec §1.2,
// §1.5, §1.6, §2.5, §2.6, §2.9, §2.10).

func TestConformanceConnectionEstablished(t *testing.T) {
	_, hs := newConfServer(t, live.Options{})
	a := dialRaw(t, hs, nil)
	b := dialRaw(t, hs, nil)
	for _, rc := range []*rawClient{a, b} {
		if !idRE.MatchString(rc.connID) {
			t.Fatalf("connectionId %q: want 8 chars of [A-Za-z0-9_-]", rc.connID)
		}
		// The first frame is exactly {type, connectionId}, a single object.
		wantJSON(t, decodeJSON(t, rc.frame(0)), fmt.Sprintf(`{"type":"CONNECTION_ESTABLISHED","connectionId":%q}`, rc.connID))
		rc.quiet() // and nothing else follows it
	}
	if a.connID == b.connID {
		t.Fatalf("two connections share the id %q", a.connID)
	}
}

func TestConformanceMountReply(t *testing.T) {
	_, hs := newConfServer(t, live.Options{})
	tests := []struct {
		name      string
		msg       map[string]any
		state     string // expected initial state
		component string // registered name
		replyKeys []string
	}{
		{
			name: "full envelope",
			msg: map[string]any{"type": "COMPONENT_MOUNT", "componentId": "mount-Counter", "requestId": "r1", "expectResponse": true,
				"payload": map[string]any{"component": "Counter", "props": map[string]any{}}},
			state: `{"count":0,"lastAction":null}`, component: "Counter",
			replyKeys: []string{"type", "componentId", "success", "result", "requestId"},
		},
		{
			name: "free-text envelope componentId is echoed",
			msg: map[string]any{"type": "COMPONENT_MOUNT", "componentId": "any text: ü/\"quoted\"", "requestId": "r2",
				"payload": map[string]any{"component": "Counter"}},
			state: `{"count":0,"lastAction":null}`, component: "Counter",
			replyKeys: []string{"type", "componentId", "success", "result", "requestId"},
		},
		{
			name: "optional payload fields accepted",
			msg: map[string]any{"type": "COMPONENT_MOUNT", "componentId": "m", "requestId": "r3", "timestamp": 1.5, "userId": "ignored",
				"payload": map[string]any{"component": "Profile", "props": map[string]any{}, "userId": "ignored", "debugLabel": "dbg"}},
			state: `{"name":"anon","settings":{"theme":"dark"},"tags":null,"meta":null,"role":"user"}`, component: "Profile",
			replyKeys: []string{"type", "componentId", "success", "result", "requestId"},
		},
		{
			name: "no requestId: none echoed",
			msg: map[string]any{"type": "COMPONENT_MOUNT", "componentId": "m",
				"payload": map[string]any{"component": "Counter"}},
			state: `{"count":0,"lastAction":null}`, component: "Counter",
			replyKeys: []string{"type", "componentId", "success", "result"},
		},
		{
			// Fields whose value is undefined are omitted (spec §1.6):
			// no envelope componentId, none in the reply.
			name: "no envelope componentId: none echoed",
			msg: map[string]any{"type": "COMPONENT_MOUNT", "requestId": "r5",
				"payload": map[string]any{"component": "Counter"}},
			state: `{"count":0,"lastAction":null}`, component: "Counter",
			replyKeys: []string{"type", "success", "result", "requestId"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc := dialRaw(t, hs, nil)
			rc.send(tc.msg)
			upd := rc.next()
			reply := rc.next()
			if upd["type"] != "STATE_UPDATE" || reply["type"] != "MESSAGE_RESPONSE" {
				t.Fatalf("got %v then %v, want STATE_UPDATE then MESSAGE_RESPONSE", upd["type"], reply["type"])
			}
			wantKeys(t, reply, tc.replyKeys...)
			if cid, ok := tc.msg["componentId"]; ok && reply["componentId"] != cid {
				t.Fatalf("reply componentId %q, want the envelope's %q", reply["componentId"], cid)
			}
			if rid, ok := tc.msg["requestId"]; ok && reply["requestId"] != rid {
				t.Fatalf("reply requestId %v, want %v", reply["requestId"], rid)
			}
			if reply["success"] != true {
				t.Fatalf("success %v", reply["success"])
			}
			res := obj(t, reply["result"], "result")
			wantKeys(t, res, "componentId", "initialState", "signedState")
			id := str(t, res["componentId"], "result.componentId")
			if !idRE.MatchString(id) {
				t.Fatalf("component id %q: want 8 chars of [A-Za-z0-9_-]", id)
			}
			state := decodeJSON(t, tc.state)
			wantJSON(t, res["initialState"], tc.state)
			signed := checkSignedState(t, res["signedState"], id, tc.component, 1, state)

			// The STATE_UPDATE came first, for the new id, with the same
			// state and signed state.
			wantKeys(t, upd, "type", "componentId", "payload", "seq")
			if upd["componentId"] != id {
				t.Fatalf("STATE_UPDATE componentId %v, want %s", upd["componentId"], id)
			}
			p := obj(t, upd["payload"], "payload")
			wantKeys(t, p, "state", "signedState")
			wantJSON(t, p["state"], tc.state)
			wantJSON(t, p["signedState"], jsonText(signed))
			rc.quiet()
		})
	}
}

func TestConformanceMountNameResolution(t *testing.T) {
	_, hs := newConfServer(t, live.Options{})
	tests := []struct{ client, state string }{
		{"Counter", `{"count":0,"lastAction":null}`},
		{"counter", `{"count":0,"lastAction":null}`}, // Capitalized(name)
		{"Widget", `{"on":false}`},                   // name+"Component"
		{"widget", `{"on":false}`},                   // Capitalized(name)+"Component"
		{"WidgetComponent", `{"on":false}`},          // exact
		{"Shape", `{"title":"t","obj":{"a":{"b":1,"c":2},"x":1},"list":[1,2],"untouched":7}`},
	}
	for _, tc := range tests {
		t.Run(tc.client, func(t *testing.T) {
			rc := dialRaw(t, hs, nil)
			_, reply := rc.mount(tc.client, nil)
			wantJSON(t, obj(t, reply["result"], "result")["initialState"], tc.state)
		})
	}
}

func TestConformanceMountProps(t *testing.T) {
	_, hs := newConfServer(t, live.Options{})
	tests := []struct {
		name, component string
		props           map[string]any
		state           string
	}{
		{"writable field seeded", "Counter", map[string]any{"count": 5}, `{"count":5,"lastAction":null}`},
		{"non-writable and unknown props ignored", "Counter",
			map[string]any{"count": 2, "lastAction": "x", "hits": 9, "$secret": 1, "nope": true},
			`{"count":2,"lastAction":null}`},
		{"non-writable field keeps its default", "Profile",
			map[string]any{"name": "Ann", "role": "admin", "meta": map[string]any{"k": "v"}},
			`{"name":"Ann","settings":{"theme":"dark"},"tags":null,"meta":null,"role":"user"}`},
		{"nested writable object", "Profile",
			map[string]any{"settings": map[string]any{"lang": "en"}, "tags": []string{"a"}},
			`{"name":"anon","settings":{"lang":"en"},"tags":["a"],"meta":null,"role":"user"}`},
		{"no writable fields at all", "Shape", map[string]any{"untouched": 1, "title": "x"},
			`{"title":"t","obj":{"a":{"b":1,"c":2},"x":1},"list":[1,2],"untouched":7}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc := dialRaw(t, hs, nil)
			id, reply := rc.mount(tc.component, tc.props)
			res := obj(t, reply["result"], "result")
			wantJSON(t, res["initialState"], tc.state)
			checkSignedState(t, res["signedState"], id, tc.component, 1, decodeJSON(t, tc.state))
		})
	}
}

func TestConformanceMountHooks(t *testing.T) {
	_, hs := newConfServer(t, live.Options{})

	t.Run("onMount state change: delta before the reply, initialState after onMount", func(t *testing.T) {
		rc := dialRaw(t, hs, nil)
		rc.send(map[string]any{"type": "COMPONENT_MOUNT", "componentId": "w", "requestId": "r",
			"payload": map[string]any{"component": "Warm"}})
		upd := rc.expect("STATE_UPDATE")
		id := str(t, upd["componentId"], "componentId")
		wantJSON(t, obj(t, upd["payload"], "payload")["state"], `{"ready":false}`)
		delta := rc.expect("STATE_DELTA")
		wantMsg(t, delta, fmt.Sprintf(`{"type":"STATE_DELTA","componentId":%q,"payload":{"delta":{"ready":true}}}`, id))
		if delta["seq"].(float64) <= upd["seq"].(float64) {
			t.Fatalf("delta seq %v not after snapshot seq %v", delta["seq"], upd["seq"])
		}
		reply := rc.expect("MESSAGE_RESPONSE")
		res := obj(t, reply["result"], "result")
		wantJSON(t, res["initialState"], `{"ready":true}`)
		// The reply carries the version-1 signature of the mount snapshot.
		wantJSON(t, res["signedState"], jsonText(obj(t, upd["payload"], "payload")["signedState"]))
	})

	t.Run("onMount error: component ERROR, mount still succeeds", func(t *testing.T) {
		rc := dialRaw(t, hs, nil)
		rc.send(map[string]any{"type": "COMPONENT_MOUNT", "componentId": "b", "requestId": "r",
			"payload": map[string]any{"component": "Broken"}})
		upd := rc.expect("STATE_UPDATE")
		id := str(t, upd["componentId"], "componentId")
		wantMsg(t, rc.next(), fmt.Sprintf(
			`{"type":"ERROR","componentId":%q,"payload":{"action":"onMount","error":"Mount initialization failed: db down"}}`, id))
		reply := rc.expect("MESSAGE_RESPONSE")
		if reply["success"] != true || reply["requestId"] != "r" {
			t.Fatalf("mount reply %v: want success", reply)
		}
	})
}

func TestConformanceUnmount(t *testing.T) {
	srv, hs := newConfServer(t, live.Options{})
	rc := dialRaw(t, hs, nil)
	id, _ := rc.mount("Counter", nil)
	if n := srv.Stats().Components; n != 1 {
		t.Fatalf("components %d, want 1", n)
	}

	rc.unmount(id, "u1")
	wantMsg(t, rc.next(), fmt.Sprintf(`{"type":"MESSAGE_RESPONSE","componentId":%q,"success":true,"requestId":"u1"}`, id))
	if n := srv.Stats().Components; n != 0 {
		t.Fatalf("components after unmount %d, want 0", n)
	}

	// The id is gone for this connection.
	rc.call(id, "increment", map[string]any{}, true, "c1")
	wantMsg(t, rc.next(), fmt.Sprintf(
		`{"type":"ACTION_RESPONSE","componentId":%q,"success":false,"error":"COMPONENT_REHYDRATION_REQUIRED:%s","requestId":"c1"}`, id, id))

	// Unmounting again (or an unknown id) is answered the same way.
	rc.unmount(id, "u2")
	wantMsg(t, rc.next(), fmt.Sprintf(`{"type":"MESSAGE_RESPONSE","componentId":%q,"success":true,"requestId":"u2"}`, id))

	// Without a requestId, none is echoed.
	rc.send(map[string]any{"type": "COMPONENT_UNMOUNT", "componentId": "unknown-id"})
	wantMsg(t, rc.next(), `{"type":"MESSAGE_RESPONSE","componentId":"unknown-id","success":true}`)
	rc.quiet()
}

func TestConformanceCallAction(t *testing.T) {
	_, hs := newConfServer(t, live.Options{})
	rc := dialRaw(t, hs, nil)
	id, _ := rc.mount("Counter", nil)

	rc.call(id, "increment", map[string]any{}, true, "a1")
	wantMsg(t, rc.next(), fmt.Sprintf(`{"type":"STATE_DELTA","componentId":%q,"payload":{"delta":{"count":1,"lastAction":"increment"}}}`, id))
	wantMsg(t, rc.next(), fmt.Sprintf(`{"type":"ACTION_RESPONSE","componentId":%q,"success":true,"result":{"success":true,"count":1},"requestId":"a1"}`, id))

	// Only changed fields are sent.
	rc.call(id, "increment", map[string]any{}, true, "a2")
	wantMsg(t, rc.next(), fmt.Sprintf(`{"type":"STATE_DELTA","componentId":%q,"payload":{"delta":{"count":2}}}`, id))
	wantMsg(t, rc.next(), fmt.Sprintf(`{"type":"ACTION_RESPONSE","componentId":%q,"success":true,"result":{"success":true,"count":2},"requestId":"a2"}`, id))

	// A typed payload and a scalar result.
	rc.call(id, "add", map[string]any{"n": 5}, true, "a3")
	wantMsg(t, rc.next(), fmt.Sprintf(`{"type":"STATE_DELTA","componentId":%q,"payload":{"delta":{"count":7}}}`, id))
	wantMsg(t, rc.next(), fmt.Sprintf(`{"type":"ACTION_RESPONSE","componentId":%q,"success":true,"result":7,"requestId":"a3"}`, id))

	// Payload omitted or null for an action that takes none.
	for i, p := range []any{nil, map[string]any{}} {
		req := fmt.Sprintf("p%d", i)
		msg := map[string]any{"type": "CALL_ACTION", "componentId": id, "action": "decrement", "requestId": req, "expectResponse": true}
		if p != nil {
			msg["payload"] = p
		}
		rc.send(msg)
		rc.expect("STATE_DELTA")
		r := rc.expect("ACTION_RESPONSE")
		if r["success"] != true || r["requestId"] != req {
			t.Fatalf("decrement reply %v", r)
		}
	}

	// An action returning only an error: the reference's void method
	// leaves result undefined (omitted); null is accepted too.
	rc.call(id, "shout", nil, true, "a4")
	rc.expect("shout")
	r := rc.expect("ACTION_RESPONSE")
	if v, ok := r["result"]; ok && v != nil {
		t.Fatalf("void action result %v, want absent or null", v)
	}
	wantJSON(t, without(r, "result"), fmt.Sprintf(`{"type":"ACTION_RESPONSE","componentId":%q,"success":true,"requestId":"a4"}`, id))
	rc.quiet()
}

func TestConformancePropertyUpdate(t *testing.T) {
	_, hs := newConfServer(t, live.Options{})
	rc := dialRaw(t, hs, nil)
	id, _ := rc.mount("Counter", nil)

	rc.propertyUpdate(id, "count", 42, "p1")
	wantMsg(t, rc.next(), fmt.Sprintf(`{"type":"STATE_DELTA","componentId":%q,"payload":{"delta":{"count":42}}}`, id))
	wantMsg(t, rc.next(), fmt.Sprintf(`{"type":"MESSAGE_RESPONSE","componentId":%q,"success":true,"requestId":"p1"}`, id))

	// The same value again: success and no delta.
	rc.propertyUpdate(id, "count", 42, "p2")
	wantMsg(t, rc.next(), fmt.Sprintf(`{"type":"MESSAGE_RESPONSE","componentId":%q,"success":true,"requestId":"p2"}`, id))

	// The new value is the server's state: the next action builds on it.
	rc.call(id, "increment", nil, true, "a")
	wantMsg(t, rc.next(), fmt.Sprintf(`{"type":"STATE_DELTA","componentId":%q,"payload":{"delta":{"count":43,"lastAction":"increment"}}}`, id))
	rc.expect("ACTION_RESPONSE")

	// No requestId: none echoed.
	rc.send(map[string]any{"type": "PROPERTY_UPDATE", "componentId": id, "property": "count", "payload": map[string]any{"value": 1}})
	rc.expect("STATE_DELTA")
	wantMsg(t, rc.next(), fmt.Sprintf(`{"type":"MESSAGE_RESPONSE","componentId":%q,"success":true}`, id))

	// A payload without value: the reference's setState({count:
	// undefined}) skips undefined, so nothing changes and it succeeds.
	rc.send(map[string]any{"type": "PROPERTY_UPDATE", "componentId": id, "property": "count", "payload": map[string]any{}, "requestId": "p0"})
	wantMsg(t, rc.next(), fmt.Sprintf(`{"type":"MESSAGE_RESPONSE","componentId":%q,"success":true,"requestId":"p0"}`, id))

	// Nested object: a full replacement, diffed (missing keys → null).
	pid, _ := rc.mount("Profile", nil)
	rc.propertyUpdate(pid, "settings", map[string]any{"lang": "en"}, "p3")
	wantMsg(t, rc.next(), fmt.Sprintf(`{"type":"STATE_DELTA","componentId":%q,"payload":{"delta":{"settings":{"theme":null,"lang":"en"}}}}`, pid))
	wantMsg(t, rc.next(), fmt.Sprintf(`{"type":"MESSAGE_RESPONSE","componentId":%q,"success":true,"requestId":"p3"}`, pid))

	// null is a value at the top level.
	rc.propertyUpdate(pid, "settings", nil, "p5")
	wantMsg(t, rc.next(), fmt.Sprintf(`{"type":"STATE_DELTA","componentId":%q,"payload":{"delta":{"settings":null}}}`, pid))
	rc.expect("MESSAGE_RESPONSE")

	// Arrays are sent whole.
	rc.propertyUpdate(pid, "tags", []string{"x", "y"}, "p4")
	wantMsg(t, rc.next(), fmt.Sprintf(`{"type":"STATE_DELTA","componentId":%q,"payload":{"delta":{"tags":["x","y"]}}}`, pid))
	rc.expect("MESSAGE_RESPONSE")
	rc.quiet()
}

func TestConformancePingIsIgnored(t *testing.T) {
	_, hs := newConfServer(t, live.Options{})
	rc := dialRaw(t, hs, nil)
	for _, f := range []string{
		`{"type":"PING"}`,
		`{"type":"PING","requestId":"r1","expectResponse":true}`,
		// PING is handled before envelope validation.
		`{"type":"PING","componentId":5,"requestId":7,"timestamp":"x"}`,
		// Duplicate members: the last one wins, as with JSON.parse.
		`{"type":"NOPE","type":"PING"}`,
		" \n\t{\"type\":\"PING\"} \n",
		// Escapes are resolved before the type is compared.
		`{"type":"PIN\u0047"}`,
		`{"\u0074ype":"PING"}`,
	} {
		rc.sendRaw(f)
	}
	rc.quiet()
}

// TestConformanceRequestIDEcho checks that requestId (and componentId) are
// echoed verbatim, whatever characters they hold, in every kind of direct
// reply.
func TestConformanceRequestIDEcho(t *testing.T) {
	_, hs := newConfServer(t, live.Options{})
	rc := dialRaw(t, hs, nil)
	id, _ := rc.mount("Counter", nil)
	ids := []string{
		"plain",
		"",
		`quo"te\\back/slash`,
		"<script>&amp;</script>",
		"ünïcødé ✓ 😀",
		"\u2028\u2029 line separators",
		"ctl\x00\x01\x1f\t\n",
		strings.Repeat("long", 500),
	}
	for i, rid := range ids {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			rc.t = t
			check := func(m map[string]any, typ string) {
				t.Helper()
				if m["type"] != typ {
					t.Fatalf("got %s, want a %s", jsonText(m), typ)
				}
				if got, ok := m["requestId"]; !ok || got != rid {
					t.Errorf("%s did not echo requestId %q: %s", typ, rid, jsonText(m))
				}
			}
			rc.send(map[string]any{"type": "COMPONENT_MOUNT", "componentId": rid, "requestId": rid, "payload": map[string]any{"component": "Bare"}})
			rc.expect("STATE_UPDATE")
			m := rc.next()
			check(m, "MESSAGE_RESPONSE")
			if m["componentId"] != rid {
				t.Errorf("mount reply componentId %q, want %q", m["componentId"], rid)
			}
			rc.unmount(str(t, obj(t, m["result"], "result")["componentId"], "componentId"), rid)
			check(rc.next(), "MESSAGE_RESPONSE")
			rc.send(map[string]any{"type": "CALL_ACTION", "componentId": id, "action": "decrement", "requestId": rid, "expectResponse": true})
			rc.expect("STATE_DELTA")
			check(rc.next(), "ACTION_RESPONSE")
			rc.send(map[string]any{"type": "CALL_ACTION", "componentId": id, "action": "destroy", "requestId": rid})
			rc.expect("ERROR")
			check(rc.next(), "ACTION_RESPONSE")
			rc.propertyUpdate(id, "count", i, rid)
			rc.expect("STATE_DELTA")
			check(rc.next(), "MESSAGE_RESPONSE")
			rc.send(map[string]any{"type": "CALL_ACTION", "componentId": rid, "requestId": rid})
			m = rc.next()
			check(m, "ERROR")
			if m["componentId"] != rid || m["error"] != "Invalid message: action must be a string" {
				t.Errorf("validation error %s", jsonText(m))
			}
			rc.send(map[string]any{"type": "WHAT", "componentId": rid, "requestId": rid})
			m = rc.next()
			check(m, "MESSAGE_RESPONSE")
			if m["componentId"] != rid || m["error"] != "Unknown message type" {
				t.Errorf("unknown type reply %s", jsonText(m))
			}
		})
	}
	rc.t = t
	// Escaped ids in the frame are echoed decoded.
	rc.sendRaw(`{"type":"COMPONENT_UNMOUNT","componentId":"c\u0031","requestId":"r\u00e9"}`)
	wantMsg(t, rc.next(), `{"type":"MESSAGE_RESPONSE","componentId":"c1","success":true,"requestId":"ré"}`)
	rc.quiet()
}
