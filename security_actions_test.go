package live_test

// Action security (spec §2.6, §6.6 "Action security"), payload validation,
// sanitization and JSON depth (spec §6.1, §6.2), PROPERTY_UPDATE (§2.9).

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	live "github.com/live-go/live"
)

// SecHooked implements lifecycle hooks whose Go signatures look like
// actions.
type SecHooked struct {
	live.Base
	Pings  int `json:"pings"`
	mounts int
}

// OnMount counts mounts (MountHook).
func (h *SecHooked) OnMount(ctx *live.Ctx) error { h.mounts++; return nil }

// BeforeAction allows everything (BeforeActionHook).
func (h *SecHooked) BeforeAction(ctx *live.Ctx, action string) error { return nil }

// OnStateChange does nothing (StateChangeHook).
func (h *SecHooked) OnStateChange(ctx *live.Ctx, changed []string) {}

// OnDisconnect does nothing (DisconnectHook).
func (h *SecHooked) OnDisconnect(ctx *live.Ctx) {}

// OnDestroy does nothing (DestroyHook).
func (h *SecHooked) OnDestroy() {}

// Ping counts itself and reports how often OnMount ran.
func (h *SecHooked) Ping(ctx *live.Ctx) (int, error) { h.Pings++; return h.mounts, nil }

// Go has no prototype chain, so the reference's "inherited" and reserved
// names are enforced where Go can be attacked: an allow-list entry can never
// name a reserved name, a hook, a non-method or a method of the wrong shape.
func TestSecurity_Actions_RegisterRefusesReservedNames(t *testing.T) {
	srv, err := live.New(live.Options{StateSecret: []byte(confSecret)})
	must(t, err)
	for _, name := range []string{"constructor", "destroy", "executeAction", "setState", "emit", "onMount",
		"onDestroy", "onAction", "setAuthContext", "_resetAuthContext", "$auth", "$private", "_x", "#x", "$x",
		"toString", "valueOf", "hasOwnProperty", "__defineGetter__", "__proto__", "beforeAction", "update", "id"} {
		t.Run(name, func(t *testing.T) {
			err := live.Register(srv, live.Component[SecHooked]{Name: "H-" + name, Actions: []string{"ping", name}})
			if err == nil || !strings.Contains(err.Error(), "reserved name") {
				t.Fatalf("Register with action %q: %v, want a reserved-name error", name, err)
			}
		})
	}
	for _, tc := range []struct{ name, actions, want string }{
		{"field, not a method", "pings", "has no method"},
		{"unknown method", "nope", "has no method"},
		{"hook without error result", "onDisconnect", "reserved name"},
		{"Go name instead of client name", "Ping", "must be func"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := live.Register(srv, live.Component[SecHooked]{Name: "H-" + tc.name, Actions: []string{tc.actions}})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Register with action %q: %v, want %q", tc.actions, err, tc.want)
			}
		})
	}
	err = live.Register(srv, live.Component[SecHooked]{Name: "H-auth", Actions: []string{"ping"},
		ActionAuth: map[string]live.AuthRule{"onMount": {Required: true}}})
	if err == nil {
		t.Fatal("ActionAuth for an action outside the allow-list was accepted")
	}
}

// Hook methods exist on the component with action-shaped signatures, but a
// client can never invoke them: blocked names first, and nothing ran.
func TestSecurity_Actions_HookMethodsNotCallable(t *testing.T) {
	srv, hs := newSecServer(t, live.Options{})
	must(t, live.Register(srv, live.Component[SecHooked]{Name: "Hooked", Actions: []string{"ping"}}))
	rc := dialRaw(t, hs, nil)
	id, _ := rc.secMount("Hooked", nil)
	for _, name := range []string{"onMount", "beforeAction", "onStateChange", "onDisconnect", "onDestroy", "OnMount", "liveBase", "joinRoom"} {
		t.Run(name, func(t *testing.T) {
			rc.t = t
			wantFailed(t, rc.callResult(id, name, nil, "h"), fmt.Sprintf("Action '%s' is not callable", name))
		})
	}
	rc.t = t
	rc.call(id, "ping", nil, true, "p")
	wantMsg(t, rc.next(), fmt.Sprintf(`{"type":"STATE_DELTA","componentId":%q,"payload":{"delta":{"pings":1}}}`, id))
	// OnMount ran once, at mount, and never as an action.
	wantMsg(t, rc.next(), fmt.Sprintf(`{"type":"ACTION_RESPONSE","componentId":%q,"success":true,"result":1,"requestId":"p"}`, id))
	rc.quiet()
}

// SecMeter has two cheap actions under an ActionRateLimit.
type SecMeter struct {
	live.Base
	A int `json:"a"`
	B int `json:"b"`
}

// Alpha counts a call.
func (m *SecMeter) Alpha(ctx *live.Ctx) error { m.A++; return nil }

// Beta counts a call.
func (m *SecMeter) Beta(ctx *live.Ctx) error { m.B++; return nil }

// ActionRateLimit (spec §2.6 f) with a window far longer than the test, so
// no timing matters: a global budget shared by every action, and per-action
// budgets that are independent; each connection has its own.
func TestSecurity_Actions_RateLimit(t *testing.T) {
	srv, hs := newSecServer(t, live.Options{})
	must(t, live.Register(srv, live.Component[SecMeter]{Name: "Global", Actions: []string{"alpha", "beta"},
		ActionRateLimit: &live.ActionRateLimit{MaxCalls: 3, Window: time.Hour}}))
	must(t, live.Register(srv, live.Component[SecMeter]{Name: "PerAction", Actions: []string{"alpha", "beta"},
		ActionRateLimit: &live.ActionRateLimit{MaxCalls: 2, Window: time.Hour, PerAction: true}}))
	const exceeded = "Action rate limit exceeded (max %d calls per 3600000ms)"

	// refused asserts that a call is refused before it runs: the component
	// ERROR comes first (a call that ran would send its delta first).
	refused := func(t *testing.T, rc *rawClient, id, action, msg string) {
		t.Helper()
		rc.call(id, action, nil, true, "over")
		wantMsg(t, rc.next(), fmt.Sprintf(`{"type":"ERROR","componentId":%q,"payload":{"action":%q,"error":%q}}`, id, action, msg))
		wantMsg(t, rc.next(), fmt.Sprintf(`{"type":"ACTION_RESPONSE","componentId":%q,"success":false,"error":%q,"requestId":"over"}`, id, msg))
	}
	t.Run("global: 3 calls shared across actions", func(t *testing.T) {
		rc := dialRaw(t, hs, nil)
		id, _ := rc.secMount("Global", nil)
		for _, a := range []string{"alpha", "beta", "alpha"} {
			rc.mustCall(id, a, nil)
		}
		msg := fmt.Sprintf(exceeded, 3)
		refused(t, rc, id, "beta", msg)
		refused(t, rc, id, "alpha", msg)
		other := dialRaw(t, hs, nil) // another connection has its own budget
		oid, _ := other.secMount("Global", nil)
		for range 3 {
			other.mustCall(oid, "alpha", nil)
		}
		refused(t, other, oid, "alpha", msg)
	})
	t.Run("per action: independent counters", func(t *testing.T) {
		rc := dialRaw(t, hs, nil)
		id, _ := rc.secMount("PerAction", nil)
		msg := fmt.Sprintf(exceeded, 2)
		rc.mustCall(id, "alpha", nil)
		rc.mustCall(id, "alpha", nil)
		refused(t, rc, id, "alpha", msg)
		rc.mustCall(id, "beta", nil)
		rc.mustCall(id, "beta", nil)
		refused(t, rc, id, "beta", msg)
	})
}

// SecForm validates and normalizes its payload in a pointer-receiver
// Validate (the Go form of a schema with transforms).
type SecForm struct {
	live.Base
	Name string `json:"name"`
}

type renameArgs struct {
	Name string `json:"name"`
}

// Validate trims the name and checks it.
func (a *renameArgs) Validate() error {
	a.Name = strings.TrimSpace(a.Name)
	switch {
	case a.Name == "":
		return errors.New("name is required")
	case len(a.Name) > 32:
		return errors.New("name is longer than 32 characters")
	}
	return nil
}

// Rename stores the validated name.
func (f *SecForm) Rename(ctx *live.Ctx, p renameArgs) (string, error) {
	f.Name = p.Name
	return f.Name, nil
}

// Payload validation (spec §2.6 g): strict decoding plus Validate, which
// may normalize; every refusal names the action and nothing runs.
func TestSecurity_Actions_PayloadValidation(t *testing.T) {
	srv, hs := newSecServer(t, live.Options{})
	must(t, live.Register(srv, live.Component[SecForm]{Name: "Form", Actions: []string{"rename"}}))
	rc := dialRaw(t, hs, nil)
	id, _ := rc.secMount("Form", nil)
	const failed = "Action 'rename' payload validation failed: "
	tests := []struct {
		name    string
		payload any
		want    string // exact error, or prefix when it ends with ": "
		has     string
	}{
		{"missing field", map[string]any{}, failed + "name is required", ""},
		{"null payload", nil, failed + "name is required", ""},
		{"blank after trim", map[string]any{"name": "   "}, failed + "name is required", ""},
		{"too long", map[string]any{"name": strings.Repeat("x", 33)}, failed + "name is longer than 32 characters", ""},
		{"wrong type", map[string]any{"name": 5}, failed, "name"},
		{"not an object", "bob", failed, ""},
		{"unknown field", map[string]any{"name": "bob", "admin": true}, failed, "admin"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc.t = t
			r := rc.callResult(id, "rename", tc.payload, "v")
			e, _ := r["error"].(string)
			if r["success"] != false || !strings.HasPrefix(e, tc.want) || (!strings.HasSuffix(tc.want, ": ") && e != tc.want) ||
				!strings.Contains(e, tc.has) {
				t.Fatalf("got %s, want %q (containing %q)", jsonText(r), tc.want, tc.has)
			}
		})
	}
	rc.t = t
	if got := rc.mustCall(id, "rename", map[string]any{"name": "  bob  "}); got != "bob" {
		t.Fatalf("normalized name %v, want bob", got)
	}
}

// SecDeep takes any JSON payload.
type SecDeep struct{ live.Base }

// Depth returns how deeply nested the payload is.
func (d *SecDeep) Depth(ctx *live.Ctx, p json.RawMessage) (int, error) {
	var v any
	if err := json.Unmarshal(p, &v); err != nil {
		return 0, err
	}
	n := 0
	for {
		m, ok := v.(map[string]any)
		if !ok {
			return n, nil
		}
		n++
		v = m["a"]
	}
}

// Keys returns how many keys the payload has.
func (d *SecDeep) Keys(ctx *live.Ctx, p map[string]int) (int, error) { return len(p), nil }

// nestObj returns n nested objects {"a":{"a":...leaf}} with key inserted
// next to "a" at level keyAt (1-based; 0 = nowhere).
func nestObj(n, keyAt int, key string) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		b.WriteString("{")
		if i == keyAt {
			fmt.Fprintf(&b, "%q:1,", key)
		}
		b.WriteString(`"a":`)
	}
	b.WriteString("1")
	b.WriteString(strings.Repeat("}", n))
	return b.String()
}

// JSON depth (spec §6.2): the pre-scan refuses a 50- or 33-level frame and
// accepts 32 (the envelope counts as one level); with the scan disabled a
// 50-level payload reaches the action whole, and forbidden keys are refused
// down to the sanitize depth of 32 — deeper, like the reference's
// sanitizePayload, values are left untouched (in Go such keys are plain
// data).
func TestSecurity_Sanitize_JSONDepth(t *testing.T) {
	srv, hs := newSecServer(t, live.Options{})
	must(t, live.Register(srv, live.Component[SecDeep]{Name: "Deep", Actions: []string{"depth", "keys"}}))
	srvOff, hsOff := newSecServer(t, live.Options{MaxJSONDepth: -1})
	must(t, live.Register(srvOff, live.Component[SecDeep]{Name: "Deep", Actions: []string{"depth", "keys"}}))
	call := func(id, payload string) string {
		return `{"type":"CALL_ACTION","componentId":"` + id + `","action":"depth","expectResponse":true,"requestId":"d","payload":` + payload + `}`
	}
	const tooDeep = `{"type":"ERROR","error":"JSON nesting too deep (max 32)"}`

	rc := dialRaw(t, hs, nil)
	id, _ := rc.secMount("Deep", nil)
	for _, tc := range []struct {
		levels int
		ok     bool
	}{{50, false}, {32, false}, {31, true}} { // + the envelope: 51, 33, 32 levels
		t.Run(fmt.Sprintf("default limit, %d-level payload", tc.levels), func(t *testing.T) {
			rc.t = t
			rc.sendRaw(call(id, nestObj(tc.levels, 0, "")))
			if !tc.ok {
				wantJSON(t, rc.next(), tooDeep)
				return
			}
			if r := rc.skipTo("ACTION_RESPONSE"); r["result"] != float64(tc.levels) {
				t.Fatalf("reply %s", jsonText(r))
			}
		})
	}
	rc.t = t

	off := dialRaw(t, hsOff, nil)
	oid, _ := off.secMount("Deep", nil)
	for _, tc := range []struct {
		name  string
		frame string
		want  string // "" = succeeds with depth 50
	}{
		{"50 levels parse", nestObj(50, 0, ""), ""},
		{"__proto__ at level 5 refused", nestObj(50, 5, "__proto__"), "Action 'depth' payload validation failed: forbidden key '__proto__'"},
		{"constructor at level 32 refused", nestObj(50, 32, "constructor"), "Action 'depth' payload validation failed: forbidden key 'constructor'"},
		{"prototype at level 40 left alone", nestObj(50, 40, "prototype"), ""},
	} {
		t.Run("scan disabled, "+tc.name, func(t *testing.T) {
			off.t = t
			off.sendRaw(call(oid, tc.frame))
			r := off.skipTo("ACTION_RESPONSE")
			if tc.want == "" {
				if r["result"] != float64(50) {
					t.Fatalf("reply %s, want depth 50", jsonText(r))
				}
				return
			}
			wantFailed(t, r, tc.want)
		})
	}
}

// Sanitizing a 10 000-key payload (correctness only): all keys arrive, and
// one forbidden key among them, even escaped, is still found.
func TestSecurity_Sanitize_TenThousandKeys(t *testing.T) {
	srv, hs := newSecServer(t, live.Options{})
	must(t, live.Register(srv, live.Component[SecDeep]{Name: "Deep", Actions: []string{"depth", "keys"}}))
	rc := dialRaw(t, hs, nil)
	id, _ := rc.secMount("Deep", nil)
	keys := func(extra string) string {
		var b strings.Builder
		b.WriteString("{")
		for i := range 10000 {
			fmt.Fprintf(&b, `"k%d":%d,`, i, i)
		}
		b.WriteString(extra)
		b.WriteString(`"last":1}`)
		return b.String()
	}
	frame := func(p string) string {
		return `{"type":"CALL_ACTION","componentId":"` + id + `","action":"keys","expectResponse":true,"requestId":"k","payload":` + p + `}`
	}
	rc.sendRaw(frame(keys("")))
	if r := rc.skipTo("ACTION_RESPONSE"); r["result"] != float64(10001) {
		t.Fatalf("reply %s, want 10001 keys", jsonText(r))
	}
	rc.sendRaw(frame(keys(`"construct\u006fr":2,`)))
	wantFailed(t, rc.skipTo("ACTION_RESPONSE"), "Action 'keys' payload validation failed: forbidden key 'constructor'")
}

// Prototype-pollution keys are refused wherever client JSON reaches a
// component: action payloads, mount props and PROPERTY_UPDATE values, at any
// depth and however escaped (the reference strips them silently; Go refuses
// the message, see docs/protocol.md).
func TestSecurity_Sanitize_ForbiddenKeysReachNoComponent(t *testing.T) {
	_, hs := newSecServer(t, live.Options{})
	rc := dialRaw(t, hs, nil)
	pid, _ := rc.secMount("Profile", nil)
	t.Run("mount props", func(t *testing.T) {
		for _, props := range []string{`{"name":"x","__proto__":{"admin":true}}`, `{"settings":{"deep":{"constructor":{"prototype":1}}}}`,
			`{"settings":{"\u005f_proto__":1}}`} {
			rc.sendRaw(`{"type":"COMPONENT_MOUNT","componentId":"m","requestId":"m","payload":{"component":"Profile","props":` + props + `}}`)
			r := rc.expect("MESSAGE_RESPONSE")
			if e, _ := r["error"].(string); r["success"] != false || !strings.HasPrefix(e, "Invalid props: forbidden key '") {
				t.Fatalf("props %s: %s", props, jsonText(r))
			}
		}
	})
	t.Run("PROPERTY_UPDATE value", func(t *testing.T) {
		rc.sendRaw(`{"type":"PROPERTY_UPDATE","componentId":"` + pid + `","property":"settings","requestId":"p","payload":{"value":{"a":[{"\u0070rototype":1}]}}}`)
		wantFailed(t, rc.expect("MESSAGE_RESPONSE"), "PROPERTY_UPDATE rejected: invalid value for 'settings': forbidden key 'prototype'")
	})
	t.Run("action payload", func(t *testing.T) {
		cid, _ := rc.secMount("Counter", nil)
		rc.sendRaw(`{"type":"CALL_ACTION","componentId":"` + cid + `","action":"add","expectResponse":true,"requestId":"a","payload":{"n":1,"x":[[{"__proto__":{}}]]}}`)
		wantFailed(t, rc.skipTo("ACTION_RESPONSE"), "Action 'add' payload validation failed: forbidden key '__proto__'")
	})
	rc.quiet()
}

// PROPERTY_UPDATE only reaches Writable fields; server code still writes
// the protected ones (spec §2.9 "server-side setState({$x}) still works").
func TestSecurity_PropertyUpdate_ServerWritesProtectedField(t *testing.T) {
	_, hs := newSecServer(t, live.Options{})
	rc := dialRaw(t, hs, nil)
	id, _ := rc.secMount("Who", nil)
	for _, p := range []string{"role", "owner"} {
		rc.propertyUpdate(id, p, "admin", "p")
		r := rc.expect("MESSAGE_RESPONSE")
		if e, _ := r["error"].(string); !strings.HasPrefix(e, fmt.Sprintf("PROPERTY_UPDATE rejected: '%s' is not an updatable field of 'Who'. Allowed: [note].", p)) {
			t.Fatalf("PROPERTY_UPDATE %s: %s", p, jsonText(r))
		}
	}
	rc.propertyUpdate(id, "note", "hello", "n")
	wantMsg(t, rc.next(), fmt.Sprintf(`{"type":"STATE_DELTA","componentId":%q,"payload":{"delta":{"note":"hello"}}}`, id))
	rc.expect("MESSAGE_RESPONSE")
	rc.call(id, "promote", nil, true, "pr")
	wantMsg(t, rc.next(), fmt.Sprintf(`{"type":"STATE_DELTA","componentId":%q,"payload":{"delta":{"role":"admin"}}}`, id))
	rc.expect("ACTION_RESPONSE")
}
