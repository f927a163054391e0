package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/coder/websocket"
)

// Echo is the calibration server of the benchmark method
// (shared/reference-bench.md, "Go echo ceiling"): the least a Go server can
// do and still satisfy the load generator. It uses coder/websocket with a
// reader goroutine per connection, decodes each JSON message with
// encoding/json and answers it with one JSON reply; a broadcast is one
// Write per member. There are no components, no diff, no queues and no
// batching.
//
// Measured next to a real server on the same machine, it turns absolute
// CPU figures into machine-independent ratios: the reference's figures
// were taken on another machine of the same kind, and those machines'
// speed varies by a factor of two from one day to the next.
//
// It understands what the scenarios send: COMPONENT_MOUNT (any name;
// SingletonCounter shares one id and one count among its clients, and
// every increment is broadcast to them as a STATE_DELTA) and CALL_ACTION
// (increment and reset). SharedCounter is treated as a singleton.
type Echo struct {
	ids       atomic.Uint64
	mu        sync.Mutex
	members   map[*echoConn]struct{} // SingletonCounter clients
	shared    int64
	ctx       context.Context
	cancel    context.CancelFunc
	conns     sync.WaitGroup
	closeOnce sync.Once
}

// NewEcho returns an Echo; Close ends its connections.
func NewEcho() *Echo {
	ctx, cancel := context.WithCancel(context.Background())
	return &Echo{members: map[*echoConn]struct{}{}, ctx: ctx, cancel: cancel}
}

type echoConn struct {
	ws    *websocket.Conn
	id    string
	count int64
}

type echoMsg struct {
	Type        string `json:"type"`
	ComponentID string `json:"componentId"`
	Action      string `json:"action"`
	RequestID   string `json:"requestId"`
	Payload     struct {
		Component string `json:"component"`
	} `json:"payload"`
}

type echoReply struct {
	Type        string `json:"type"`
	ComponentID string `json:"componentId,omitempty"`
	RequestID   string `json:"requestId,omitempty"`
	Success     bool   `json:"success"`
	Result      any    `json:"result,omitempty"`
	Error       string `json:"error,omitempty"`
}

type echoDelta struct {
	Type        string `json:"type"`
	ComponentID string `json:"componentId"`
	Payload     struct {
		Delta struct {
			Count int64 `json:"count"`
		} `json:"delta"`
	} `json:"payload"`
}

// ServeHTTP upgrades the request and serves the connection until it closes.
func (e *Echo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	e.conns.Add(1)
	defer e.conns.Done()
	ws.SetReadLimit(1 << 20)
	c := &echoConn{ws: ws}
	defer func() {
		e.mu.Lock()
		delete(e.members, c)
		e.mu.Unlock()
		_ = ws.CloseNow()
	}()
	ctx := e.ctx
	hello, _ := json.Marshal(map[string]string{"type": "CONNECTION_ESTABLISHED", "connectionId": "c" + strconv.FormatUint(e.ids.Add(1), 36)})
	if ws.Write(ctx, websocket.MessageText, hello) != nil {
		return
	}
	for {
		_, data, err := ws.Read(ctx)
		if err != nil {
			return
		}
		var m echoMsg
		if err := json.Unmarshal(data, &m); err != nil {
			return
		}
		if err := e.handle(ctx, c, &m); err != nil {
			return
		}
	}
}

func (e *Echo) handle(ctx context.Context, c *echoConn, m *echoMsg) error {
	reply := echoReply{ComponentID: m.ComponentID, RequestID: m.RequestID, Success: true}
	var broadcast int64
	switch m.Type {
	case "COMPONENT_MOUNT":
		reply.Type = "MESSAGE_RESPONSE"
		switch m.Payload.Component {
		case "SingletonCounter", "SharedCounter":
			c.id = "singleton"
			e.mu.Lock()
			e.members[c] = struct{}{}
			n := e.shared
			e.mu.Unlock()
			c.count = n
		default:
			c.id = "k" + strconv.FormatUint(e.ids.Add(1), 36)
		}
		reply.ComponentID = c.id
		reply.Result = map[string]any{"componentId": c.id, "initialState": map[string]any{"count": c.count, "lastAction": nil}}
	case "CALL_ACTION":
		reply.Type = "ACTION_RESPONSE"
		if m.ComponentID != c.id || c.id == "" {
			reply.Success, reply.Error = false, "COMPONENT_REHYDRATION_REQUIRED:"+m.ComponentID
			break
		}
		n := int64(0)
		if c.id == "singleton" {
			e.mu.Lock()
			if m.Action == "increment" {
				e.shared++
			} else {
				e.shared = 0
			}
			n = e.shared
			e.mu.Unlock()
			broadcast = n
		} else {
			if m.Action == "increment" {
				c.count++
			} else {
				c.count = 0
			}
			n = c.count
		}
		reply.Result = map[string]any{"success": true, "count": n}
	default:
		reply.Type, reply.Success, reply.Error = "ERROR", false, "Unknown message type: "+m.Type
	}
	if m.RequestID == "" && reply.Success {
		return nil
	}
	b, err := json.Marshal(reply)
	if err != nil {
		return err
	}
	if err := c.ws.Write(ctx, websocket.MessageText, b); err != nil {
		return err
	}
	if broadcast > 0 {
		e.broadcast(ctx, broadcast)
	}
	return nil
}

// broadcast sends the singleton's new count to every member, one Write
// each, from the caller's goroutine.
func (e *Echo) broadcast(ctx context.Context, n int64) {
	d := echoDelta{Type: "STATE_DELTA", ComponentID: "singleton"}
	d.Payload.Delta.Count = n
	b, err := json.Marshal(d)
	if err != nil {
		return
	}
	e.mu.Lock()
	members := make([]*echoConn, 0, len(e.members))
	for m := range e.members {
		members = append(members, m)
	}
	e.mu.Unlock()
	for _, m := range members {
		if err := m.ws.Write(ctx, websocket.MessageText, b); err != nil && !errors.Is(err, context.Canceled) {
			_ = m.ws.CloseNow()
		}
	}
}

// Close ends every connection and waits for their handlers to return.
func (e *Echo) Close() {
	e.closeOnce.Do(e.cancel)
	e.conns.Wait()
}
