package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"

	"github.com/live-go/live/internal/protocol"
)

func TestDialEstablished(t *testing.T) {
	hdr := make(chan http.Header, 1)
	url := startServer(t, serverConfig{}, func(p *peer) { hdr <- p.req.Header })
	c := dial(t, url, &Options{Header: http.Header{
		"Cookie":        {"session=abc"},
		"Authorization": {"Bearer tok"},
		"Origin":        {"https://app.example"},
	}})
	if got := c.ConnectionID(); got != "Cn0nn-_1" {
		t.Errorf("ConnectionID() = %q, want %q", got, "Cn0nn-_1")
	}
	h := <-hdr
	for k, want := range map[string]string{"Cookie": "session=abc", "Authorization": "Bearer tok", "Origin": "https://app.example"} {
		if got := h.Get(k); got != want {
			t.Errorf("upgrade header %s = %q, want %q", k, got, want)
		}
	}
	if c.Err() != nil {
		t.Errorf("Err() = %v on an open connection", c.Err())
	}
}

func TestDialFailures(t *testing.T) {
	t.Run("origin rejected with 4003", func(t *testing.T) {
		url := startServer(t, serverConfig{noEstablish: true}, func(p *peer) {
			_ = p.conn.Close(4003, "Origin not allowed")
		})
		_, err := Dial(testCtx(t), url, nil)
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("Dial error = %v, want ErrClosed", err)
		}
		if got := websocket.CloseStatus(err); got != 4003 {
			t.Errorf("close status = %d, want 4003", got)
		}
	})
	t.Run("no CONNECTION_ESTABLISHED before ctx ends", func(t *testing.T) {
		accepted := make(chan struct{})
		url := startServer(t, serverConfig{noEstablish: true}, func(*peer) { close(accepted) })
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go func() {
			<-accepted // the handshake is done; cancel the wait for the first frame
			cancel()
		}()
		_, err := Dial(ctx, url, nil)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Dial error = %v, want context.Canceled", err)
		}
	})
	t.Run("not a websocket endpoint", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		defer srv.Close()
		_, err := Dial(testCtx(t), "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
		if err == nil || errors.Is(err, ErrClosed) {
			t.Fatalf("Dial to a 404 endpoint = %v, want a handshake error", err)
		}
	})
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"negative timeout", Options{RequestTimeout: -1}},
		{"negative size", Options{MaxMessageSize: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Dial(testCtx(t), "ws://127.0.0.1:1/", &tc.opts); err == nil {
				t.Fatal("Dial accepted invalid options")
			}
		})
	}
}

func TestMountReplaysMessagesSentBeforeReply(t *testing.T) {
	tests := []struct {
		name string
		// before are the frames sent after the mount request and before the
		// reply, with %[1]s standing for the component id.
		before      []string
		result      string // the reply's result, %[1]s = id
		wantState   map[string]any
		wantSigned  string
		wantSeq     uint64
		wantPayload map[string]any // the mount request's payload
		opts        []MountOption
		props       any
	}{
		{
			name:        "transcript 3.1: STATE_UPDATE then reply",
			before:      []string{`{"type":"STATE_UPDATE","componentId":"%[1]s","payload":{"state":{"count":0,"lastAction":null},"signedState":{"signature":"s-update"}}}`},
			result:      `{"componentId":"%[1]s","initialState":{"count":0,"lastAction":null},"signedState":{"signature":"s-reply"}}`,
			wantState:   map[string]any{"count": 0.0, "lastAction": nil},
			wantSigned:  `{"signature":"s-update"}`,
			wantPayload: map[string]any{"component": "Counter", "props": map[string]any{}},
		},
		{
			name: "transcript 3.5: array frame with a delta before the snapshot",
			before: []string{`[{"type":"STATE_DELTA","componentId":"%[1]s","payload":{"delta":{"viewers":1}}},` +
				`{"type":"STATE_UPDATE","componentId":"%[1]s","payload":{"state":{"count":0,"lastUser":null,"viewers":1},"signedState":{"signature":"s1"}}}]`},
			result:      `{"componentId":"%[1]s","initialState":{"count":0,"lastUser":null,"viewers":1},"signedState":{"signature":"s1"}}`,
			wantState:   map[string]any{"count": 0.0, "lastUser": nil, "viewers": 1.0},
			wantSigned:  `{"signature":"s1"}`,
			opts:        []MountOption{WithRoom("shared-counter"), WithDebugLabel("left pane")},
			props:       map[string]any{"viewers": 0},
			wantPayload: map[string]any{"component": "Counter", "props": map[string]any{"viewers": 0.0}, "room": "shared-counter", "debugLabel": "left pane"},
		},
		{
			name: "onMount deltas (nested delete) after the snapshot",
			before: []string{
				`{"type":"STATE_UPDATE","componentId":"%[1]s","seq":1,"payload":{"state":{"count":0,"items":{"a":1,"b":2}},"signedState":{"signature":"v1"}}}`,
				`{"type":"STATE_DELTA","componentId":"%[1]s","seq":2,"payload":{"delta":{"count":5,"items":{"b":null}}}}`,
			},
			result:      `{"componentId":"%[1]s","initialState":{"count":5,"items":{"a":1}},"signedState":{"signature":"v1"}}`,
			wantState:   map[string]any{"count": 5.0, "items": map[string]any{"a": 1.0}},
			wantSigned:  `{"signature":"v1"}`,
			wantSeq:     2,
			wantPayload: map[string]any{"component": "Counter", "props": map[string]any{}},
		},
		{
			name:        "no side-effect messages: reply only",
			result:      `{"componentId":"%[1]s","initialState":{"count":7},"signedState":{"signature":"only"}}`,
			wantState:   map[string]any{"count": 7.0},
			wantSigned:  `{"signature":"only"}`,
			wantPayload: map[string]any{"component": "Counter", "props": map[string]any{}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gotReq := make(chan map[string]any, 1)
			url := startServer(t, serverConfig{}, func(p *peer) {
				m := p.read()
				gotReq <- m
				for _, f := range tc.before {
					p.send(f, counterID)
				}
				p.send(`{"type":"MESSAGE_RESPONSE","componentId":"mount-Counter","success":true,"result":`+tc.result+`,"requestId":"%[2]s"}`, counterID, str(m, "requestId"))
			})
			c := dial(t, url, nil)
			m, err := c.Mount(testCtx(t), "Counter", tc.props, tc.opts...)
			if err != nil {
				t.Fatalf("Mount: %v", err)
			}
			req := <-gotReq
			if got := str(req, "type"); got != "COMPONENT_MOUNT" {
				t.Errorf("request type = %q", got)
			}
			if got := str(req, "componentId"); got != "mount-Counter" {
				t.Errorf("request componentId = %q, want mount-Counter", got)
			}
			if req["expectResponse"] != true {
				t.Errorf("request expectResponse = %v, want true", req["expectResponse"])
			}
			if id := str(req, "requestId"); !isProtocolID(id) {
				t.Errorf("requestId %q is not an 8-character protocol id", id)
			}
			if diff := cmp.Diff(tc.wantPayload, req["payload"]); diff != "" {
				t.Errorf("request payload (-want +got):\n%s", diff)
			}
			if m.ID() != counterID || m.Name() != "Counter" {
				t.Errorf("ID, Name = %q, %q", m.ID(), m.Name())
			}
			if diff := cmp.Diff(tc.wantState, m.State()); diff != "" {
				t.Errorf("state (-want +got):\n%s", diff)
			}
			if got := string(m.SignedState()); got != tc.wantSigned {
				t.Errorf("SignedState = %s, want %s", got, tc.wantSigned)
			}
			if m.Seq() != tc.wantSeq {
				t.Errorf("Seq = %d, want %d", m.Seq(), tc.wantSeq)
			}
		})
	}
}

func isProtocolID(s string) bool {
	if len(s) != 8 {
		return false
	}
	for i := range len(s) {
		if !containsByte(protocol.IDAlphabet, s[i]) {
			return false
		}
	}
	return true
}

func containsByte(s string, b byte) bool {
	for i := range len(s) {
		if s[i] == b {
			return true
		}
	}
	return false
}

func TestMountFailure(t *testing.T) {
	url := startServer(t, serverConfig{}, func(p *peer) {
		m := p.read()
		p.send(`{"type":"MESSAGE_RESPONSE","componentId":"mount-Nope","success":false,"error":"Component 'Nope' not found","requestId":"%s"}`, str(m, "requestId"))
		m = p.read()
		p.send(`{"type":"MESSAGE_RESPONSE","componentId":"mount-Bad","success":true,"result":{"initialState":{}},"requestId":"%s"}`, str(m, "requestId"))
	})
	c := dial(t, url, nil)
	_, err := c.Mount(testCtx(t), "Nope", nil)
	var se *Error
	if !errors.As(err, &se) || se.Message != "Component 'Nope' not found" || se.Type != "MESSAGE_RESPONSE" {
		t.Fatalf("Mount error = %#v, want *Error with the server message", err)
	}
	if _, err := c.Mount(testCtx(t), "Bad", nil); err == nil || errors.As(err, &se) {
		t.Fatalf("Mount with a reply lacking componentId: error = %v, want a local decode error", err)
	}
}

func TestCallArrayFramesAndEmitsBeforeReply(t *testing.T) {
	url := startServer(t, serverConfig{}, func(p *peer) {
		mountCounter(p)
		m := p.read()
		// Transcript 3.1: a one-element array frame, then the reply.
		p.send(`[{"type":"STATE_DELTA","componentId":"%s","payload":{"delta":{"count":1,"lastAction":"increment"}}},{"type":"counter:bumped","componentId":"%[1]s","payload":{"by":1}}]`, counterID)
		p.send(`{"type":"ACTION_RESPONSE","componentId":"%s","success":true,"result":{"success":true,"count":1},"requestId":"%s"}`, counterID, str(m, "requestId"))
		key1 := str(m, "idempotencyKey")
		m = p.read()
		key2 := str(m, "idempotencyKey")
		if len(key1) < 16 || len(key2) < 16 || key1 == key2 {
			t.Errorf("idempotency keys %q, %q: want two distinct random keys", key1, key2)
		}
		if diff := cmp.Diff(map[string]any{"type": "CALL_ACTION", "componentId": counterID, "action": "add", "payload": map[string]any{"n": 2.0}, "requestId": str(m, "requestId"), "expectResponse": true, "idempotencyKey": key2}, m); diff != "" {
			t.Errorf("CALL_ACTION frame (-want +got):\n%s", diff)
		}
		p.send(`{"type":"STATE_DELTA","componentId":"%s","payload":{"delta":{"count":3}}}`, counterID)
		p.send(`{"type":"ACTION_RESPONSE","componentId":"%s","success":true,"result":null,"requestId":"%s"}`, counterID, str(m, "requestId"))
	})
	c := dial(t, url, nil)
	var mu sync.Mutex
	var seen []string
	c.OnMessage(func(m Message) {
		mu.Lock()
		seen = append(seen, m.Type)
		mu.Unlock()
	})
	m, err := c.Mount(testCtx(t), "Counter", nil)
	if err != nil {
		t.Fatal(err)
	}
	var bumped json.RawMessage
	m.On("counter:bumped", func(p json.RawMessage) { bumped = p })
	var deltas []map[string]any
	m.OnChange(func(_, d map[string]any) { deltas = append(deltas, d) })

	res, err := m.Call(testCtx(t), "increment", nil)
	if err != nil {
		t.Fatalf("Call: %v", err)
	}
	if string(res) != `{"success":true,"count":1}` {
		t.Errorf("result = %s", res)
	}
	// Side effects arrive before the reply and are applied before Call returns.
	if got := m.State(); got["count"] != 1.0 || got["lastAction"] != "increment" {
		t.Errorf("state after Call = %v", got)
	}
	if string(bumped) != `{"by":1}` {
		t.Errorf("custom emit payload = %s", bumped)
	}
	if _, err := m.Call(testCtx(t), "add", map[string]int{"n": 2}); err != nil {
		t.Fatalf("second Call: %v", err)
	}
	if got := m.State()["count"]; got != 3.0 {
		t.Errorf("count = %v, want 3", got)
	}
	want := []map[string]any{{"count": 1.0, "lastAction": "increment"}, {"count": 3.0}}
	if diff := cmp.Diff(want, deltas); diff != "" {
		t.Errorf("OnChange deltas (-want +got):\n%s", diff)
	}
	mu.Lock()
	defer mu.Unlock()
	wantSeen := []string{"STATE_UPDATE", "MESSAGE_RESPONSE", "STATE_DELTA", "counter:bumped", "ACTION_RESPONSE", "STATE_DELTA", "ACTION_RESPONSE"}
	if diff := cmp.Diff(wantSeen, seen); diff != "" {
		t.Errorf("OnMessage order (-want +got):\n%s", diff)
	}
}

func TestFireDoesNotWait(t *testing.T) {
	fired := make(chan struct{})
	url := startServer(t, serverConfig{}, func(p *peer) {
		mountCounter(p)
		m := p.read()
		if diff := cmp.Diff(map[string]any{"type": "CALL_ACTION", "componentId": counterID, "action": "increment", "payload": map[string]any{}}, m); diff != "" {
			t.Errorf("fire frame (-want +got):\n%s", diff)
		}
		<-fired // Fire has returned before the server sends anything
		p.send(`{"type":"STATE_DELTA","componentId":"%s","payload":{"delta":{"count":3}}}`, counterID)
	})
	c := dial(t, url, nil)
	m, err := c.Mount(testCtx(t), "Counter", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Fire(testCtx(t), "increment", nil); err != nil {
		t.Fatalf("Fire: %v", err)
	}
	close(fired)
	if err := m.WaitFor(testCtx(t), func(s map[string]any) bool { return s["count"] == 3.0 }); err != nil {
		t.Fatalf("WaitFor: %v", err)
	}
	c.mu.Lock()
	n := len(c.pending)
	c.mu.Unlock()
	if n != 0 {
		t.Errorf("Fire left %d pending requests", n)
	}
}

func TestCallFailures(t *testing.T) {
	tests := []struct {
		name      string
		frames    []string // %[1]s = component id, %[2]s = requestId
		wantMsg   string
		wantType  string
		rehydrate bool
		wantEmit  string // payload seen by On("ERROR"), if any
	}{
		{
			name: "action error with emitted ERROR (transcript 3.3)",
			frames: []string{
				`{"type":"ERROR","componentId":"%[1]s","payload":{"action":"destroy","error":"Action 'destroy' is not callable"}}`,
				`{"type":"ACTION_RESPONSE","componentId":"%[1]s","success":false,"error":"Action 'destroy' is not callable","requestId":"%[2]s"}`,
			},
			wantMsg:  "Action 'destroy' is not callable",
			wantType: "ACTION_RESPONSE",
			wantEmit: `{"action":"destroy","error":"Action 'destroy' is not callable"}`,
		},
		{
			name:      "rehydration required",
			frames:    []string{`{"type":"ACTION_RESPONSE","componentId":"%[1]s","success":false,"error":"COMPONENT_REHYDRATION_REQUIRED:%[1]s","requestId":"%[2]s"}`},
			wantMsg:   "COMPONENT_REHYDRATION_REQUIRED:" + counterID,
			wantType:  "ACTION_RESPONSE",
			rehydrate: true,
		},
		{
			name:     "protocol ERROR echoing the requestId",
			frames:   []string{`{"type":"ERROR","componentId":"%[1]s","success":false,"error":"Invalid message: action must be a string","requestId":"%[2]s"}`},
			wantMsg:  "Invalid message: action must be a string",
			wantType: "ERROR",
		},
		{
			name:     "failure without error text",
			frames:   []string{`{"type":"ACTION_RESPONSE","componentId":"%[1]s","success":false,"requestId":"%[2]s"}`},
			wantMsg:  "request failed",
			wantType: "ACTION_RESPONSE",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url := startServer(t, serverConfig{}, func(p *peer) {
				mountCounter(p)
				m := p.read()
				for _, f := range tc.frames {
					p.send(f, counterID, str(m, "requestId"))
				}
			})
			c := dial(t, url, nil)
			m, err := c.Mount(testCtx(t), "Counter", nil)
			if err != nil {
				t.Fatal(err)
			}
			var emitted json.RawMessage
			m.On("ERROR", func(p json.RawMessage) { emitted = p })
			_, err = m.Call(testCtx(t), "destroy", nil)
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("Call error = %v, want *Error", err)
			}
			if se.Message != tc.wantMsg || se.Type != tc.wantType {
				t.Errorf("*Error = %+v, want Message %q Type %q", se, tc.wantMsg, tc.wantType)
			}
			if got := errors.Is(err, ErrRehydrationRequired); got != tc.rehydrate {
				t.Errorf("errors.Is(err, ErrRehydrationRequired) = %v, want %v", got, tc.rehydrate)
			}
			if string(emitted) != tc.wantEmit {
				t.Errorf("On(ERROR) payload = %s, want %s", emitted, tc.wantEmit)
			}
		})
	}
}

func TestRequest(t *testing.T) {
	url := startServer(t, serverConfig{}, func(p *peer) {
		m := p.read()
		if diff := cmp.Diff(map[string]any{"type": "ROOM_JOIN", "componentId": "c1", "roomId": "lobby", "requestId": str(m, "requestId"), "expectResponse": true}, m); diff != "" {
			t.Errorf("ROOM_JOIN frame (-want +got):\n%s", diff)
		}
		p.send(`{"type":"ROOM_JOINED","componentId":"c1","payload":{"roomId":"lobby","state":{}},"requestId":"%s"}`, str(m, "requestId"))
		m = p.read()
		p.send(`{"type":"ERROR","componentId":"c1","error":"Room is full","requestId":"%s"}`, str(m, "requestId"))
	})
	c := dial(t, url, nil)
	msg := map[string]any{"type": "ROOM_JOIN", "componentId": "c1", "roomId": "lobby"}
	reply, err := c.Request(testCtx(t), msg)
	if err != nil {
		t.Fatalf("Request: %v", err)
	}
	if len(msg) != 3 {
		t.Errorf("Request modified the caller's map: %v", msg)
	}
	if reply.Type != "ROOM_JOINED" || string(reply.Payload) != `{"roomId":"lobby","state":{}}` || !isProtocolID(reply.RequestID) {
		t.Errorf("reply = %+v", reply)
	}
	reply, err = c.Request(testCtx(t), msg)
	var se *Error
	if !errors.As(err, &se) || se.Message != "Room is full" {
		t.Fatalf("Request error = %v, want *Error \"Room is full\"", err)
	}
	if reply.Type != "ERROR" {
		t.Errorf("failed reply not returned with the error: %+v", reply)
	}
}

func TestConcurrentRequestsAreCorrelated(t *testing.T) {
	const n = 16
	url := startServer(t, serverConfig{}, func(p *peer) {
		mountCounter(p)
		var reqs []map[string]any
		for range n {
			reqs = append(reqs, p.read())
		}
		// Answer in reverse order; each reply echoes its request's payload.
		for _, m := range slices.Backward(reqs) {
			payload, _ := json.Marshal(m["payload"])
			p.send(`{"type":"ACTION_RESPONSE","componentId":"%s","success":true,"result":%s,"requestId":"%s"}`, counterID, payload, str(m, "requestId"))
		}
	})
	c := dial(t, url, nil)
	m, err := c.Mount(testCtx(t), "Counter", nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			res, err := m.Call(testCtx(t), "echo", map[string]int{"i": i})
			if err != nil {
				t.Errorf("Call %d: %v", i, err)
				return
			}
			if want := fmt.Sprintf(`{"i":%d}`, i); string(res) != want {
				t.Errorf("Call %d got %s, want %s", i, res, want)
			}
		})
	}
	wg.Wait()
}

func TestSetAndUnmount(t *testing.T) {
	url := startServer(t, serverConfig{}, func(p *peer) {
		mountCounter(p)
		m := p.read()
		if diff := cmp.Diff(map[string]any{"type": "PROPERTY_UPDATE", "componentId": counterID, "property": "count", "payload": map[string]any{"value": 9.0}, "requestId": str(m, "requestId"), "expectResponse": true}, m); diff != "" {
			t.Errorf("PROPERTY_UPDATE frame (-want +got):\n%s", diff)
		}
		p.send(`{"type":"STATE_DELTA","componentId":"%s","payload":{"delta":{"count":9}}}`, counterID)
		p.send(`{"type":"MESSAGE_RESPONSE","componentId":"%s","success":true,"requestId":"%s"}`, counterID, str(m, "requestId"))
		m = p.read()
		p.send(`{"type":"MESSAGE_RESPONSE","componentId":"%s","success":false,"error":"PROPERTY_UPDATE rejected: nope","requestId":"%s"}`, counterID, str(m, "requestId"))
		m = p.read()
		if diff := cmp.Diff(map[string]any{"type": "COMPONENT_UNMOUNT", "componentId": counterID, "requestId": str(m, "requestId"), "expectResponse": true}, m); diff != "" {
			t.Errorf("COMPONENT_UNMOUNT frame (-want +got):\n%s", diff)
		}
		p.send(`{"type":"MESSAGE_RESPONSE","componentId":"%s","success":true,"requestId":"%s"}`, counterID, str(m, "requestId"))
		// A late delta for the unmounted id must not reach the old handle.
		p.send(`{"type":"STATE_DELTA","componentId":"%s","payload":{"delta":{"count":100}}}`, counterID)
		p.send(`{"type":"PING_DONE"}`)
	})
	c := dial(t, url, nil)
	done := make(chan struct{})
	c.OnMessage(func(m Message) {
		if m.Type == "PING_DONE" {
			close(done)
		}
	})
	m, err := c.Mount(testCtx(t), "Counter", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Set(testCtx(t), "count", 9); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if got := m.State()["count"]; got != 9.0 {
		t.Errorf("count after Set = %v", got)
	}
	var se *Error
	if err := m.Set(testCtx(t), "count", -1); !errors.As(err, &se) || se.Message != "PROPERTY_UPDATE rejected: nope" {
		t.Errorf("rejected Set error = %v", err)
	}
	if err := m.Unmount(testCtx(t)); err != nil {
		t.Fatalf("Unmount: %v", err)
	}
	<-done
	if got := m.State()["count"]; got != 9.0 {
		t.Errorf("unmounted handle changed: count = %v", got)
	}
	for name, err := range map[string]error{
		"Call":    func() error { _, err := m.Call(testCtx(t), "x", nil); return err }(),
		"Fire":    m.Fire(testCtx(t), "x", nil),
		"Set":     m.Set(testCtx(t), "x", 1),
		"Unmount": m.Unmount(testCtx(t)),
		"WaitFor": m.WaitFor(testCtx(t), func(map[string]any) bool { return false }),
	} {
		if !errors.Is(err, ErrUnmounted) {
			t.Errorf("%s after Unmount = %v, want ErrUnmounted", name, err)
		}
	}
}

func TestConnectionLossFailsPendingRequests(t *testing.T) {
	tests := []struct {
		name       string
		drop       func(p *peer)
		wantStatus websocket.StatusCode
	}{
		{"close frame 1001", func(p *peer) { _ = p.conn.Close(websocket.StatusGoingAway, "restart") }, websocket.StatusGoingAway},
		{"abrupt drop", func(p *peer) { _ = p.conn.CloseNow() }, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url := startServer(t, serverConfig{}, func(p *peer) {
				mountCounter(p)
				p.read()
				p.read()
				tc.drop(p)
			})
			// A long RequestTimeout: only a prompt failure passes the ErrClosed check.
			c := dial(t, url, &Options{RequestTimeout: time.Minute, Reconnect: ReconnectOptions{Disabled: true}})
			m, err := c.Mount(testCtx(t), "Counter", nil)
			if err != nil {
				t.Fatal(err)
			}
			errs := make(chan error, 2)
			for range 2 {
				go func() {
					_, err := m.Call(context.Background(), "slow", nil)
					errs <- err
				}()
			}
			for range 2 {
				err := <-errs
				if !errors.Is(err, ErrClosed) {
					t.Fatalf("pending Call error = %v, want ErrClosed", err)
				}
				if got := websocket.CloseStatus(err); got != tc.wantStatus {
					t.Errorf("close status = %d, want %d", got, tc.wantStatus)
				}
			}
			<-c.Done()
			if !errors.Is(c.Err(), ErrClosed) || websocket.CloseStatus(c.Err()) != tc.wantStatus {
				t.Errorf("Err() = %v", c.Err())
			}
			if _, err := m.Call(testCtx(t), "after", nil); !errors.Is(err, ErrClosed) {
				t.Errorf("Call after loss = %v, want ErrClosed", err)
			}
			if err := m.WaitFor(testCtx(t), func(map[string]any) bool { return false }); !errors.Is(err, ErrClosed) {
				t.Errorf("WaitFor after loss = %v, want ErrClosed", err)
			}
		})
	}
}

func TestRequestContext(t *testing.T) {
	got := make(chan string, 1)
	release := make(chan struct{})
	url := startServer(t, serverConfig{}, func(p *peer) {
		mountCounter(p)
		m := p.read()
		got <- str(m, "requestId")
		<-release
		// The late reply must be ignored, and the connection keep working.
		p.send(`{"type":"ACTION_RESPONSE","componentId":"%s","success":true,"result":1,"requestId":"%s"}`, counterID, str(m, "requestId"))
		p.read() // timed out by RequestTimeout: never answered
		m = p.read()
		p.send(`{"type":"ACTION_RESPONSE","componentId":"%s","success":true,"result":2,"requestId":"%s"}`, counterID, str(m, "requestId"))
	})
	c := dial(t, url, &Options{RequestTimeout: 50 * time.Millisecond})
	m, err := c.Mount(testCtx(t), "Counter", nil)
	if err != nil {
		t.Fatal(err)
	}
	unmatched := 0
	m.On("ACTION_RESPONSE", func(json.RawMessage) { unmatched++ })

	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-got
		cancel()
	}()
	if _, err := m.Call(ctx, "never", nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Call with cancelled ctx = %v, want context.Canceled", err)
	}
	c.mu.Lock()
	n := len(c.pending)
	c.mu.Unlock()
	if n != 0 {
		t.Errorf("%d pending entries left after cancellation", n)
	}
	close(release)

	// No ctx deadline: RequestTimeout applies.
	if _, err := m.Call(context.Background(), "timeout", nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Call without deadline = %v, want DeadlineExceeded", err)
	}
	res, err := m.Call(testCtx(t), "ok", nil)
	if err != nil || string(res) != "2" {
		t.Fatalf("Call after cancellations = %s, %v", res, err)
	}
	// The late reply of the cancelled call matched nothing and was routed to
	// the component; it arrived before the last reply.
	if unmatched != 1 {
		t.Errorf("component saw %d unmatched ACTION_RESPONSEs, want 1", unmatched)
	}
}

func TestClose(t *testing.T) {
	url := startServer(t, serverConfig{}, mountCounter)
	c := dial(t, url, nil)
	m, err := c.Mount(testCtx(t), "Counter", nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = c.Close() })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Close #%d = %v", i, err)
		}
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close again = %v", err)
	}
	select {
	case <-c.Done():
	default:
		t.Fatal("Done not closed after Close")
	}
	if !errors.Is(c.Err(), ErrClosed) || websocket.CloseStatus(c.Err()) != websocket.StatusNormalClosure {
		t.Errorf("Err() = %v, want ErrClosed with status 1000", c.Err())
	}
	checks := map[string]error{
		"Send":       c.Send(testCtx(t), map[string]string{"type": "PING"}),
		"SendBinary": c.SendBinary(testCtx(t), []byte{1, 2, 3}),
		"Fire":       m.Fire(testCtx(t), "x", nil),
	}
	_, checks["Request"] = c.Request(testCtx(t), map[string]any{"type": "AUTH"})
	_, checks["Mount"] = c.Mount(testCtx(t), "Counter", nil)
	for name, err := range checks {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
}

func TestCloseFromCallback(t *testing.T) {
	url := startServer(t, serverConfig{}, func(p *peer) {
		p.read() // the client has registered its handler
		p.send(`{"type":"BYE"}`)
	})
	c := dial(t, url, nil)
	closed := make(chan error, 1)
	c.OnMessage(func(m Message) {
		if m.Type == "BYE" {
			closed <- c.Close()
		}
	})
	if err := c.Send(testCtx(t), map[string]string{"type": "PING"}); err != nil {
		t.Fatal(err)
	}
	if err := <-closed; err != nil {
		t.Errorf("Close from a callback = %v", err)
	}
	<-c.Done()
}

func TestSendAndBinaryOverSocket(t *testing.T) {
	url := startServer(t, serverConfig{}, func(p *peer) {
		mountCounter(p)
		if m := p.read(); str(m, "type") != "PING" {
			t.Errorf("Send frame = %v", m)
		}
		typ, data, err := p.conn.Read(p.ctx)
		if err != nil || typ != websocket.MessageBinary || string(data) != "\x00\x00\x00\x02{}" {
			t.Errorf("SendBinary frame = %v %q %v", typ, data, err)
		}
		p.sendBinary(append([]byte{0x01, byte(len(counterID))}, counterID+"\x07\x08"...))
		p.sendBinary([]byte{0x02, 0, 0, 0})
	})
	c := dial(t, url, nil)
	m, err := c.Mount(testCtx(t), "Counter", nil)
	if err != nil {
		t.Fatal(err)
	}
	compBin := make(chan []byte, 1)
	m.OnBinary(func(p []byte) { compBin <- slices.Clone(p) })
	roomBin := make(chan []byte, 1)
	c.OnBinary(func(p []byte) { roomBin <- slices.Clone(p) })
	if err := c.Send(testCtx(t), map[string]string{"type": "PING"}); err != nil {
		t.Fatal(err)
	}
	if err := c.SendBinary(testCtx(t), []byte("\x00\x00\x00\x02{}")); err != nil {
		t.Fatal(err)
	}
	if got := <-compBin; string(got) != "\x07\x08" {
		t.Errorf("component binary payload = %q", got)
	}
	if got := <-roomBin; string(got) != "\x02\x00\x00\x00" {
		t.Errorf("client binary frame = %q", got)
	}
	if err := c.Send(testCtx(t), func() {}); err == nil {
		t.Error("Send of an unencodable value succeeded")
	}
}

func TestMaxMessageSize(t *testing.T) {
	url := startServer(t, serverConfig{}, func(p *peer) {
		p.send(`{"type":"BIG","payload":"%s"}`, make([]byte, 2048))
	})
	c := dial(t, url, &Options{MaxMessageSize: 1024, Reconnect: ReconnectOptions{Disabled: true}})
	<-c.Done()
	if err := c.Err(); !errors.Is(err, ErrClosed) || !errors.Is(err, websocket.ErrMessageTooBig) {
		t.Errorf("Err() = %v, want ErrClosed and websocket.ErrMessageTooBig", err)
	}
}
