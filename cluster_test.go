package live_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	live "github.com/live-go/live"
	"github.com/live-go/live/client"
)

type clusterNodeT struct {
	srv *live.Server
	hs  *httptest.Server
}

func startNode(t *testing.T, c live.Cluster, ttl time.Duration) *clusterNodeT {
	t.Helper()
	srv, err := live.New(live.Options{
		StateSecret:     []byte("cluster-test-secret-cluster-test!"),
		Cluster:         c,
		ClusterLeaseTTL: ttl,
		RateLimitBurst:  -1,
	})
	must(t, err)
	must(t, live.Register(srv, live.Component[SharedCounter]{Name: "SharedCounter", Actions: []string{"bump"}, Singleton: true}))
	must(t, live.Register(srv, live.Component[Counter]{Name: "Counter", Actions: []string{"increment"}}))
	must(t, live.Register(srv, live.Component[Lobby]{Name: "Lobby", Actions: []string{"enter", "exit", "shout", "who"},
		New: func() *Lobby { return &Lobby{hooks: &hookLog{}} }}))
	nd := &clusterNodeT{srv: srv, hs: httptest.NewServer(srv)}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = nd.srv.Shutdown(ctx)
		nd.hs.Close()
	})
	return nd
}

func startNodes(t *testing.T, mc *live.MemoryCluster, n int, ttl time.Duration) []*clusterNodeT {
	t.Helper()
	nodes := make([]*clusterNodeT, n)
	for i := range nodes {
		nodes[i] = startNode(t, mc.Node(fmt.Sprintf("node-%d", i+1)), ttl)
	}
	return nodes
}

func dialClient(t *testing.T, hs *httptest.Server) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, wsURL(hs), &client.Options{Reconnect: client.ReconnectOptions{Disabled: true}})
	must(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func countOf(state map[string]any) float64 {
	n, _ := state["count"].(float64)
	return n
}

// Three nodes in one process, clients spread across them: the singleton is
// one instance (same id everywhere), actions from any node apply exactly
// once and in order, and every client's mirror converges.
func TestClusterSingletonAcrossThreeNodes(t *testing.T) {
	mc := live.NewMemoryCluster()
	nodes := startNodes(t, mc, 3, 2*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var comps []*client.Component
	for i := range 9 {
		c := dialClient(t, nodes[i%3].hs)
		comp, err := c.Mount(ctx, "SharedCounter", nil)
		must(t, err)
		comps = append(comps, comp)
	}
	for _, comp := range comps[1:] {
		if comp.ID() != comps[0].ID() {
			t.Fatalf("singleton ids differ across nodes: %s vs %s", comp.ID(), comps[0].ID())
		}
	}
	const perClient = 10
	var wg sync.WaitGroup
	results := make([][]int, len(comps))
	for i, comp := range comps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perClient {
				raw, err := comp.Call(ctx, "bump", map[string]any{"sender": fmt.Sprint(i)})
				if err != nil {
					t.Errorf("client %d: %v", i, err)
					return
				}
				var n int
				_ = json.Unmarshal(raw, &n)
				results[i] = append(results[i], n)
			}
		}()
	}
	wg.Wait()
	total := len(comps) * perClient
	seen := map[int]bool{}
	for i, rs := range results {
		for j, v := range rs {
			if seen[v] {
				t.Fatalf("count %d returned twice: an action ran twice or counts diverged", v)
			}
			seen[v] = true
			if j > 0 && v <= rs[j-1] {
				t.Fatalf("client %d saw counts out of order: %v", i, rs)
			}
		}
	}
	if len(seen) != total {
		t.Fatalf("%d distinct results, want %d", len(seen), total)
	}
	for i, comp := range comps {
		must(t, comp.WaitFor(ctx, func(s map[string]any) bool { return countOf(s) == float64(total) }))
		last, _ := comp.State()["last"].(map[string]any)
		if len(last) != len(comps) {
			t.Fatalf("client %d: last = %v", i, last)
		}
		if comp.Seq() != uint64(total) {
			t.Fatalf("client %d: seq %d, want %d (a delta was lost or duplicated)", i, comp.Seq(), total)
		}
	}
}

// Graceful shutdown of the owner hands the singleton over at once (not
// after the lease TTL), with its state.
func TestClusterGracefulHandOff(t *testing.T) {
	mc := live.NewMemoryCluster()
	const ttl = 30 * time.Second // far longer than the test may take
	owner := startNode(t, mc.Node("owner"), ttl)
	other := startNode(t, mc.Node("other"), ttl)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a, err := dialClient(t, owner.hs).Mount(ctx, "SharedCounter", nil)
	must(t, err)
	b, err := dialClient(t, other.hs).Mount(ctx, "SharedCounter", nil)
	must(t, err)
	for range 5 {
		_, err := a.Call(ctx, "bump", map[string]any{"sender": "a"})
		must(t, err)
	}
	must(t, b.WaitFor(ctx, func(s map[string]any) bool { return countOf(s) == 5 }))

	start := time.Now()
	must(t, owner.srv.Shutdown(ctx))
	// b's node takes over: its next action runs locally on the new owner.
	var raw json.RawMessage
	for {
		raw, err = b.Call(ctx, "bump", map[string]any{"sender": "b"})
		if err == nil {
			break
		}
		if !strings.Contains(err.Error(), "OWNERSHIP_LOST") && !strings.Contains(err.Error(), "Remote action failed") {
			t.Fatalf("bump after hand-off: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if string(raw) != "6" {
		t.Fatalf("first bump after hand-off returned %s, want 6 (state lost?)", raw)
	}
	if took := time.Since(start); took > ttl/2 {
		t.Fatalf("hand-off took %v, not well under the %v lease", took, ttl)
	}
	if st := other.srv.Stats(); st.ClusterTakeovers != 1 {
		t.Fatalf("takeovers on the surviving node: %d", st.ClusterTakeovers)
	}
}

// Room traffic crosses nodes in both directions: events and state reach
// every member on every node exactly once, with presence counts that span
// the nodes.
func TestClusterRoomsAcrossNodes(t *testing.T) {
	mc := live.NewMemoryCluster()
	nodes := startNodes(t, mc, 3, 2*time.Second)
	var clients []*rawClient
	var ids []string
	for i := range 3 {
		rc := dialRaw(t, nodes[i].hs, nil)
		id, _ := rc.mount("Counter", nil)
		rc.send(roomMsg("ROOM_JOIN", id, "global", nil, "j"))
		rc.expect("ROOM_JOINED")
		clients = append(clients, rc)
		ids = append(ids, id)
	}
	// Everyone eventually knows all 3 members (sync + join announcements).
	for i, nd := range nodes {
		waitFor(t, fmt.Sprintf("node %d to see 3 members", i), func() bool { return len(nd.srv.RoomMembers("global")) == 3 })
	}
	// Drop the $sub:join notices each client got so far.
	for _, rc := range clients {
		rc.send(map[string]any{"type": "COMPONENT_UNMOUNT", "componentId": "marker", "requestId": "drain"})
		for rc.next()["requestId"] != "drain" {
		}
	}
	// Each member emits once: every other member gets it exactly once.
	for i, rc := range clients {
		rc.send(roomMsg("ROOM_EMIT", ids[i], "global", map[string]any{"event": "hello", "data": ids[i]}, ""))
	}
	for i, rc := range clients {
		got := map[string]int{}
		for range 2 {
			ev := rc.expect("ROOM_EVENT")
			if ev["componentId"] != ids[i] {
				t.Fatalf("client %d got an event addressed to %v", i, ev["componentId"])
			}
			got[ev["data"].(string)]++
		}
		if got[ids[i]] != 0 || len(got) != 2 {
			t.Fatalf("client %d heard %v", i, got)
		}
		rc.quiet() // and nothing more
	}
	// State set on node 3 reaches nodes 1 and 2.
	clients[2].send(roomMsg("ROOM_STATE_SET", ids[2], "global", map[string]any{"state": map[string]any{"score": 7}}, ""))
	for _, rc := range clients[:2] {
		st := rc.expect("ROOM_STATE")
		wantJSON(t, st["data"], `{"state":{"score":7}}`)
	}
	clients[0].send(roomMsg("ROOM_STATE_GET", ids[0], "global", nil, "g"))
	wantJSON(t, clients[0].expect("ROOM_STATE")["payload"], `{"roomId":"global","state":{"score":7}}`)
	// A member on node 2 leaves: the others see the leave with count 2.
	clients[1].send(roomMsg("ROOM_LEAVE", ids[1], "global", nil, "l"))
	clients[1].expect("ROOM_LEFT")
	for _, rc := range []*rawClient{clients[0], clients[2]} {
		sys := rc.expect("ROOM_SYSTEM")
		if sys["event"] != "$sub:leave" || sys["data"].(map[string]any)["count"] != float64(2) {
			t.Fatalf("leave notice: %v", sys)
		}
	}
}

// blockSubscribe holds a node's Subscribe calls for one subject until
// release is closed: a backend that cannot serve that call.
type blockSubscribe struct {
	live.Cluster
	subject string
	entered chan struct{} // one send per held call
	release chan struct{}
}

func (b *blockSubscribe) Subscribe(ctx context.Context, subject string, fn func([]byte)) (live.Subscription, error) {
	if subject == b.subject {
		b.entered <- struct{}{}
		select {
		case <-b.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return b.Cluster.Subscribe(ctx, subject, fn)
}

// A room's Subscribe that hangs holds up that room only. On the same node,
// meanwhile, another room is joined, a singleton owned by another node is
// mounted (its own Subscribe) and a forwarded action is answered (its
// reply needs the node's bookkeeping). Before, the hanging call held the
// node's mutex, which all of these need, for the backend's whole timeout.
func TestClusterHangingRoomSubscribeHoldsUpOnlyItsRoom(t *testing.T) {
	mc := live.NewMemoryCluster()
	stuck := &blockSubscribe{Cluster: mc.Node("node-1"), subject: "live.room.stuck",
		entered: make(chan struct{}, 1), release: make(chan struct{})}
	n1 := startNode(t, stuck, 2*time.Second)
	n2 := startNode(t, mc.Node("node-2"), 2*time.Second)
	var released sync.Once
	release := func() { released.Do(func() { close(stuck.release) }) }
	t.Cleanup(release) // before the nodes shut down, if the test fails early
	owner := dialRaw(t, n2.hs, nil)
	owner.mount("SharedCounter", nil) // node 2 owns the singleton

	a := dialRaw(t, n1.hs, nil)
	aid, _ := a.mount("Counter", nil)
	a.send(roomMsg("ROOM_JOIN", aid, "stuck", nil, "j"))
	select {
	case <-stuck.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the join never reached Subscribe")
	}

	b := dialRaw(t, n1.hs, nil)
	bid, _ := b.mount("Counter", nil)
	b.send(roomMsg("ROOM_JOIN", bid, "free", nil, "j"))
	b.expect("ROOM_JOINED")

	p := dialRaw(t, n1.hs, nil)
	sid, _ := p.mount("SharedCounter", nil)
	if got := p.mustCall(sid, "bump", map[string]any{"sender": "p"}); got != float64(1) {
		t.Fatalf("forwarded bump returned %v, want 1", got)
	}

	release()
	a.expect("ROOM_JOINED")
	// The room works across the nodes once its subscription exists.
	c := dialRaw(t, n2.hs, nil)
	cid, _ := c.mount("Counter", nil)
	c.send(roomMsg("ROOM_JOIN", cid, "stuck", nil, "j"))
	c.expect("ROOM_JOINED")
	for i, nd := range []*clusterNodeT{n1, n2} {
		waitFor(t, fmt.Sprintf("node %d to see both members of the room that was stuck", i+1), func() bool {
			return len(nd.srv.RoomMembers("stuck")) == 2
		})
	}
}
