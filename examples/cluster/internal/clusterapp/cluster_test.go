package clusterapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	live "github.com/live-go/live"
	"github.com/live-go/live/client"
)

var testSecret = []byte(strings.Repeat("k", MinSecret))

// crashable is a cluster handle that can be made to fail like a dead
// process: after crash, every call fails and nothing is delivered to its
// subscriptions any more.
type crashable struct {
	live.Cluster
	dead atomic.Bool
}

var errCrashed = errors.New("test: node crashed")

func (c *crashable) crash() { c.dead.Store(true) }

func (c *crashable) fail() error {
	if c.dead.Load() {
		return errCrashed
	}
	return nil
}

func (c *crashable) Publish(ctx context.Context, subject string, data []byte) error {
	if err := c.fail(); err != nil {
		return err
	}
	return c.Cluster.Publish(ctx, subject, data)
}

func (c *crashable) Subscribe(ctx context.Context, subject string, fn func([]byte)) (live.Subscription, error) {
	if err := c.fail(); err != nil {
		return nil, err
	}
	return c.Cluster.Subscribe(ctx, subject, func(b []byte) {
		if !c.dead.Load() {
			fn(b)
		}
	})
}

func (c *crashable) AcquireLease(ctx context.Context, key string, ttl time.Duration) (live.Lease, error) {
	if err := c.fail(); err != nil {
		return live.Lease{}, err
	}
	return c.Cluster.AcquireLease(ctx, key, ttl)
}

func (c *crashable) RenewLease(ctx context.Context, l live.Lease, ttl time.Duration) error {
	if err := c.fail(); err != nil {
		return err
	}
	return c.Cluster.RenewLease(ctx, l, ttl)
}

func (c *crashable) ReleaseLease(ctx context.Context, l live.Lease) error {
	if err := c.fail(); err != nil {
		return err
	}
	return c.Cluster.ReleaseLease(ctx, l)
}

func (c *crashable) LeaseHolder(ctx context.Context, key string) (live.Lease, error) {
	if err := c.fail(); err != nil {
		return live.Lease{}, err
	}
	return c.Cluster.LeaseHolder(ctx, key)
}

func (c *crashable) PutFenced(ctx context.Context, key string, token uint64, value []byte, ttl time.Duration) error {
	if err := c.fail(); err != nil {
		return err
	}
	return c.Cluster.PutFenced(ctx, key, token, value, ttl)
}

func (c *crashable) GetFenced(ctx context.Context, key string) ([]byte, uint64, error) {
	if err := c.fail(); err != nil {
		return nil, 0, err
	}
	return c.Cluster.GetFenced(ctx, key)
}

func (c *crashable) PutIfAbsent(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if err := c.fail(); err != nil {
		return false, err
	}
	return c.Cluster.PutIfAbsent(ctx, key, value, ttl)
}

func (c *crashable) Delete(ctx context.Context, key string) error {
	if err := c.fail(); err != nil {
		return err
	}
	return c.Cluster.Delete(ctx, key)
}

// testNode is a Node served by an httptest server.
type testNode struct {
	*Node
	hs        *httptest.Server
	crash     func() // makes the node's cluster handle fail and drops its clients
	partition func() // makes the node's cluster handle fail, clients stay
}

// startNodes starts one node per id on one MemoryCluster.
func startNodes(t *testing.T, ttl time.Duration, ids ...string) []*testNode {
	t.Helper()
	mc := live.NewMemoryCluster()
	var out []*testNode
	for _, id := range ids {
		cc := &crashable{Cluster: mc.Node(id)}
		n, err := NewNode(NodeConfig{Cluster: cc, Backend: "memory", Secret: testSecret, LeaseTTL: ttl, ActionTimeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		tn := &testNode{Node: n, hs: httptest.NewServer(n.Handler())}
		tn.crash = func() {
			cc.crash()
			tn.hs.CloseClientConnections()
		}
		tn.partition = cc.crash
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := n.Shutdown(ctx); err != nil && !errors.Is(err, errCrashed) {
				t.Errorf("shutdown %s: %v", id, err)
			}
			tn.hs.Close()
		})
		out = append(out, tn)
	}
	return out
}

func (n *testNode) wsURL() string {
	return "ws" + strings.TrimPrefix(n.hs.URL, "http") + "/api/live/ws"
}

func dial(t *testing.T, n *testNode) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, n.wsURL(), &client.Options{Reconnect: client.ReconnectOptions{Disabled: true}, RequestTimeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func mount(t *testing.T, c *client.Client, name string) *client.Component {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := c.Mount(ctx, name, nil)
	if err != nil {
		t.Fatalf("mount %s: %v", name, err)
	}
	return m
}

func call(t *testing.T, m *client.Component, action string, payload any) json.RawMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := m.Call(ctx, action, payload)
	if err != nil {
		t.Fatalf("%s.%s: %v", m.Name(), action, err)
	}
	return res
}

func waitState(t *testing.T, m *client.Component, what string, cond func(map[string]any) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := m.WaitFor(ctx, cond); err != nil {
		t.Fatalf("%s: state %v: %v", what, m.State(), err)
	}
}

// waitUntil re-checks cond every few milliseconds until it holds, and
// fails the test after timeout.
func waitUntil(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		<-tick.C
	}
}

func ownerOf(n *testNode, name string) string {
	return n.Status(context.Background()).Owners[name].Node
}

func countIs(n float64) func(map[string]any) bool {
	return func(s map[string]any) bool { return s["count"] == n }
}

// Two nodes in one process share the singletons (one owner, actions from
// either node) and the lobby (members and history across the nodes).
func TestNodesShareSingletonsAndRooms(t *testing.T) {
	nodes := startNodes(t, 2*time.Second, "a", "b")
	a, b := dial(t, nodes[0]), dial(t, nodes[1])

	sa, sb := mount(t, a, SharedCounterName), mount(t, b, SharedCounterName)
	if sa.ID() != sb.ID() {
		t.Fatalf("singleton ids %s and %s differ", sa.ID(), sb.ID())
	}
	call(t, sa, "bump", nil)
	call(t, sb, "bump", nil)
	waitState(t, sa, "a sees both bumps", countIs(2))
	waitState(t, sb, "b sees both bumps", countIs(2))
	owners := map[string]bool{ownerOf(nodes[0], SharedCounterName): true, ownerOf(nodes[1], SharedCounterName): true}
	if len(owners) != 1 || owners[""] {
		t.Fatalf("owners reported: %v", owners)
	}

	ta, tb := mount(t, a, TodoListName), mount(t, b, TodoListName)
	call(t, tb, "addTodo", TextArgs{Text: "from b"})
	waitState(t, ta, "a sees b's todo", func(s map[string]any) bool {
		todos, _ := s["todos"].([]any)
		return len(todos) == 1 && todos[0].(map[string]any)["text"] == "from b"
	})

	ca, cb := mount(t, a, ChatName), mount(t, b, ChatName)
	call(t, ca, "join", NameArgs{Name: "ann"})
	call(t, cb, "join", NameArgs{Name: "bob"})
	for _, n := range nodes {
		waitUntil(t, "both members seen on "+n.ID(), 5*time.Second, func() bool { return len(n.Server().RoomMembers(LobbyRoom)) == 2 })
	}
	call(t, ca, "send", TextArgs{Text: "hello from a"})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		msg, err := b.Request(ctx, map[string]any{"type": "ROOM_STATE_GET", "componentId": cb.ID(), "roomId": LobbyRoom})
		if err != nil {
			t.Fatalf("ROOM_STATE_GET on b: %v", err)
		}
		if strings.Contains(string(msg.Raw), "hello from a") {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("b's lobby state never got a's message: %s", msg.Raw)
		}
	}
}

// Status and the routes of Node.Handler.
func TestNodeHandler(t *testing.T) {
	nodes := startNodes(t, 2*time.Second, "solo")
	hs := nodes[0].hs
	get := func(path string) (*http.Response, string) {
		t.Helper()
		res, err := http.Get(hs.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var sb strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := res.Body.Read(buf)
			sb.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return res, sb.String()
	}
	tests := []struct {
		path, wantType, wantBody string
		wantStatus               int
	}{
		{"/", "text/html; charset=utf-8", "<title>live · cluster</title>", 200},
		{"/panels", "application/json", `[{"name":"solo","base":"./"}]`, 200},
		{"/cluster", "application/json", `"owners":{"SharedCounter":{"node":""},"TodoList":{"node":""}}`, 200},
		{"/api/live/client.js", "", "export", 200},
		{"/nope", "", "", 404},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			res, body := get(tt.path)
			if res.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.wantStatus)
			}
			if tt.wantType != "" && res.Header.Get("Content-Type") != tt.wantType {
				t.Errorf("Content-Type %q", res.Header.Get("Content-Type"))
			}
			if !strings.Contains(body, tt.wantBody) {
				t.Errorf("body %q does not contain %q", body, tt.wantBody)
			}
		})
	}
	res, _ := get("/")
	csp := res.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self' 'sha256-") || !strings.Contains(csp, "style-src 'sha256-") {
		t.Errorf("CSP %q does not pin the inline script and style", csp)
	}
}

func TestNewNodeRejectsShortSecret(t *testing.T) {
	if _, err := NewNode(NodeConfig{Secret: []byte("short")}); err == nil {
		t.Fatal("a short secret was accepted")
	}
}

func TestBackendValidate(t *testing.T) {
	tests := []struct {
		b    Backend
		ok   bool
		desc string
	}{
		{Backend{Redis: "h:1"}, true, "redis h:1"},
		{Backend{NATS: "nats://h"}, true, "nats nats://h"},
		{Backend{}, false, "none"},
		{Backend{Redis: "h:1", NATS: "nats://h"}, false, "redis h:1"},
		{Backend{Redis: "h:1", Prefix: "ok_prefix-1"}, true, "redis h:1"},
		{Backend{Redis: "h:1", Prefix: "no.dots"}, false, "redis h:1"},
		{Backend{Redis: "h:1", Prefix: strings.Repeat("p", MaxPrefix+1)}, false, "redis h:1"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%+v", tt.b), func(t *testing.T) {
			if err := tt.b.validate(); (err == nil) != tt.ok {
				t.Errorf("validate() = %v, want ok %v", err, tt.ok)
			}
			if got := tt.b.String(); got != tt.desc {
				t.Errorf("String() = %q, want %q", got, tt.desc)
			}
		})
	}
	if _, err := (Backend{}).Open(context.Background(), "x", nil); !errors.Is(err, ErrNoBackend) {
		t.Errorf("Open without a backend: %v", err)
	}
}

// ---- bugs of the live core found with this example (fixed; kept as regression tests) ----

// After a takeover, the new owner's state is valid right away: a client
// mounting before any further action gets the mirrored count, and the
// takeover's mirror write succeeds.
//
// Was a core bug (fixed): clusterNode.takeOver calls in.encodeState while in.remote is
// still set, so the new stateTracker's baseline stays empty: the mirror
// write fails ("invalid character ','") and snapshots are invalid JSON
// until the next action.
func TestTakeoverStateIsValid(t *testing.T) {
	const ttl = 300 * time.Millisecond
	nodes := startNodes(t, ttl, "a", "b")
	x := mount(t, dial(t, nodes[0]), SharedCounterName)
	for range 3 {
		call(t, x, "bump", nil)
	}
	y := mount(t, dial(t, nodes[1]), SharedCounterName)
	waitState(t, y, "b's client sees the count", countIs(3))
	nodes[0].crash()
	waitUntil(t, "b taking the singleton over", 5*time.Second, func() bool { return ownerOf(nodes[1], SharedCounterName) == "b" })
	if errs := nodes[1].Server().Stats().ClusterErrors; errs != 0 {
		t.Errorf("%d cluster errors on the new owner, with a healthy backend", errs)
	}
	z := mount(t, dial(t, nodes[1]), SharedCounterName)
	if got := z.State()["count"]; got != float64(3) {
		t.Fatalf("a client mounting on the new owner sees count %v, want 3", got)
	}
}

// A client that rehydrates a singleton on a node where nobody uses it yet
// joins the cluster's singleton: its actions reach the owner.
//
// Was a core bug (fixed): Server.rehydrateSingleton creates a local instance from the
// signed state when the node has none, without the cluster (no lease, no
// proxy): actions then run on an unowned copy and the cluster's singleton
// never sees them.
func TestRehydrateSingletonOnAnotherNode(t *testing.T) {
	nodes := startNodes(t, 2*time.Second, "a", "b")
	x := mount(t, dial(t, nodes[0]), SharedCounterName)
	call(t, x, "bump", nil)
	call(t, x, "bump", nil)
	waitUntil(t, "a signed state with count 2", 5*time.Second, func() bool {
		return strings.Contains(string(x.SignedState()), `\"count\":2`) || strings.Contains(string(x.SignedState()), `"count":2`)
	})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, nodes[1].wsURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	request := func(msg map[string]any) map[string]any {
		t.Helper()
		msg["requestId"], msg["expectResponse"] = "r1", true
		b, _ := json.Marshal(msg)
		if err := ws.Write(ctx, websocket.MessageText, b); err != nil {
			t.Fatal(err)
		}
		for {
			_, data, err := ws.Read(ctx)
			if err != nil {
				t.Fatalf("waiting for the reply to %s: %v", msg["type"], err)
			}
			// A frame holds one message or an array of them.
			var batch []map[string]any
			if len(data) > 0 && data[0] != '[' {
				data = append(append([]byte{'['}, data...), ']')
			}
			_ = json.Unmarshal(data, &batch)
			for _, m := range batch {
				if m["requestId"] == "r1" {
					return m
				}
			}
		}
	}
	reply := request(map[string]any{"type": "COMPONENT_REHYDRATE", "componentId": x.ID(),
		"payload": map[string]any{"component": SharedCounterName, "signedState": x.SignedState()}})
	if reply["success"] != true {
		t.Fatalf("rehydrate on b: %v", reply)
	}
	id, _ := reply["result"].(map[string]any)["newComponentId"].(string)
	if id != x.ID() {
		t.Errorf("rehydrated as %q on b, but the singleton is %q", id, x.ID())
	}
	reply = request(map[string]any{"type": "CALL_ACTION", "componentId": id, "action": "bump", "payload": map[string]any{}})
	if reply["success"] != true {
		t.Fatalf("bump on b: %v", reply)
	}
	waitState(t, x, "the bump made on b reaching the singleton", countIs(3))
}

// When a node dies, the other nodes drop its room members: presence
// (RoomMembers, the member counts clients see) does not keep ghosts.
//
// Was a core bug (fixed): room members of other nodes (room.remote) are removed only by
// their node's "leave" message, which a crashed node never sends; nothing
// ties them to the node's liveness.
func TestRoomMembersOfDeadNodeDropped(t *testing.T) {
	const ttl = 300 * time.Millisecond
	nodes := startNodes(t, ttl, "a", "b")
	call(t, mount(t, dial(t, nodes[0]), ChatName), "join", NameArgs{Name: "ann"})
	call(t, mount(t, dial(t, nodes[1]), ChatName), "join", NameArgs{Name: "bob"})
	waitUntil(t, "b seeing both members", 5*time.Second, func() bool { return len(nodes[1].Server().RoomMembers(LobbyRoom)) == 2 })
	nodes[0].crash()
	waitUntil(t, "b dropping the dead node's member", 10*ttl, func() bool { return len(nodes[1].Server().RoomMembers(LobbyRoom)) == 1 })
}

// An owner cut off from the backend does not acknowledge actions that the
// cluster will not keep: every bump its client saw acknowledged is in the
// state of the node that takes over.
//
// Was a core bug (fixed): clusterNode.persist only logs a failed mirror write (other than
// ErrFenced), and the action's reply goes out anyway; the partitioned owner
// also keeps its ownership, since a failed renewal that is not ErrLeaseLost
// changes nothing. The next owner starts from the last mirrored state, so
// those acknowledged actions are lost.
func TestPartitionedOwnerLosesNoAcknowledgedAction(t *testing.T) {
	const ttl = 300 * time.Millisecond
	nodes := startNodes(t, ttl, "a", "b")
	x := mount(t, dial(t, nodes[0]), SharedCounterName)
	call(t, x, "bump", nil)
	y := mount(t, dial(t, nodes[1]), SharedCounterName)
	waitState(t, y, "b's client sees the first bump", countIs(1))
	nodes[0].partition()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	acked := 1
	if _, err := x.Call(ctx, "bump", nil); err == nil {
		acked++
	}
	waitUntil(t, "b taking the singleton over", 5*time.Second, func() bool { return ownerOf(nodes[1], SharedCounterName) == "b" })
	call(t, y, "bump", nil)
	waitState(t, y, fmt.Sprintf("the new owner counting the %d acknowledged bumps and b's", acked), countIs(float64(acked+1)))
}
