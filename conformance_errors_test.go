package live_test

import (
	"fmt"
	"strings"
	"testing"

	live "github.com/live-go/live"
)

// Protocol errors of the inbound pipeline (spec §1.3, §1.4, §1.5, §1.8).

func TestConformanceProtocolErrors(t *testing.T) {
	_, hs := newConfServer(t, live.Options{})
	const (
		invalidJSON = `{"type":"ERROR","error":"Invalid JSON"}`
		notObject   = `{"type":"ERROR","error":"Invalid message: expected object"}`
	)
	// invalid builds the validation ERROR with both ids echoed.
	invalid := func(reason string) string {
		return fmt.Sprintf(`{"type":"ERROR","componentId":"c1","success":false,"error":"Invalid message: %s","requestId":"r1"}`, reason)
	}
	tests := []struct {
		name, frame, want string
	}{
		// Step 5: JSON.parse.
		{"not json", `{not json`, invalidJSON},
		{"empty frame", ``, invalidJSON},
		{"only whitespace", "  \n", invalidJSON},
		{"trailing garbage", `{"type":"PING"} x`, invalidJSON},
		{"two objects", `{"type":"PING"}{"type":"PING"}`, invalidJSON},
		{"truncated", `{"type":"COMPONENT_MOUNT","payload":{`, invalidJSON},
		{"single quotes", `{'type':'PING'}`, invalidJSON},
		{"trailing comma", `{"type":"PING",}`, invalidJSON},
		{"byte order mark", "\ufeff{\"type\":\"PING\"}", invalidJSON},
		{"NaN literal", `{"type":"PING","n":NaN}`, invalidJSON},
		{"unquoted key", `{type:"PING"}`, invalidJSON},
		{"raw control character in a string", "{\"type\":\"PI\nNG\"}", invalidJSON},

		// Step 6: the root must be an object.
		{"array root", `[{"type":"PING"}]`, notObject},
		{"empty array root", `[]`, notObject},
		{"null root", `null`, notObject},
		{"number root", `42`, notObject},
		{"string root", `"COMPONENT_MOUNT"`, notObject},
		{"boolean root", `true`, notObject},

		// Step 9, envelope fields (§1.4), in the reference's order.
		{"missing type", `{}`, `{"type":"ERROR","success":false,"error":"Invalid message: missing type"}`},
		{"missing type, ids echoed", `{"componentId":"c1","requestId":"r1"}`, invalid("missing type")},
		{"type not a string", `{"type":5,"componentId":"c1","requestId":"r1"}`, invalid("missing type")},
		{"missing type wins over bad fields", `{"componentId":"c1","requestId":"r1","timestamp":"x"}`, invalid("missing type")},
		{"componentId not a string", `{"type":"COMPONENT_UNMOUNT","componentId":5,"requestId":"r1"}`,
			`{"type":"ERROR","success":false,"error":"Invalid message: componentId must be a string","requestId":"r1"}`},
		{"componentId object", `{"type":"CALL_ACTION","componentId":{},"action":"x","requestId":"r1"}`,
			`{"type":"ERROR","success":false,"error":"Invalid message: componentId must be a string","requestId":"r1"}`},
		{"requestId not a string", `{"type":"COMPONENT_UNMOUNT","componentId":"c1","requestId":5}`,
			`{"type":"ERROR","componentId":"c1","success":false,"error":"Invalid message: requestId must be a string"}`},
		{"responseId not a string", `{"type":"COMPONENT_UNMOUNT","componentId":"c1","requestId":"r1","responseId":1}`, invalid("responseId must be a string")},
		{"expectResponse not a boolean", `{"type":"COMPONENT_UNMOUNT","componentId":"c1","requestId":"r1","expectResponse":"yes"}`, invalid("expectResponse must be a boolean")},
		{"expectResponse number", `{"type":"CALL_ACTION","componentId":"c1","action":"x","requestId":"r1","expectResponse":1}`, invalid("expectResponse must be a boolean")},
		{"timestamp not a number", `{"type":"COMPONENT_UNMOUNT","componentId":"c1","requestId":"r1","timestamp":"now"}`, invalid("timestamp must be a number")},
		{"userId not a string", `{"type":"COMPONENT_UNMOUNT","componentId":"c1","requestId":"r1","userId":7}`, invalid("userId must be a string")},
		{"room not a string", `{"type":"COMPONENT_UNMOUNT","componentId":"c1","requestId":"r1","room":[]}`, invalid("room must be a string")},
		{"envelope checked before the type", `{"type":"NOPE","componentId":"c1","requestId":"r1","room":1}`, invalid("room must be a string")},

		// Unknown type strings.
		{"unknown type", `{"type":"NOPE","componentId":"c1","requestId":"r1"}`,
			`{"type":"MESSAGE_RESPONSE","componentId":"c1","success":false,"error":"Unknown message type","requestId":"r1"}`},
		{"unknown type without ids", `{"type":"NOPE"}`, `{"type":"MESSAGE_RESPONSE","success":false,"error":"Unknown message type"}`},
		{"type case-sensitive", `{"type":"ping","requestId":"r1"}`,
			`{"type":"MESSAGE_RESPONSE","success":false,"error":"Unknown message type","requestId":"r1"}`},
		{"empty type", `{"type":"","componentId":"c1","requestId":"r1"}`,
			`{"type":"MESSAGE_RESPONSE","componentId":"c1","success":false,"error":"Unknown message type","requestId":"r1"}`},
		{"legacy COMPONENT_ACTION", `{"type":"COMPONENT_ACTION","componentId":"c1","requestId":"r1"}`,
			`{"type":"MESSAGE_RESPONSE","componentId":"c1","success":false,"error":"Unknown message type","requestId":"r1"}`},
		{"legacy COMPONENT_PING", `{"type":"COMPONENT_PING","requestId":"r1"}`,
			`{"type":"MESSAGE_RESPONSE","success":false,"error":"Unknown message type","requestId":"r1"}`},
		{"server type COMPONENT_PONG", `{"type":"COMPONENT_PONG"}`, `{"type":"MESSAGE_RESPONSE","success":false,"error":"Unknown message type"}`},
		{"server type STATE_UPDATE", `{"type":"STATE_UPDATE","componentId":"c1"}`,
			`{"type":"MESSAGE_RESPONSE","componentId":"c1","success":false,"error":"Unknown message type"}`},

		// COMPONENT_MOUNT (§1.5).
		{"mount without payload", `{"type":"COMPONENT_MOUNT","componentId":"c1","requestId":"r1"}`, invalid("COMPONENT_MOUNT requires payload")},
		{"mount payload null", `{"type":"COMPONENT_MOUNT","componentId":"c1","requestId":"r1","payload":null}`, invalid("COMPONENT_MOUNT requires payload")},
		{"mount payload string", `{"type":"COMPONENT_MOUNT","componentId":"c1","requestId":"r1","payload":"Counter"}`, invalid("COMPONENT_MOUNT requires payload")},
		{"mount payload empty", `{"type":"COMPONENT_MOUNT","componentId":"c1","requestId":"r1","payload":{}}`, invalid("payload.component must be a string")},
		{"mount component number", `{"type":"COMPONENT_MOUNT","componentId":"c1","requestId":"r1","payload":{"component":1}}`, invalid("payload.component must be a string")},
		{"mount props array", `{"type":"COMPONENT_MOUNT","componentId":"c1","requestId":"r1","payload":{"component":"Counter","props":[]}}`, invalid("payload.props must be an object")},
		{"mount props string", `{"type":"COMPONENT_MOUNT","componentId":"c1","requestId":"r1","payload":{"component":"Counter","props":"x"}}`, invalid("payload.props must be an object")},
		{"mount room number", `{"type":"COMPONENT_MOUNT","componentId":"c1","requestId":"r1","payload":{"component":"Counter","room":1}}`, invalid("payload.room must be a string")},
		{"mount userId number", `{"type":"COMPONENT_MOUNT","componentId":"c1","requestId":"r1","payload":{"component":"Counter","userId":1}}`, invalid("payload.userId must be a string")},
		{"mount debugLabel bool", `{"type":"COMPONENT_MOUNT","componentId":"c1","requestId":"r1","payload":{"component":"Counter","debugLabel":true}}`, invalid("payload.debugLabel must be a string")},
		{"mount checks in order", `{"type":"COMPONENT_MOUNT","componentId":"c1","requestId":"r1","payload":{"component":"Counter","props":1,"room":1}}`, invalid("payload.props must be an object")},

		// COMPONENT_UNMOUNT.
		{"unmount without componentId", `{"type":"COMPONENT_UNMOUNT","requestId":"r1"}`,
			`{"type":"ERROR","success":false,"error":"Invalid message: componentId is required","requestId":"r1"}`},

		// CALL_ACTION.
		{"action without componentId", `{"type":"CALL_ACTION","action":"increment","requestId":"r1"}`,
			`{"type":"ERROR","success":false,"error":"Invalid message: componentId is required","requestId":"r1"}`},
		{"action missing", `{"type":"CALL_ACTION","componentId":"c1","requestId":"r1"}`, invalid("action must be a string")},
		{"action number", `{"type":"CALL_ACTION","componentId":"c1","requestId":"r1","action":5}`, invalid("action must be a string")},
		{"action null", `{"type":"CALL_ACTION","componentId":"c1","requestId":"r1","action":null}`, invalid("action must be a string")},

		// PROPERTY_UPDATE.
		{"property update without componentId", `{"type":"PROPERTY_UPDATE","property":"count","payload":{"value":1},"requestId":"r1"}`,
			`{"type":"ERROR","success":false,"error":"Invalid message: componentId is required","requestId":"r1"}`},
		{"property missing", `{"type":"PROPERTY_UPDATE","componentId":"c1","requestId":"r1","payload":{"value":1}}`, invalid("property must be a string")},
		{"property number", `{"type":"PROPERTY_UPDATE","componentId":"c1","requestId":"r1","property":1,"payload":{"value":1}}`, invalid("property must be a string")},
		{"property update without payload", `{"type":"PROPERTY_UPDATE","componentId":"c1","requestId":"r1","property":"count"}`, invalid("PROPERTY_UPDATE requires payload.value")},
		{"property update payload scalar", `{"type":"PROPERTY_UPDATE","componentId":"c1","requestId":"r1","property":"count","payload":5}`, invalid("PROPERTY_UPDATE requires payload.value")},
		{"property update payload null", `{"type":"PROPERTY_UPDATE","componentId":"c1","requestId":"r1","property":"count","payload":null}`, invalid("PROPERTY_UPDATE requires payload.value")},
	}
	rc := dialRaw(t, hs, nil) // one connection: it must survive every error
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc.t = t
			rc.sendRaw(tc.frame)
			wantMsg(t, rc.next(), tc.want)
		})
	}
	rc.t = t
	// Valid JSON edge cases pass validation (JSON.parse accepts them).
	for _, f := range []string{
		`{"type":"COMPONENT_UNMOUNT","componentId":"c1","requestId":"r1","timestamp":1e400}`,
		`{"type":"COMPONENT_UNMOUNT","componentId":"c1","requestId":"r1","timestamp":-0.0,"expectResponse":false}`,
		`{"type":"COMPONENT_UNMOUNT","componentId":"c1","requestId":"r1","unknownField":{"deep":[1,2,{"x":null}]}}`,
		`{"type":"COMPONENT_UNMOUNT","componentId":"c0","componentId":"c1","requestId":"r1"}`,
	} {
		rc.sendRaw(f)
		wantMsg(t, rc.next(), `{"type":"MESSAGE_RESPONSE","componentId":"c1","success":true,"requestId":"r1"}`)
	}
	rc.quiet()
	// The connection is still fully usable.
	rc.mount("Counter", nil)
}

func TestConformanceMountErrors(t *testing.T) {
	srv, hs := newConfServer(t, live.Options{})
	rc := dialRaw(t, hs, nil)
	tests := []struct {
		name      string
		component string
		want      string
	}{
		{"unknown component", "Nope", `{"type":"MESSAGE_RESPONSE","componentId":"mount-x","success":false,"error":"Component 'Nope' not found","requestId":"m1"}`},
		{"empty name", "", `{"type":"MESSAGE_RESPONSE","componentId":"mount-x","success":false,"error":"Component '' not found","requestId":"m1"}`},
		{"suffix not stripped", "CounterComponent", `{"type":"MESSAGE_RESPONSE","componentId":"mount-x","success":false,"error":"Component 'CounterComponent' not found","requestId":"m1"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc.t = t
			rc.send(map[string]any{"type": "COMPONENT_MOUNT", "componentId": "mount-x", "requestId": "m1",
				"payload": map[string]any{"component": tc.component}})
			wantMsg(t, rc.next(), tc.want) // and no STATE_UPDATE before it
		})
	}
	rc.t = t
	t.Run("props of the wrong type", func(t *testing.T) {
		rc.t = t
		rc.send(map[string]any{"type": "COMPONENT_MOUNT", "componentId": "mount-x", "requestId": "m2",
			"payload": map[string]any{"component": "Counter", "props": map[string]any{"count": "five"}}})
		m := rc.next()
		if m["type"] != "MESSAGE_RESPONSE" || m["success"] != false || m["requestId"] != "m2" || m["componentId"] != "mount-x" {
			t.Fatalf("got %s, want a failed MESSAGE_RESPONSE", jsonText(m))
		}
		if e, _ := m["error"].(string); e == "" {
			t.Fatalf("no error text: %s", jsonText(m))
		}
	})
	rc.t = t
	if n := srv.Stats().Components; n != 0 {
		t.Fatalf("failed mounts left %d components", n)
	}
	rc.quiet()
}

func TestConformanceActionErrors(t *testing.T) {
	_, hs := newConfServer(t, live.Options{})
	rc := dialRaw(t, hs, nil)
	id, _ := rc.mount("Counter", nil)
	bare, _ := rc.mount("Bare", nil)
	guarded, _ := rc.mount("Guarded", nil)

	const notListed = "exists on 'Counter' but is not listed in publicActions."
	tests := []struct {
		name    string
		comp    string
		action  string
		payload any
		// err is the exact error, or with prefix set, its required prefix.
		err    string
		prefix bool
		// contains is an extra substring the error must hold.
		contains string
	}{
		{"blocked destroy", id, "destroy", nil, "Action 'destroy' is not callable", false, ""},
		{"blocked constructor", id, "constructor", nil, "Action 'constructor' is not callable", false, ""},
		{"blocked setState", id, "setState", nil, "Action 'setState' is not callable", false, ""},
		{"blocked emit", id, "emit", nil, "Action 'emit' is not callable", false, ""},
		{"blocked onMount", id, "onMount", nil, "Action 'onMount' is not callable", false, ""},
		{"blocked executeAction", id, "executeAction", nil, "Action 'executeAction' is not callable", false, ""},
		{"blocked setAuthContext", id, "setAuthContext", nil, "Action 'setAuthContext' is not callable", false, ""},
		{"blocked $auth", id, "$auth", nil, "Action '$auth' is not callable", false, ""},
		{"blocked $private", id, "$private", nil, "Action '$private' is not callable", false, ""},
		{"underscore prefix", id, "_x", nil, "Action '_x' is not callable", false, ""},
		{"underscore on a real action", id, "_increment", nil, "Action '_increment' is not callable", false, ""},
		{"hash prefix", id, "#x", nil, "Action '#x' is not callable", false, ""},
		{"inherited toString", id, "toString", nil, "Action 'toString' is not callable", false, ""},
		{"inherited hasOwnProperty", id, "hasOwnProperty", nil, "Action 'hasOwnProperty' is not callable", false, ""},
		{"inherited valueOf", id, "valueOf", nil, "Action 'valueOf' is not callable", false, ""},
		{"inherited __defineGetter__", id, "__defineGetter__", nil, "Action '__defineGetter__' is not callable", false, ""},
		{"unknown name", id, "nonexistent", nil, "Action 'nonexistent' is not callable", false, ""},
		{"empty name", id, "", nil, "Action '' is not callable", false, ""},
		{"Go method name", id, "Increment", nil, "Action 'Increment' is not callable", false, ""},
		{"not listed", id, "secret", nil, "Action 'secret' " + notListed, true, ""},
		{"blocked wins over no allow-list", bare, "destroy", nil, "Action 'destroy' is not callable", false, ""},
		{"no allow-list", bare, "hello", nil, "Action 'hello' is not callable - component has no publicActions defined", false, ""},
		{"unknown field", id, "add", map[string]any{"n": 1, "x": 2}, "Action 'add' payload validation failed: ", true, "x"},
		{"wrong type", id, "add", map[string]any{"n": "one"}, "Action 'add' payload validation failed: ", true, ""},
		{"payload not an object", id, "add", []int{1}, "Action 'add' payload validation failed: ", true, ""},
		{"Validate error", id, "add", map[string]any{"n": 5000}, "Action 'add' payload validation failed: n must be in [0, 1000]", false, ""},
		{"__proto__ key", id, "add", map[string]any{"n": 1, "__proto__": map[string]any{"admin": true}}, "Action 'add' payload validation failed: ", true, "__proto__"},
		{"nested __proto__ key", id, "add", map[string]any{"n": 1, "x": map[string]any{"__proto__": 1}}, "Action 'add' payload validation failed: ", true, ""},
		{"not listed on Guarded", guarded, "secret", nil, "Action 'secret' is not callable", false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc.t = t
			rc.call(tc.comp, tc.action, tc.payload, true, "x1")
			errMsg := rc.expect("ERROR")
			wantKeys(t, errMsg, "type", "componentId", "payload")
			if errMsg["componentId"] != tc.comp {
				t.Fatalf("ERROR componentId %v, want %s", errMsg["componentId"], tc.comp)
			}
			p := obj(t, errMsg["payload"], "payload")
			wantKeys(t, p, "action", "error")
			if p["action"] != tc.action {
				t.Fatalf("ERROR payload.action %v, want %q", p["action"], tc.action)
			}
			e := str(t, p["error"], "payload.error")
			switch {
			case tc.prefix && !strings.HasPrefix(e, tc.err):
				t.Fatalf("error %q, want prefix %q", e, tc.err)
			case !tc.prefix && e != tc.err:
				t.Fatalf("error %q, want %q", e, tc.err)
			case !strings.Contains(e, tc.contains):
				t.Fatalf("error %q, want it to mention %q", e, tc.contains)
			}
			wantMsg(t, rc.next(), fmt.Sprintf(`{"type":"ACTION_RESPONSE","componentId":%q,"success":false,"error":%q,"requestId":"x1"}`, tc.comp, e))
		})
	}
	rc.t = t
	// None of the rejected calls ran: count is still 0.
	rc.call(id, "increment", nil, true, "ok")
	wantMsg(t, rc.next(), fmt.Sprintf(`{"type":"STATE_DELTA","componentId":%q,"payload":{"delta":{"count":1,"lastAction":"increment"}}}`, id))
	rc.expect("ACTION_RESPONSE")
	rc.quiet()
}

func TestConformanceActionUnknownComponent(t *testing.T) {
	_, hs := newConfServer(t, live.Options{})
	rc := dialRaw(t, hs, nil)
	for _, cid := range []string{"does-not-exist", "", "AAAAAAAA"} {
		rc.call(cid, "increment", nil, true, "r")
		// No component ERROR for a registry-level refusal: the reply only.
		wantMsg(t, rc.next(), fmt.Sprintf(
			`{"type":"ACTION_RESPONSE","componentId":%q,"success":false,"error":"COMPONENT_REHYDRATION_REQUIRED:%s","requestId":"r"}`, cid, cid))
		rc.propertyUpdate(cid, "count", 1, "p")
		wantMsg(t, rc.next(), fmt.Sprintf(
			`{"type":"MESSAGE_RESPONSE","componentId":%q,"success":false,"error":"COMPONENT_REHYDRATION_REQUIRED:%s","requestId":"p"}`, cid, cid))
	}
	// Failures reply even without expectResponse.
	rc.call("gone", "increment", nil, false, "")
	wantMsg(t, rc.next(), `{"type":"ACTION_RESPONSE","componentId":"gone","success":false,"error":"COMPONENT_REHYDRATION_REQUIRED:gone"}`)
	rc.quiet()
}

func TestConformanceActionHookErrors(t *testing.T) {
	_, hs := newConfServer(t, live.Options{})
	rc := dialRaw(t, hs, nil)
	id, _ := rc.mount("Guarded", nil)
	compErr := func(action, msg string) string {
		return fmt.Sprintf(`{"type":"ERROR","componentId":%q,"payload":{"action":%q,"error":%q}}`, id, action, msg)
	}
	failed := func(msg string) string {
		return fmt.Sprintf(`{"type":"ACTION_RESPONSE","componentId":%q,"success":false,"error":%q,"requestId":"h"}`, id, msg)
	}

	// Cancelled: reply only, no component ERROR, the method did not run.
	rc.call(id, "cancelMe", nil, true, "h")
	wantMsg(t, rc.next(), failed("Action 'cancelMe' was cancelled"))

	// Hook error: "failed pre-validation" emitted, then the error itself,
	// and the reply carries the hook's message.
	rc.call(id, "reject", nil, true, "h")
	wantMsg(t, rc.next(), compErr("reject", "Action 'reject' failed pre-validation"))
	wantMsg(t, rc.next(), compErr("reject", "not today"))
	wantMsg(t, rc.next(), failed("not today"))

	// A hook message that itself mentions pre-validation is emitted once.
	rc.call(id, "rejectPre", nil, true, "h")
	wantMsg(t, rc.next(), compErr("rejectPre", "Action 'rejectPre' failed pre-validation"))
	wantMsg(t, rc.next(), failed("custom pre-validation failure"))

	// Allowed actions run; n is 1, so no rejected method ran before.
	rc.call(id, "run", nil, true, "h")
	wantMsg(t, rc.next(), fmt.Sprintf(`{"type":"STATE_DELTA","componentId":%q,"payload":{"delta":{"n":1}}}`, id))
	rc.expect("ACTION_RESPONSE")
	rc.quiet()
}

func TestConformanceActionFailures(t *testing.T) {
	_, hs := newConfServer(t, live.Options{})
	rc := dialRaw(t, hs, nil)
	id, _ := rc.mount("Counter", nil)

	// The action changed state before failing: the delta is still sent,
	// then the component ERROR, then the failed reply.
	rc.call(id, "fail", nil, true, "f1")
	wantMsg(t, rc.next(), fmt.Sprintf(`{"type":"STATE_DELTA","componentId":%q,"payload":{"delta":{"count":99}}}`, id))
	wantMsg(t, rc.next(), fmt.Sprintf(`{"type":"ERROR","componentId":%q,"payload":{"action":"fail","error":"nope"}}`, id))
	wantMsg(t, rc.next(), fmt.Sprintf(`{"type":"ACTION_RESPONSE","componentId":%q,"success":false,"error":"nope","requestId":"f1"}`, id))

	// Failures reply even when fire-and-forget.
	for _, expect := range []any{nil, false} {
		msg := map[string]any{"type": "CALL_ACTION", "componentId": id, "action": "destroy", "requestId": "f2"}
		if expect != nil {
			msg["expectResponse"] = expect
		}
		rc.send(msg)
		rc.expect("ERROR")
		wantMsg(t, rc.next(), fmt.Sprintf(`{"type":"ACTION_RESPONSE","componentId":%q,"success":false,"error":"Action 'destroy' is not callable","requestId":"f2"}`, id))
	}

	// A panicking action fails the call without leaking the panic value
	// and without hurting the connection.
	rc.call(id, "boom", nil, false, "f3")
	e := rc.expect("ERROR")
	r := rc.expect("ACTION_RESPONSE")
	if r["success"] != false || r["requestId"] != "f3" {
		t.Fatalf("panic reply %s", jsonText(r))
	}
	msg := str(t, r["error"], "error")
	if msg == "" || strings.Contains(msg, "kaboom") {
		t.Fatalf("panic error %q: want a non-empty generic message", msg)
	}
	if got := obj(t, e["payload"], "payload")["error"]; got != msg {
		t.Fatalf("ERROR says %v, reply says %q", got, msg)
	}
	rc.call(id, "increment", nil, true, "f4")
	wantMsg(t, rc.next(), fmt.Sprintf(`{"type":"STATE_DELTA","componentId":%q,"payload":{"delta":{"count":100,"lastAction":"increment"}}}`, id))
	rc.expect("ACTION_RESPONSE")
	rc.quiet()
}

func TestConformancePropertyUpdateErrors(t *testing.T) {
	_, hs := newConfServer(t, live.Options{})
	rc := dialRaw(t, hs, nil)
	id, _ := rc.mount("Counter", nil)
	pid, _ := rc.mount("Profile", nil)
	sid, _ := rc.mount("Shape", nil)

	const serverOnly = "PROPERTY_UPDATE rejected: '%s' is server-only ($-prefixed fields cannot be written by the client). Use a server action to mutate it."
	tests := []struct {
		name, comp, prop string
		value            any
		err              string
		prefix           bool
	}{
		{"reserved __proto__", id, "__proto__", 1, "PROPERTY_UPDATE rejected: '__proto__' is a reserved key", false},
		{"reserved constructor", id, "constructor", 1, "PROPERTY_UPDATE rejected: 'constructor' is a reserved key", false},
		{"reserved prototype", id, "prototype", 1, "PROPERTY_UPDATE rejected: 'prototype' is a reserved key", false},
		{"server-only $auth", id, "$auth", 1, fmt.Sprintf(serverOnly, "$auth"), false},
		{"server-only $private", id, "$private", 1, fmt.Sprintf(serverOnly, "$private"), false},
		{"server-only $x", id, "$x", 1, fmt.Sprintf(serverOnly, "$x"), false},
		{"not updatable state field", id, "lastAction", "x",
			"PROPERTY_UPDATE rejected: 'lastAction' is not an updatable field of 'Counter'. Allowed: [count].", true},
		{"not a state field", id, "hits", 1,
			"PROPERTY_UPDATE rejected: 'hits' is not an updatable field of 'Counter'. Allowed: [count].", true},
		{"unknown key session", pid, "session", 1,
			"PROPERTY_UPDATE rejected: 'session' is not an updatable field of 'Profile'. Allowed: [name, settings, tags].", true},
		{"not writable role", pid, "role", "admin",
			"PROPERTY_UPDATE rejected: 'role' is not an updatable field of 'Profile'. Allowed: [name, settings, tags].", true},
		{"empty allow-list", sid, "untouched", 1,
			"PROPERTY_UPDATE rejected: 'untouched' is not an updatable field of 'Shape'. Allowed: [].", true},
		{"empty name", id, "", 1, "PROPERTY_UPDATE rejected: '' is not an updatable field of 'Counter'. Allowed: [count].", true},
		{"wrong value type", id, "count", "five", "PROPERTY_UPDATE rejected: ", true},
		{"__proto__ inside the value", pid, "settings", map[string]any{"__proto__": map[string]any{"admin": true}}, "PROPERTY_UPDATE rejected: ", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc.t = t
			rc.propertyUpdate(tc.comp, tc.prop, tc.value, "pu")
			m := rc.next()
			wantKeys(t, m, "type", "componentId", "success", "error", "requestId")
			e := str(t, m["error"], "error")
			if tc.prefix && !strings.HasPrefix(e, tc.err) || !tc.prefix && e != tc.err {
				t.Fatalf("error %q, want %q (prefix=%v)", e, tc.err, tc.prefix)
			}
			wantMsg(t, m, fmt.Sprintf(`{"type":"MESSAGE_RESPONSE","componentId":%q,"success":false,"error":%q,"requestId":"pu"}`, tc.comp, e))
		})
	}
	rc.t = t
	// Nothing was written: the state is unchanged.
	rc.call(pid, "touch", nil, true, "t")
	wantMsg(t, rc.next(), fmt.Sprintf(`{"type":"STATE_DELTA","componentId":%q,"payload":{"delta":{"settings":{"theme":null,"lang":"pt"}}}}`, pid))
	rc.expect("ACTION_RESPONSE")
	rc.call(id, "increment", nil, true, "i")
	wantMsg(t, rc.next(), fmt.Sprintf(`{"type":"STATE_DELTA","componentId":%q,"payload":{"delta":{"count":1,"lastAction":"increment"}}}`, id))
	rc.expect("ACTION_RESPONSE")
	rc.quiet()
}
