package client

import (
	"encoding/json"
	"testing"
)

// FuzzDispatch feeds arbitrary frames to the inbound dispatcher of a client
// that has a mounted component, a pending mount request and every kind of
// handler registered. It must never panic and the mirror must stay
// encodable.
func FuzzDispatch(f *testing.F) {
	for _, s := range []string{
		`{"type":"CONNECTION_ESTABLISHED","connectionId":"Cn0nn-_1"}`,
		`{"type":"STATE_UPDATE","componentId":"c1","payload":{"state":{"count":0,"lastAction":null},"signedState":{"data":"{}","signature":"ab"}}}`,
		`[{"type":"STATE_DELTA","componentId":"c1","payload":{"delta":{"count":1,"lastAction":"increment"}}}]`,
		`{"type":"STATE_DELTA","componentId":"c1","seq":9,"payload":{"delta":{"a":{"b":null}}}}`,
		`{"type":"STATE_DELTA","componentId":"new1","payload":{"delta":{"x":1}}}`,
		`{"type":"MESSAGE_RESPONSE","componentId":"mount-X","success":true,"result":{"componentId":"new1","initialState":{"x":0},"signedState":{}},"requestId":"req00001"}`,
		`{"type":"ACTION_RESPONSE","componentId":"c1","success":false,"error":"COMPONENT_REHYDRATION_REQUIRED:c1","requestId":"req00001"}`,
		`{"type":"ERROR","componentId":"c1","payload":{"action":"destroy","error":"Action 'destroy' is not callable"}}`,
		`{"type":"BROADCAST","componentId":"c2","payload":{"type":"chat","data":{}},"room":"r"}`,
		`{"type":"STATE_SIGNATURE","componentId":"c1","payload":{"signedState":{"v":2}}}`,
		`[1,null,"x",{"type":7,"requestId":[]}]`,
		`{"type":"ERROR","error":"Invalid JSON"}`,
	} {
		f.Add(false, []byte(s))
	}
	f.Add(true, []byte("\x01\x02c1\x07\x08"))
	f.Add(true, []byte("\x02\x02c1\x04room\x00\x01e\xc0"))
	f.Add(true, []byte("\x01\xffc1"))

	f.Fuzz(func(t *testing.T, binary bool, frame []byte) {
		c := newTestClient(t)
		m := addComponent(c, "c1", map[string]any{"count": 0.0, "nested": map[string]any{"a": 1.0}})
		addComponent(c, "c2", nil)
		m.OnChange(func(state, delta map[string]any) {})
		m.On("ERROR", func(json.RawMessage) {})
		m.On("BROADCAST", func(json.RawMessage) {})
		m.OnBinary(func([]byte) {})
		c.OnMessage(func(Message) {})
		c.OnBinary(func([]byte) {})
		var mounted *Component
		p := &pendingCall{ch: make(chan callResult, 1), onReply: c.mountHook("X", json.RawMessage("{}"), mountConfig{}, &mounted)}
		c.pending["req00001"] = p

		if binary {
			c.dispatchBinary(frame)
		} else {
			c.dispatchText(frame)
		}

		if _, err := json.Marshal(m.State()); err != nil {
			t.Fatalf("mirror not encodable: %v", err)
		}
		select {
		case r := <-p.ch:
			if r.err == nil && replyError(r.msg) == nil {
				if mounted == nil {
					t.Fatal("successful mount reply without a component")
				}
				if _, err := json.Marshal(mounted.State()); err != nil {
					t.Fatalf("mounted mirror not encodable: %v", err)
				}
			}
		default:
		}
	})
}
