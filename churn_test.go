package live_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	live "github.com/live-go/live"
)

// churnCycle connects one in-memory client, mounts name (in broadcast room
// mountRoom when set, then joins room joinRoom with ROOM_JOIN when set),
// closes the socket and waits until the server has torn the connection
// down.
func churnCycle(srv *live.Server, name, mountRoom, joinRoom string) error {
	sock := newMemSocket()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.ServeSocket(context.Background(), sock, live.Request{})
	}()
	defer func() {
		_ = sock.Close(1000, "")
		<-done
	}()
	// await reads frames until one contains want.
	await := func(want string) (string, error) {
		timeout := time.NewTimer(10 * time.Second)
		defer timeout.Stop()
		for {
			select {
			case f := <-sock.out:
				if strings.Contains(f.data, want) {
					return f.data, nil
				}
			case <-timeout.C:
				return "", fmt.Errorf("no frame with %s", want)
			}
		}
	}
	room := ""
	if mountRoom != "" {
		room = `,"room":"` + mountRoom + `"`
	}
	sock.in <- []byte(`{"type":"COMPONENT_MOUNT","componentId":"m","payload":{"component":"` + name + `"` + room + `},"requestId":"mount"}`)
	reply, err := await(`"requestId":"mount"`)
	if err != nil {
		return err
	}
	const key = `"componentId":"`
	i := strings.Index(reply, `"result":{`+key)
	if i < 0 {
		return fmt.Errorf("mount failed: %s", reply)
	}
	id := reply[i+len(`"result":{`+key):]
	id = id[:strings.IndexByte(id, '"')]
	if joinRoom != "" {
		sock.in <- []byte(`{"type":"ROOM_JOIN","componentId":"` + id + `","roomId":"` + joinRoom + `","requestId":"join"}`)
		if reply, err := await(`"requestId":"join"`); err != nil || !strings.Contains(reply, `"ROOM_JOINED"`) {
			return fmt.Errorf("room join: %v %s", err, reply)
		}
	}
	return nil
}

// churn runs n cycles with at most par at once.
func churn(t *testing.T, srv *live.Server, n, par int, name, mountRoom, joinRoom string) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, par)
	next := make(chan struct{}, n)
	for range n {
		next <- struct{}{}
	}
	close(next)
	for range par {
		wg.Go(func() {
			for range next {
				if err := churnCycle(srv, name, mountRoom, joinRoom); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// liveHeap returns the live heap after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC() // the second one frees what finalizers of the first released
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// Issue 9, point 4, in process: thousands of connect+mount+close cycles
// leave no goroutine, no registry entry and no heap behind. The server
// first runs a warm-up of cycles so that lazily built pools and maps exist
// in the baseline; every wait is a poll with a generous deadline, and no
// duration is asserted.
func TestMountChurnLeavesNothingBehind(t *testing.T) {
	const (
		warmup   = 200
		cycles   = 3000
		parallel = 8
		// heapSlack bounds the live heap's growth over the baseline: 64
		// bytes per cycle plus 256 KiB of noise. The reference retains about
		// 600 bytes per cycle.
		heapSlack = cycles*64 + 256<<10
	)
	for _, tc := range []struct {
		name      string
		component string
		grace     time.Duration
		mountRoom string // COMPONENT_MOUNT payload.room (broadcast group)
		joinRoom  string // ROOM_JOIN after the mount
		// rooms is what the room registry keeps by design: an empty room
		// lives for 5 minutes after its last member left.
		rooms int
	}{
		{name: "Counter, no resume grace", component: "Counter", grace: -1},
		{name: "Counter in rooms, grace expired", component: "Counter", grace: 20 * time.Millisecond,
			mountRoom: "churn-broadcast", joinRoom: "churn-room", rooms: 1},
		{name: "singleton, grace expired", component: "TodoList", grace: 20 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := live.New(live.Options{
				StateSecret:    []byte("churn-test-secret-churn-test-secret"),
				RateLimitBurst: -1,
				ResumeGrace:    tc.grace,
			})
			must(t, err)
			must(t, live.Register(srv, live.Component[Counter]{Name: "Counter", Actions: []string{"increment"}}))
			must(t, live.Register(srv, live.Component[TodoList]{Name: "TodoList", Actions: []string{"addTodo"}, Singleton: true}))
			defer func() { _ = srv.Shutdown(context.Background()) }()
			wantEmpty := map[string]int{"connections": 0, "instances": 0, "singletons": 0, "broadcastGroups": 0, "rooms": tc.rooms}
			// settle polls until the server holds no connection and no
			// component, and the goroutine count is at most max.
			settle := func(max int) (goroutines int, sizes map[string]int) {
				t.Helper()
				deadline := time.Now().Add(20 * time.Second)
				for {
					goroutines, sizes = runtime.NumGoroutine(), live.RegistrySizes(srv)
					if (goroutines <= max && cmp.Equal(sizes, wantEmpty)) || time.Now().After(deadline) {
						return goroutines, sizes
					}
					time.Sleep(10 * time.Millisecond)
				}
			}

			churn(t, srv, warmup, parallel, tc.component, tc.mountRoom, tc.joinRoom)
			baseGoroutines, sizes := settle(runtime.NumGoroutine())
			if diff := cmp.Diff(wantEmpty, sizes); diff != "" {
				t.Fatalf("registries after the warm-up (-want +got):\n%s", diff)
			}
			baseHeap := liveHeap()

			churn(t, srv, cycles, parallel, tc.component, tc.mountRoom, tc.joinRoom)
			goroutines, sizes := settle(baseGoroutines)
			if diff := cmp.Diff(wantEmpty, sizes); diff != "" {
				t.Errorf("registries after %d cycles (-want +got):\n%s", cycles, diff)
			}
			if goroutines > baseGoroutines {
				t.Errorf("goroutines: %d after %d cycles, baseline %d", goroutines, cycles, baseGoroutines)
			}
			heap := liveHeap()
			growth := int64(heap) - int64(baseHeap)
			t.Logf("%d cycles: goroutines %d → %d; live heap %d → %d bytes (%+.1f bytes/cycle); stats %+v",
				cycles, baseGoroutines, goroutines, baseHeap, heap, float64(growth)/cycles, srv.Stats())
			if growth > heapSlack {
				t.Errorf("live heap grew by %d bytes over %d cycles (bound %d)", growth, cycles, heapSlack)
			}
			if st := srv.Stats(); st.Mounts != warmup+cycles {
				t.Errorf("mounts = %d, want %d", st.Mounts, warmup+cycles)
			}
		})
	}
}
