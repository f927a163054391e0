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
		`[{"type":"STATE_REHYDRATED","componentId":"n2","payload":{"state":{"count":4},"signedState":{"v":3},"oldComponentId":"c1","newComponentId":"n2"},"seq":0},` +
			`{"type":"COMPONENT_REHYDRATED","componentId":"c1","success":true,"result":{"newComponentId":"n2"},"requestId":"req00002"}]`,
		`[{"type":"STATE_DELTA","componentId":"c1","seq":3,"payload":{"delta":{"count":3}}},` +
			`{"type":"COMPONENT_REHYDRATED","componentId":"c1","success":true,"result":{"newComponentId":"c1"},"requestId":"req00002"}]`,
		`{"type":"COMPONENT_REHYDRATED","componentId":"c1","success":true,"result":{"newComponentId":7},"requestId":"req00002"}`,
		`[{"type":"STATE_UPDATE","componentId":"m3","seq":0,"payload":{"state":{"a":1}}},` +
			`{"type":"MESSAGE_RESPONSE","componentId":"mount-Test","success":true,"result":{"componentId":"m3","initialState":{"a":1}},"requestId":"req00003"}]`,
		`{"type":"MESSAGE_RESPONSE","componentId":"mount-Test","success":true,"result":{"componentId":"c2","initialState":null},"requestId":"req00003"}`,
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
		// Recovery replies: a rehydration of c1 and a fresh mount of c2.
		m2 := c.components["c2"][0]
		var rehydrated, remounted Recovery
		pr := &pendingCall{ch: make(chan callResult, 1), onReply: c.rehydrateHook(m, "c1", &rehydrated)}
		c.pending["req00002"] = pr
		pm := &pendingCall{ch: make(chan callResult, 1), onReply: c.remountHook(m2, "c2", &remounted)}
		c.pending["req00003"] = pm

		if binary {
			c.dispatchBinary(frame)
		} else {
			c.dispatchText(nil, frame)
		}

		for _, x := range []*Component{m, m2} {
			if _, err := json.Marshal(x.State()); err != nil {
				t.Fatalf("mirror not encodable: %v", err)
			}
			// The handle is routed under exactly its current id.
			id := x.ID()
			found := 0
			for rid, comps := range c.components {
				for _, y := range comps {
					if y == x {
						found++
						if rid != id {
							t.Fatalf("component %s routed under %s", id, rid)
						}
					}
				}
			}
			if found != 1 {
				t.Fatalf("component %s routed %d times", id, found)
			}
		}
		select {
		case r := <-pr.ch:
			if r.err == nil && replyError(r.msg) == nil && (rehydrated.Kind == 0 || rehydrated.NewID != m.ID()) {
				t.Fatalf("successful rehydrate reply: event %+v, handle id %s", rehydrated, m.ID())
			}
		default:
		}
		select {
		case r := <-pm.ch:
			if r.err == nil && replyError(r.msg) == nil && (remounted.Kind != RecoveryRemounted || remounted.NewID != m2.ID()) {
				t.Fatalf("successful remount reply: event %+v, handle id %s", remounted, m2.ID())
			}
		default:
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
