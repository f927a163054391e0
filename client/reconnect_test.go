package client

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"
)

// stateRec records the states a client reports.
type stateRec struct {
	mu   sync.Mutex
	list []ConnState
	ch   chan struct{}
}

func newStateRec() *stateRec { return &stateRec{ch: make(chan struct{}, 1)} }

func (r *stateRec) record(s ConnState) {
	r.mu.Lock()
	r.list = append(r.list, s)
	r.mu.Unlock()
	select {
	case r.ch <- struct{}{}:
	default:
	}
}

func (r *stateRec) get() []ConnState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]ConnState(nil), r.list...)
}

// wait waits until s was reported n times, failing after testTimeout.
func (r *stateRec) wait(t *testing.T, s ConnState, n int) {
	t.Helper()
	r.waitUntil(t, s, n, time.After(testTimeout))
}

// waitUntil waits until s was reported n times or deadline fires (nil:
// never, for synctest bubbles whose fake clock must not be raced).
func (r *stateRec) waitUntil(t *testing.T, s ConnState, n int, deadline <-chan time.Time) {
	t.Helper()
	for {
		got := 0
		for _, x := range r.get() {
			if x == s {
				got++
			}
		}
		if got >= n {
			return
		}
		select {
		case <-r.ch:
		case <-deadline:
			t.Fatalf("state %v reported %d times, want %d (states %v)", s, got, n, r.get())
		}
	}
}

// recoveries records a component's recovery events.
type recoveries struct {
	mu  sync.Mutex
	evs []Recovery
}

func (r *recoveries) record(ev Recovery) {
	r.mu.Lock()
	r.evs = append(r.evs, ev)
	r.mu.Unlock()
}

func (r *recoveries) get() []Recovery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Recovery(nil), r.evs...)
}

// fastOpts returns options that reconnect within milliseconds and record
// states in rec.
func fastOpts(rec *stateRec) *Options {
	return &Options{
		Reconnect:     ReconnectOptions{InitialDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond},
		OnStateChange: rec.record,
	}
}

// answerMount replies to the COMPONENT_MOUNT req like the server: the
// snapshot (with "seq":0 when withSeq), then the reply.
func answerMount(p *peer, req map[string]any, id, state, signed string, withSeq bool) {
	p.t.Helper()
	seq := ""
	if withSeq {
		seq = `,"seq":0`
	}
	p.send(`{"type":"STATE_UPDATE","componentId":"%s"%s,"payload":{"state":%s,"signedState":%s}}`, id, seq, state, signed)
	p.send(`{"type":"MESSAGE_RESPONSE","componentId":"%s","success":true,"result":{"componentId":"%s","initialState":%s,"signedState":%s},"requestId":"%s"}`,
		str(req, "componentId"), id, state, signed, str(req, "requestId"))
}

// answerResume replies to a COMPONENT_REHYDRATE req as a resume of id.
func answerResume(p *peer, req map[string]any, id string) {
	p.t.Helper()
	p.send(`{"type":"COMPONENT_REHYDRATED","componentId":"%s","success":true,"result":{"newComponentId":"%s"},"requestId":"%s"}`, id, id, str(req, "requestId"))
}

// expectType reads the next message and checks its type.
func expectType(p *peer, typ string) map[string]any {
	p.t.Helper()
	m := p.read()
	if got := str(m, "type"); got != typ {
		p.t.Errorf("server read %v, want a %s", m, typ)
	}
	return m
}

func mustMount(t *testing.T, c *Client, opts ...MountOption) *Component {
	t.Helper()
	m, err := c.Mount(testCtx(t), "Counter", map[string]any{"count": 5}, opts...)
	if err != nil {
		t.Fatalf("Mount: %v", err)
	}
	return m
}

func TestReconnectResumesWithMissedDeltas(t *testing.T) {
	drop, begin := make(chan struct{}), make(chan struct{})
	rehydrate := make(chan map[string]any, 1)
	call := make(chan map[string]any, 1)
	url := startServer(t, serverConfig{}, func(p *peer) {
		switch p.n {
		case 1:
			answerMount(p, p.read(), counterID, `{"count":0}`, `{"v":1}`, true)
			<-begin // the test has registered its handlers
			p.send(`{"type":"STATE_DELTA","componentId":"%s","seq":1,"payload":{"delta":{"count":1}}}`, counterID)
			p.send(`{"type":"STATE_DELTA","componentId":"%s","seq":2,"payload":{"delta":{"count":2}}}`, counterID)
			p.send(`{"type":"STATE_SIGNATURE","componentId":"%s","payload":{"signedState":{"v":2}}}`, counterID)
			<-drop
			_ = p.conn.CloseNow()
		case 2:
			req := p.read()
			rehydrate <- req
			// A duplicate of an applied delta, then the missed ones.
			p.send(`{"type":"STATE_DELTA","componentId":"%s","seq":2,"payload":{"delta":{"count":-100}}}`, counterID)
			p.send(`[{"type":"STATE_DELTA","componentId":"%s","seq":3,"payload":{"delta":{"count":3}}},`+
				`{"type":"STATE_DELTA","componentId":"%[1]s","seq":5,"payload":{"delta":{"count":5}}}]`, counterID)
			p.send(`{"type":"STATE_SIGNATURE","componentId":"%s","payload":{"signedState":{"v":3}}}`, counterID)
			answerResume(p, req, counterID)
			m := expectType(p, "CALL_ACTION")
			call <- m
			p.send(`{"type":"ACTION_RESPONSE","componentId":"%s","success":true,"result":6,"requestId":"%s"}`, counterID, str(m, "requestId"))
		}
	})
	states := newStateRec()
	c := dial(t, url, fastOpts(states))
	signed := make(chan struct{}, 4)
	c.OnMessage(func(m Message) {
		if m.Type == "STATE_SIGNATURE" {
			select {
			case signed <- struct{}{}:
			default:
			}
		}
	})
	m := mustMount(t, c, WithRoom("lobby"))
	var recs recoveries
	m.OnRecover(recs.record)
	var changes []map[string]any
	m.OnChange(func(state, _ map[string]any) { changes = append(changes, state) })
	close(begin)
	<-signed

	close(drop)
	states.wait(t, StateConnected, 2)
	req := <-rehydrate
	want := map[string]any{
		"type":           "COMPONENT_REHYDRATE",
		"componentId":    counterID,
		"payload":        map[string]any{"component": "Counter", "signedState": map[string]any{"v": 2.0}, "room": "lobby", "seq": 2.0},
		"requestId":      str(req, "requestId"),
		"expectResponse": true,
	}
	if diff := cmp.Diff(want, req); diff != "" {
		t.Errorf("COMPONENT_REHYDRATE (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Recovery{{Kind: RecoveryResumed, OldID: counterID, NewID: counterID}}, recs.get()); diff != "" {
		t.Errorf("recovery events (-want +got):\n%s", diff)
	}
	if got := m.State(); got["count"] != 5.0 || m.Seq() != 5 || m.ID() != counterID || string(m.SignedState()) != `{"v":3}` {
		t.Errorf("after resume: state %v seq %d id %s signed %s", got, m.Seq(), m.ID(), m.SignedState())
	}
	wantCounts := []any{1.0, 2.0, 3.0, 5.0} // the stale duplicate was dropped
	var gotCounts []any
	for _, s := range changes {
		gotCounts = append(gotCounts, s["count"])
	}
	if diff := cmp.Diff(wantCounts, gotCounts); diff != "" {
		t.Errorf("mirror counts seen by OnChange (-want +got):\n%s", diff)
	}
	if res, err := m.Call(testCtx(t), "increment", nil); err != nil || string(res) != "6" {
		t.Fatalf("Call after resume = %s, %v", res, err)
	}
	if got := str(<-call, "componentId"); got != counterID {
		t.Errorf("CALL_ACTION to %q, want %q", got, counterID)
	}
	wantStates := []ConnState{StateConnecting, StateConnected, StateReconnecting, StateConnected}
	if diff := cmp.Diff(wantStates, states.get()); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
	if c.Err() != nil || c.State() != StateConnected {
		t.Errorf("Err %v State %v", c.Err(), c.State())
	}
}

func TestReconnectRehydratesWithNewID(t *testing.T) {
	const newID = "NewId_01"
	drop, begin := make(chan struct{}), make(chan struct{})
	rehydrate := make(chan map[string]any, 1)
	call := make(chan map[string]any, 1)
	url := startServer(t, serverConfig{}, func(p *peer) {
		switch p.n {
		case 1:
			answerMount(p, p.read(), counterID, `{"count":0}`, `{"v":1}`, false)
			<-begin
			p.send(`{"type":"STATE_DELTA","componentId":"%s","payload":{"delta":{"count":4}}}`, counterID)
			p.send(`{"type":"STATE_SIGNATURE","componentId":"%s","payload":{"signedState":{"v":2}}}`, counterID)
			<-drop
			_ = p.conn.CloseNow()
		case 2:
			req := p.read()
			rehydrate <- req
			p.send(`{"type":"STATE_REHYDRATED","componentId":"%s","payload":{"state":{"count":4},"signedState":{"v":3},"oldComponentId":"%s","newComponentId":"%[1]s"},"seq":0}`, newID, counterID)
			p.send(`{"type":"STATE_DELTA","componentId":"%s","seq":1,"payload":{"delta":{"count":7}}}`, newID)
			p.send(`{"type":"COMPONENT_REHYDRATED","componentId":"%s","success":true,"result":{"newComponentId":"%s"},"requestId":"%s"}`, counterID, newID, str(req, "requestId"))
			// A late message for the retired id reaches nobody.
			p.send(`{"type":"STATE_DELTA","componentId":"%s","payload":{"delta":{"count":-1}}}`, counterID)
			m := expectType(p, "CALL_ACTION")
			call <- m
			p.send(`{"type":"ACTION_RESPONSE","componentId":"%s","success":true,"result":8,"requestId":"%s"}`, newID, str(m, "requestId"))
		}
	})
	states := newStateRec()
	c := dial(t, url, fastOpts(states))
	signed := make(chan struct{}, 1)
	c.OnMessage(func(m Message) {
		if m.Type == "STATE_SIGNATURE" {
			select {
			case signed <- struct{}{}:
			default:
			}
		}
	})
	m := mustMount(t, c)
	var recs recoveries
	m.OnRecover(recs.record)
	var deltas []map[string]any
	m.OnChange(func(_, d map[string]any) { deltas = append(deltas, d) })
	close(begin)
	<-signed
	close(drop)
	states.wait(t, StateConnected, 2)

	payload := (<-rehydrate)["payload"].(map[string]any)
	if _, ok := payload["seq"]; ok {
		t.Errorf("payload.seq sent although the server never numbered messages: %v", payload)
	}
	if diff := cmp.Diff(map[string]any{"v": 2.0}, payload["signedState"]); diff != "" {
		t.Errorf("signed state sent (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Recovery{{Kind: RecoveryRehydrated, OldID: counterID, NewID: newID}}, recs.get()); diff != "" {
		t.Errorf("recovery events (-want +got):\n%s", diff)
	}
	if m.ID() != newID || m.Seq() != 1 || string(m.SignedState()) != `{"v":3}` {
		t.Errorf("after rehydrate: id %s seq %d signed %s", m.ID(), m.Seq(), m.SignedState())
	}
	res, err := m.Call(testCtx(t), "increment", nil)
	if err != nil || string(res) != "8" {
		t.Fatalf("Call after rehydrate = %s, %v", res, err)
	}
	if got := str(<-call, "componentId"); got != newID {
		t.Errorf("CALL_ACTION to %q, want the new id %q", got, newID)
	}
	if got := m.State()["count"]; got != 7.0 {
		t.Errorf("count = %v, want 7 (the retired id's late delta ignored)", got)
	}
	// STATE_REHYDRATED replaced the mirror (nil delta), then a delta.
	want := []map[string]any{{"count": 4.0}, nil, {"count": 7.0}}
	if diff := cmp.Diff(want, deltas); diff != "" {
		t.Errorf("OnChange deltas (-want +got):\n%s", diff)
	}
}

func TestReconnectFallsBackToMount(t *testing.T) {
	const newID = "Mounted2"
	tests := []struct {
		name   string
		signed string // in the first mount's messages
		refuse string // frame answering COMPONENT_REHYDRATE, %[1]s old id, %[2]s requestId; "" = none expected
		want   func(t *testing.T, err error)
	}{
		{
			name:   "signature refused",
			signed: `{"v":1}`,
			refuse: `{"type":"COMPONENT_REHYDRATED","componentId":"%[1]s","success":false,"error":"State expired","requestId":"%[2]s"}`,
			want: func(t *testing.T, err error) {
				var se *Error
				if !errors.As(err, &se) || se.Message != "State expired" || se.Type != "COMPONENT_REHYDRATED" {
					t.Errorf("Recovery.Err = %v, want the server's refusal", err)
				}
			},
		},
		{
			name:   "server without rehydration",
			signed: `{"v":1}`,
			refuse: `{"type":"ERROR","componentId":"%[1]s","error":"COMPONENT_REHYDRATE is not supported by this server","requestId":"%[2]s"}`,
			want: func(t *testing.T, err error) {
				var se *Error
				if !errors.As(err, &se) || se.Type != "ERROR" {
					t.Errorf("Recovery.Err = %v, want the ERROR reply", err)
				}
			},
		},
		{
			name:   "no signed state",
			signed: `null`,
			want: func(t *testing.T, err error) {
				if !errors.Is(err, errNoSignedState) {
					t.Errorf("Recovery.Err = %v, want errNoSignedState", err)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			drop := make(chan struct{})
			mounts := make(chan map[string]any, 2)
			url := startServer(t, serverConfig{}, func(p *peer) {
				switch p.n {
				case 1:
					req := p.read()
					mounts <- req
					answerMount(p, req, counterID, `{"count":5}`, tc.signed, true)
					p.send(`{"type":"STATE_DELTA","componentId":"%s","seq":1,"payload":{"delta":{"count":6}}}`, counterID)
					<-drop
					_ = p.conn.CloseNow()
				case 2:
					req := p.read()
					if tc.refuse != "" {
						if str(req, "type") != "COMPONENT_REHYDRATE" {
							t.Errorf("first recovery message %v, want COMPONENT_REHYDRATE", req)
						}
						p.send(tc.refuse, counterID, str(req, "requestId"))
						req = p.read()
					}
					mounts <- req
					answerMount(p, req, newID, `{"count":5}`, `{"v":9}`, true)
				}
			})
			states := newStateRec()
			c := dial(t, url, fastOpts(states))
			m := mustMount(t, c, WithRoom("r1"), WithDebugLabel("left"))
			var recs recoveries
			m.OnRecover(recs.record)
			if err := m.WaitFor(testCtx(t), func(s map[string]any) bool { return s["count"] == 6.0 }); err != nil {
				t.Fatal(err)
			}
			close(drop)
			states.wait(t, StateConnected, 2)

			first, again := <-mounts, <-mounts
			delete(first, "requestId")
			delete(again, "requestId")
			if diff := cmp.Diff(first, again); diff != "" {
				t.Errorf("fresh mount differs from the original (-first +again):\n%s", diff)
			}
			evs := recs.get()
			if len(evs) != 1 || evs[0].Kind != RecoveryRemounted || evs[0].OldID != counterID || evs[0].NewID != newID {
				t.Fatalf("recovery events %+v, want one remount %s → %s", evs, counterID, newID)
			}
			tc.want(t, evs[0].Err)
			if m.ID() != newID || m.Seq() != 0 || string(m.SignedState()) != `{"v":9}` {
				t.Errorf("after remount: id %s seq %d signed %s", m.ID(), m.Seq(), m.SignedState())
			}
			if diff := cmp.Diff(map[string]any{"count": 5.0}, m.State()); diff != "" {
				t.Errorf("state after remount (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReconnectRecoveryFailed(t *testing.T) {
	drop := make(chan struct{})
	url := startServer(t, serverConfig{}, func(p *peer) {
		switch p.n {
		case 1:
			answerMount(p, p.read(), counterID, `{"count":0}`, `{"v":1}`, true)
			<-drop
			_ = p.conn.CloseNow()
		case 2:
			req := expectType(p, "COMPONENT_REHYDRATE")
			p.send(`{"type":"COMPONENT_REHYDRATED","componentId":"%s","success":false,"error":"Invalid signature","requestId":"%s"}`, counterID, str(req, "requestId"))
			req = expectType(p, "COMPONENT_MOUNT")
			p.send(`{"type":"MESSAGE_RESPONSE","componentId":"mount-Counter","success":false,"error":"Component 'Counter' not found","requestId":"%s"}`, str(req, "requestId"))
		}
	})
	states := newStateRec()
	c := dial(t, url, fastOpts(states))
	m := mustMount(t, c)
	var recs recoveries
	m.OnRecover(recs.record)
	close(drop)
	states.wait(t, StateConnected, 2)

	evs := recs.get()
	var se *Error
	if len(evs) != 1 || evs[0].Kind != RecoveryFailed || evs[0].OldID != counterID || evs[0].NewID != "" ||
		!errors.As(evs[0].Err, &se) || se.Message != "Component 'Counter' not found" {
		t.Fatalf("recovery events %+v, want one failure with the mount error", evs)
	}
	_, err := m.Call(testCtx(t), "increment", nil)
	if !errors.Is(err, ErrUnmounted) || !strings.Contains(err.Error(), "Component 'Counter' not found") {
		t.Errorf("Call on a lost component = %v, want ErrUnmounted with the reason", err)
	}
	if err := m.WaitFor(testCtx(t), func(map[string]any) bool { return false }); !errors.Is(err, ErrUnmounted) {
		t.Errorf("WaitFor on a lost component = %v", err)
	}
	if err := m.Unmount(testCtx(t)); !errors.Is(err, ErrUnmounted) {
		t.Errorf("Unmount on a lost component = %v", err)
	}
}

func TestCallRetriedWithTheSameKey(t *testing.T) {
	keys := make(chan string, 2)
	url := startServer(t, serverConfig{}, func(p *peer) {
		switch p.n {
		case 1:
			answerMount(p, p.read(), counterID, `{"count":0}`, `{"v":1}`, true)
			keys <- str(expectType(p, "CALL_ACTION"), "idempotencyKey")
			_ = p.conn.CloseNow() // the action's outcome is lost
		case 2:
			req := expectType(p, "COMPONENT_REHYDRATE")
			p.send(`{"type":"STATE_SIGNATURE","componentId":"%s","payload":{"signedState":{"v":2}}}`, counterID)
			answerResume(p, req, counterID)
			m := expectType(p, "CALL_ACTION")
			keys <- str(m, "idempotencyKey")
			if str(m, "componentId") != counterID || str(m, "action") != "increment" {
				t.Errorf("retry %v", m)
			}
			p.send(`{"type":"ACTION_RESPONSE","componentId":"%s","success":true,"result":"first outcome","requestId":"%s"}`, counterID, str(m, "requestId"))
		}
	})
	c := dial(t, url, fastOpts(newStateRec()))
	m := mustMount(t, c)
	res, err := m.Call(testCtx(t), "increment", map[string]int{"by": 1})
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	if string(res) != `"first outcome"` {
		t.Errorf("result %s", res)
	}
	k1, k2 := <-keys, <-keys
	if k1 == "" || k1 != k2 {
		t.Errorf("idempotency keys %q then %q, want the same non-empty key", k1, k2)
	}
}

func TestCallOutcomeUnknownAfterRecreation(t *testing.T) {
	const newID = "NewId_02"
	next := make(chan string, 1)
	url := startServer(t, serverConfig{}, func(p *peer) {
		switch p.n {
		case 1:
			answerMount(p, p.read(), counterID, `{"count":0}`, `{"v":1}`, true)
			expectType(p, "CALL_ACTION")
			_ = p.conn.CloseNow()
		case 2:
			req := expectType(p, "COMPONENT_REHYDRATE")
			p.send(`{"type":"STATE_REHYDRATED","componentId":"%s","payload":{"state":{"count":0},"signedState":{"v":2},"oldComponentId":"%s","newComponentId":"%[1]s"},"seq":0}`, newID, counterID)
			p.send(`{"type":"COMPONENT_REHYDRATED","componentId":"%s","success":true,"result":{"newComponentId":"%s"},"requestId":"%s"}`, counterID, newID, str(req, "requestId"))
			next <- str(p.read(), "type") // the call is not sent again
		}
	})
	states := newStateRec()
	c := dial(t, url, fastOpts(states))
	m := mustMount(t, c)
	_, err := m.Call(testCtx(t), "increment", nil)
	if !errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("Call error %v, want ErrOutcomeUnknown", err)
	}
	if err := c.Send(testCtx(t), map[string]string{"type": "MARK"}); err != nil {
		t.Fatal(err)
	}
	if got := <-next; got != "MARK" {
		t.Errorf("server got %s after the recovery, want only MARK", got)
	}
}

func TestRequestsWaitForRecovery(t *testing.T) {
	const newID = "NewId_03"
	drop, release := make(chan struct{}), make(chan struct{})
	recovering := make(chan struct{})
	calls := make(chan map[string]any, 2)
	url := startServer(t, serverConfig{}, func(p *peer) {
		switch p.n {
		case 1:
			answerMount(p, p.read(), counterID, `{"count":0}`, `{"v":1}`, true)
			<-drop
			_ = p.conn.CloseNow()
		case 2:
			req := expectType(p, "COMPONENT_REHYDRATE")
			close(recovering)
			<-release
			p.send(`{"type":"STATE_REHYDRATED","componentId":"%s","payload":{"state":{"count":0},"signedState":{"v":2},"oldComponentId":"%s","newComponentId":"%[1]s"},"seq":0}`, newID, counterID)
			p.send(`{"type":"COMPONENT_REHYDRATED","componentId":"%s","success":true,"result":{"newComponentId":"%s"},"requestId":"%s"}`, counterID, newID, str(req, "requestId"))
			for range 2 { // a CALL_ACTION and a PROPERTY_UPDATE, in any order
				m := p.read()
				calls <- m
				reply := "MESSAGE_RESPONSE"
				if str(m, "type") == "CALL_ACTION" {
					reply = "ACTION_RESPONSE"
				}
				p.send(`{"type":"%s","componentId":"%s","success":true,"result":1,"requestId":"%s"}`, reply, newID, str(m, "requestId"))
			}
		}
	})
	states := newStateRec()
	c := dial(t, url, fastOpts(states))
	m := mustMount(t, c)
	close(drop)
	<-recovering
	if got := c.State(); got != StateReconnecting {
		t.Fatalf("State() during recovery = %v", got)
	}
	errs := make(chan error, 2)
	go func() {
		_, err := m.Call(testCtx(t), "increment", nil)
		errs <- err
	}()
	go func() {
		errs <- m.Set(testCtx(t), "count", 3)
	}()
	close(release)
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("request issued during recovery: %v", err)
		}
	}
	// Both were sent after the recovery, to the id it produced.
	for range 2 {
		if got := str(<-calls, "componentId"); got != newID {
			t.Errorf("request to %q, want %q", got, newID)
		}
	}
}

func TestDisableIdempotency(t *testing.T) {
	url := startServer(t, serverConfig{}, func(p *peer) {
		switch p.n {
		case 1:
			answerMount(p, p.read(), counterID, `{"count":0}`, `{"v":1}`, true)
			m := expectType(p, "CALL_ACTION")
			if _, ok := m["idempotencyKey"]; ok {
				t.Errorf("idempotencyKey sent with DisableIdempotency: %v", m)
			}
			_ = p.conn.CloseNow()
		case 2:
			answerResume(p, expectType(p, "COMPONENT_REHYDRATE"), counterID)
		}
	})
	states := newStateRec()
	opts := fastOpts(states)
	opts.DisableIdempotency = true
	c := dial(t, url, opts)
	m := mustMount(t, c)
	_, err := m.Call(testCtx(t), "increment", nil)
	if !errors.Is(err, ErrClosed) || websocket.CloseStatus(err) != -1 {
		t.Fatalf("Call error %v, want ErrClosed without close status", err)
	}
	states.wait(t, StateConnected, 2) // the client itself reconnects
}

func TestNoReconnectAfterCloseCode4003(t *testing.T) {
	url := startServer(t, serverConfig{}, func(p *peer) {
		if p.n > 1 {
			t.Errorf("the client reconnected after 4003 (connection %d)", p.n)
		}
		_ = p.conn.Close(4003, "Origin not allowed")
	})
	states := newStateRec()
	c := dial(t, url, fastOpts(states))
	<-c.Done()
	if got := websocket.CloseStatus(c.Err()); got != 4003 || !errors.Is(c.Err(), ErrClosed) {
		t.Fatalf("Err() = %v, want ErrClosed with status 4003", c.Err())
	}
	states.wait(t, StateClosed, 1)
	want := []ConnState{StateConnecting, StateConnected, StateClosed}
	if diff := cmp.Diff(want, states.get()); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
	if _, err := c.Mount(testCtx(t), "Counter", nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Mount after 4003 = %v, want ErrClosed", err)
	}
}

func TestInFlightRequestsFailPromptlyOnLoss(t *testing.T) {
	url := startServer(t, serverConfig{}, func(p *peer) {
		switch p.n {
		case 1:
			answerMount(p, p.read(), counterID, `{"count":0}`, `{"v":1}`, true)
			p.read()
			p.read()
			_ = p.conn.Close(websocket.StatusGoingAway, "restart")
		case 2:
			answerResume(p, expectType(p, "COMPONENT_REHYDRATE"), counterID)
		}
	})
	states := newStateRec()
	opts := fastOpts(states)
	opts.RequestTimeout = time.Minute // only a prompt failure ends the requests in time
	c := dial(t, url, opts)
	m := mustMount(t, c)
	errs := make(chan error, 2)
	go func() { errs <- m.Set(context.Background(), "count", 1) }()
	go func() {
		_, err := c.Request(context.Background(), map[string]any{"type": "ROOM_JOIN", "componentId": counterID, "roomId": "r"})
		errs <- err
	}()
	for range 2 {
		err := <-errs
		if !errors.Is(err, ErrClosed) || websocket.CloseStatus(err) != websocket.StatusGoingAway {
			t.Errorf("in-flight request error %v, want ErrClosed with status 1001", err)
		}
	}
	states.wait(t, StateConnected, 2)
	select {
	case <-c.Done():
		t.Fatal("Done closed although the client reconnected")
	default:
	}
	if c.Err() != nil {
		t.Errorf("Err() = %v after reconnecting", c.Err())
	}
}

func TestUnmountWhileReconnecting(t *testing.T) {
	const id2 = "Second_2"
	drop, release := make(chan struct{}), make(chan struct{})
	recovered := make(chan []string, 1)
	url := startServer(t, serverConfig{noEstablish: true}, func(p *peer) {
		switch p.n {
		case 1:
			p.send(`{"type":"CONNECTION_ESTABLISHED","connectionId":"Cn0nn-_1"}`)
			answerMount(p, p.read(), counterID, `{"count":0}`, `{"v":1}`, true)
			answerMount(p, p.read(), id2, `{"count":0}`, `{"v":1}`, true)
			<-drop
			_ = p.conn.CloseNow()
		case 2:
			<-release
			p.send(`{"type":"CONNECTION_ESTABLISHED","connectionId":"Cn0nn-_2"}`)
			var got []string
			for {
				m := p.read()
				if str(m, "type") != "COMPONENT_REHYDRATE" {
					got = append(got, str(m, "type"))
					break
				}
				got = append(got, str(m, "componentId"))
				answerResume(p, m, str(m, "componentId"))
			}
			recovered <- got
		}
	})
	states := newStateRec()
	c := dial(t, url, fastOpts(states))
	m1, m2 := mustMount(t, c), mustMount(t, c)
	var recs1, recs2 recoveries
	m1.OnRecover(recs1.record)
	m2.OnRecover(recs2.record)
	close(drop)
	states.wait(t, StateReconnecting, 1)
	if err := m2.Unmount(testCtx(t)); err != nil {
		t.Fatalf("Unmount while reconnecting = %v", err)
	}
	close(release)
	states.wait(t, StateConnected, 2)
	if err := c.Send(testCtx(t), map[string]string{"type": "MARK"}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{counterID, "MARK"}, <-recovered); diff != "" {
		t.Errorf("server received (-want +got):\n%s", diff)
	}
	if n1, n2 := len(recs1.get()), len(recs2.get()); n1 != 1 || n2 != 0 {
		t.Errorf("recovery events: %d for the mounted component, %d for the unmounted one; want 1 and 0", n1, n2)
	}
	if _, err := m2.Call(testCtx(t), "x", nil); !errors.Is(err, ErrUnmounted) {
		t.Errorf("Call on the unmounted handle = %v", err)
	}
}

func TestUsedSignedStateIsNotReplayed(t *testing.T) {
	const newID = "Mounted3"
	drop := make(chan struct{})
	third := make(chan string, 1)
	url := startServer(t, serverConfig{}, func(p *peer) {
		switch p.n {
		case 1:
			answerMount(p, p.read(), counterID, `{"count":0}`, `{"v":1}`, true)
			<-drop
			_ = p.conn.CloseNow()
		case 2:
			// The server consumed the signed state, then the connection died
			// before the reply (and before a fresh STATE_SIGNATURE).
			expectType(p, "COMPONENT_REHYDRATE")
			_ = p.conn.CloseNow()
		case 3:
			req := p.read()
			third <- str(req, "type")
			answerMount(p, req, newID, `{"count":5}`, `{"v":7}`, true)
		}
	})
	states := newStateRec()
	c := dial(t, url, fastOpts(states))
	m := mustMount(t, c)
	var recs recoveries
	m.OnRecover(recs.record)
	close(drop)
	states.wait(t, StateConnected, 2)
	if got := <-third; got != "COMPONENT_MOUNT" {
		t.Errorf("third connection started with %s, want COMPONENT_MOUNT (no replay of a used signed state)", got)
	}
	evs := recs.get()
	if len(evs) != 1 || evs[0].Kind != RecoveryRemounted || !errors.Is(evs[0].Err, errSignedStateUsed) || m.ID() != newID {
		t.Errorf("recovery events %+v (id %s), want one remount because the signed state was used", evs, m.ID())
	}
}

func TestCloseFromStateCallback(t *testing.T) {
	url := startServer(t, serverConfig{}, func(p *peer) {
		if p.n == 1 {
			_ = p.conn.CloseNow()
		}
	})
	var c *Client
	closed := make(chan error, 1)
	ready := make(chan struct{})
	opts := &Options{
		Reconnect: ReconnectOptions{InitialDelay: time.Millisecond},
		OnStateChange: func(s ConnState) {
			if s == StateReconnecting {
				<-ready
				closed <- c.Close()
			}
		},
	}
	c = dial(t, url, opts)
	close(ready)
	if err := <-closed; err != nil {
		t.Errorf("Close from OnStateChange = %v", err)
	}
	<-c.Done()
	if websocket.CloseStatus(c.Err()) != websocket.StatusNormalClosure || c.State() != StateClosed {
		t.Errorf("Err %v State %v, want closed by the client", c.Err(), c.State())
	}
}

func TestReconnectOptionsValidation(t *testing.T) {
	tests := []struct {
		name string
		in   ReconnectOptions
		want ReconnectOptions
		bad  bool
	}{
		{name: "defaults", want: ReconnectOptions{InitialDelay: time.Second, MaxDelay: 16 * time.Second, Jitter: 0.5}},
		{name: "large initial delay raises the default cap", in: ReconnectOptions{InitialDelay: time.Minute},
			want: ReconnectOptions{InitialDelay: time.Minute, MaxDelay: time.Minute, Jitter: 0.5}},
		{name: "no jitter", in: ReconnectOptions{Jitter: -1, MaxAttempts: 3},
			want: ReconnectOptions{InitialDelay: time.Second, MaxDelay: 16 * time.Second, Jitter: -1, MaxAttempts: 3}},
		{name: "negative initial delay", in: ReconnectOptions{InitialDelay: -1}, bad: true},
		{name: "negative max delay", in: ReconnectOptions{MaxDelay: -1}, bad: true},
		{name: "max below initial", in: ReconnectOptions{InitialDelay: 2 * time.Second, MaxDelay: time.Second}, bad: true},
		{name: "jitter above 1", in: ReconnectOptions{Jitter: 1.5}, bad: true},
		{name: "negative attempts", in: ReconnectOptions{MaxAttempts: -1}, bad: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := (&Options{Reconnect: tc.in}).withDefaults()
			if tc.bad {
				if err == nil {
					t.Fatalf("accepted %+v", tc.in)
				}
				if _, err := Dial(testCtx(t), "ws://127.0.0.1:1/", &Options{Reconnect: tc.in}); err == nil {
					t.Fatal("Dial accepted invalid options")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got.Reconnect); diff != "" {
				t.Errorf("defaults (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStringers(t *testing.T) {
	for v, want := range map[interface{ String() string }]string{
		StateConnecting:    "connecting",
		StateConnected:     "connected",
		StateReconnecting:  "reconnecting",
		StateClosed:        "closed",
		ConnState(9):       "ConnState(9)",
		RecoveryResumed:    "resumed",
		RecoveryRehydrated: "rehydrated",
		RecoveryRemounted:  "remounted",
		RecoveryFailed:     "failed",
		RecoveryKind(0):    "RecoveryKind(0)",
	} {
		if got := v.String(); got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
}

func TestUnansweredRecoveryStartsOver(t *testing.T) {
	const newID = "Mounted4"
	drop := make(chan struct{})
	url := startServer(t, serverConfig{}, func(p *peer) {
		switch p.n {
		case 1:
			answerMount(p, p.read(), counterID, `{"count":0}`, `{"v":1}`, true)
			<-drop
			_ = p.conn.CloseNow()
		case 2:
			expectType(p, "COMPONENT_REHYDRATE") // never answered
		case 3:
			answerMount(p, expectType(p, "COMPONENT_MOUNT"), newID, `{"count":5}`, `{"v":2}`, true)
		}
	})
	states := newStateRec()
	opts := fastOpts(states)
	opts.RequestTimeout = 100 * time.Millisecond
	c := dial(t, url, opts)
	m := mustMount(t, c)
	var recs recoveries
	m.OnRecover(recs.record)
	close(drop)
	states.wait(t, StateConnected, 2)
	evs := recs.get()
	if len(evs) != 1 || evs[0].Kind != RecoveryRemounted || m.ID() != newID {
		t.Fatalf("recovery events %+v (id %s), want one remount on the third connection", evs, m.ID())
	}
	want := []ConnState{StateConnecting, StateConnected, StateReconnecting, StateConnected}
	if diff := cmp.Diff(want, states.get()); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
}

func TestUnmountDuringRecoveryDropsTheServerInstance(t *testing.T) {
	drop, release := make(chan struct{}), make(chan struct{})
	recovering := make(chan struct{})
	unmounted := make(chan map[string]any, 1)
	url := startServer(t, serverConfig{}, func(p *peer) {
		switch p.n {
		case 1:
			answerMount(p, p.read(), counterID, `{"count":0}`, `{"v":1}`, true)
			<-drop
			_ = p.conn.CloseNow()
		case 2:
			req := expectType(p, "COMPONENT_REHYDRATE")
			close(recovering)
			<-release
			answerResume(p, req, counterID)
			unmounted <- p.read()
		}
	})
	states := newStateRec()
	c := dial(t, url, fastOpts(states))
	m := mustMount(t, c)
	var recs recoveries
	m.OnRecover(recs.record)
	close(drop)
	<-recovering
	if err := m.Unmount(testCtx(t)); err != nil {
		t.Fatalf("Unmount during recovery = %v", err)
	}
	close(release)
	got := <-unmounted
	if str(got, "type") != "COMPONENT_UNMOUNT" || str(got, "componentId") != counterID {
		t.Errorf("after the resume the server got %v, want COMPONENT_UNMOUNT of %s", got, counterID)
	}
	states.wait(t, StateConnected, 2)
	if evs := recs.get(); len(evs) != 0 {
		t.Errorf("recovery events %+v for an unmounted component", evs)
	}
}
