package live_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	live "github.com/live-go/live"
)

type Blob struct {
	live.Base
	Data string `json:"data"`
	N    int    `json:"n"`
}

func (b *Blob) Grow(ctx *live.Ctx) (int, error) {
	b.N++
	b.Data = strings.Repeat(string(rune('a'+b.N%26)), 32<<10)
	return b.N, nil
}

// A client that never reads must not delay anyone else, and the server
// must not buffer without bound for it.
func TestSlowClientDoesNotDelayOthers(t *testing.T) {
	const queueBytes = 64 << 10
	srv, err := live.New(live.Options{
		StateSecret:    []byte("slow-test-secret-slow-test-secret!"),
		SendQueueBytes: queueBytes,
		WriteTimeout:   time.Second,
		RateLimitBurst: -1,
	})
	must(t, err)
	must(t, live.Register(srv, live.Component[Blob]{Name: "Blob", Actions: []string{"grow"}, Singleton: true}))
	hs := newHTTPTest(t, srv)

	// The slow client mounts the shared blob and then never reads again.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	slow, _, err := websocket.Dial(ctx, wsURL(hs), nil)
	must(t, err)
	defer slow.CloseNow()
	must(t, slow.Write(ctx, websocket.MessageText, []byte(`{"type":"COMPONENT_MOUNT","componentId":"m","payload":{"component":"Blob"},"requestId":"r"}`)))

	fast := dialRaw(t, hs, nil)
	id, _ := fast.mount("Blob", nil)
	maxSeen := 0
	const rounds = 150 // 150 × 32 KiB ≈ 4.7 MiB aimed at the slow client
	for i := 1; i <= rounds; i++ {
		fast.call(id, "grow", map[string]any{}, true, "g")
		for {
			m := fast.next()
			if m["type"] == "ACTION_RESPONSE" {
				if m["success"] != true || m["result"] != float64(i) {
					t.Fatalf("round %d: reply %v", i, m)
				}
				break
			}
		}
		maxSeen = max(maxSeen, srv.Stats().MaxQueuedBytes)
	}
	if maxSeen > 2*queueBytes {
		t.Fatalf("a send queue held %d bytes, bound is %d", maxSeen, 2*queueBytes)
	}
	st := srv.Stats()
	t.Logf("max queued %d bytes; dropped deltas %d; resyncs %d", maxSeen, st.DroppedDeltas, st.Resyncs)
	if st.DroppedDeltas == 0 {
		t.Fatal("the slow client's deltas were never dropped: the test did not exercise backpressure")
	}
	// The stuck writer hits its timeout and the slow client is dropped.
	deadline := time.Now().Add(20 * time.Second)
	for srv.Stats().Connections != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("slow client never dropped: %+v", srv.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
