package live_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	live "github.com/live-go/live"
	"github.com/live-go/live/internal/diff"
)

type SharedCounter struct {
	live.Base
	Count int            `json:"count"`
	Last  map[string]int `json:"last"` // per-sender last value: nested deltas
}

type BumpArgs struct {
	Sender string `json:"sender"`
}

func (c *SharedCounter) Bump(ctx *live.Ctx, p BumpArgs) (int, error) {
	c.Count++
	if c.Last == nil {
		c.Last = map[string]int{}
	}
	c.Last[p.Sender] = c.Count
	return c.Count, nil
}

// mirror is a minimal spec-following client state mirror for one component.
type mirror struct {
	mu    sync.Mutex
	id    string
	state map[string]any
	seq   float64
	gaps  int
}

func (m *mirror) apply(t *testing.T, frame []byte) {
	var msgs []map[string]any
	if len(frame) > 0 && frame[0] == '[' {
		if err := json.Unmarshal(frame, &msgs); err != nil {
			t.Error(err)
			return
		}
	} else {
		var one map[string]any
		if err := json.Unmarshal(frame, &one); err != nil {
			t.Error(err)
			return
		}
		msgs = []map[string]any{one}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, msg := range msgs {
		switch msg["type"] {
		case "STATE_UPDATE":
			if m.id == "" {
				m.id, _ = msg["componentId"].(string)
			}
			m.state = msg["payload"].(map[string]any)["state"].(map[string]any)
			m.seq, _ = msg["seq"].(float64)
		case "STATE_DELTA":
			seq, _ := msg["seq"].(float64)
			if seq != m.seq+1 {
				m.gaps++ // a merged delta legitimately skips numbers
			}
			m.seq = seq
			m.state = diff.Apply(m.state, msg["payload"].(map[string]any)["delta"].(map[string]any))
		}
	}
}

// 1,000 clients on one singleton, 10 of them acting concurrently: every
// client converges to the same final state as the server.
func TestThousandClientsConvergeOnSingleton(t *testing.T) {
	const (
		clients = 1000
		senders = 10
		rounds  = 20
	)
	// Generous timeouts: under -race on a loaded 2-core machine a reader
	// can stall for seconds; this test is about convergence, not liveness.
	srv, err := live.New(live.Options{StateSecret: []byte("converge-secret-converge-secret!!"),
		WriteTimeout: 2 * time.Minute, PingInterval: -1})
	must(t, err)
	must(t, live.Register(srv, live.Component[SharedCounter]{Name: "SharedCounter", Actions: []string{"bump"}, Singleton: true}))
	hs := newHTTPTest(t, srv)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	type cl struct {
		ws *websocket.Conn
		m  *mirror
	}
	conns := make([]*cl, clients)
	var wg sync.WaitGroup
	var readers sync.WaitGroup
	var mounted atomic.Int64
	sem := make(chan struct{}, 50)
	for i := range clients {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ws, _, err := websocket.Dial(ctx, wsURL(hs), nil)
			if err != nil {
				t.Error(err)
				return
			}
			ws.SetReadLimit(1 << 20)
			c := &cl{ws: ws, m: &mirror{}}
			conns[i] = c
			if err := ws.Write(ctx, websocket.MessageText, []byte(`{"type":"COMPONENT_MOUNT","componentId":"m","payload":{"component":"SharedCounter"},"requestId":"mount"}`)); err != nil {
				t.Error(err)
				return
			}
			// Read until the mount reply, then keep reading in the background.
			for {
				_, data, err := ws.Read(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				c.m.apply(t, data)
				if strings.Contains(string(data), `"requestId":"mount"`) {
					break
				}
			}
			mounted.Add(1)
			readers.Add(1)
			go func() {
				defer readers.Done()
				for {
					_, data, err := ws.Read(context.Background())
					if err != nil {
						return
					}
					c.m.apply(t, data)
				}
			}()
		}()
	}
	wg.Wait()
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.ws.CloseNow()
			}
		}
		readers.Wait()
	}()
	if t.Failed() || mounted.Load() != clients {
		t.Fatalf("mounted %d of %d", mounted.Load(), clients)
	}

	// Senders act through their own connections (fire-and-forget; the
	// mirrors show the effect).
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				msg := fmt.Sprintf(`{"type":"CALL_ACTION","componentId":%q,"action":"bump","payload":{"sender":"s%d"}}`, conns[s].m.snapshotID(), s)
				if err := conns[s].ws.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()

	const want = senders * rounds
	deadline := time.Now().Add(3 * time.Minute)
	for i, c := range conns {
		for {
			c.m.mu.Lock()
			count, _ := c.m.state["count"].(float64)
			last, _ := c.m.state["last"].(map[string]any)
			c.m.mu.Unlock()
			if count == want && len(last) == senders {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("client %d stuck at count=%v last=%v; server %+v", i, count, last, srv.Stats())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	// Every mirror equals every other (same nested map too).
	ref, _ := json.Marshal(conns[0].m.state)
	for i, c := range conns {
		got, _ := json.Marshal(c.m.state)
		if string(got) != string(ref) {
			t.Fatalf("client %d state %s differs from client 0 %s", i, got, ref)
		}
	}
	t.Logf("converged: %s; server %+v", ref, srv.Stats())
}

func (m *mirror) snapshotID() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.id
}
