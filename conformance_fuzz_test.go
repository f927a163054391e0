package live_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	live "github.com/live-go/live"
)

// FuzzConformanceFrame sends one arbitrary client frame over a real
// connection and checks the server's wire invariants: every message it
// sends is a JSON object with a string type and the fields its type
// requires, the connection stays open, and frames are still processed in
// order afterwards (a marker request gets its reply). A text frame that is
// not UTF-8 must instead close the connection with 1007 and nothing else.
func FuzzConformanceFrame(f *testing.F) {
	for _, seed := range []string{
		`{"type":"PING"}`,
		`{not json`,
		`[]`,
		`null`,
		`{}`,
		`{"type":"NOPE","componentId":"c","requestId":"r"}`,
		`{"type":"COMPONENT_MOUNT","componentId":"m","requestId":"r","payload":{"component":"Counter","props":{"count":3}}}`,
		`{"type":"COMPONENT_MOUNT","payload":{"component":"TodoList"}}`,
		`{"type":"COMPONENT_MOUNT","payload":{"component":"Profile","props":{"settings":{"__proto__":{"x":1}}}}}`,
		`{"type":"COMPONENT_MOUNT","payload":{"component":"Broken"}}`,
		`{"type":"CALL_ACTION","componentId":"c","action":"increment","expectResponse":true}`,
		`{"type":"PROPERTY_UPDATE","componentId":"c","property":"$x","payload":{"value":1}}`,
		`{"type":"COMPONENT_UNMOUNT","componentId":"c","requestId":"\u0000"}`,
		`{"type":"ROOM_JOIN","componentId":"c","roomId":"r"}`,
		`{"type":"PING","a":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`,
		"{\"type\":\"COMPONENT_UNMOUNT\",\"componentId\":\"\xff\xfe\"}",
	} {
		f.Add([]byte(seed), false)
	}
	f.Add([]byte{0, 0, 0, 0}, true)
	f.Add([]byte{4, 0, 0, 0, '{', '}', 'x', 'y'}, true)

	_, hs := newConfServer(f, live.Options{RateLimitBurst: -1})
	f.Fuzz(func(t *testing.T, frame []byte, binary bool) {
		rc := dialRaw(t, hs, nil)
		typ := websocket.MessageText
		if binary {
			typ = websocket.MessageBinary
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := rc.c.Write(ctx, typ, frame); err != nil {
			t.Fatalf("write: %v", err)
		}
		if !binary && !utf8.Valid(frame) {
			// RFC 6455 §8.1: the connection fails with 1007, and the
			// message reaches no component.
			select {
			case <-rc.done:
			case <-ctx.Done():
				t.Fatal("invalid UTF-8 text: the connection stayed open")
			}
			rc.mu.Lock()
			err, got := rc.err, rc.queue
			rc.mu.Unlock()
			if websocket.CloseStatus(err) != websocket.StatusInvalidFramePayloadData || len(got) != 0 {
				t.Fatalf("invalid UTF-8 text: connection ended with %v after %d messages, want close 1007 and none", err, len(got))
			}
			return
		}
		const marker = "fuzz-end-marker"
		rc.unmount("marker-id", marker)
		for {
			m := rc.next()
			checkWellFormed(t, m)
			if m["requestId"] == marker && m["componentId"] == "marker-id" {
				return
			}
		}
	})
}

// checkWellFormed asserts the per-type shape of one server message.
func checkWellFormed(t *testing.T, m map[string]any) {
	t.Helper()
	typ, ok := m["type"].(string)
	if !ok || typ == "" {
		t.Fatalf("message without a type: %s", jsonText(m))
	}
	if rid, ok := m["requestId"]; ok {
		if _, isStr := rid.(string); !isStr {
			t.Fatalf("requestId not a string: %s", jsonText(m))
		}
	}
	switch typ {
	case "MESSAGE_RESPONSE", "ACTION_RESPONSE":
		success, ok := m["success"].(bool)
		if !ok {
			t.Fatalf("%s without success: %s", typ, jsonText(m))
		}
		if e, isStr := m["error"].(string); !success && (!isStr || e == "") {
			t.Fatalf("failed %s without error text: %s", typ, jsonText(m))
		}
	case "ERROR":
		if e, isStr := m["error"].(string); isStr && e != "" {
			return
		}
		p, ok := m["payload"].(map[string]any)
		if !ok {
			t.Fatalf("ERROR without error text: %s", jsonText(m))
		}
		if e, isStr := p["error"].(string); !isStr || e == "" {
			t.Fatalf("component ERROR without payload.error: %s", jsonText(m))
		}
	case "STATE_UPDATE", "STATE_DELTA":
		id, _ := m["componentId"].(string)
		if !idRE.MatchString(id) {
			t.Fatalf("%s with componentId %q: %s", typ, id, jsonText(m))
		}
		if _, ok := m["seq"].(float64); !ok {
			t.Fatalf("%s without seq: %s", typ, jsonText(m))
		}
		if _, ok := m["payload"].(map[string]any); !ok {
			t.Fatalf("%s without payload: %s", typ, jsonText(m))
		}
	}
}

// benchClient is a minimal synchronous client for benchmarks.
type benchClient struct {
	c *websocket.Conn
}

func dialBench(b *testing.B, url string) *benchClient {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		b.Fatal(err)
	}
	bc := &benchClient{c: c}
	bc.until(b, []byte(`"CONNECTION_ESTABLISHED"`))
	return bc
}

// roundTrip writes msg and reads frames until one contains want.
func (bc *benchClient) roundTrip(b *testing.B, msg, want []byte) []byte {
	if err := bc.c.Write(context.Background(), websocket.MessageText, msg); err != nil {
		b.Fatal(err)
	}
	return bc.until(b, want)
}

func (bc *benchClient) until(b *testing.B, want []byte) []byte {
	for {
		_, data, err := bc.c.Read(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if bytes.Contains(data, want) {
			return data
		}
	}
}

// idFrom extracts result.componentId from a mount reply frame.
func idFrom(b *testing.B, frame []byte) string {
	key := []byte(`"result":{"componentId":"`)
	i := bytes.Index(frame, key)
	if i < 0 || len(frame) < i+len(key)+8 {
		b.Fatalf("no component id in %s", frame)
	}
	return string(frame[i+len(key) : i+len(key)+8])
}

// BenchmarkConformanceActionRoundTrip measures one CALL_ACTION with
// expectResponse over a real WebSocket: request, STATE_DELTA and reply.
func BenchmarkConformanceActionRoundTrip(b *testing.B) {
	b.ReportAllocs()
	_, hs := newConfServer(b, live.Options{RateLimitBurst: -1})
	bc := dialBench(b, wsURL(hs))
	defer bc.c.CloseNow()
	id := idFrom(b, bc.roundTrip(b, []byte(`{"type":"COMPONENT_MOUNT","requestId":"m","payload":{"component":"Counter"}}`), []byte(`"MESSAGE_RESPONSE"`)))
	msg := fmt.Appendf(nil, `{"type":"CALL_ACTION","componentId":%q,"action":"increment","payload":{},"requestId":"r","expectResponse":true}`, id)
	want := []byte(`"ACTION_RESPONSE"`)
	for b.Loop() {
		bc.roundTrip(b, msg, want)
	}
}

// BenchmarkConformanceMountUnmount measures a mount (snapshot, signature,
// reply) followed by an unmount, over a real WebSocket.
func BenchmarkConformanceMountUnmount(b *testing.B) {
	b.ReportAllocs()
	_, hs := newConfServer(b, live.Options{RateLimitBurst: -1})
	bc := dialBench(b, wsURL(hs))
	defer bc.c.CloseNow()
	mount := []byte(`{"type":"COMPONENT_MOUNT","componentId":"m","requestId":"m","payload":{"component":"Profile","props":{"name":"bench"}}}`)
	mounted, unmounted := []byte(`"MESSAGE_RESPONSE"`), []byte(`"requestId":"u"`)
	for b.Loop() {
		id := idFrom(b, bc.roundTrip(b, mount, mounted))
		bc.roundTrip(b, fmt.Appendf(nil, `{"type":"COMPONENT_UNMOUNT","componentId":%q,"requestId":"u"}`, id), unmounted)
	}
}
