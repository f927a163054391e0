package live_test

// Shared pieces of the spec-conformance suite (conformance_*_test.go): extra
// test components, a server constructor that registers every component the
// suite mounts, and small assertion helpers over decoded wire messages.
//
// The suite talks to the server only through raw WebSocket frames, as an
// independent client written from the protocol reference would.

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	live "github.com/live-go/live"
)

// confSecret is the state-signing secret of every conformance server.
const confSecret = "conformance-secret-conformance-secret"

// idRE matches a framework-generated id (spec §1.1).
var idRE = regexp.MustCompile(`^[A-Za-z0-9_-]{8}$`)

// hexSigRE matches a lowercase hex HMAC-SHA256 signature (spec §3.1).
var hexSigRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ---- extra test components ----

// Shape exercises the delta rules of spec §2.7.
type Shape struct {
	live.Base
	Title     *string        `json:"title"`
	Obj       map[string]any `json:"obj"`
	List      []int          `json:"list"`
	Untouched int            `json:"untouched"`
}

func newShape() *Shape {
	t := "t"
	return &Shape{
		Title:     &t,
		Obj:       map[string]any{"a": map[string]any{"b": 1.0, "c": 2.0}, "x": 1.0},
		List:      []int{1, 2},
		Untouched: 7,
	}
}

func (s *Shape) inner() map[string]any { return s.Obj["a"].(map[string]any) }

// ClearTitle sets a top-level field to null.
func (s *Shape) ClearTitle(ctx *live.Ctx) error { s.Title = nil; return nil }

// SetTitle sets the title.
func (s *Shape) SetTitle(ctx *live.Ctx, p TextArgs) error { s.Title = &p.Text; return nil }

// SetB changes one nested key.
func (s *Shape) SetB(ctx *live.Ctx, p AddArgs) error { s.inner()["b"] = float64(p.N); return nil }

// DropC removes one nested key.
func (s *Shape) DropC(ctx *live.Ctx) error { delete(s.inner(), "c"); return nil }

// AddD adds one nested key.
func (s *Shape) AddD(ctx *live.Ctx) error { s.inner()["d"] = "new"; return nil }

// Push appends to the array.
func (s *Shape) Push(ctx *live.Ctx) error { s.List = append(s.List, len(s.List)+1); return nil }

// Same rewrites every field with an equal value.
func (s *Shape) Same(ctx *live.Ctx) error {
	t := *s.Title
	s.Title = &t
	s.List = slices.Clone(s.List)
	s.Untouched = 7
	return nil
}

// Get returns the whole public state.
func (s *Shape) Get(ctx *live.Ctx) (*Shape, error) { return s, nil }

// Warm changes its state in OnMount.
type Warm struct {
	live.Base
	Ready bool `json:"ready"`
}

// OnMount marks the component ready.
func (w *Warm) OnMount(ctx *live.Ctx) error { w.Ready = true; return nil }

// Broken fails in OnMount.
type Broken struct {
	live.Base
	N int `json:"n"`
}

// OnMount always fails.
func (b *Broken) OnMount(ctx *live.Ctx) error { return errors.New("db down") }

// Guarded has a BeforeActionHook that cancels or rejects some actions.
type Guarded struct {
	live.Base
	N int `json:"n"`
}

// BeforeAction implements live.BeforeActionHook.
func (g *Guarded) BeforeAction(ctx *live.Ctx, action string) error {
	switch action {
	case "cancelMe":
		return live.ErrCancelled
	case "reject":
		return errors.New("not today")
	case "rejectPre":
		return errors.New("custom pre-validation failure")
	}
	return nil
}

// Run is allowed by the hook.
func (g *Guarded) Run(ctx *live.Ctx) error { g.N++; return nil }

// CancelMe is cancelled by the hook.
func (g *Guarded) CancelMe(ctx *live.Ctx) error { g.N++; return nil }

// Reject is rejected by the hook.
func (g *Guarded) Reject(ctx *live.Ctx) error { g.N++; return nil }

// RejectPre is rejected by the hook with a message naming pre-validation.
func (g *Guarded) RejectPre(ctx *live.Ctx) error { g.N++; return nil }

// Bare declares no actions at all.
type Bare struct {
	live.Base
	N int `json:"n"`
}

// Hello exists but Bare has no allow-list.
func (b *Bare) Hello(ctx *live.Ctx) error { return nil }

// Herald changes state and emits in the same action.
type Herald struct {
	live.Base
	N int `json:"n"`
}

// Bump changes n, then emits "bumped".
func (h *Herald) Bump(ctx *live.Ctx) (int, error) {
	h.N++
	return h.N, h.Emit("bumped", map[string]any{"n": h.N})
}

// Beacon is a singleton whose action emits to every attached connection.
type Beacon struct {
	live.Base
	Hits int `json:"hits"`
}

// Signal counts the call and emits "signal" naming the caller.
func (b *Beacon) Signal(ctx *live.Ctx) error {
	b.Hits++
	return b.Emit("signal", map[string]any{"by": ctx.ConnectionID()})
}

// Widget is registered as "WidgetComponent" to test name resolution.
type Widget struct {
	live.Base
	On bool `json:"on"`
}

// newConfServer starts a server with the lead's test components (registered
// as in helpers_test.go) plus the conformance ones. Unless opts says
// otherwise, components are destroyed as soon as their last connection
// closes (ResumeGrace -1, the reference's behaviour) and throttled
// STATE_SIGNATURE renewals are off (SignatureRenewInterval -1) so that
// they cannot interleave with the exact message sequences the tests
// expect; TestConformanceSignatureRenewal covers renewals.
func newConfServer(tb testing.TB, opts live.Options) (*live.Server, *httptest.Server) {
	tb.Helper()
	if opts.StateSecret == nil {
		opts.StateSecret = []byte(confSecret)
	}
	if opts.ResumeGrace == 0 {
		opts.ResumeGrace = -1
	}
	if opts.SignatureRenewInterval == 0 {
		opts.SignatureRenewInterval = -1
	}
	srv, err := live.New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	reg := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	reg(live.Register(srv, live.Component[Counter]{
		Name:     "Counter",
		Actions:  []string{"increment", "decrement", "add", "fail", "shout", "boom"},
		Writable: []string{"count"},
	}))
	reg(live.Register(srv, live.Component[TodoList]{Name: "TodoList", Actions: []string{"addTodo"}, Singleton: true}))
	reg(live.Register(srv, live.Component[Profile]{
		Name:     "Profile",
		Actions:  []string{"touch"},
		Writable: []string{"name", "settings", "tags"},
		New: func() *Profile {
			return &Profile{Name: "anon", Settings: map[string]any{"theme": "dark"}, Role: "user"}
		},
	}))
	reg(live.Register(srv, live.Component[Shape]{
		Name:    "Shape",
		Actions: []string{"clearTitle", "setTitle", "setB", "dropC", "addD", "push", "same", "get"},
		New:     newShape,
	}))
	reg(live.Register(srv, live.Component[Warm]{Name: "Warm"}))
	reg(live.Register(srv, live.Component[Broken]{Name: "Broken"}))
	reg(live.Register(srv, live.Component[Guarded]{Name: "Guarded", Actions: []string{"run", "cancelMe", "reject", "rejectPre"}}))
	reg(live.Register(srv, live.Component[Bare]{Name: "Bare"}))
	reg(live.Register(srv, live.Component[Widget]{Name: "WidgetComponent"}))
	reg(live.Register(srv, live.Component[Herald]{Name: "Herald", Actions: []string{"bump"}}))
	reg(live.Register(srv, live.Component[Beacon]{Name: "Beacon", Actions: []string{"signal"}, Singleton: true}))
	hs := httptest.NewServer(srv)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			tb.Errorf("shutdown: %v", err)
		}
		hs.Close()
	})
	return srv, hs
}

// ---- assertions over decoded messages ----

// decodeJSON decodes want (test-authored JSON) into a generic value.
func decodeJSON(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return v
}

// wantJSON asserts that got equals the JSON value want exactly (same keys,
// same values; key order is irrelevant).
func wantJSON(t *testing.T, got any, want string) {
	t.Helper()
	if d := cmp.Diff(decodeJSON(t, want), got); d != "" {
		t.Fatalf("message mismatch (-want +got):\n%s\ngot: %s", d, jsonText(got))
	}
}

// wantMsg is wantJSON ignoring the top-level "seq" number, which it checks
// is present exactly on STATE_UPDATE and STATE_DELTA.
func wantMsg(t *testing.T, got map[string]any, want string) {
	t.Helper()
	typ := got["type"]
	seq, hasSeq := got["seq"]
	if typ == "STATE_UPDATE" || typ == "STATE_DELTA" {
		if !hasSeq {
			t.Fatalf("%v without seq: %s", typ, jsonText(got))
		}
		if _, ok := seq.(float64); !ok {
			t.Fatalf("seq is %T, want a number: %s", seq, jsonText(got))
		}
		got = without(got, "seq")
	} else if hasSeq {
		t.Fatalf("unexpected seq on %v: %s", typ, jsonText(got))
	}
	wantJSON(t, got, want)
}

// without returns a shallow copy of m minus keys.
func without(m map[string]any, keys ...string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if !slices.Contains(keys, k) {
			out[k] = v
		}
	}
	return out
}

// wantKeys asserts that m has exactly the given keys.
func wantKeys(t *testing.T, m map[string]any, keys ...string) {
	t.Helper()
	got := make([]string, 0, len(m))
	for k := range m {
		got = append(got, k)
	}
	slices.Sort(got)
	want := slices.Sorted(slices.Values(keys))
	if !slices.Equal(got, want) {
		t.Fatalf("keys %v, want %v in %s", got, want, jsonText(m))
	}
}

// obj asserts v is a JSON object and returns it.
func obj(t *testing.T, v any, what string) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s is %T (%v), want an object", what, v, v)
	}
	return m
}

// str asserts v is a JSON string and returns it.
func str(t *testing.T, v any, what string) string {
	t.Helper()
	s, ok := v.(string)
	if !ok {
		t.Fatalf("%s is %T (%v), want a string", what, v, v)
	}
	return s
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return string(b)
}

// checkSignedState asserts the SignedState wire shape (spec §3.1) with
// version and componentId, verifies its HMAC with confSecret (spec §3.2) and
// that data is the state plus __componentName, and returns it.
func checkSignedState(t *testing.T, v any, id, name string, version int, state any) map[string]any {
	t.Helper()
	ss := obj(t, v, "signedState")
	keys := []string{"data", "signature", "timestamp", "version", "componentId", "compressed", "encrypted"}
	nonce, hasNonce := ss["nonce"] // optional (spec §3.1, §3.5)
	if hasNonce {
		keys = append(keys, "nonce")
	}
	wantKeys(t, ss, keys...)
	data := str(t, ss["data"], "signedState.data")
	sig := str(t, ss["signature"], "signedState.signature")
	if !hexSigRE.MatchString(sig) {
		t.Fatalf("signature %q: want 64 lowercase hex", sig)
	}
	ts, ok := ss["timestamp"].(float64)
	if !ok || ts <= 0 || ts != float64(int64(ts)) {
		t.Fatalf("timestamp %v: want a positive integer number of ms", ss["timestamp"])
	}
	if ss["version"] != float64(version) {
		t.Fatalf("version %v, want %d", ss["version"], version)
	}
	if ss["componentId"] != id {
		t.Fatalf("signedState.componentId %v, want %s", ss["componentId"], id)
	}
	if ss["compressed"] != false || ss["encrypted"] != false {
		t.Fatalf("compressed/encrypted %v/%v, want false/false for a small state", ss["compressed"], ss["encrypted"])
	}
	payload := fmt.Sprintf("%s:%d:%s:%s", id, version, strconv.FormatInt(int64(ts), 10), data)
	if hasNonce {
		n := str(t, nonce, "signedState.nonce")
		checkNonce(t, n)
		payload += ":" + n
	}
	mac := hmac.New(sha256.New, []byte(confSecret))
	mac.Write([]byte(payload))
	if want := hex.EncodeToString(mac.Sum(nil)); sig != want {
		t.Fatalf("signature %s does not verify (want %s over %q)", sig, want, payload)
	}
	suffix := `,"__componentName":` + strconv.Quote(name) + `}`
	if !strings.HasSuffix(data, suffix) {
		t.Fatalf("data %s: want __componentName appended last (%s)", data, suffix)
	}
	var decoded map[string]any
	if err := json.Unmarshal([]byte(data), &decoded); err != nil {
		t.Fatalf("data is not JSON: %v", err)
	}
	if d := cmp.Diff(state, without(decoded, "__componentName")); d != "" {
		t.Fatalf("signed data differs from the state (-state +data):\n%s", d)
	}
	return ss
}

// nonceRE matches the nonce format <ts>:<16 hex rand>:<16 hex mac> (spec §3.5).
var nonceRE = regexp.MustCompile(`^([0-9]+):([0-9a-f]{16}):([0-9a-f]{16})$`)

// checkNonce asserts the nonce format and its MAC (the first 16 hex chars
// of HMAC-SHA256(key, ts+":"+rand)).
func checkNonce(t *testing.T, nonce string) {
	t.Helper()
	m := nonceRE.FindStringSubmatch(nonce)
	if m == nil {
		t.Fatalf("nonce %q: want <ts>:<16 hex>:<16 hex>", nonce)
	}
	mac := hmac.New(sha256.New, []byte(confSecret))
	mac.Write([]byte(m[1] + ":" + m[2]))
	if want := hex.EncodeToString(mac.Sum(nil))[:16]; m[3] != want {
		t.Fatalf("nonce %q: mac %s, want %s", nonce, m[3], want)
	}
}

// ---- client-side helpers ----

// sendRaw writes one frame of the given text.
func (rc *rawClient) sendRaw(s string) {
	rc.t.Helper()
	rc.send([]byte(s))
}

// propertyUpdate sends a PROPERTY_UPDATE.
func (rc *rawClient) propertyUpdate(id, prop string, value any, reqID string) {
	rc.t.Helper()
	rc.send(map[string]any{"type": "PROPERTY_UPDATE", "componentId": id, "property": prop,
		"payload": map[string]any{"value": value}, "requestId": reqID})
}

// unmount sends a COMPONENT_UNMOUNT.
func (rc *rawClient) unmount(id, reqID string) {
	rc.t.Helper()
	rc.send(map[string]any{"type": "COMPONENT_UNMOUNT", "componentId": id, "requestId": reqID})
}

// frame returns the i-th raw text frame.
func (rc *rawClient) frame(i int) string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.frames[i]
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// applyDelta merges delta into state with the client rules of spec §2.7:
// null at depth 0 is stored, null deeper deletes, objects merge
// recursively, everything else (arrays included) replaces.
func applyDelta(state, delta map[string]any, depth int) {
	for k, v := range delta {
		if v == nil {
			if depth == 0 {
				state[k] = nil
			} else {
				delete(state, k)
			}
			continue
		}
		if dv, ok := v.(map[string]any); ok {
			if sv, ok := state[k].(map[string]any); ok {
				applyDelta(sv, dv, depth+1)
				continue
			}
			fresh := map[string]any{}
			applyDelta(fresh, dv, depth+1)
			state[k] = fresh
			continue
		}
		state[k] = v
	}
}

// deepCopy copies a decoded JSON value.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = deepCopy(e)
		}
		return s
	}
	return v
}
