package live_test

import (
	"context"
	"net/http/httptest"
	"runtime"
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

// Shout emits a 16 KiB custom message to every subscriber: a Message, which
// the send queue never drops, so a stuck client's queue grows to its hard
// bound.
func (b *Blob) Shout(ctx *live.Ctx) error {
	return b.Emit("shout", strings.Repeat("s", 16<<10))
}

// While a client that never drains is being fed, no send queue ever holds
// more than the hard bound (2 × Options.SendQueueBytes), Stats reports that
// high-water mark, and the mark survives the slow connection's close.
func TestQueuePeakStaysUnderHardBound(t *testing.T) {
	const queueBytes = 64 << 10
	srv, err := live.New(live.Options{
		StateSecret:            []byte("peak-test-secret-peak-test-secret!"),
		SendQueueBytes:         queueBytes,
		WriteTimeout:           time.Minute, // the stuck writer is released by the test, not the timer
		RateLimitBurst:         -1,
		PingInterval:           -1,
		SignatureRenewInterval: -1,
	})
	must(t, err)
	must(t, live.Register(srv, live.Component[Blob]{Name: "Blob", Actions: []string{"grow", "shout"}, Singleton: true}))

	// The slow client reads until its mount reply, then its socket stops
	// draining: the writer blocks in Write until gate is closed.
	gate := make(chan struct{})
	slow := newMemSocket()
	mounted := make(chan struct{})
	slow.sink = func(_ bool, data []byte) {
		select {
		case <-mounted:
			select {
			case <-gate:
			case <-slow.closed:
			}
		default:
			if strings.Contains(string(data), `"requestId":"slow"`) {
				close(mounted)
			}
		}
	}
	slowDone := make(chan struct{})
	go func() {
		defer close(slowDone)
		_ = srv.ServeSocket(context.Background(), slow, live.Request{})
	}()
	slow.in <- []byte(`{"type":"COMPONENT_MOUNT","componentId":"m","payload":{"component":"Blob"},"requestId":"slow"}`)
	select {
	case <-mounted:
	case <-time.After(10 * time.Second):
		t.Fatal("slow client never got its mount reply")
	}

	fast, fastDone := serveMem(t, srv)
	fast.in <- []byte(`{"type":"COMPONENT_MOUNT","componentId":"m","payload":{"component":"Blob"},"requestId":"fast"}`)
	var id string
	for id == "" {
		for _, m := range recvMsgs(t, fast) {
			if m["requestId"] == "fast" {
				id = m["result"].(map[string]any)["componentId"].(string)
			}
		}
	}
	call := func(action string, n int) {
		t.Helper()
		req := `{"type":"CALL_ACTION","componentId":"` + id + `","action":"` + action + `","payload":{},"requestId":"` + itoa(n) + `","expectResponse":true}`
		fast.in <- []byte(req)
		for {
			for _, m := range recvMsgs(t, fast) {
				if m["type"] == "ACTION_RESPONSE" && m["requestId"] == itoa(n) {
					if m["success"] != true {
						t.Fatalf("%s %d: %v", action, n, m)
					}
					return
				}
			}
		}
	}

	// Deltas first (dropped above the soft bound), then messages that are
	// never dropped, until the slow client is closed at the hard bound.
	peakSeen := 0
	for i := 1; i <= 40; i++ {
		action := "grow"
		if i > 10 {
			action = "shout"
		}
		call(action, i)
		st := srv.Stats()
		if st.QueuePeakBytes > 2*queueBytes {
			t.Fatalf("after %s %d: queue high-water mark %d bytes, hard bound %d", action, i, st.QueuePeakBytes, 2*queueBytes)
		}
		if st.QueuePeakBytes < st.MaxQueuedBytes {
			t.Fatalf("high-water mark %d below a queue's current size %d", st.QueuePeakBytes, st.MaxQueuedBytes)
		}
		peakSeen = max(peakSeen, st.QueuePeakBytes)
	}
	st := srv.Stats()
	t.Logf("queue high-water mark %d bytes (bound %d); dropped deltas %d; slow consumers %d", peakSeen, 2*queueBytes, st.DroppedDeltas, st.SlowConsumers)
	if peakSeen <= queueBytes || st.DroppedDeltas == 0 || st.SlowConsumers != 1 {
		t.Fatalf("the slow client's queue was not driven past its soft bound to the hard one: peak %d, %+v", peakSeen, st)
	}

	close(gate)
	<-slowDone
	if got := srv.Stats().QueuePeakBytes; got != peakSeen {
		t.Fatalf("high-water mark after the slow connection closed = %d, want %d", got, peakSeen)
	}
	_ = srv.Shutdown(context.Background())
	<-fastDone
}

// newBlobServer serves the singleton Blob with a long WriteTimeout (a
// stuck write is not dropped during the test) and no rate limit, pings or
// signature renewals.
func newBlobServer(t *testing.T) (*live.Server, *httptest.Server) {
	t.Helper()
	srv, err := live.New(live.Options{
		StateSecret:            []byte("pool-test-secret-pool-test-secret!"),
		WriteTimeout:           time.Minute,
		RateLimitBurst:         -1,
		PingInterval:           -1,
		SignatureRenewInterval: -1,
	})
	must(t, err)
	must(t, live.Register(srv, live.Component[Blob]{Name: "Blob", Actions: []string{"grow"}, Singleton: true}))
	return srv, newHTTPTest(t, srv)
}

// mountBlobs dials n clients that mount Blob and then read nothing until
// the test reads from them.
func mountBlobs(ctx context.Context, t *testing.T, hs *httptest.Server, n int) []*websocket.Conn {
	t.Helper()
	conns := make([]*websocket.Conn, n)
	for i := range conns {
		c, _, err := websocket.Dial(ctx, wsURL(hs), nil)
		must(t, err)
		t.Cleanup(func() { c.CloseNow() })
		c.SetReadLimit(-1)
		must(t, c.Write(ctx, websocket.MessageText, []byte(`{"type":"COMPONENT_MOUNT","componentId":"m","payload":{"component":"Blob"},"requestId":"r"}`)))
		conns[i] = c
	}
	return conns
}

// Fan-out writes run on a small pool of writer goroutines (as many as
// GOMAXPROCS). Clients that stop reading, more of them than the pool has
// workers, must not hold it up: a reading client keeps getting every
// update while the stalled sockets are full and their writes wait for the
// peer (WriteTimeout is long, so nothing drops them meanwhile).
func TestStalledClientsDoNotHoldUpTheWriterPool(t *testing.T) {
	srv, hs := newBlobServer(t)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	stalled := 2*runtime.GOMAXPROCS(0) + 2
	mountBlobs(ctx, t, hs, stalled)
	watcher := dialRaw(t, hs, nil)
	wid, _ := watcher.mount("Blob", nil)
	sender := dialRaw(t, hs, nil)
	sid, _ := sender.mount("Blob", nil)

	// Each round sends a 32 KiB delta to every client; the stalled ones'
	// sockets fill within a few dozen rounds (loopback buffers are a few
	// MiB at most), after which their writes can only wait.
	const rounds = 300 // 300 × 32 KiB ≈ 9.4 MiB per stalled client
	for i := 1; i <= rounds; i++ {
		sender.call(sid, "grow", map[string]any{}, true, "g")
		for m := sender.next(); m["type"] != "ACTION_RESPONSE"; m = sender.next() {
		}
		// The watcher sees round i before the next one starts: its
		// deltas are never stuck behind a stalled socket.
		for {
			m := watcher.next()
			if m["type"] != "STATE_DELTA" && m["type"] != "STATE_UPDATE" {
				continue
			}
			if m["componentId"] != wid {
				t.Fatalf("round %d: delta for %v", i, m["componentId"])
			}
			p := obj(t, m["payload"], "payload")
			st, _ := p["delta"].(map[string]any)
			if st == nil {
				st, _ = p["state"].(map[string]any)
			}
			if st["n"] == float64(i) {
				break
			}
		}
	}
	st := srv.Stats()
	if st.DroppedDeltas == 0 {
		t.Fatal("no delta was ever dropped: the stalled clients' sockets never filled, the test proved nothing")
	}
	if st.Connections != stalled+2 {
		t.Fatalf("%d connections, want %d: a stalled client was dropped, so its writes did not stay stuck", st.Connections, stalled+2)
	}
}

// Shutdown while fan-out is still queued: clients that stopped reading
// hold 3 MiB of deltas between their send queues, their sockets and the
// bytes a pool write kept. Shutdown must deliver all of it before each
// close frame, whichever of the writer pool, a pool worker or a flusher
// goroutine held the connection's write side at that moment.
func TestShutdownFlushesQueuedFanOutBeforeClosing(t *testing.T) {
	srv, hs := newBlobServer(t)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const watchers, rounds = 4, 100 // 100 × 32 KiB: under the 4 MiB queue bound, over the socket buffers
	conns := mountBlobs(ctx, t, hs, watchers)
	sender := dialRaw(t, hs, nil)
	sid, _ := sender.mount("Blob", nil)
	for i := 1; i <= rounds; i++ {
		sender.call(sid, "grow", map[string]any{}, true, "g")
		for m := sender.next(); m["type"] != "ACTION_RESPONSE"; m = sender.next() {
		}
	}
	if st := srv.Stats(); st.DroppedDeltas != 0 || st.Resyncs != 0 {
		t.Fatalf("deltas dropped (%d) or resyncs (%d): the queue bound was hit, the test proves nothing", st.DroppedDeltas, st.Resyncs)
	}
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(ctx) }()
	for i, c := range conns {
		last := -1.0
		for {
			_, data, err := c.Read(ctx)
			if err != nil {
				if code := websocket.CloseStatus(err); code != live.CloseGoingAway {
					t.Fatalf("watcher %d: ended with %v, want close %d", i, err, live.CloseGoingAway)
				}
				break
			}
			for _, m := range splitFrame(t, data) {
				if m["type"] != "STATE_DELTA" && m["type"] != "STATE_UPDATE" {
					continue
				}
				p, _ := m["payload"].(map[string]any)
				st, _ := p["delta"].(map[string]any)
				if st == nil {
					st, _ = p["state"].(map[string]any)
				}
				if n, ok := st["n"].(float64); ok {
					last = n
				}
			}
		}
		if last != rounds {
			t.Errorf("watcher %d: last n seen before the close %v, want %d", i, last, rounds)
		}
	}
	must(t, <-shut)
}
