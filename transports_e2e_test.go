package live_test

import (
	"fmt"
	"net/http/httptest"
	"testing"

	live "github.com/live-go/live"
)

// TestTransportsEndToEnd runs the core protocol scenarios over WebSocket,
// SSE and long-poll: every transport must carry exactly the same messages
// in the same order (spec §1.1, §1.12). Each scenario opens its own
// connection, which checks CONNECTION_ESTABLISHED first.
func TestTransportsEndToEnd(t *testing.T) {
	_, hs := newTransportServer(t, live.Options{}, live.SSEOptions{}, live.LongPollOptions{})

	transports := []struct {
		name string
		dial func(*testing.T, *httptest.Server) rawConn
	}{
		{"websocket", dialWSRaw},
		{"sse", dialSSERaw},
		{"longpoll", dialPollRaw},
	}

	// mount mounts a Counter and returns its id: STATE_UPDATE comes before
	// the MESSAGE_RESPONSE that reveals the id (spec §2.5).
	mount := func(t *testing.T, c rawConn) string {
		t.Helper()
		c.send(`{"type":"COMPONENT_MOUNT","componentId":"mount-Counter","payload":{"component":"Counter","props":{}},"requestId":"m1","expectResponse":true}`)
		upd := expectType(t, c, "STATE_UPDATE")
		reply := expectType(t, c, "MESSAGE_RESPONSE")
		if reply["success"] != true || reply["requestId"] != "m1" {
			t.Fatalf("mount reply %s", jsonText(reply))
		}
		id := str(t, obj(t, reply["result"], "result")["componentId"], "componentId")
		if upd["componentId"] != id {
			t.Fatalf("STATE_UPDATE for %v, mount reply for %v", upd["componentId"], id)
		}
		state := obj(t, obj(t, upd["payload"], "payload")["state"], "state")
		if state["count"] != float64(0) {
			t.Fatalf("initial state %s", jsonText(state))
		}
		return id
	}
	// quiet asserts that nothing is pending: the next message is the reply
	// to a marker request.
	quiet := func(t *testing.T, c rawConn) {
		t.Helper()
		c.send(`{"type":"COMPONENT_UNMOUNT","componentId":"quiet-marker","requestId":"quiet"}`)
		if m := c.next(); m["requestId"] != "quiet" {
			t.Fatalf("unexpected message before the marker reply: %s", jsonText(m))
		}
	}

	scenarios := []struct {
		name string
		run  func(t *testing.T, c rawConn)
	}{
		{"mount", func(t *testing.T, c rawConn) {
			mount(t, c)
			quiet(t, c)
		}},
		{"action delta before reply", func(t *testing.T, c rawConn) {
			id := mount(t, c)
			c.send(fmt.Sprintf(`{"type":"CALL_ACTION","componentId":%q,"action":"increment","payload":{},"requestId":"a1","expectResponse":true}`, id))
			wantMsg(t, expectType(t, c, "STATE_DELTA"), fmt.Sprintf(
				`{"type":"STATE_DELTA","componentId":%q,"payload":{"delta":{"count":1,"lastAction":"increment"}}}`, id))
			wantMsg(t, expectType(t, c, "ACTION_RESPONSE"), fmt.Sprintf(
				`{"type":"ACTION_RESPONSE","componentId":%q,"success":true,"result":{"success":true,"count":1},"requestId":"a1"}`, id))
			quiet(t, c)
		}},
		{"fire and forget", func(t *testing.T, c rawConn) {
			id := mount(t, c)
			c.send(fmt.Sprintf(`{"type":"CALL_ACTION","componentId":%q,"action":"add","payload":{"n":5}}`, id))
			wantMsg(t, expectType(t, c, "STATE_DELTA"), fmt.Sprintf(
				`{"type":"STATE_DELTA","componentId":%q,"payload":{"delta":{"count":5}}}`, id))
			quiet(t, c) // no ACTION_RESPONSE for a fire-and-forget call
		}},
		{"action error", func(t *testing.T, c rawConn) {
			id := mount(t, c)
			c.send(fmt.Sprintf(`{"type":"CALL_ACTION","componentId":%q,"action":"fail","requestId":"f1","expectResponse":true}`, id))
			wantMsg(t, c.next(), fmt.Sprintf(`{"type":"STATE_DELTA","componentId":%q,"payload":{"delta":{"count":99}}}`, id))
			wantMsg(t, c.next(), fmt.Sprintf(`{"type":"ERROR","componentId":%q,"payload":{"action":"fail","error":"nope"}}`, id))
			wantMsg(t, c.next(), fmt.Sprintf(`{"type":"ACTION_RESPONSE","componentId":%q,"success":false,"error":"nope","requestId":"f1"}`, id))
			quiet(t, c)
		}},
		{"unknown type and invalid frames", func(t *testing.T, c rawConn) {
			c.send(`{"type":"NOPE","componentId":"c1","requestId":"r1"}`)
			wantMsg(t, c.next(), `{"type":"MESSAGE_RESPONSE","componentId":"c1","success":false,"error":"Unknown message type","requestId":"r1"}`)
			c.send(`{not json`)
			wantMsg(t, c.next(), `{"type":"ERROR","error":"Invalid JSON"}`)
			c.send(`{"type":"PING"}`) // ignored
			quiet(t, c)
		}},
		{"ordering", func(t *testing.T, c rawConn) {
			id := mount(t, c)
			for i := 1; i <= 20; i++ {
				c.send(fmt.Sprintf(`{"type":"CALL_ACTION","componentId":%q,"action":"add","payload":{"n":1},"requestId":"o%d","expectResponse":true}`, id, i))
			}
			// Deltas may be merged while queued, but the count only grows,
			// each reply follows the delta that reached its count, and the
			// replies come in request order.
			last := 0.0
			for i := 1; i <= 20; {
				m := c.next()
				switch m["type"] {
				case "STATE_DELTA":
					n := obj(t, obj(t, m["payload"], "payload")["delta"], "delta")["count"].(float64)
					if n <= last {
						t.Fatalf("count went from %v to %v", last, n)
					}
					last = n
				case "ACTION_RESPONSE":
					if m["requestId"] != fmt.Sprintf("o%d", i) || m["result"] != float64(i) {
						t.Fatalf("reply %d: %s", i, jsonText(m))
					}
					if last < float64(i) {
						t.Fatalf("reply %d before its delta (count %v)", i, last)
					}
					i++
				default:
					t.Fatalf("unexpected %s", jsonText(m))
				}
			}
			quiet(t, c)
		}},
	}

	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			for _, sc := range scenarios {
				t.Run(sc.name, func(t *testing.T) {
					sc.run(t, tr.dial(t, hs))
				})
			}
		})
	}
}

// Many clients on every transport at once, each with its own component:
// no frame crosses sessions and every action is applied once (run with
// -race).
func TestTransportsConcurrentClients(t *testing.T) {
	_, hs := newTransportServer(t, live.Options{}, live.SSEOptions{}, live.LongPollOptions{})
	dials := map[string]func(*testing.T, *httptest.Server) rawConn{
		"websocket": dialWSRaw, "sse": dialSSERaw, "longpoll": dialPollRaw,
	}
	t.Run("group", func(t *testing.T) {
		for name, dial := range dials {
			for i := range 6 {
				t.Run(fmt.Sprintf("%s-%d", name, i), func(t *testing.T) {
					t.Parallel()
					c := dial(t, hs)
					c.send(`{"type":"COMPONENT_MOUNT","componentId":"m","payload":{"component":"Counter"},"requestId":"m","expectResponse":true}`)
					expectType(t, c, "STATE_UPDATE")
					id := str(t, obj(t, expectType(t, c, "MESSAGE_RESPONSE")["result"], "result")["componentId"], "componentId")
					for n := 1; n <= 10; n++ {
						c.send(fmt.Sprintf(`{"type":"CALL_ACTION","componentId":%q,"action":"add","payload":{"n":%d},"requestId":"r%d","expectResponse":true}`, id, i, n))
					}
					for n := 1; n <= 10; {
						m := c.next()
						if m["componentId"] != id {
							t.Fatalf("message for another component: %s", jsonText(m))
						}
						if m["type"] == "ACTION_RESPONSE" {
							if m["requestId"] != fmt.Sprintf("r%d", n) || m["result"] != float64(n*i) {
								t.Fatalf("reply %d: %s", n, jsonText(m))
							}
							n++
						}
					}
				})
			}
		}
	})
}
