package client

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// BenchmarkDispatchStateDelta measures the hot inbound path: one STATE_DELTA
// frame parsed, routed and applied to a mirror.
func BenchmarkDispatchStateDelta(b *testing.B) {
	c := newTestClient(b)
	addComponent(c, "AdbEfd19", map[string]any{"count": 0.0, "lastAction": nil, "items": map[string]any{"a": 1.0}})
	frame := []byte(`{"type":"STATE_DELTA","componentId":"AdbEfd19","payload":{"delta":{"count":2,"items":{"b":2}}}}`)
	b.ReportAllocs()
	for b.Loop() {
		c.dispatchText(nil, frame)
	}
}

// BenchmarkDispatchArrayFrame measures a batched frame of four messages, as
// the reference's outgoing batcher sends them (transcript §3.5).
func BenchmarkDispatchArrayFrame(b *testing.B) {
	c := newTestClient(b)
	addComponent(c, "AdbEfd19", map[string]any{"count": 0.0, "lastUser": nil, "viewers": 1.0})
	frame := []byte(`[{"type":"ROOM_STATE","componentId":"AdbEfd19","roomId":"shared-counter","event":"$state:update","data":{"state":{"count":1,"lastUser":"025a6d"}}},` +
		`{"type":"STATE_DELTA","componentId":"AdbEfd19","payload":{"delta":{"count":1,"lastUser":"025a6d"}}},` +
		`{"type":"ROOM_EVENT","componentId":"AdbEfd19","roomId":"shared-counter","event":"counter:update","data":{"count":1,"lastUser":"025a6d"}},` +
		`{"type":"STATE_DELTA","componentId":"AdbEfd19","payload":{"delta":{"viewers":2}}}]`)
	b.ReportAllocs()
	for b.Loop() {
		c.dispatchText(nil, frame)
	}
}

// BenchmarkCallRoundTrip measures Component.Call over a loopback socket
// against a fake server that answers each CALL_ACTION with a delta and a
// reply.
func BenchmarkCallRoundTrip(b *testing.B) {
	url := startBenchServer(b)
	ctx := context.Background()
	c, err := Dial(ctx, url, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	m, err := c.Mount(ctx, "Counter", nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Call(ctx, "increment", nil); err != nil {
			b.Fatal(err)
		}
	}
	if got := fmt.Sprint(m.State()["count"]); got == "0" {
		b.Fatalf("count = %s after the loop", got)
	}
}

// startBenchServer mounts Counter, then answers every CALL_ACTION with a
// STATE_DELTA and an ACTION_RESPONSE until the client goes away.
func startBenchServer(b *testing.B) string {
	b.Helper()
	return startServer(b, serverConfig{lifetime: 10 * time.Minute}, func(p *peer) {
		mountCounter(p)
		var req struct {
			RequestID string `json:"requestId"`
		}
		for n := 1; ; n++ {
			_, data, err := p.conn.Read(p.ctx)
			if err != nil {
				return
			}
			if err := json.Unmarshal(data, &req); err != nil {
				b.Errorf("bench server: %v", err)
				return
			}
			delta := fmt.Appendf(nil, `{"type":"STATE_DELTA","componentId":%q,"payload":{"delta":{"count":%d}}}`, counterID, n)
			reply := fmt.Appendf(nil, `{"type":"ACTION_RESPONSE","componentId":%q,"success":true,"result":{"count":%d},"requestId":%q}`, counterID, n, req.RequestID)
			if p.conn.Write(p.ctx, websocket.MessageText, delta) != nil || p.conn.Write(p.ctx, websocket.MessageText, reply) != nil {
				return
			}
		}
	})
}

// BenchmarkIdempotencyKey measures the per-call key generation.
func BenchmarkIdempotencyKey(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if len(newIdempotencyKey()) != 26 {
			b.Fatal("bad key")
		}
	}
}

// BenchmarkDispatchSeqDelta measures a numbered STATE_DELTA (the live-go
// server's form), including the sequence check.
func BenchmarkDispatchSeqDelta(b *testing.B) {
	c := newTestClient(b)
	m := addComponent(c, "AdbEfd19", map[string]any{"count": 0.0})
	frames := make([][]byte, 1024)
	for i := range frames {
		frames[i] = fmt.Appendf(nil, `{"type":"STATE_DELTA","componentId":"AdbEfd19","payload":{"delta":{"count":%d}},"seq":%d}`, i, i+1)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i == len(frames) {
			m.mu.Lock()
			m.seq = 0 // replay the same numbered frames
			m.mu.Unlock()
			i = 0
		}
		c.dispatchText(nil, frames[i])
		i++
	}
}
