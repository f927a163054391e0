package live_test

// Authentication and authorization (spec §5, §6.6 "Security": auth,
// caller identity, singletons, session immutability).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	live "github.com/live-go/live"
)

// AUTH (spec §5.3): empty credentials are anonymous without asking any
// provider, providers are tried in order (an erroring one is skipped), the
// reply carries the session, and the first identity of a connection is
// final.
func TestSecurity_Auth_AuthMessage(t *testing.T) {
	t.Run("no provider", func(t *testing.T) {
		_, hs := newSecServer(t, live.Options{})
		rc := dialRaw(t, hs, nil)
		wantJSON(t, rc.auth(map[string]any{"token": "alice"}, "a1"),
			`{"type":"AUTH_RESPONSE","success":false,"payload":{"authenticated":false,"error":"Authentication failed"},"requestId":"a1"}`)
	})

	broken := &secProvider{name: "broken", err: errors.New("ldap down")}
	good := &secProvider{name: "tokens", users: map[string]*live.Identity{
		"t-alice": {ID: "alice", Roles: []string{"user"}, Claims: map[string]any{"plan": "pro", "id": "spoofed"}},
		"t-bob":   {ID: "bob"},
	}}
	_, hs := newSecServer(t, live.Options{AuthProviders: []live.AuthProvider{broken, good}})
	failed := `{"type":"AUTH_RESPONSE","success":false,"payload":{"authenticated":false,"error":"Authentication failed"},"requestId":"a"}`

	t.Run("falsy credentials are anonymous, no provider asked", func(t *testing.T) {
		rc := dialRaw(t, hs, nil)
		for _, creds := range []map[string]any{{}, {"token": ""}, {"token": nil, "n": 0, "b": false}} {
			wantJSON(t, rc.auth(creds, "a"), failed)
		}
		if n := broken.calls.Load() + good.calls.Load(); n != 0 {
			t.Fatalf("providers asked %d times for empty credentials", n)
		}
	})
	t.Run("unknown token", func(t *testing.T) {
		rc := dialRaw(t, hs, nil)
		wantJSON(t, rc.auth(map[string]any{"token": "nope"}, "a"), failed)
	})
	t.Run("second provider wins after the first errors; identity is final", func(t *testing.T) {
		rc := dialRaw(t, hs, nil)
		before := broken.calls.Load()
		// Claims cannot override id, roles or permissions in the session.
		wantJSON(t, rc.auth(map[string]any{"token": "t-alice"}, "a"),
			`{"type":"AUTH_RESPONSE","success":true,"payload":{"authenticated":true,"session":{"id":"alice","roles":["user"],"permissions":[],"plan":"pro"}},"requestId":"a"}`)
		if broken.calls.Load() != before+1 {
			t.Fatal("the first provider was not tried first")
		}
		wantJSON(t, rc.auth(map[string]any{"token": "t-bob"}, "b"),
			`{"type":"AUTH_RESPONSE","success":false,"payload":{"authenticated":false,"error":"Already authenticated: the session of a connection cannot change"},"requestId":"b"}`)
		wantJSON(t, rc.auth(map[string]any{}, "c"),
			`{"type":"AUTH_RESPONSE","success":false,"payload":{"authenticated":false,"error":"Already authenticated: the session of a connection cannot change"},"requestId":"c"}`)
		id, _ := rc.secMount("Who", nil)
		if got := obj(t, rc.mustCall(id, "whoami", nil), "whoami")["id"]; got != "alice" {
			t.Fatalf("identity after a second AUTH: %v, want alice", got)
		}
	})
	t.Run("failed AUTH does not block a later successful one", func(t *testing.T) {
		rc := dialRaw(t, hs, nil)
		rc.auth(map[string]any{"token": "nope"}, "a")
		if r := rc.auth(map[string]any{"token": "t-bob"}, "b"); r["success"] != true {
			t.Fatalf("AUTH after a failure: %s", jsonText(r))
		}
	})
}

// Options.Identify refusing a connection closes it with 4001 "Unauthorized"
// before anything is registered; an identified connection cannot AUTH again.
func TestSecurity_Auth_IdentifyRefusesConnection(t *testing.T) {
	p := &secProvider{name: "tokens", users: map[string]*live.Identity{"t": {ID: "other"}}}
	srv, hs := newSecServer(t, live.Options{Identify: identifyHeader, AuthProviders: []live.AuthProvider{p}})
	code, reason := dialRefused(t, hs, asUser("reject"))
	if code != live.CloseUnauthorized || reason != "Unauthorized" {
		t.Fatalf("refused with %d %q, want 4001 \"Unauthorized\"", code, reason)
	}
	if st := srv.Stats(); st.Connections != 0 || st.ConnectionsTotal != 0 {
		t.Fatalf("a refused connection was registered: %+v", st)
	}

	rc := dialRaw(t, hs, asUser("carol;staff"))
	if r := rc.auth(map[string]any{"token": "t"}, "a"); r["success"] != false {
		t.Fatalf("AUTH over an Identify identity: %s", jsonText(r))
	}
	id, _ := rc.secMount("Who", nil)
	wantJSON(t, rc.mustCall(id, "whoami", nil), fmt.Sprintf(`{"id":"carol","roles":["staff"],"connectionId":%q,"org":null}`, rc.connID))
	anon := dialRaw(t, hs, nil) // no header: anonymous, accepted
	aid, _ := anon.secMount("Who", nil)
	wantJSON(t, anon.mustCall(aid, "whoami", nil), fmt.Sprintf(`{"id":null,"roles":null,"connectionId":%q,"org":null}`, anon.connID))
}

// The identity handed to component code, providers and rules is a copy:
// tampering with it, or with the value a provider returned, changes
// nothing for the connection (the reference freezes its session).
func TestSecurity_Auth_SessionImmutable(t *testing.T) {
	orig := &live.Identity{ID: "alice", Roles: []string{"user"},
		Claims: map[string]any{"plan": "pro", "org": map[string]any{"name": "acme", "role": "member"}}}
	p := &secProvider{name: "tokens", users: map[string]*live.Identity{"t-alice": orig}}
	srv, hs := newSecServer(t, live.Options{AuthProviders: []live.AuthProvider{p}})
	rc := dialRaw(t, hs, nil)
	rc.auth(map[string]any{"token": "t-alice"}, "a")
	id, _ := rc.secMount("Who", nil)
	// The replies crossed a TCP socket, which orders nothing for the race
	// detector; Stats takes the connection's queue lock, which the server
	// released after reading the provider's value.
	_ = srv.Stats()

	// The provider's value changes after the fact.
	orig.ID, orig.Roles[0] = "mallory", "admin"
	orig.Roles = append(orig.Roles, "admin")
	// Component code scribbles on what it was handed.
	rc.mustCall(id, "tamper", nil)

	got := obj(t, rc.mustCall(id, "whoami", nil), "whoami")
	t.Run("id and roles", func(t *testing.T) {
		if got["id"] != "alice" || jsonText(got["roles"]) != `["user"]` {
			t.Fatalf("identity after tampering: %s", jsonText(got))
		}
		wantFailed(t, rc.callResult(id, "purge", nil, "p"), "AUTH_DENIED: Insufficient roles for action 'purge'. Required one of: admin")
	})
	t.Run("nested claims", func(t *testing.T) {
		wantJSON(t, got["org"], `{"name":"acme","role":"member"}`)
	})
}

// SecTill carries one action per kind of ActionAuth rule.
type SecTill struct {
	live.Base
	Paid int `json:"paid"`
}

type tillPay struct {
	Amount int `json:"amount"`
}

// Refund, Audit, Blank, Crash, Ask and Open do nothing; their ActionAuth
// rules are what is tested. Pay adds the amount.
func (s *SecTill) Refund(ctx *live.Ctx) error         { return nil }
func (s *SecTill) Audit(ctx *live.Ctx) error          { return nil }
func (s *SecTill) Pay(ctx *live.Ctx, p tillPay) error { s.Paid += p.Amount; return nil }
func (s *SecTill) Blank(ctx *live.Ctx) error          { return nil }
func (s *SecTill) Crash(ctx *live.Ctx) error          { return nil }
func (s *SecTill) Ask(ctx *live.Ctx) error            { return nil }
func (s *SecTill) Open(ctx *live.Ctx) error           { return nil }

// registerTill registers SecTill as "Till" with a rule per action, and
// returns the payloads the Authorize of "pay" saw.
func registerTill(t *testing.T, srv *live.Server) *secRec {
	t.Helper()
	seen := &secRec{}
	must(t, live.Register(srv, live.Component[SecTill]{Name: "Till",
		Actions: []string{"refund", "audit", "pay", "blank", "crash", "ask", "open"},
		ActionAuth: map[string]live.AuthRule{
			"refund": {Roles: []string{"admin", "cashier"}},
			"audit":  {Permissions: []string{"ledger:read", "ledger:export"}},
			"pay": {Required: true, Authorize: func(ctx context.Context, id *live.Identity, payload json.RawMessage) error {
				seen.add(string(payload))
				var p tillPay
				_ = json.Unmarshal(payload, &p)
				if p.Amount > 100 {
					return errors.New("amount over the limit for " + id.ID)
				}
				return nil
			}},
			"blank": {Authorize: func(context.Context, *live.Identity, json.RawMessage) error { return errors.New("") }},
			"crash": {Authorize: func(context.Context, *live.Identity, json.RawMessage) error { panic("policy engine exploded") }},
			"ask":   {Required: true},
		}}))
	return seen
}

// Declarative per-action rules with the caller's identity, the exact
// reasons of spec §5.4, the Go form of authorize() coercion (nil allows, an
// error denies with its text, an empty text gets the default reason, a
// panic is an authorization error), the raw payload handed to Authorize,
// and the first provider's ActionAuthorizer asked only for ruled actions.
func TestSecurity_Auth_ActionRules(t *testing.T) {
	gate := &secGateProvider{secProvider: secProvider{name: "gate"}}
	gate.actionDecide = func(id *live.Identity, component, action string) (bool, error) {
		switch id.ID {
		case "bob":
			return false, nil
		case "carl":
			return false, errors.New("policy store unreachable")
		}
		return true, nil
	}
	srv, hs := newSecServer(t, live.Options{Identify: identifyHeader, AuthProviders: []live.AuthProvider{gate}})
	seen := registerTill(t, srv)

	tests := []struct {
		user, action string
		payload      any
		want         string // "" = allowed
	}{
		{"", "refund", nil, "AUTH_DENIED: Authentication required for action 'refund'"},
		{"ann;viewer", "refund", nil, "AUTH_DENIED: Insufficient roles for action 'refund'. Required one of: admin, cashier"},
		{"ann;cashier", "refund", nil, ""},
		{"", "audit", nil, "AUTH_DENIED: Authentication required for action 'audit'"},
		{"ann;;ledger:read", "audit", nil, "AUTH_DENIED: Insufficient permissions for action 'audit'. Required all: ledger:read, ledger:export"},
		{"ann;;ledger:read,ledger:export", "audit", nil, ""},
		{"", "pay", map[string]any{"amount": 5}, "AUTH_DENIED: Authentication required for action 'pay'"},
		{"ann", "pay", map[string]any{"amount": 500}, "AUTH_DENIED: amount over the limit for ann"},
		{"ann", "pay", map[string]any{"amount": 50}, ""},
		{"ann", "blank", nil, "AUTH_DENIED: Action 'blank' denied by custom authorize"},
		{"ann", "crash", nil, "AUTH_DENIED: Action 'crash' authorization error: policy engine exploded"},
		{"bob", "ask", nil, "AUTH_DENIED: Action 'ask' denied by auth provider 'gate'"},
		{"carl", "ask", nil, "AUTH_DENIED: Action 'ask' authorization error: policy store unreachable"},
		{"dora", "ask", nil, ""},
		{"bob", "open", nil, ""}, // no rule: the provider is not asked
	}
	for _, tc := range tests {
		t.Run(tc.user+" "+tc.action, func(t *testing.T) {
			var hdr = asUser(tc.user)
			if tc.user == "" {
				hdr = nil
			}
			rc := dialRaw(t, hs, hdr)
			id, _ := rc.secMount("Till", nil)
			rc.call(id, tc.action, tc.payload, true, "r")
			if tc.want == "" {
				for {
					m := rc.next()
					if m["type"] == "ACTION_RESPONSE" {
						if m["success"] != true {
							t.Fatalf("allowed call failed: %s", jsonText(m))
						}
						break
					}
				}
				return
			}
			// A registry-level denial: the reply only, no component ERROR.
			wantMsg(t, rc.next(), fmt.Sprintf(`{"type":"ACTION_RESPONSE","componentId":%q,"success":false,"error":%q,"requestId":"r"}`, id, tc.want))
			rc.quiet()
		})
	}
	if got := seen.get(); fmt.Sprint(got) != `[{"amount":500} {"amount":50}]` {
		t.Fatalf("Authorize saw payloads %v", got)
	}
	want := []string{"ann action Till.refund", "ann action Till.audit", "ann action Till.pay", "bob action Till.ask", "carl action Till.ask", "dora action Till.ask"}
	if got := gate.questions(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("provider asked\n %v\nwant\n %v", got, want)
	}
}

// Component.Auth at mount and at rehydrate (a signed state is no way
// around it), with the reasons of spec §5.4 and the Go form of authorize()
// coercion.
func TestSecurity_Auth_ComponentRules(t *testing.T) {
	srv, hs := newSecServer(t, live.Options{Identify: identifyHeader})
	rule := func(name string, r live.AuthRule) {
		must(t, live.Register(srv, live.Component[SecWho]{Name: name, Auth: &r}))
	}
	rule("Staff", live.AuthRule{Roles: []string{"admin", "ops"}})
	rule("Ledger", live.AuthRule{Permissions: []string{"read", "write"}})
	rule("Custom", live.AuthRule{Authorize: func(ctx context.Context, id *live.Identity, payload json.RawMessage) error {
		switch {
		case payload != nil:
			return errors.New("mount authorize got a payload")
		case id == nil:
			return errors.New("closed to anonymous visitors")
		case id.ID == "empty":
			return errors.New("")
		case id.ID == "panic":
			panic("rules engine down")
		}
		return nil
	}})
	tests := []struct{ user, comp, want string }{
		{"", "Vault", "AUTH_DENIED: Authentication required"},
		{"ann", "Vault", ""},
		{"", "Staff", "AUTH_DENIED: Authentication required. Roles needed: admin, ops"},
		{"ann;user", "Staff", "AUTH_DENIED: Insufficient roles. Required one of: admin, ops"},
		{"ann;user,ops", "Staff", ""},
		{"", "Ledger", "AUTH_DENIED: Authentication required. Permissions needed: read, write"},
		{"ann;;read", "Ledger", "AUTH_DENIED: Insufficient permissions. Required all: read, write"},
		{"ann;;write,read", "Ledger", ""},
		{"", "Custom", "AUTH_DENIED: closed to anonymous visitors"},
		{"empty", "Custom", "AUTH_DENIED: Denied by custom authorize"},
		{"panic", "Custom", "AUTH_DENIED: Authorization error: rules engine down"},
		{"ann", "Custom", ""},
	}
	for _, tc := range tests {
		t.Run(tc.user+" "+tc.comp, func(t *testing.T) {
			var hdr = asUser(tc.user)
			if tc.user == "" {
				hdr = nil
			}
			rc := dialRaw(t, hs, hdr)
			if tc.want == "" {
				rc.secMount(tc.comp, nil)
				return
			}
			rc.send(map[string]any{"type": "COMPONENT_MOUNT", "componentId": "m", "requestId": "r",
				"payload": map[string]any{"component": tc.comp}})
			wantMsg(t, rc.next(), fmt.Sprintf(`{"type":"MESSAGE_RESPONSE","componentId":"m","success":false,"error":%q,"requestId":"r"}`, tc.want))
		})
	}

	t.Run("rehydrate of a guarded component by an anonymous client", func(t *testing.T) {
		owner := dialRaw(t, hs, asUser("ann"))
		id, reply := owner.secMount("Vault", nil)
		thief := dialRaw(t, hs, nil)
		thief.send(rehydrateMsg(id, "Vault", signedOf(t, reply), nil))
		r := thief.expect("COMPONENT_REHYDRATED")
		wantFailed(t, r, "AUTH_DENIED: Authentication required")
		if n := srv.Stats().Rehydrates; n != 0 {
			t.Fatalf("%d rehydrates", n)
		}
	})
}

// Actions see the CALLER as their identity and connection (for a
// singleton, whoever calls, not whoever mounted).
func TestSecurity_Auth_CallerIdentityPassedToActions(t *testing.T) {
	_, hs := newSecServer(t, live.Options{Identify: identifyHeader})
	anon := dialRaw(t, hs, nil)
	aid, _ := anon.secMount("Who", nil)
	wantJSON(t, anon.mustCall(aid, "whoami", nil), fmt.Sprintf(`{"id":null,"roles":null,"connectionId":%q,"org":null}`, anon.connID))

	alice, bob := dialRaw(t, hs, asUser("alice;admin")), dialRaw(t, hs, asUser("bob;guest"))
	pid, rep := alice.secMount("Panel", nil)
	wantJSON(t, obj(t, rep["result"], "result")["initialState"], `{"owner":"alice","note":"","role":""}`)
	bob.secMount("Panel", nil)
	wantJSON(t, bob.mustCall(pid, "whoami", nil), fmt.Sprintf(`{"id":"bob","roles":["guest"],"connectionId":%q,"org":null}`, bob.connID))
	wantJSON(t, alice.mustCall(pid, "whoami", nil), fmt.Sprintf(`{"id":"alice","roles":["admin"],"connectionId":%q,"org":null}`, alice.connID))
}

// A client-supplied userId (envelope, mount payload, props, action
// envelope) never becomes an identity: anonymous stays anonymous, bob stays
// bob, also in room presence.
func TestSecurity_Auth_ClientUserIDIgnored(t *testing.T) {
	srv, hs := newSecServer(t, live.Options{Identify: identifyHeader})
	for _, tc := range []struct{ user, want string }{{"", ""}, {"bob", "bob"}} {
		t.Run("as "+tc.want, func(t *testing.T) {
			hdr := asUser(tc.user)
			if tc.user == "" {
				hdr = nil
			}
			rc := dialRaw(t, hs, hdr)
			rc.send(map[string]any{"type": "COMPONENT_MOUNT", "componentId": "m", "requestId": "r", "userId": "alice",
				"payload": map[string]any{"component": "Who", "userId": "alice",
					"props": map[string]any{"owner": "alice", "userId": "alice", "role": "admin", "note": "hi"}}})
			rc.expect("STATE_UPDATE")
			res := obj(t, rc.skipTo("MESSAGE_RESPONSE")["result"], "result")
			wantJSON(t, res["initialState"], fmt.Sprintf(`{"owner":%q,"note":"hi","role":""}`, tc.want))
			id := res["componentId"].(string)
			rc.send(map[string]any{"type": "CALL_ACTION", "componentId": id, "action": "whoami", "userId": "alice",
				"expectResponse": true, "requestId": "w"})
			got := obj(t, rc.expect("ACTION_RESPONSE")["result"], "result")
			if (tc.want == "" && got["id"] != nil) || (tc.want != "" && got["id"] != tc.want) {
				t.Fatalf("whoami %s, want %q", jsonText(got), tc.want)
			}
			room := "presence-" + tc.user
			rc.mustCall(id, "enter", map[string]any{"room": room})
			if m := srv.RoomMembers(room); len(m) != 1 || m[0].UserID != tc.want {
				t.Fatalf("presence %+v, want userId %q", m, tc.want)
			}
		})
	}
}

// Singleton with an admin-only action: the CALLER's roles decide, whoever
// mounted it; a guest's refusal is not broadcast to the other connection.
func TestSecurity_Singleton_GuestVsAdminActionAuth(t *testing.T) {
	const denied = "AUTH_DENIED: Insufficient roles for action 'purge'. Required one of: admin"
	for _, adminFirst := range []bool{true, false} {
		t.Run(fmt.Sprintf("admin mounts first=%v", adminFirst), func(t *testing.T) {
			_, hs := newSecServer(t, live.Options{Identify: identifyHeader})
			admin, guest := dialRaw(t, hs, asUser("root;admin")), dialRaw(t, hs, asUser("gus;guest"))
			first, second := admin, guest
			if !adminFirst {
				first, second = guest, admin
			}
			id, _ := first.secMount("Panel", nil)
			if sid, _ := second.secMount("Panel", nil); sid != id {
				t.Fatalf("second mount got %s, want the shared %s", sid, id)
			}
			wantFailed(t, guest.callResult(id, "purge", nil, "g"), denied)
			admin.quiet()
			if got := admin.mustCall(id, "purge", nil); got != "purged by root" {
				t.Fatalf("admin purge: %v", got)
			}
			wantFailed(t, guest.callResult(id, "purge", nil, "g2"), denied)
		})
	}
}

// Rehydrating a singleton never makes a private copy: the reply names the
// shared id, and the instance now counts two connections that both see
// each other's changes.
func TestSecurity_Singleton_RehydrateJoinsSharedInstance(t *testing.T) {
	srv, hs := newSecServer(t, live.Options{})
	a, b := dialRaw(t, hs, nil), dialRaw(t, hs, nil)
	id, reply := a.secMount("TodoList", nil)
	a.mustCall(id, "addTodo", map[string]any{"text": "one"})

	b.send(rehydrateMsg(id, "TodoList", signedOf(t, reply), nil))
	upd := b.expect("STATE_UPDATE")
	wantJSON(t, obj(t, upd["payload"], "payload")["state"], `{"todos":[{"id":1,"text":"one","done":false}]}`)
	r := b.expect("COMPONENT_REHYDRATED")
	if r["success"] != true || obj(t, r["result"], "result")["newComponentId"] != id {
		t.Fatalf("rehydrate reply %s, want the shared id %s", jsonText(r), id)
	}
	if sid, n := singletonConns(t, srv, "TodoList"); sid != id || n != 2 {
		t.Fatalf("singleton %s with %d connections, want %s with 2", sid, n, id)
	}
	if n := srv.Stats().Components; n != 1 {
		t.Fatalf("%d components, want the one shared instance", n)
	}
	b.mustCall(id, "addTodo", map[string]any{"text": "two"})
	if d := a.expect("STATE_DELTA"); d["componentId"] != id {
		t.Fatalf("A did not see B's change: %s", jsonText(d))
	}
}

// An idempotency key remembers an action's outcome per component. On a
// singleton shared by several users, a guest who reuses the key of an
// admin's call must get its own call's result, never the admin's.
func TestSecurity_Singleton_IdempotencyKeyNotSharedAcrossCallers(t *testing.T) {
	_, hs := newSecServer(t, live.Options{Identify: identifyHeader})
	admin, guest := dialRaw(t, hs, asUser("root;admin")), dialRaw(t, hs, asUser("gus;guest"))
	id, _ := admin.secMount("Panel", nil)
	guest.secMount("Panel", nil)
	call := func(rc *rawClient, action, key string) map[string]any {
		rc.send(map[string]any{"type": "CALL_ACTION", "componentId": id, "action": action,
			"idempotencyKey": key, "expectResponse": true, "requestId": "r"})
		for {
			if m := rc.next(); m["type"] == "ACTION_RESPONSE" {
				return m
			}
		}
	}
	if r := call(admin, "purge", "k-1"); r["result"] != "purged by root" {
		t.Fatalf("admin purge: %s", jsonText(r))
	}
	r := call(guest, "whoami", "k-1")
	if r["success"] != true {
		t.Fatalf("guest whoami: %s", jsonText(r))
	}
	if res, ok := r["result"].(map[string]any); !ok || res["id"] != "gus" {
		t.Fatalf("guest reusing the admin's idempotency key got %s, want its own whoami result", jsonText(r["result"]))
	}
}
