package live

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

type inlineCounter struct {
	Base
	Count int `json:"count"`
}

func (c *inlineCounter) Bump(*Ctx) error { c.Count++; return nil }

func (c *inlineCounter) Nap(*Ctx) error {
	time.Sleep(2 * inlineMaxDuration)
	c.Count++
	return nil
}

// A known-fast action runs on the goroutine that read it (no worker is
// started for it); a slow one is never classified as fast.
func TestFastActionsRunInline(t *testing.T) {
	srv, err := New(Options{StateSecret: []byte("inline-test-secret-inline-test-secret"), RateLimitBurst: -1, PingInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := Register(srv, Component[inlineCounter]{Name: "C", Actions: []string{"bump", "nap"}}); err != nil {
		t.Fatal(err)
	}
	rt := dialInline(t, srv)
	reply := rt.roundTrip(`{"type":"COMPONENT_MOUNT","requestId":"m","payload":{"component":"C"}}`, "m")
	// A frame may be one message or an array of them.
	const marker = `"result":{"componentId":"`
	i := strings.Index(reply, marker)
	if i < 0 || len(reply) < i+len(marker)+8 {
		t.Fatalf("mount reply without a component id: %s", reply)
	}
	id := reply[i+len(marker) : i+len(marker)+8]
	call := func(action string, i int) {
		t.Helper()
		rid := fmt.Sprintf("%s%d", action, i)
		if r := rt.roundTrip(fmt.Sprintf(`{"type":"CALL_ACTION","componentId":%q,"action":%q,"payload":{},"requestId":%q,"expectResponse":true}`,
			id, action, rid), rid); !strings.Contains(r, `"success":true`) {
			t.Fatalf("%s: %s", rid, r)
		}
	}
	srv.defsMu.RLock()
	def := srv.defs["C"]
	srv.defsMu.RUnlock()
	working, waitIdle := rt.working, rt.waitIdle

	// A call made while bump is classified fast and the worker is idle
	// must not start the worker: had it gone through one, the worker
	// would still linger (workerLinger) after the reply. Under -race a run
	// may exceed inlineMaxDuration and reset the streak; such calls are
	// not checked, and more are made (bounded).
	checked := 0
	for i := 0; checked < 5; i++ {
		if i == 500 {
			t.Fatalf("bump classified fast for only %d of 500 calls", checked)
		}
		if !def.actions["bump"].inlineable() {
			call("bump", i)
			continue
		}
		waitIdle()
		call("bump", i)
		if working() {
			t.Fatalf("call %d of a fast action started the worker", i)
		}
		checked++
	}

	for i := range inlineStreak {
		call("nap", i)
	}
	if def.actions["nap"].inlineable() {
		t.Fatal("an action slower than inlineMaxDuration was classified as fast")
	}
}

// inlineConn is a raw WebSocket client of srv and the server side of its
// connection, for watching where requests run.
type inlineConn struct {
	t    *testing.T
	srv  *Server
	ctx  context.Context
	ws   *websocket.Conn
	conn *conn
}

// dialInline connects to srv (served over HTTP for the test's life) and
// finds the connection's server side once the first request went through.
func dialInline(t *testing.T, srv *Server) *inlineConn {
	t.Helper()
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		_ = srv.Shutdown(context.Background())
		hs.Close()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/api/live/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	return &inlineConn{t: t, srv: srv, ctx: ctx, ws: ws}
}

// roundTrip sends msg and reads until a frame mentions requestID.
func (ic *inlineConn) roundTrip(msg, requestID string) string {
	ic.t.Helper()
	if err := ic.ws.Write(ic.ctx, websocket.MessageText, []byte(msg)); err != nil {
		ic.t.Fatal(err)
	}
	for {
		_, data, err := ic.ws.Read(ic.ctx)
		if err != nil {
			ic.t.Fatal(err)
		}
		if strings.Contains(string(data), `"requestId":"`+requestID+`"`) {
			if ic.conn == nil {
				ic.srv.conns.Range(func(_ string, x *conn) bool { ic.conn = x; return false })
				if ic.conn == nil {
					ic.t.Fatal("no connection registered")
				}
			}
			return string(data)
		}
	}
}

// working reports whether the connection's worker goroutine runs.
func (ic *inlineConn) working() bool {
	ic.conn.workMu.Lock()
	defer ic.conn.workMu.Unlock()
	return ic.conn.working
}

// waitIdle waits for a worker that ran earlier requests to linger out.
func (ic *inlineConn) waitIdle() {
	ic.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ic.working(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			ic.t.Fatal("the worker never went idle")
		}
	}
}

type slowMount struct {
	Base
	N int `json:"n"`
}

func (s *slowMount) OnMount(*Ctx) error { time.Sleep(2 * inlineMaxDuration); return nil }

// A component whose mounts are known fast is mounted on the goroutine that
// read the request (no worker is started for it); one whose mount is slow
// is never classified as fast.
func TestFastMountsRunInline(t *testing.T) {
	srv, err := New(Options{StateSecret: []byte("inline-test-secret-inline-test-secret"), RateLimitBurst: -1, PingInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := Register(srv, Component[inlineCounter]{Name: "C"}); err != nil {
		t.Fatal(err)
	}
	if err := Register(srv, Component[slowMount]{Name: "S"}); err != nil {
		t.Fatal(err)
	}
	rt := dialInline(t, srv)
	mount := func(name string, i int) {
		t.Helper()
		rid := fmt.Sprintf("%s%d", name, i)
		if r := rt.roundTrip(fmt.Sprintf(`{"type":"COMPONENT_MOUNT","requestId":%q,"payload":{"component":%q}}`, rid, name), rid); !strings.Contains(r, `"success":true`) {
			t.Fatalf("%s: %s", rid, r)
		}
	}
	def := srv.lookupDef("C")
	checked := 0
	for i := 0; checked < 5; i++ {
		if i == 500 {
			t.Fatalf("C's mount classified fast for only %d of 500 mounts", checked)
		}
		if !def.mountFast.known() {
			mount("C", i)
			continue
		}
		rt.waitIdle()
		mount("C", i)
		if rt.working() {
			t.Fatalf("mount %d of a known-fast component started the worker", i)
		}
		checked++
	}
	for i := range inlineStreak {
		mount("S", i)
	}
	if srv.lookupDef("S").mountFast.known() {
		t.Fatal("a component whose mount takes longer than inlineMaxDuration was classified as fast")
	}
}
