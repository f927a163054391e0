package live

import (
	"errors"
	"sync"

	"github.com/live-go/live/internal/protocol"
	"github.com/live-go/live/internal/sendq"
)

// broadcastGroups tracks components mounted with a room (COMPONENT_MOUNT
// payload.room), the audience of Base.Broadcast (spec §2.13).
type broadcastGroups struct {
	mu     sync.RWMutex
	groups map[string]map[*instance]struct{}
}

func (g *broadcastGroups) add(room string, in *instance) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.groups == nil {
		g.groups = map[string]map[*instance]struct{}{}
	}
	set := g.groups[room]
	if set == nil {
		set = map[*instance]struct{}{}
		g.groups[room] = set
	}
	set[in] = struct{}{}
}

func (g *broadcastGroups) remove(room string, in *instance) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if set := g.groups[room]; set != nil {
		delete(set, in)
		if len(set) == 0 {
			delete(g.groups, room)
		}
	}
}

// connections returns the distinct connections subscribed to room.
func (g *broadcastGroups) connections(room string) []*conn {
	g.mu.RLock()
	members := make([]*instance, 0, len(g.groups[room]))
	for in := range g.groups[room] {
		members = append(members, in)
	}
	g.mu.RUnlock()
	seen := make(map[*conn]struct{}, len(members))
	out := make([]*conn, 0, len(members))
	for _, in := range members {
		in.subsMu.Lock()
		subs := in.subs
		in.subsMu.Unlock()
		for _, c := range subs {
			if _, dup := seen[c]; !dup {
				seen[c] = struct{}{}
				out = append(out, c)
			}
		}
	}
	return out
}

// ErrNoRoom is returned by Base.Broadcast for a component mounted without a
// room.
var ErrNoRoom = errors.New("live: component was not mounted with a room")

// Room returns the room the component was mounted with (COMPONENT_MOUNT
// payload.room), or "".
func (b *Base) Room() string {
	if b.in == nil {
		return ""
	}
	return b.in.room
}

// Broadcast sends {type:"BROADCAST", componentId, payload:{type: event,
// data}, room} to every connection that has a component mounted with the
// same room, the sender's own connection included (clients skip the sending
// component). The message is encoded once, and each connection receives it
// once however many of its components are in the room.
func (b *Base) Broadcast(event string, data any) error {
	if b.in == nil {
		return ErrDestroyed
	}
	in := b.in
	if in.room == "" {
		return ErrNoRoom
	}
	msg := make([]byte, 0, 96+len(event))
	msg = append(msg, `{"type":"BROADCAST","componentId":`...)
	msg = protocol.AppendString(msg, in.id)
	msg = append(msg, `,"payload":{"type":`...)
	msg = protocol.AppendString(msg, event)
	msg = append(msg, `,"data":`...)
	var err error
	if msg, err = marshalValue(msg, data); err != nil {
		return err
	}
	msg = append(msg, `},"room":`...)
	msg = protocol.AppendString(msg, in.room)
	msg = append(msg, '}')
	in.deliver(func() {
		for _, c := range in.srv.broadcast.connections(in.room) {
			c.push(sendq.Item{Data: msg, Kind: sendq.Message})
		}
	})
	return nil
}

// validRoomID reports whether id matches ^[a-zA-Z0-9_:.-]{1,64}$.
func validRoomID(id string) bool {
	if len(id) == 0 || len(id) > protocol.MaxRoomNameLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == ':' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

const msgInvalidRoom = "Invalid room name. Must be 1-64 alphanumeric characters, hyphens, underscores, dots, or colons."
