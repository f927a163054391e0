package live_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	live "github.com/live-go/live"
)

// Ordering (spec §1.7, §1.9) and delta rules on the wire (spec §2.7).

func TestConformanceFireAndForget(t *testing.T) {
	_, hs := newConfServer(t, live.Options{})
	rc := dialRaw(t, hs, nil)
	id, _ := rc.mount("Counter", nil)
	tests := []struct {
		name string
		msg  map[string]any
	}{
		{"no expectResponse, no requestId", map[string]any{}},
		{"no expectResponse, with requestId", map[string]any{"requestId": "r"}},
		{"expectResponse false, with requestId", map[string]any{"requestId": "r", "expectResponse": false}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc.t = t
			msg := map[string]any{"type": "CALL_ACTION", "componentId": id, "action": "increment", "payload": map[string]any{}}
			for k, v := range tc.msg {
				msg[k] = v
			}
			rc.send(msg)
			d := rc.expect("STATE_DELTA")
			delta := obj(t, obj(t, d["payload"], "payload")["delta"], "delta")
			if delta["count"] != float64(i+1) {
				t.Fatalf("delta %v, want count %d", delta, i+1)
			}
			rc.quiet() // no ACTION_RESPONSE
		})
	}
}

func TestConformanceRepliesFollowSideEffects(t *testing.T) {
	_, hs := newConfServer(t, live.Options{})
	rc := dialRaw(t, hs, nil)
	id, _ := rc.mount("Counter", nil)

	// Custom emits arrive before the reply, with the exact component-emit
	// shape {type, componentId, payload}.
	rc.call(id, "shout", nil, true, "s")
	wantMsg(t, rc.next(), fmt.Sprintf(`{"type":"shout","componentId":%q,"payload":{"msg":"hi"}}`, id))
	if r := rc.expect("ACTION_RESPONSE"); r["requestId"] != "s" || r["success"] != true {
		t.Fatalf("reply %s", jsonText(r))
	}

	// A fire-and-forget emit still arrives.
	rc.call(id, "shout", nil, false, "")
	rc.expect("shout")

	// State written before an emit is delivered before it (the
	// reference's proxy write queues the delta at once), and the reply
	// comes last.
	hid, _ := rc.mount("Herald", nil)
	rc.call(hid, "bump", nil, true, "b")
	wantMsg(t, rc.next(), fmt.Sprintf(`{"type":"STATE_DELTA","componentId":%q,"payload":{"delta":{"n":1}}}`, hid))
	wantMsg(t, rc.next(), fmt.Sprintf(`{"type":"bumped","componentId":%q,"payload":{"n":1}}`, hid))
	wantMsg(t, rc.next(), fmt.Sprintf(`{"type":"ACTION_RESPONSE","componentId":%q,"success":true,"result":1,"requestId":"b"}`, hid))
	rc.quiet()
}

// TestConformanceSingletonEmits: a singleton's custom emits and deltas go
// to every attached connection; the reply only to the caller.
func TestConformanceSingletonEmits(t *testing.T) {
	_, hs := newConfServer(t, live.Options{})
	a := dialRaw(t, hs, nil)
	b := dialRaw(t, hs, nil)
	id, _ := a.mount("Beacon", nil)
	b.mount("Beacon", nil)
	b.call(id, "signal", nil, true, "s")
	for _, rc := range []*rawClient{b, a} {
		wantMsg(t, rc.next(), fmt.Sprintf(`{"type":"STATE_DELTA","componentId":%q,"payload":{"delta":{"hits":1}}}`, id))
		wantMsg(t, rc.next(), fmt.Sprintf(`{"type":"signal","componentId":%q,"payload":{"by":%q}}`, id, b.connID))
	}
	r := b.next()
	if v, ok := r["result"]; ok && v != nil {
		t.Fatalf("void action result %v, want absent or null", v)
	}
	wantMsg(t, without(r, "result"), fmt.Sprintf(`{"type":"ACTION_RESPONSE","componentId":%q,"success":true,"requestId":"s"}`, id))
	a.quiet()
	b.quiet()
}

// TestConformancePipelinedOrder sends many requests back to back and checks
// that every reply follows exactly the side effects of its own request: at
// each ACTION_RESPONSE the state rebuilt from STATE_UPDATE + STATE_DELTA
// equals the action's result (deltas are never merged across a reply), and
// replies come in request order. seq must grow strictly.
func TestConformancePipelinedOrder(t *testing.T) {
	_, hs := newConfServer(t, live.Options{RateLimitBurst: -1})
	rc := dialRaw(t, hs, nil)
	rc.send(map[string]any{"type": "COMPONENT_MOUNT", "componentId": "m", "requestId": "m",
		"payload": map[string]any{"component": "Counter"}})
	upd := rc.expect("STATE_UPDATE")
	id := str(t, upd["componentId"], "componentId")
	state := obj(t, deepCopy(obj(t, upd["payload"], "payload")["state"]), "state")
	lastSeq := upd["seq"].(float64)
	rc.expect("MESSAGE_RESPONSE")

	const n = 60
	for i := range n {
		if i%3 == 2 {
			rc.call(id, "increment", nil, false, "") // no reply expected
			continue
		}
		rc.call(id, "increment", nil, true, fmt.Sprintf("r%d", i))
	}
	rc.send(map[string]any{"type": "COMPONENT_UNMOUNT", "componentId": "marker", "requestId": "end"})
	want := 0
	for {
		m := rc.next()
		switch m["type"] {
		case "STATE_DELTA":
			if m["componentId"] != id {
				t.Fatalf("delta for %v", m["componentId"])
			}
			seq := m["seq"].(float64)
			if seq <= lastSeq {
				t.Fatalf("seq %v after %v: want strictly increasing", seq, lastSeq)
			}
			lastSeq = seq
			applyDelta(state, obj(t, obj(t, m["payload"], "payload")["delta"], "delta"), 0)
		case "ACTION_RESPONSE":
			for want%3 == 2 {
				want++
			}
			if m["requestId"] != fmt.Sprintf("r%d", want) {
				t.Fatalf("reply %v, want r%d", m["requestId"], want)
			}
			res := obj(t, m["result"], "result")
			if res["count"] != float64(want+1) || state["count"] != float64(want+1) {
				t.Fatalf("at reply r%d: result count %v, client state count %v, want %d", want, res["count"], state["count"], want+1)
			}
			want++
		case "MESSAGE_RESPONSE":
			if m["requestId"] != "end" {
				t.Fatalf("unexpected %s", jsonText(m))
			}
			if state["count"] != float64(n) {
				t.Fatalf("final client count %v, want %d", state["count"], n)
			}
			return
		default:
			t.Fatalf("unexpected %s", jsonText(m))
		}
	}
}

func TestConformanceDeltaRules(t *testing.T) {
	_, hs := newConfServer(t, live.Options{})
	rc := dialRaw(t, hs, nil)
	id, reply := rc.mount("Shape", nil)
	client := obj(t, deepCopy(obj(t, reply["result"], "result")["initialState"]), "state")

	tests := []struct {
		name    string
		action  string
		payload any
		delta   string // "" means no STATE_DELTA at all
	}{
		{"nested change sends only the nested diff", "setB", map[string]any{"n": 5}, `{"obj":{"a":{"b":5}}}`},
		{"removed nested key becomes null", "dropC", nil, `{"obj":{"a":{"c":null}}}`},
		{"added nested key", "addD", nil, `{"obj":{"a":{"d":"new"}}}`},
		{"arrays are replaced whole", "push", nil, `{"list":[1,2,3]}`},
		{"top-level null is a value", "clearTitle", nil, `{"title":null}`},
		{"null back to a value", "setTitle", map[string]any{"text": "x"}, `{"title":"x"}`},
		{"equal values send nothing", "same", nil, ""},
		{"unchanged nested value sends nothing", "setB", map[string]any{"n": 5}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc.t = t
			rc.call(id, tc.action, tc.payload, true, "d")
			if tc.delta != "" {
				d := rc.expect("STATE_DELTA")
				wantMsg(t, d, fmt.Sprintf(`{"type":"STATE_DELTA","componentId":%q,"payload":{"delta":%s}}`, id, tc.delta))
				applyDelta(client, obj(t, obj(t, d["payload"], "payload")["delta"], "delta"), 0)
			}
			r := rc.expect("ACTION_RESPONSE")
			if r["success"] != true {
				t.Fatalf("action failed: %s", jsonText(r))
			}
		})
	}
	rc.t = t
	// The state rebuilt on the client with the §2.7 merge rules equals the
	// server's.
	rc.call(id, "get", nil, true, "g")
	server := rc.expect("ACTION_RESPONSE")["result"]
	if d := cmp.Diff(server, any(client)); d != "" {
		t.Fatalf("client state diverged from server state (-server +client):\n%s", d)
	}
	wantJSON(t, server, `{"title":"x","obj":{"a":{"b":5,"d":"new"},"x":1},"list":[1,2,3],"untouched":7}`)

	// Profile.touch removes one nested key and adds another in one delta.
	pid, _ := rc.mount("Profile", nil)
	rc.call(pid, "touch", nil, false, "")
	wantMsg(t, rc.next(), fmt.Sprintf(`{"type":"STATE_DELTA","componentId":%q,"payload":{"delta":{"settings":{"theme":null,"lang":"pt"}}}}`, pid))
	rc.quiet()
}

// TestConformanceSignatureRenewal: after a delta, a throttled
// STATE_SIGNATURE {componentId, payload:{signedState}} re-signs the current
// state with the next version (spec §3.8); it follows the action's reply.
func TestConformanceSignatureRenewal(t *testing.T) {
	_, hs := newConfServer(t, live.Options{SignatureRenewInterval: time.Millisecond})
	rc := dialRaw(t, hs, nil)
	id, _ := rc.mount("Counter", nil)
	rc.call(id, "add", map[string]any{"n": 3}, true, "a")
	rc.expect("STATE_DELTA")
	rc.expect("ACTION_RESPONSE")
	m := rc.expect("STATE_SIGNATURE")
	wantKeys(t, m, "type", "componentId", "payload")
	if m["componentId"] != id {
		t.Fatalf("STATE_SIGNATURE for %v, want %s", m["componentId"], id)
	}
	p := obj(t, m["payload"], "payload")
	wantKeys(t, p, "signedState")
	checkSignedState(t, p["signedState"], id, "Counter", 2, decodeJSON(t, `{"count":3,"lastAction":null}`))
	rc.quiet() // one delta, one renewal
}
