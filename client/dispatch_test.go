package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDeltaApplication(t *testing.T) {
	tests := []struct {
		name   string
		start  map[string]any
		frames []string // for component "c1"
		want   map[string]any
	}{
		{
			name:   "top-level null is a value",
			start:  map[string]any{"a": 1.0, "b": "x"},
			frames: []string{`{"type":"STATE_DELTA","componentId":"c1","payload":{"delta":{"a":null}}}`},
			want:   map[string]any{"a": nil, "b": "x"},
		},
		{
			name:   "nested null deletes the key",
			start:  map[string]any{"user": map[string]any{"name": "ann", "age": 3.0}},
			frames: []string{`{"type":"STATE_DELTA","componentId":"c1","payload":{"delta":{"user":{"age":null}}}}`},
			want:   map[string]any{"user": map[string]any{"name": "ann"}},
		},
		{
			name:   "deep merge keeps siblings",
			start:  map[string]any{"a": map[string]any{"b": map[string]any{"c": 1.0, "d": 2.0}, "e": 3.0}},
			frames: []string{`{"type":"STATE_DELTA","componentId":"c1","payload":{"delta":{"a":{"b":{"c":10,"d":null}}}}}`},
			want:   map[string]any{"a": map[string]any{"b": map[string]any{"c": 10.0}, "e": 3.0}},
		},
		{
			name:   "arrays replace whole",
			start:  map[string]any{"list": []any{1.0, 2.0, 3.0}},
			frames: []string{`{"type":"STATE_DELTA","componentId":"c1","payload":{"delta":{"list":[4]}}}`},
			want:   map[string]any{"list": []any{4.0}},
		},
		{
			name:   "a fresh object drops its nested nulls",
			start:  map[string]any{"x": 1.0},
			frames: []string{`{"type":"STATE_DELTA","componentId":"c1","payload":{"delta":{"obj":{"keep":true,"gone":null}}}}`},
			want:   map[string]any{"x": 1.0, "obj": map[string]any{"keep": true}},
		},
		{
			name:  "STATE_UPDATE replaces the mirror, later delta applies",
			start: map[string]any{"count": 1.0, "extra": "dropped"},
			frames: []string{
				`{"type":"STATE_UPDATE","componentId":"c1","payload":{"state":{"count":5,"nested":{"a":1}}}}`,
				`{"type":"STATE_DELTA","componentId":"c1","payload":{"delta":{"nested":{"b":2}}}}`,
			},
			want: map[string]any{"count": 5.0, "nested": map[string]any{"a": 1.0, "b": 2.0}},
		},
		{
			name:  "STATE_REHYDRATED replaces the mirror",
			start: map[string]any{"count": 1.0, "extra": "dropped"},
			frames: []string{
				`{"type":"STATE_REHYDRATED","componentId":"c1","payload":{"state":{"count":7},"signedState":{"v":1},"oldComponentId":"c0","newComponentId":"c1"}}`,
			},
			want: map[string]any{"count": 7.0},
		},
		{
			name:  "STATE_UPDATE with only a signed state keeps the mirror",
			start: map[string]any{"count": 1.0},
			frames: []string{
				`{"type":"STATE_UPDATE","componentId":"c1","payload":{"signedState":{"v":1}}}`,
			},
			want: map[string]any{"count": 1.0},
		},
		{
			name:  "stale and duplicate deltas are dropped by seq",
			start: map[string]any{},
			frames: []string{
				`{"type":"STATE_UPDATE","componentId":"c1","seq":4,"payload":{"state":{"n":4,"log":[]}}}`,
				`{"type":"STATE_DELTA","componentId":"c1","seq":4,"payload":{"delta":{"n":-1}}}`,
				`{"type":"STATE_DELTA","componentId":"c1","seq":5,"payload":{"delta":{"n":5}}}`,
				`{"type":"STATE_DELTA","componentId":"c1","seq":5,"payload":{"delta":{"n":-2}}}`,
				`{"type":"STATE_DELTA","componentId":"c1","seq":3,"payload":{"delta":{"n":-3}}}`,
				`{"type":"STATE_DELTA","componentId":"c1","seq":9,"payload":{"delta":{"n":9}}}`,
			},
			want: map[string]any{"n": 9.0, "log": []any{}},
		},
		{
			name:  "array frame applies in order",
			start: map[string]any{},
			frames: []string{`[{"type":"STATE_DELTA","componentId":"c1","payload":{"delta":{"n":1}}},` +
				`{"type":"STATE_DELTA","componentId":"c1","payload":{"delta":{"n":2}}}]`},
			want: map[string]any{"n": 2.0},
		},
		{
			name:  "malformed payloads are ignored",
			start: map[string]any{"n": 1.0},
			frames: []string{
				`{"type":"STATE_DELTA","componentId":"c1","payload":{"delta":[1,2]}}`,
				`{"type":"STATE_DELTA","componentId":"c1","payload":"nope"}`,
				`{"type":"STATE_DELTA","componentId":"c1"}`,
				`{"type":"STATE_UPDATE","componentId":"c1","payload":{"state":5}}`,
				`{"type":"STATE_DELTA","componentId":"c1","payload":{"delta":{"n":`,
				`[{"type":"STATE_DELTA","componentId":"c1","payload":{"delta":{"n":9}}},`,
				`[1,"x",null,[]]`,
			},
			want: map[string]any{"n": 1.0},
		},
		{
			name:   "other components are untouched",
			start:  map[string]any{"n": 1.0},
			frames: []string{`{"type":"STATE_DELTA","componentId":"c2","payload":{"delta":{"n":2}}}`},
			want:   map[string]any{"n": 1.0},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestClient(t)
			m := addComponent(c, "c1", tc.start)
			for _, f := range tc.frames {
				c.dispatchText(nil, []byte(f))
			}
			if diff := cmp.Diff(tc.want, m.State()); diff != "" {
				t.Errorf("state (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStateCopiesAreIndependent(t *testing.T) {
	c := newTestClient(t)
	m := addComponent(c, "c1", map[string]any{"obj": map[string]any{"a": 1.0}, "list": []any{1.0}})
	var got []map[string]any
	remove := m.OnChange(func(state, delta map[string]any) {
		state["obj"].(map[string]any)["a"] = "mutated"
		delta["list"].([]any)[0] = "mutated"
		got = append(got, delta)
	})
	c.dispatchText(nil, []byte(`{"type":"STATE_DELTA","componentId":"c1","payload":{"delta":{"list":[2]}}}`))
	s := m.State()
	s["obj"].(map[string]any)["a"] = "mutated too"
	want := map[string]any{"obj": map[string]any{"a": 1.0}, "list": []any{2.0}}
	if diff := cmp.Diff(want, m.State()); diff != "" {
		t.Errorf("mirror changed through a copy (-want +got):\n%s", diff)
	}
	remove()
	remove() // idempotent
	c.dispatchText(nil, []byte(`{"type":"STATE_DELTA","componentId":"c1","payload":{"delta":{"x":1}}}`))
	if len(got) != 1 {
		t.Errorf("OnChange called %d times, want 1 (removed before the second delta)", len(got))
	}
	var v struct {
		Obj  map[string]int `json:"obj"`
		List []int          `json:"list"`
		X    int            `json:"x"`
	}
	if err := m.Decode(&v); err != nil || v.Obj["a"] != 1 || !slices.Equal(v.List, []int{2}) || v.X != 1 {
		t.Errorf("Decode = %+v, %v", v, err)
	}
	if err := m.Decode(new(int)); err == nil {
		t.Error("Decode into an int succeeded")
	}
}

func TestSignatureAndSeq(t *testing.T) {
	c := newTestClient(t)
	m := addComponent(c, "c1", nil)
	steps := []struct {
		frame      string
		wantSigned string
		wantSeq    uint64
	}{
		{`{"type":"STATE_UPDATE","componentId":"c1","seq":3,"payload":{"state":{},"signedState":{"v":1}}}`, `{"v":1}`, 3},
		{`{"type":"STATE_DELTA","componentId":"c1","seq":4,"payload":{"delta":{"a":1}}}`, `{"v":1}`, 4},
		{`{"type":"STATE_SIGNATURE","componentId":"c1","seq":99,"payload":{"signedState":{"v":2}}}`, `{"v":2}`, 4},
		{`{"type":"STATE_DELTA","componentId":"c1","payload":{"delta":{"a":2}}}`, `{"v":2}`, 4},
		{`{"type":"STATE_DELTA","componentId":"c1","seq":-5,"payload":{"delta":{"a":3}}}`, `{"v":2}`, 4},
		{`{"type":"STATE_DELTA","componentId":"c1","seq":"6","payload":{"delta":{"a":3}}}`, `{"v":2}`, 4},
		{`{"type":"STATE_UPDATE","componentId":"c1","seq":7,"payload":{"state":{},"signedState":null}}`, `{"v":2}`, 7},
		{`{"type":"STATE_SIGNATURE","componentId":"c1","payload":{}}`, `{"v":2}`, 7},
	}
	for i, s := range steps {
		c.dispatchText(nil, []byte(s.frame))
		if got := string(m.SignedState()); got != s.wantSigned {
			t.Errorf("step %d: SignedState = %s, want %s", i, got, s.wantSigned)
		}
		if got := m.Seq(); got != s.wantSeq {
			t.Errorf("step %d: Seq = %d, want %d", i, got, s.wantSeq)
		}
	}
}

func TestBroadcastSkipsSender(t *testing.T) {
	c := newTestClient(t)
	got := map[string]string{}
	for _, id := range []string{"a", "b", "c"} {
		addComponent(c, id, nil).On("BROADCAST", func(p json.RawMessage) { got[id] += string(p) })
	}
	c.dispatchText(nil, []byte(`{"type":"BROADCAST","componentId":"a","payload":{"type":"chat","data":1},"room":"r"}`))
	c.dispatchText(nil, []byte(`{"type":"BROADCAST","componentId":"system","payload":{"type":"notice","data":2}}`))
	want := map[string]string{
		"a": `{"type":"notice","data":2}`,
		"b": `{"type":"chat","data":1}{"type":"notice","data":2}`,
		"c": `{"type":"chat","data":1}{"type":"notice","data":2}`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("broadcast deliveries (-want +got):\n%s", diff)
	}
}

func TestEventHandlers(t *testing.T) {
	c := newTestClient(t)
	m := addComponent(c, "c1", nil)
	var got []string
	removeErr := m.On("ERROR", func(p json.RawMessage) { got = append(got, "ERROR "+string(p)) })
	m.On("chat:message", func(p json.RawMessage) { got = append(got, "chat "+string(p)) })
	var all []string
	c.OnMessage(func(msg Message) { all = append(all, msg.Type) })
	c.dispatchText(nil, []byte(`{"type":"ERROR","componentId":"c1","payload":{"action":"onMount","error":"Mount initialization failed: x"}}`))
	c.dispatchText(nil, []byte(`{"type":"ERROR","componentId":"c1","error":"Component not found"}`))
	c.dispatchText(nil, []byte(`{"type":"chat:message","componentId":"c1","payload":{"text":"hi"}}`))
	c.dispatchText(nil, []byte(`{"type":"ERROR","error":"Rate limit exceeded"}`)) // no componentId: OnMessage only
	removeErr()
	c.dispatchText(nil, []byte(`{"type":"ERROR","componentId":"c1","error":"after removal"}`))
	want := []string{
		`ERROR {"action":"onMount","error":"Mount initialization failed: x"}`,
		`ERROR {"error":"Component not found"}`,
		`chat {"text":"hi"}`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("On deliveries (-want +got):\n%s", diff)
	}
	if want := []string{"ERROR", "ERROR", "chat:message", "ERROR", "ERROR"}; !slices.Equal(all, want) {
		t.Errorf("OnMessage saw %v, want %v", all, want)
	}
}

func TestBinaryRouting(t *testing.T) {
	c := newTestClient(t)
	m := addComponent(c, "c1", nil)
	var comp, client []string
	m.OnBinary(func(p []byte) { comp = append(comp, string(p)) })
	c.OnBinary(func(p []byte) { client = append(client, string(p)) })
	for _, f := range []string{
		"\x01\x02c1payload", // to c1
		"\x01\x02c1",        // empty payload to c1
		"\x01\x02c2zzz",     // unknown component: dropped
		"\x01\x09c1",        // id runs past the end: dropped
		"\x01\x02",          // too short
		"\x02",              // too short
		"",                  // empty
		"\x02\x02c1room",    // room event → client
		"\x03\x02c1state",   // room state → client
		"\x7fxyz",           // unknown type → client
	} {
		c.dispatchBinary([]byte(f))
	}
	if want := []string{"payload", ""}; !slices.Equal(comp, want) {
		t.Errorf("component binary = %q, want %q", comp, want)
	}
	if want := []string{"\x02\x02c1room", "\x03\x02c1state", "\x7fxyz"}; !slices.Equal(client, want) {
		t.Errorf("client binary = %q, want %q", client, want)
	}
}

func TestUnroutedBuffer(t *testing.T) {
	delta := func(id string, n int) []byte {
		return fmt.Appendf(nil, `{"type":"STATE_DELTA","componentId":%q,"payload":{"delta":{"n":%d}}}`, id, n)
	}
	t.Run("33rd message for one id is dropped", func(t *testing.T) {
		c := newTestClient(t)
		for i := range unroutedPerComponent + 1 {
			c.dispatchText(nil, delta("late", i))
		}
		msgs := c.register(&Component{c: c, id: "late", state: map[string]any{}})
		if len(msgs) != unroutedPerComponent {
			t.Fatalf("replayed %d messages, want %d", len(msgs), unroutedPerComponent)
		}
		if !strings.Contains(string(msgs[len(msgs)-1].Raw), fmt.Sprintf(`"n":%d`, unroutedPerComponent-1)) {
			t.Errorf("last kept message = %s, want n=%d", msgs[len(msgs)-1].Raw, unroutedPerComponent-1)
		}
	})
	t.Run("65th id is dropped until others expire", func(t *testing.T) {
		c := newTestClient(t)
		clk := &fakeClock{t: time.Unix(1000, 0)}
		c.now = clk.now
		for i := range unroutedComponents + 1 {
			c.dispatchText(nil, delta(fmt.Sprint("id", i), i))
		}
		if got := c.register(&Component{c: c, id: fmt.Sprint("id", unroutedComponents), state: map[string]any{}}); len(got) != 0 {
			t.Errorf("65th id kept %d messages", len(got))
		}
		if got := c.register(&Component{c: c, id: "id0", state: map[string]any{}}); len(got) != 1 {
			t.Errorf("first id kept %d messages, want 1", len(got))
		}
		// id0's queue was taken, so there is room for exactly one new id.
		c.dispatchText(nil, delta("new1", 1))
		c.dispatchText(nil, delta("new2", 2))
		if got := len(c.register(&Component{c: c, id: "new2", state: map[string]any{}})); got != 0 {
			t.Errorf("new2 kept %d messages while the buffer was full", got)
		}
		clk.advance(unroutedTTL + time.Millisecond)
		c.dispatchText(nil, delta("new3", 3))
		if got := len(c.register(&Component{c: c, id: "new3", state: map[string]any{}})); got != 1 {
			t.Errorf("new3 kept %d messages after the others expired, want 1", got)
		}
	})
	t.Run("TTL", func(t *testing.T) {
		c := newTestClient(t)
		clk := &fakeClock{t: time.Unix(1000, 0)}
		c.now = clk.now
		c.dispatchText(nil, delta("x", 1))
		clk.advance(unroutedTTL)
		c.dispatchText(nil, delta("x", 2))
		clk.advance(time.Millisecond)
		m := addComponent(c, "x", nil) // message 1 is 5.001 s old, message 2 1 ms
		if got := m.State()["n"]; got != 2.0 {
			t.Errorf("n = %v, want 2 (only the fresh message replayed)", got)
		}
		c.dispatchText(nil, delta("y", 1))
		clk.advance(unroutedTTL)
		if got := len(c.register(&Component{c: c, id: "y", state: map[string]any{}})); got != 1 {
			t.Errorf("a message exactly TTL old was dropped (kept %d)", got)
		}
	})
	t.Run("full queue frees expired slots", func(t *testing.T) {
		c := newTestClient(t)
		clk := &fakeClock{t: time.Unix(1000, 0)}
		c.now = clk.now
		for i := range unroutedPerComponent {
			c.dispatchText(nil, delta("z", i))
		}
		clk.advance(unroutedTTL + 1)
		c.dispatchText(nil, delta("z", 100))
		msgs := c.register(&Component{c: c, id: "z", state: map[string]any{}})
		if len(msgs) != 1 || !strings.Contains(string(msgs[0].Raw), `"n":100`) {
			t.Errorf("replayed %d messages, want only n=100", len(msgs))
		}
		if c.unrouted.bytes != 0 {
			t.Errorf("buffer accounts %d bytes after everything was taken", c.unrouted.bytes)
		}
	})
	t.Run("byte budget", func(t *testing.T) {
		var b unroutedBuffer
		now := time.Unix(1000, 0)
		big := Message{ComponentID: "x", Raw: make([]byte, unroutedMaxBytes+1)}
		if b.add(big, now) {
			t.Error("a message above the byte budget was kept")
		}
		half := Message{ComponentID: "x", Raw: make([]byte, unroutedMaxBytes/2)}
		first, second := b.add(half, now), b.add(half, now)
		if !first || !second {
			t.Fatal("messages within the budget were dropped")
		}
		if b.add(Message{ComponentID: "y", Raw: []byte("{}")}, now) {
			t.Error("a message past the budget was kept")
		}
		if !b.add(Message{ComponentID: "y", Raw: []byte("{}")}, now.Add(unroutedTTL+1)) {
			t.Error("expired messages did not free the budget")
		}
	})
	t.Run("messages without componentId are not buffered", func(t *testing.T) {
		c := newTestClient(t)
		c.dispatchText(nil, []byte(`{"type":"ERROR","error":"Rate limit exceeded"}`))
		c.dispatchText(nil, []byte(`{"type":"ACTION_RESPONSE","success":false,"requestId":"unknown1"}`))
		if len(c.unrouted.queues) != 0 {
			t.Errorf("buffered %d queues", len(c.unrouted.queues))
		}
	})
}

func TestParseMessage(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		in   string
		ok   bool
		want Message
	}{
		{
			in: `{"type":"ACTION_RESPONSE","componentId":"c","success":true,"result":{"x":1},"requestId":"r","seq":4}`,
			ok: true, want: Message{Type: "ACTION_RESPONSE", ComponentID: "c", RequestID: "r", Success: &yes, Result: json.RawMessage(`{"x":1}`), Seq: 4, hasSeq: true},
		},
		{
			in: ` {"type":"ERROR","success":false,"error":"boom","payload":null} `,
			ok: true, want: Message{Type: "ERROR", Success: &no, Error: "boom"},
		},
		{
			// Fields of the wrong JSON type are ignored, the rest is kept.
			in: `{"type":"X","requestId":7,"componentId":{"a":1},"success":"yes","error":[1],"payload":{"p":1}}`,
			ok: true, want: Message{Type: "X", Payload: json.RawMessage(`{"p":1}`)},
		},
		{in: `{"type":"X","success":null,"seq":1.5}`, ok: true, want: Message{Type: "X"}},
		{in: `{"type":"X","seq":18446744073709551616}`, ok: true, want: Message{Type: "X"}},
		{in: `[]`},
		{in: `null`},
		{in: `"str"`},
		{in: `{"type":`},
		{in: ``},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := parseMessage([]byte(tc.in))
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if !ok {
				return
			}
			got.Raw = nil
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(Message{})); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
		})
	}
}

func TestErrorType(t *testing.T) {
	e := &Error{Message: "COMPONENT_REHYDRATION_REQUIRED:abc", Type: "ACTION_RESPONSE"}
	if got := e.Error(); got != "client: ACTION_RESPONSE: COMPONENT_REHYDRATION_REQUIRED:abc" {
		t.Errorf("Error() = %q", got)
	}
	wrapped := fmt.Errorf("outer: %w", e)
	if !errors.Is(wrapped, ErrRehydrationRequired) {
		t.Error("wrapped rehydration error does not match ErrRehydrationRequired")
	}
	if errors.Is(&Error{Message: "AUTH_DENIED: no"}, ErrRehydrationRequired) {
		t.Error("AUTH_DENIED matches ErrRehydrationRequired")
	}
}
