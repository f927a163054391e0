package live_test

// Shared pieces of the adversarial / security suite (security_*_test.go):
// components built to be attacked, auth providers that record what they are
// asked, a server constructor, and helpers for raw-frame clients. Every test
// of the suite is named TestSecurity_<Group>_<Item> and is listed in
// docs/security.md against the checklist of spec §6.6 and the gaps of §14.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	live "github.com/live-go/live"
)

// ---- a channel-gated slow action ----

// secGate coordinates SecSlow actions with a test: each action announces
// itself on started, then blocks until it takes a token from release (or
// release is closed), or until its Ctx ends.
type secGate struct {
	started   chan string
	release   chan struct{}
	begun     atomic.Int64
	finished  atomic.Int64
	cancelled atomic.Int64
	closeOnce sync.Once
}

func newSecGate() *secGate {
	return &secGate{started: make(chan string, 256), release: make(chan struct{})}
}

// open releases every waiting and future action.
func (g *secGate) open() { g.closeOnce.Do(func() { close(g.release) }) }

// SecSlow has one slow action, "wait".
type SecSlow struct {
	live.Base
	Done int `json:"done"`
	gate *secGate
}

// Wait blocks on the gate and counts itself done.
func (s *SecSlow) Wait(ctx *live.Ctx) (int, error) {
	g := s.gate
	g.begun.Add(1)
	defer g.finished.Add(1)
	select {
	case g.started <- s.ID():
	default:
	}
	select {
	case <-g.release:
	case <-ctx.Done():
		g.cancelled.Add(1)
		return 0, ctx.Err()
	}
	s.Done++
	return s.Done, nil
}

// registerSlow registers SecSlow as "Slow" with a fresh gate.
func registerSlow(t *testing.T, srv *live.Server) *secGate {
	t.Helper()
	g := newSecGate()
	t.Cleanup(g.open) // never leave an action blocked behind a failed test
	must(t, live.Register(srv, live.Component[SecSlow]{
		Name: "Slow", Actions: []string{"wait"},
		New: func() *SecSlow { return &SecSlow{gate: g} },
	}))
	return g
}

// ---- identity probes ----

// SecWho reports who calls it and lets tests try to tamper with identities.
type SecWho struct {
	live.Base
	Owner string `json:"owner"` // the mounting identity, set by the server
	Note  string `json:"note"`  // the only client-writable field
	Role  string `json:"role"`  // public, server-written only
}

// secCaller is what SecWho.Whoami returns.
type secCaller struct {
	ID           *string  `json:"id"`
	Roles        []string `json:"roles"`
	ConnectionID string   `json:"connectionId"`
	Org          any      `json:"org"`
}

// OnMount records the mounting identity.
func (w *SecWho) OnMount(ctx *live.Ctx) error {
	if id := ctx.Identity(); id != nil {
		w.Owner = id.ID
	}
	return nil
}

// Whoami returns the caller's identity as the action sees it.
func (w *SecWho) Whoami(ctx *live.Ctx) (secCaller, error) {
	c := secCaller{ConnectionID: ctx.ConnectionID()}
	if id := ctx.Identity(); id != nil {
		c.ID, c.Roles, c.Org = &id.ID, id.Roles, id.Claims["org"]
	}
	return c, nil
}

// Tamper mutates everything reachable from the identity it is handed.
func (w *SecWho) Tamper(ctx *live.Ctx) error {
	id := ctx.Identity()
	if id == nil {
		return nil
	}
	id.ID = "root"
	if len(id.Roles) > 0 {
		id.Roles[0] = "admin"
	}
	id.Roles = append(id.Roles, "admin")
	id.Permissions = append(id.Permissions, "everything")
	if id.Claims != nil {
		id.Claims["plan"] = "enterprise"
		if org, ok := id.Claims["org"].(map[string]any); ok {
			org["role"] = "owner"
		}
	}
	return nil
}

// Purge is an admin-only action (see ActionAuth in newSecServer).
func (w *SecWho) Purge(ctx *live.Ctx) (string, error) {
	by := "anonymous"
	if id := ctx.Identity(); id != nil {
		by = id.ID
	}
	return "purged by " + by, nil
}

// Promote writes the non-writable field from the server side.
func (w *SecWho) Promote(ctx *live.Ctx) error { w.Role = "admin"; return nil }

// Enter joins an untyped room server-side.
func (w *SecWho) Enter(ctx *live.Ctx, p RoomArgs) error { return w.JoinRoom(p.Room).Join(nil) }

// ---- room host ----

// SecHost drives the server-side room API from actions.
type SecHost struct {
	live.Base
	Heard int `json:"heard"`
}

// secRoomReq is the payload of SecHost's actions.
type secRoomReq struct {
	Room       string         `json:"room"`
	ServerOnly bool           `json:"serverOnly,omitempty"`
	State      map[string]any `json:"state,omitempty"`
	Key        string         `json:"key,omitempty"`
	Size       int            `json:"size,omitempty"`
}

// Join joins p.Room, optionally as a server-only room seeded with p.State.
func (h *SecHost) Join(ctx *live.Ctx, p secRoomReq) error {
	var opts []live.JoinOption
	if p.ServerOnly {
		opts = append(opts, live.ServerOnlyState())
	}
	var initial any
	if p.State != nil {
		initial = p.State
	}
	return h.JoinRoom(p.Room).Join(initial, opts...)
}

// Set writes p.State with the (unfiltered) server-side API.
func (h *SecHost) Set(ctx *live.Ctx, p secRoomReq) error { return h.JoinRoom(p.Room).SetState(p.State) }

// Blob writes a string of p.Size bytes under key p.Key server-side.
func (h *SecHost) Blob(ctx *live.Ctx, p secRoomReq) error {
	return h.JoinRoom(p.Room).SetState(map[string]any{p.Key: strings.Repeat("b", p.Size)})
}

// Get returns the room state.
func (h *SecHost) Get(ctx *live.Ctx, p secRoomReq) (json.RawMessage, error) {
	return h.JoinRoom(p.Room).State()
}

// Has reports whether the room state has top-level key p.Key (a substring
// test: the suite's values never contain quoted keys).
func (h *SecHost) Has(ctx *live.Ctx, p secRoomReq) (bool, error) {
	raw, err := h.JoinRoom(p.Room).State()
	if err != nil {
		return false, err
	}
	return bytes.Contains(raw, []byte(strconv.Quote(p.Key)+":")), nil
}

// Leave leaves p.Room.
func (h *SecHost) Leave(ctx *live.Ctx, p secRoomReq) error { return h.JoinRoom(p.Room).Leave() }

// ---- typed room with membership bags ----

// secRec is a concurrency-safe event log.
type secRec struct {
	mu  sync.Mutex
	log []string
}

// add appends s.
func (r *secRec) add(s string) {
	r.mu.Lock()
	r.log = append(r.log, s)
	r.mu.Unlock()
}

// get returns a copy of the log.
func (r *secRec) get() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.log...)
}

// SecArena is a typed room whose entries are keyed by player name; the
// name lives only in the member's membership bag, so a leave (of any
// reason) can only clean up through that bag.
type SecArena struct {
	live.RoomBase
	Players map[string]string `json:"players"` // name → component id
	rec     *secRec
}

// OnJoin admits a named player and fills its membership bag.
func (a *SecArena) OnJoin(rc *live.RoomCtx) error {
	var p struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(rc.Payload, &p); err != nil || p.Name == "" {
		return errors.New("a name is required")
	}
	rc.Membership["slot"] = p.Name
	rc.Membership["moves"] = 0
	rc.Membership["secret"] = "bag-secret-" + p.Name
	a.Players[p.Name] = rc.ComponentID
	return nil
}

// OnEvent counts moves in the emitting member's own bag.
func (a *SecArena) OnEvent(rc *live.RoomCtx, event string, data json.RawMessage) {
	if event == "move" && rc.Membership != nil {
		n, _ := rc.Membership["moves"].(int)
		rc.Membership["moves"] = n + 1
	}
}

// OnLeave removes the player found through the bag and records the bag.
func (a *SecArena) OnLeave(rc *live.RoomCtx) {
	slot, _ := rc.Membership["slot"].(string)
	delete(a.Players, slot)
	a.rec.add(fmt.Sprintf("leave %s moves=%v reason=%s", slot, rc.Membership["moves"], rc.Reason))
}

// SecFighter joins SecArena rooms.
type SecFighter struct{ live.Base }

// secArenaReq is the payload of SecFighter's actions.
type secArenaReq struct {
	Arena string `json:"arena"`
	Name  string `json:"name,omitempty"`
}

// Enter joins arena:<Arena> as Name.
func (f *SecFighter) Enter(ctx *live.Ctx, p secArenaReq) error {
	return f.JoinRoom("arena:" + p.Arena).Join(map[string]any{"name": p.Name})
}

// Move emits "move" into the arena.
func (f *SecFighter) Move(ctx *live.Ctx, p secArenaReq) error {
	return f.JoinRoom("arena:"+p.Arena).Emit("move", map[string]any{"by": f.ID()})
}

// Peek returns the arena's public state.
func (f *SecFighter) Peek(ctx *live.Ctx, p secArenaReq) (json.RawMessage, error) {
	return f.JoinRoom("arena:" + p.Arena).State()
}

// registerArena registers SecArena as "arena" and SecFighter as "Fighter".
func registerArena(t *testing.T, srv *live.Server) *secRec {
	t.Helper()
	rec := &secRec{}
	must(t, live.RegisterRoom(srv, live.Room[SecArena]{Name: "arena",
		New: func() *SecArena { return &SecArena{Players: map[string]string{}, rec: rec} }}))
	must(t, live.Register(srv, live.Component[SecFighter]{Name: "Fighter", Actions: []string{"enter", "move", "peek"}}))
	return rec
}

// ---- auth providers ----

// secProvider authenticates {"token": "..."} credentials from a fixed map.
// The identities it returns are the map's own pointers, so a test can
// mutate them after the fact.
type secProvider struct {
	name  string
	users map[string]*live.Identity
	err   error // returned by every Authenticate when set
	calls atomic.Int64
}

// Name implements live.AuthProvider.
func (p *secProvider) Name() string { return p.name }

// Authenticate implements live.AuthProvider.
func (p *secProvider) Authenticate(ctx context.Context, creds json.RawMessage) (*live.Identity, error) {
	p.calls.Add(1)
	if p.err != nil {
		return nil, p.err
	}
	var c struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(creds, &c); err != nil {
		return nil, nil
	}
	return p.users[c.Token], nil
}

// secGateProvider is a secProvider that also authorizes rooms and actions,
// records every question, and scribbles on the identity it is handed (which
// must be a copy).
type secGateProvider struct {
	secProvider
	mu           sync.Mutex
	asked        []string
	roomDecide   func(id *live.Identity, room string) (bool, error)
	actionDecide func(id *live.Identity, component, action string) (bool, error)
}

// record logs one question.
func (p *secGateProvider) record(id *live.Identity, what string) {
	who := "<anonymous>"
	if id != nil {
		who = id.ID
	}
	p.mu.Lock()
	p.asked = append(p.asked, who+" "+what)
	p.mu.Unlock()
}

// questions returns the questions asked so far.
func (p *secGateProvider) questions() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.asked...)
}

func scribble(id *live.Identity) {
	if id != nil {
		id.ID = "scribbled"
		id.Roles = append(id.Roles, "admin")
	}
}

// AuthorizeRoom implements live.RoomAuthorizer.
func (p *secGateProvider) AuthorizeRoom(ctx context.Context, id *live.Identity, roomID string) (bool, error) {
	p.record(id, "room "+roomID)
	ok, err := p.roomDecide(id, roomID)
	scribble(id)
	return ok, err
}

// AuthorizeAction implements live.ActionAuthorizer.
func (p *secGateProvider) AuthorizeAction(ctx context.Context, id *live.Identity, component, action string) (bool, error) {
	p.record(id, "action "+component+"."+action)
	if p.actionDecide == nil {
		return true, nil
	}
	ok, err := p.actionDecide(id, component, action)
	scribble(id)
	return ok, err
}

// identifyHeader is an Options.Identify reading "X-User: id;roles;perms"
// (comma-separated lists). "reject" refuses the connection; no header is
// anonymous.
func identifyHeader(_ context.Context, r *live.Request) (*live.Identity, error) {
	u := r.Header.Get("X-User")
	switch u {
	case "":
		return nil, nil
	case "reject":
		return nil, errors.New("bad session cookie")
	}
	parts := strings.Split(u, ";")
	id := &live.Identity{ID: parts[0]}
	if len(parts) > 1 && parts[1] != "" {
		id.Roles = strings.Split(parts[1], ",")
	}
	if len(parts) > 2 && parts[2] != "" {
		id.Permissions = strings.Split(parts[2], ",")
	}
	return id, nil
}

// asUser returns the headers that make identifyHeader return user.
func asUser(user string) http.Header {
	h := http.Header{}
	h.Set("X-User", user)
	return h
}

// ---- server ----

// newSecServer is newConfServer (immediate cleanup on disconnect, no
// signature renewals) plus the suite's components:
//
//	Who    SecWho, actions whoami/tamper/purge/promote/enter, Writable note,
//	       purge needs role admin
//	Panel  SecWho as a singleton, actions whoami/purge, purge needs role admin
//	Vault  SecWho with Auth{Required}, action whoami
//	Host   SecHost, actions join/set/blob/get/has/leave
//	Hub    SecHost as a singleton
func newSecServer(t *testing.T, opts live.Options) (*live.Server, *httptest.Server) {
	t.Helper()
	srv, hs := newConfServer(t, opts)
	admin := map[string]live.AuthRule{"purge": {Roles: []string{"admin"}}}
	must(t, live.Register(srv, live.Component[SecWho]{Name: "Who",
		Actions:  []string{"whoami", "tamper", "purge", "promote", "enter"},
		Writable: []string{"note"}, ActionAuth: admin}))
	must(t, live.Register(srv, live.Component[SecWho]{Name: "Panel", Singleton: true,
		Actions: []string{"whoami", "purge"}, ActionAuth: admin}))
	must(t, live.Register(srv, live.Component[SecWho]{Name: "Vault",
		Actions: []string{"whoami"}, Auth: &live.AuthRule{Required: true}}))
	hostActions := []string{"join", "set", "blob", "get", "has", "leave"}
	must(t, live.Register(srv, live.Component[SecHost]{Name: "Host", Actions: hostActions}))
	must(t, live.Register(srv, live.Component[SecHost]{Name: "Hub", Actions: hostActions, Singleton: true}))
	return srv, hs
}

// ---- client helpers ----

// takeQueued returns, without waiting, the messages received so far.
func (rc *rawClient) takeQueued() []map[string]any {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	q := rc.queue
	rc.queue = nil
	return q
}

// secMount mounts name like rawClient.mount, but lets state deltas made by
// OnMount come between the snapshot and the reply.
func (rc *rawClient) secMount(name string, props map[string]any) (id string, reply map[string]any) {
	rc.t.Helper()
	if props == nil {
		props = map[string]any{}
	}
	rc.send(map[string]any{"type": "COMPONENT_MOUNT", "componentId": "mount-" + name,
		"payload": map[string]any{"component": name, "props": props}, "requestId": "m-" + name})
	upd := rc.expect("STATE_UPDATE")
	reply = rc.skipTo("MESSAGE_RESPONSE")
	if reply["success"] != true {
		rc.t.Fatalf("mount of %s failed: %s", name, jsonText(reply))
	}
	id = obj(rc.t, reply["result"], "result")["componentId"].(string)
	if upd["componentId"] != id {
		rc.t.Fatalf("STATE_UPDATE for %v, mount reply for %v", upd["componentId"], id)
	}
	return id, reply
}

// skipTo returns the next message of type typ, skipping others.
func (rc *rawClient) skipTo(typ string) map[string]any {
	rc.t.Helper()
	for {
		if m := rc.next(); m["type"] == typ {
			return m
		}
	}
}

// auth sends AUTH with credentials creds and returns the AUTH_RESPONSE.
func (rc *rawClient) auth(creds map[string]any, reqID string) map[string]any {
	rc.t.Helper()
	rc.send(map[string]any{"type": "AUTH", "payload": creds, "requestId": reqID})
	r := rc.expect("AUTH_RESPONSE")
	if r["requestId"] != reqID {
		rc.t.Fatalf("AUTH_RESPONSE for %v, want %s", r["requestId"], reqID)
	}
	return r
}

// callResult calls action with expectResponse and returns the reply,
// skipping the state deltas, emits and component ERRORs before it.
func (rc *rawClient) callResult(id, action string, payload any, reqID string) map[string]any {
	rc.t.Helper()
	rc.call(id, action, payload, true, reqID)
	for {
		m := rc.next()
		if m["type"] == "ACTION_RESPONSE" {
			if m["requestId"] != reqID {
				rc.t.Fatalf("reply for %v, want %s: %s", m["requestId"], reqID, jsonText(m))
			}
			return m
		}
	}
}

// mustCall calls action and fails the test unless it succeeds; it returns
// the result.
func (rc *rawClient) mustCall(id, action string, payload any) any {
	rc.t.Helper()
	r := rc.callResult(id, action, payload, "mc-"+action)
	if r["success"] != true {
		rc.t.Fatalf("%s failed: %s", action, jsonText(r))
	}
	return r["result"]
}

// wantFailed asserts a failed ACTION_RESPONSE/MESSAGE_RESPONSE with error
// text want.
func wantFailed(t *testing.T, r map[string]any, want string) {
	t.Helper()
	if r["success"] != false || r["error"] != want {
		t.Fatalf("got %s, want a failure %q", jsonText(r), want)
	}
}

// expectError reads the next message, which must be a protocol ERROR with
// text want.
func (rc *rawClient) expectError(want string) map[string]any {
	rc.t.Helper()
	m := rc.expect("ERROR")
	if m["error"] != want {
		rc.t.Fatalf("ERROR %s, want %q", jsonText(m), want)
	}
	return m
}

// roomGet returns the state of room per ROOM_STATE_GET by component id.
func (rc *rawClient) roomGet(id, room string) map[string]any {
	rc.t.Helper()
	rc.send(roomMsg("ROOM_STATE_GET", id, room, nil, "get-"+room))
	m := rc.expect("ROOM_STATE")
	return obj(rc.t, obj(rc.t, m["payload"], "payload")["state"], "state")
}

// memConn serves a memSocket connection on srv (closed at cleanup) and
// mounts component name on it; it returns the socket and the component id.
// Later frames are left on sock.out (or go to sock.sink when set).
func memConn(t *testing.T, srv *live.Server, name string) (*memSocket, string) {
	t.Helper()
	sock, done := serveMem(t, srv)
	t.Cleanup(func() { _ = sock.Close(1000, ""); <-done })
	<-sock.out // CONNECTION_ESTABLISHED
	sock.in <- []byte(`{"type":"COMPONENT_MOUNT","componentId":"m","payload":{"component":"` + name + `"},"requestId":"mount"}`)
	for {
		select {
		case f := <-sock.out:
			if i := strings.Index(f.data, `"result":{"componentId":"`); i >= 0 {
				return sock, f.data[i+25 : i+33]
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no mount reply")
		}
	}
}

// memAwait reads sock.out until a frame contains want, without decoding
// (frames may be large); it fails if the connection closes first.
func memAwait(t *testing.T, sock *memSocket, want string) string {
	t.Helper()
	for {
		select {
		case f := <-sock.out:
			if strings.Contains(f.data, want) {
				return f.data
			}
		case <-sock.closed:
			code, reason := sock.closeStatus()
			t.Fatalf("connection closed (%d %q) while waiting for %s", code, reason, want)
		case <-time.After(5 * time.Second):
			t.Fatalf("timed out waiting for %s", want)
		}
	}
}

// dialRefused dials with hdr and expects the server to close the
// connection before CONNECTION_ESTABLISHED; it returns the close status and
// reason.
func dialRefused(t *testing.T, hs *httptest.Server, hdr http.Header) (websocket.StatusCode, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, wsURL(hs), &websocket.DialOptions{HTTPHeader: hdr})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.CloseNow()
	_, data, err := c.Read(ctx)
	if err == nil {
		t.Fatalf("connection established (%s), want a refusal", data)
	}
	var ce websocket.CloseError
	if !errors.As(err, &ce) {
		t.Fatalf("read ended without a close frame: %v", err)
	}
	return ce.Code, ce.Reason
}

// singletonConns returns how many connections the monitoring stats report
// for singleton name (0 when it does not exist).
func singletonConns(t *testing.T, srv *live.Server, name string) (id string, conns int) {
	t.Helper()
	b, err := srv.StatsJSON()
	must(t, err)
	var st struct {
		Components struct {
			Singletons map[string]struct {
				ComponentID string `json:"componentId"`
				Connections int    `json:"connections"`
			} `json:"singletons"`
		} `json:"components"`
	}
	must(t, json.Unmarshal(b, &st))
	s := st.Components.Singletons[name]
	return s.ComponentID, s.Connections
}
