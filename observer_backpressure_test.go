package live_test

import (
	"context"
	"strings"
	"testing"
	"time"

	live "github.com/live-go/live"
)

// Flood is a singleton whose actions produce 2 KiB messages for every
// subscriber: fill a state delta (droppable), yell an event (not).
type Flood struct {
	live.Base
	Data string `json:"data"`
	n    int
}

func (f *Flood) Fill(ctx *live.Ctx) error {
	f.n++
	f.Data = strings.Repeat(string(rune('a'+f.n%26)), 2<<10)
	return nil
}

func (f *Flood) Yell(ctx *live.Ctx) error {
	return f.Emit("yell", strings.Repeat("!", 2<<10))
}

// queueObserver signals the events of a send queue under pressure.
type queueObserver struct {
	live.NopObserver
	mounted  chan string // connection ids
	resynced chan string
	slow     chan string
}

func newQueueObserver() *queueObserver {
	return &queueObserver{mounted: make(chan string, 8), resynced: make(chan string, 8), slow: make(chan string, 8)}
}

func (o *queueObserver) ComponentMounted(e live.ComponentEvent) { o.mounted <- e.ConnID }
func (o *queueObserver) Resynced(e live.ConnEvent)              { o.resynced <- e.ConnID }
func (o *queueObserver) SlowConsumer(e live.ConnEvent)          { o.slow <- e.ConnID }

// receive returns the next value of ch, failing the test if none comes
// (a hang guard, not a timing assertion).
func receive(t *testing.T, ch <-chan string, what string) string {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(30 * time.Second):
		t.Fatalf("no %s event", what)
		return ""
	}
}

// floodServer starts a server with 4 KiB send queues, a Flood singleton,
// a stuck connection (its socket accepts no write until the test reads
// stuck.out) and a normal one; both mounted Flood.
func floodServer(t *testing.T) (obs *queueObserver, stuck *memSocket, stuckID string, call func(action string)) {
	t.Helper()
	obs = newQueueObserver()
	srv, err := live.New(live.Options{StateSecret: testSecret, SendQueueBytes: 4 << 10, RateLimitBurst: -1,
		PingInterval: -1, Observer: obs})
	must(t, err)
	must(t, live.Register(srv, live.Component[Flood]{Name: "Flood", Actions: []string{"fill", "yell"}, Singleton: true}))
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })

	// Unbuffered out: the writer blocks on CONNECTION_ESTABLISHED, so
	// everything after it stays in the send queue.
	stuck = &memSocket{in: make(chan []byte, 16), out: make(chan frameMsg), closed: make(chan struct{})}
	go func() { _ = srv.ServeSocket(context.Background(), stuck, live.Request{}) }()
	stuck.in <- []byte(`{"type":"COMPONENT_MOUNT","componentId":"m","payload":{"component":"Flood"},"requestId":"mount"}`)
	stuckID = receive(t, obs.mounted, "ComponentMounted")

	fast := newMemSocket()
	t.Cleanup(func() { _ = fast.Close(1000, "") })
	go func() { _ = srv.ServeSocket(context.Background(), fast, live.Request{}) }()
	<-fast.out // CONNECTION_ESTABLISHED
	fast.in <- []byte(`{"type":"COMPONENT_MOUNT","componentId":"m","payload":{"component":"Flood"},"requestId":"mount"}`)
	receive(t, obs.mounted, "ComponentMounted")
	var id string
	for id == "" {
		f := <-fast.out
		if i := strings.Index(f.data, `"result":{"componentId":"`); i >= 0 {
			id = f.data[i+len(`"result":{"componentId":"`) : i+len(`"result":{"componentId":"`)+8]
		}
	}
	call = func(action string) {
		t.Helper()
		fast.in <- []byte(`{"type":"CALL_ACTION","componentId":"` + id + `","action":"` + action + `","payload":{},"requestId":"r","expectResponse":true}`)
		for {
			f := <-fast.out
			if strings.Contains(f.data, `"ACTION_RESPONSE"`) {
				if !strings.Contains(f.data, `"success":true`) {
					t.Fatalf("%s: %s", action, f.data)
				}
				return
			}
		}
	}
	return obs, stuck, stuckID, call
}

func TestObserverResync(t *testing.T) {
	obs, stuck, stuckID, call := floodServer(t)
	for range 3 { // 6 KiB of deltas for a 4 KiB queue: dropped, resync requested
		call("fill")
	}
	select {
	case id := <-obs.resynced:
		t.Fatalf("Resynced for %s before the writer took the queue", id)
	default:
	}
	// Unblock the stuck client: its writer takes the queue, sees the
	// resync request and queues snapshots instead of the dropped deltas.
	go func() {
		for {
			select {
			case <-stuck.out:
			case <-stuck.closed:
				return
			}
		}
	}()
	if id := receive(t, obs.resynced, "Resynced"); id != stuckID {
		t.Errorf("Resynced %s, want the stuck connection %s", id, stuckID)
	}
	select {
	case id := <-obs.slow:
		t.Errorf("SlowConsumer for %s: deltas alone must not close a connection", id)
	default:
	}
	_ = stuck.Close(1000, "")
}

func TestObserverSlowConsumer(t *testing.T) {
	obs, stuck, stuckID, call := floodServer(t)
	// Events are not droppable: past twice the 4 KiB bound the stuck
	// connection is closed, while the action that pushed is running, so
	// the event is there when the action's reply arrives.
	for range 5 {
		call("yell")
	}
	select {
	case id := <-obs.slow:
		if id != stuckID {
			t.Errorf("SlowConsumer %s, want the stuck connection %s", id, stuckID)
		}
	default:
		t.Fatal("no SlowConsumer after 10 KiB of events for a 4 KiB queue")
	}
	_ = stuck.Close(1000, "") // release the blocked writer
}
