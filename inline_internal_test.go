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
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer func() { _ = srv.Shutdown(context.Background()) }()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/api/live/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	// roundTrip sends msg and reads until a frame mentions requestID.
	roundTrip := func(msg, requestID string) string {
		t.Helper()
		if err := ws.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		for {
			_, data, err := ws.Read(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(data), `"requestId":"`+requestID+`"`) {
				return string(data)
			}
		}
	}
	reply := roundTrip(`{"type":"COMPONENT_MOUNT","requestId":"m","payload":{"component":"C"}}`, "m")
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
		if r := roundTrip(fmt.Sprintf(`{"type":"CALL_ACTION","componentId":%q,"action":%q,"payload":{},"requestId":%q,"expectResponse":true}`,
			id, action, rid), rid); !strings.Contains(r, `"success":true`) {
			t.Fatalf("%s: %s", rid, r)
		}
	}
	var c *conn
	srv.conns.Range(func(_ string, x *conn) bool { c = x; return false })
	if c == nil {
		t.Fatal("no connection registered")
	}
	srv.defsMu.RLock()
	def := srv.defs["C"]
	srv.defsMu.RUnlock()

	working := func() bool {
		c.workMu.Lock()
		defer c.workMu.Unlock()
		return c.working
	}
	// waitIdle waits for a worker that ran earlier calls to linger out.
	waitIdle := func() {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); working(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the worker never went idle")
			}
		}
	}
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
