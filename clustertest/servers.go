package clustertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	live "github.com/live-go/live"
	"github.com/live-go/live/client"
)

// Component names registered on the servers of RunServers.
const (
	counterName = "ClusterTestCounter"
	handOffName = "ClusterTestHandOff"
	memberName  = "ClusterTestMember"
)

// sharedCounter is the singleton of RunServers: every bump is numbered.
type sharedCounter struct {
	live.Base
	Count int            `json:"count"`
	Last  map[string]int `json:"last"` // per-sender last count: nested deltas
}

type bumpArgs struct {
	Sender string `json:"sender"`
}

// Bump counts one call and returns the new count.
func (c *sharedCounter) Bump(ctx *live.Ctx, p bumpArgs) (int, error) {
	c.Count++
	if c.Last == nil {
		c.Last = map[string]int{}
	}
	c.Last[p.Sender] = c.Count
	return c.Count, nil
}

// roomMember joins rooms and records what it hears in its state.
type roomMember struct {
	live.Base
	Heard []string `json:"heard"`
}

type roomArgs struct {
	Room  string `json:"room"`
	Text  string `json:"text,omitempty"`
	Score int    `json:"score,omitempty"`
}

// Enter joins the room and listens to its "say" events.
func (m *roomMember) Enter(ctx *live.Ctx, p roomArgs) error {
	h := m.JoinRoom(p.Room)
	if err := h.Join(nil); err != nil {
		return err
	}
	_, err := h.On("say", func(ctx *live.Ctx, data json.RawMessage) {
		var s string
		_ = json.Unmarshal(data, &s)
		m.Heard = append(m.Heard, s)
	})
	return err
}

// Exit leaves the room.
func (m *roomMember) Exit(ctx *live.Ctx, p roomArgs) error { return m.JoinRoom(p.Room).Leave() }

// Say emits text to the room's other members.
func (m *roomMember) Say(ctx *live.Ctx, p roomArgs) error {
	return m.JoinRoom(p.Room).Emit("say", p.Text)
}

// SetScore writes the room's shared state.
func (m *roomMember) SetScore(ctx *live.Ctx, p roomArgs) error {
	return m.JoinRoom(p.Room).SetState(map[string]int{"score": p.Score})
}

// RoomState returns the room's shared state.
func (m *roomMember) RoomState(ctx *live.Ctx, p roomArgs) (json.RawMessage, error) {
	return m.JoinRoom(p.Room).State()
}

// server is one live.Server of RunServers.
type server struct {
	srv *live.Server
	hs  *httptest.Server
}

// startServer starts a live.Server on c, shut down at cleanup.
func startServer(t *testing.T, c live.Cluster) *server {
	t.Helper()
	srv, err := live.New(live.Options{
		StateSecret:          []byte("clustertest-secret-0123456789abcdef"),
		Cluster:              c,
		ClusterLeaseTTL:      3 * time.Second,
		ClusterActionTimeout: 2 * time.Second, // bounds the hand-off retries below
		RateLimitBurst:       -1,
	})
	must(t, err, "live.New")
	must(t, live.Register(srv, live.Component[sharedCounter]{Name: counterName, Actions: []string{"bump"}, Singleton: true}), "Register")
	must(t, live.Register(srv, live.Component[sharedCounter]{Name: handOffName, Actions: []string{"bump"}, Singleton: true}), "Register")
	must(t, live.Register(srv, live.Component[roomMember]{Name: memberName,
		Actions: []string{"enter", "exit", "say", "setScore", "roomState"}}), "Register")
	s := &server{srv: srv, hs: httptest.NewServer(srv)}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout())
		defer cancel()
		_ = s.srv.Shutdown(ctx)
		s.hs.Close()
	})
	return s
}

// dial connects a Go client to s, closed at cleanup.
func (s *server) dial(t *testing.T) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout())
	defer cancel()
	url := "ws" + strings.TrimPrefix(s.hs.URL, "http") + "/api/live/ws"
	c, err := client.Dial(ctx, url, &client.Options{Reconnect: client.ReconnectOptions{Disabled: true}})
	must(t, err, "client.Dial")
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// RunServers runs end-to-end scenarios on three live.Servers joined by
// three nodes from newNodes (see Run), with Go clients on every server:
//
//   - Singleton: one instance across the nodes, actions from every node
//     applied exactly once and in order, every client's mirror converging
//     on the same state and sequence number;
//   - Rooms: room events reach every member on every node exactly once and
//     in order, room state set on one node is read on the others, presence
//     counts span the nodes;
//   - HandOff (last, it shuts the owner's server down): the singleton moves
//     to another node with its state, and the other nodes' clients go on.
//
// Every server's Stats().ClusterErrors must stay 0 until the hand-off.
func RunServers(t *testing.T, newNodes func(t *testing.T, n int) []live.Cluster) {
	t.Helper()
	ns := nodes(t, newNodes, 3)
	servers := make([]*server, len(ns))
	for i, c := range ns {
		servers[i] = startServer(t, c)
	}
	t.Run("Singleton", func(t *testing.T) { testServersSingleton(t, servers) })
	t.Run("Rooms", func(t *testing.T) { testServersRooms(t, servers) })
	for i, s := range servers {
		if n := s.srv.Stats().ClusterErrors; n != 0 {
			t.Errorf("server %d counted %d cluster errors", i, n)
		}
	}
	t.Run("HandOff", func(t *testing.T) { testServersHandOff(t, servers) })
}

func countOf(state map[string]any) float64 {
	n, _ := state["count"].(float64)
	return n
}

func testServersSingleton(t *testing.T, servers []*server) {
	ctx := testContext(t)
	var comps []*client.Component
	for i := range 3 * len(servers) {
		comp, err := servers[i%len(servers)].dial(t).Mount(ctx, counterName, nil)
		must(t, err, "Mount")
		comps = append(comps, comp)
	}
	for i, comp := range comps {
		if comp.ID() != comps[0].ID() {
			t.Fatalf("client %d mounted singleton %s, client 0 %s: two instances", i, comp.ID(), comps[0].ID())
		}
	}
	const perClient = 8
	results := make([][]int, len(comps))
	var wg sync.WaitGroup
	for i, comp := range comps {
		wg.Go(func() {
			for range perClient {
				raw, err := comp.Call(ctx, "bump", bumpArgs{Sender: fmt.Sprint(i)})
				if err != nil {
					t.Errorf("client %d: bump: %v", i, err)
					return
				}
				var n int
				if err := json.Unmarshal(raw, &n); err != nil {
					t.Errorf("client %d: bump result %s: %v", i, raw, err)
					return
				}
				results[i] = append(results[i], n)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	total := len(comps) * perClient
	seen := map[int]bool{}
	for i, rs := range results {
		for j, v := range rs {
			if seen[v] {
				t.Fatalf("count %d returned twice: an action ran twice or nodes diverged", v)
			}
			seen[v] = true
			if j > 0 && v <= rs[j-1] {
				t.Fatalf("client %d saw counts out of order: %v", i, rs)
			}
		}
	}
	if len(seen) != total || !seen[1] || !seen[total] {
		t.Fatalf("%d distinct results, want 1..%d", len(seen), total)
	}
	for i, comp := range comps {
		must(t, comp.WaitFor(ctx, func(s map[string]any) bool { return countOf(s) == float64(total) }),
			fmt.Sprintf("client %d to see count %d", i, total))
		last, _ := comp.State()["last"].(map[string]any)
		if len(last) != len(comps) {
			t.Fatalf("client %d: last = %v, want an entry per client", i, last)
		}
		if comp.Seq() != uint64(total) {
			t.Fatalf("client %d: seq %d, want %d (a delta was lost or duplicated)", i, comp.Seq(), total)
		}
	}
}

func heardOf(state map[string]any) []string {
	raw, _ := state["heard"].([]any)
	out := make([]string, 0, len(raw))
	for _, v := range raw {
		s, _ := v.(string)
		out = append(out, s)
	}
	return out
}

func testServersRooms(t *testing.T, servers []*server) {
	ctx := testContext(t)
	room := "cluster-test:" + unique() + ".room"
	comps := make([]*client.Component, len(servers))
	for i, s := range servers {
		comp, err := s.dial(t).Mount(ctx, memberName, nil)
		must(t, err, "Mount")
		_, err = comp.Call(ctx, "enter", roomArgs{Room: room})
		must(t, err, "enter")
		comps[i] = comp
	}
	for i, s := range servers {
		eventually(t, fmt.Sprintf("server %d to see %d members", i, len(servers)), func() (bool, error) {
			return len(s.srv.RoomMembers(room)) == len(servers), nil
		})
	}
	// Two rounds: every member speaks, every other member hears each line
	// exactly once and each speaker's lines in order.
	for round := range 2 {
		for i, comp := range comps {
			_, err := comp.Call(ctx, "say", roomArgs{Room: room, Text: fmt.Sprintf("%d-%d", i, round)})
			must(t, err, "say")
		}
	}
	want := 2 * (len(comps) - 1)
	for i, comp := range comps {
		must(t, comp.WaitFor(ctx, func(s map[string]any) bool { return len(heardOf(s)) >= want }),
			fmt.Sprintf("member %d to hear %d lines", i, want))
		heard := heardOf(comp.State())
		var expect []string
		for j := range comps {
			if j != i {
				expect = append(expect, fmt.Sprintf("%d-0", j), fmt.Sprintf("%d-1", j))
			}
		}
		got := slices.Clone(heard)
		slices.Sort(got)
		slices.Sort(expect)
		if !slices.Equal(got, expect) {
			t.Fatalf("member %d heard %q, want each of %q once", i, heard, expect)
		}
		for j := range comps {
			if j != i && slices.Index(heard, fmt.Sprintf("%d-0", j)) > slices.Index(heard, fmt.Sprintf("%d-1", j)) {
				t.Fatalf("member %d heard member %d's lines out of order: %q", i, j, heard)
			}
		}
	}
	// Room state written on the last node is read on every node.
	_, err := comps[len(comps)-1].Call(ctx, "setScore", roomArgs{Room: room, Score: 7})
	must(t, err, "setScore")
	for i, comp := range comps {
		eventually(t, fmt.Sprintf("member %d to read the room state", i), func() (bool, error) {
			raw, err := comp.Call(ctx, "roomState", roomArgs{Room: room})
			if err != nil {
				return false, err
			}
			var st map[string]any
			if err := json.Unmarshal(raw, &st); err != nil {
				return false, err
			}
			return st["score"] == float64(7), nil
		})
	}
	// A member leaves: presence shrinks on every node.
	_, err = comps[1].Call(ctx, "exit", roomArgs{Room: room})
	must(t, err, "exit")
	for i, s := range servers {
		eventually(t, fmt.Sprintf("server %d to see %d members", i, len(servers)-1), func() (bool, error) {
			return len(s.srv.RoomMembers(room)) == len(servers)-1, nil
		})
	}
}

func testServersHandOff(t *testing.T, servers []*server) {
	ctx := testContext(t)
	// The first mount makes servers[0] the owner.
	var comps []*client.Component
	for _, s := range servers {
		comp, err := s.dial(t).Mount(ctx, handOffName, nil)
		must(t, err, "Mount")
		comps = append(comps, comp)
	}
	const before = 5
	for i := range before {
		_, err := comps[i%len(comps)].Call(ctx, "bump", bumpArgs{Sender: "before"})
		must(t, err, "bump")
	}
	for i, comp := range comps[1:] {
		must(t, comp.WaitFor(ctx, func(s map[string]any) bool { return countOf(s) == before }),
			fmt.Sprintf("client %d to see count %d", i+1, before))
	}
	takeoversBefore := servers[1].srv.Stats().ClusterTakeovers + servers[2].srv.Stats().ClusterTakeovers
	sctx, cancel := context.WithTimeout(ctx, waitTimeout())
	defer cancel()
	must(t, servers[0].srv.Shutdown(sctx), "Shutdown of the owner")

	// The survivors' clients retry until a node took over, then each bump
	// lands exactly once on top of the mirrored state. An action forwarded
	// to the departing owner after it closed its subscriptions times out:
	// it was never run, so retrying it is safe (and a second run would show
	// in the results).
	var results []int
	for i, comp := range comps[1:] {
		for range 3 {
			var raw json.RawMessage
			eventually(t, "a bump after the hand-off", func() (bool, error) {
				var err error
				raw, err = comp.Call(ctx, "bump", bumpArgs{Sender: fmt.Sprint(i + 1)})
				if err != nil {
					if msg := err.Error(); strings.Contains(msg, "OWNERSHIP_LOST") || strings.Contains(msg, "Remote action failed") ||
						strings.Contains(msg, "Cluster action timeout") {
						return false, nil
					}
					return false, err
				}
				return true, nil
			})
			var n int
			must(t, json.Unmarshal(raw, &n), "bump result")
			results = append(results, n)
		}
	}
	for i, n := range results {
		if n != before+1+i {
			t.Fatalf("bumps after the hand-off returned %v, want %d.. in order (state lost or an action ran twice)", results, before+1)
		}
	}
	total := float64(before + len(results))
	for i, comp := range comps[1:] {
		must(t, comp.WaitFor(ctx, func(s map[string]any) bool { return countOf(s) == total }),
			fmt.Sprintf("client %d to see count %v", i+1, total))
	}
	if n := servers[1].srv.Stats().ClusterTakeovers + servers[2].srv.Stats().ClusterTakeovers; n == takeoversBefore {
		t.Fatal("the surviving servers counted no takeover")
	}
}
