package livetest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/live-go/live/internal/protocol"
)

// MountOption configures Conn.Mount, Conn.TryMount and Conn.Rehydrate.
type MountOption func(*mountConfig)

type mountConfig struct {
	room string
}

// InRoom mounts the component with a room (COMPONENT_MOUNT payload.room):
// the audience of its Base.Broadcast.
func InRoom(room string) MountOption {
	return func(c *mountConfig) { c.room = room }
}

// Component is a component mounted on a Conn, and the client's mirror of
// its state: STATE_UPDATE and STATE_REHYDRATED replace the mirror,
// STATE_DELTA is merged into it with the protocol's rules, as every client
// does.
type Component struct {
	conn *Conn
	name string
	room string
	id   string

	cursor int // index in conn.msgs where Events start (guarded by conn.mu)
}

// Mount mounts the component registered as name with props (any value
// encoding to a JSON object; nil sends {}) and returns it once the server
// has answered. It fails the test if the mount fails; use TryMount to test
// a refusal.
func (c *Conn) Mount(name string, props any, opts ...MountOption) *Component {
	c.tb.Helper()
	comp, err := c.TryMount(name, props, opts...)
	if err != nil {
		c.tb.Fatalf("livetest: mount %s: %v", name, err)
	}
	return comp
}

// TryMount is Mount returning the error instead of failing the test: a
// *ReplyError with the server's message when the server refused.
func (c *Conn) TryMount(name string, props any, opts ...MountOption) (*Component, error) {
	var cfg mountConfig
	for _, o := range opts {
		o(&cfg)
	}
	if props == nil {
		props = map[string]any{}
	}
	payload := map[string]any{"component": name, "props": props}
	if cfg.room != "" {
		payload["room"] = cfg.room
	}
	from := c.mark()
	reply, err := c.request(map[string]any{
		"type":        protocol.TypeComponentMount,
		"componentId": "mount-" + name,
		"payload":     payload,
	})
	if err != nil {
		return nil, err
	}
	var res struct {
		ComponentID  string          `json:"componentId"`
		InitialState json.RawMessage `json:"initialState"`
		SignedState  json.RawMessage `json:"signedState"`
	}
	if err := json.Unmarshal(reply.Data, &res); err != nil || res.ComponentID == "" {
		return nil, fmt.Errorf("livetest: mount %s: reply without a component id: %s", name, reply.Raw)
	}
	c.mu.Lock()
	if c.tracks[res.ComponentID] == nil { // no STATE_UPDATE came: use the reply
		t := &track{state: map[string]any{}, signed: res.SignedState}
		if st, ok := decodeObject(res.InitialState); ok {
			t.state = st
		}
		c.tracks[res.ComponentID] = t
	}
	c.mu.Unlock()
	return &Component{conn: c, name: name, room: cfg.room, id: res.ComponentID, cursor: from}, nil
}

// Rehydrate recreates a component on this connection from a signed state
// saved from another (Component.SignedState), as a reloaded page does
// (COMPONENT_REHYDRATE). It returns the *ReplyError of a refused state.
func (c *Conn) Rehydrate(name string, signedState json.RawMessage, opts ...MountOption) (*Component, error) {
	var cfg mountConfig
	for _, o := range opts {
		o(&cfg)
	}
	payload := map[string]any{"component": name, "signedState": signedState}
	if cfg.room != "" {
		payload["room"] = cfg.room
	}
	from := c.mark()
	reply, err := c.request(map[string]any{
		"type":        protocol.TypeComponentRehydrate,
		"componentId": str(jsonField(signedState, "componentId")),
		"payload":     payload,
	})
	if err != nil {
		return nil, err
	}
	var res struct {
		NewComponentID string `json:"newComponentId"`
	}
	if err := json.Unmarshal(reply.Data, &res); err != nil || res.NewComponentID == "" {
		return nil, fmt.Errorf("livetest: rehydrate %s: reply without a component id: %s", name, reply.Raw)
	}
	return &Component{conn: c, name: name, room: cfg.room, id: res.NewComponentID, cursor: from}, nil
}

// ID returns the component id the server assigned.
func (m *Component) ID() string { return m.id }

// Name returns the component name given to Mount.
func (m *Component) Name() string { return m.name }

// Conn returns the connection the component is mounted on.
func (m *Component) Conn() *Conn { return m.conn }

// State returns a copy of the mirrored state, as encoding/json decodes it
// into a map (numbers are float64).
func (m *Component) State() map[string]any {
	c := m.conn
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tracks[m.id]
	if t == nil {
		return map[string]any{}
	}
	return copyValue(t.state).(map[string]any)
}

// Decode stores the mirrored state in the value v points to, through JSON,
// so struct tags apply: decoding into the component's own type is the
// easiest way to read its state. It fails the test if the state does not
// decode into v.
func (m *Component) Decode(v any) {
	m.conn.tb.Helper()
	if err := m.DecodeErr(v); err != nil {
		m.conn.tb.Fatalf("livetest: %v", err)
	}
}

// DecodeErr is Decode returning the error instead of failing the test.
func (m *Component) DecodeErr(v any) error {
	c := m.conn
	c.mu.Lock()
	var state map[string]any
	if t := c.tracks[m.id]; t != nil {
		state = t.state
	}
	raw, err := json.Marshal(state)
	c.mu.Unlock()
	if err != nil {
		return fmt.Errorf("decode %s state: %w", m.name, err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode %s state: %w", m.name, err)
	}
	return nil
}

// SignedState returns the newest signed state received for the component
// (from its STATE_UPDATE, STATE_REHYDRATED or STATE_SIGNATURE), or nil.
func (m *Component) SignedState() json.RawMessage {
	c := m.conn
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := c.tracks[m.id]; t != nil {
		return slices.Clone(t.signed)
	}
	return nil
}

// Call invokes action with payload (nil sends {}) and returns the action's
// result (ACTION_RESPONSE.result, nil for actions without one) once the
// server has answered; the state changes and events the action caused are
// recorded by then. An action that fails returns a *ReplyError whose text
// is the server's message.
func (m *Component) Call(action string, payload any) (json.RawMessage, error) {
	if payload == nil {
		payload = map[string]any{}
	}
	reply, err := m.conn.request(map[string]any{
		"type":        protocol.TypeCallAction,
		"componentId": m.id,
		"action":      action,
		"payload":     payload,
	})
	if err != nil {
		return nil, err
	}
	if len(reply.Data) == 0 || isNull(reply.Data) {
		return nil, nil
	}
	return reply.Data, nil
}

// MustCall is Call failing the test on any error.
func (m *Component) MustCall(action string, payload any) json.RawMessage {
	m.conn.tb.Helper()
	res, err := m.Call(action, payload)
	if err != nil {
		m.conn.tb.Fatalf("livetest: %s.%s: %v", m.name, action, err)
	}
	return res
}

// Set writes a property (PROPERTY_UPDATE), as a client-side form field
// does; only fields registered as Writable are accepted. A refusal is a
// *ReplyError.
func (m *Component) Set(property string, value any) error {
	_, err := m.conn.request(map[string]any{
		"type":        protocol.TypePropertyUpdate,
		"componentId": m.id,
		"property":    property,
		"payload":     map[string]any{"value": value},
	})
	return err
}

// Unmount unmounts the component (COMPONENT_UNMOUNT) and waits for the
// server's answer. It fails the test if the connection is broken.
func (m *Component) Unmount() {
	m.conn.tb.Helper()
	_, err := m.conn.request(map[string]any{
		"type":        protocol.TypeComponentUnmount,
		"componentId": m.id,
	})
	if err != nil {
		m.conn.tb.Fatalf("livetest: unmount %s: %v", m.name, err)
	}
}

// isEventFor reports whether msg is an event of component m: a custom
// emit, an ERROR, room traffic addressed to it, or a BROADCAST from another
// component of its mount room. State messages and replies to the kit's
// requests are not events.
func (m *Component) isEventFor(msg *Message) bool {
	if strings.HasPrefix(msg.RequestID, reqPrefix) {
		return false
	}
	switch msg.Type {
	case protocol.TypeStateUpdate, protocol.TypeStateDelta, protocol.TypeStateRehydrated, protocol.TypeStateSignature:
		return false
	case protocol.TypeBroadcast:
		return m.room != "" && msg.RoomID == m.room && msg.ComponentID != m.id
	}
	return msg.ComponentID == m.id
}

// events returns the events recorded after the cursor. Called with conn.mu
// held.
func (m *Component) events() []Message {
	var out []Message
	for i := m.cursor; i < len(m.conn.msgs); i++ {
		if m.isEventFor(&m.conn.msgs[i]) {
			out = append(out, m.conn.msgs[i])
		}
	}
	return out
}

// Events returns the component's events received since it was mounted (or
// since the last TakeEvents), in order: custom emits (Type is the emitted
// name), ERRORs, BROADCASTs from other components of its mount room, and
// room traffic (ROOM_EVENT, ROOM_SYSTEM, ROOM_STATE, ROOM_JOINED; binary
// room frames decoded). Replies and state messages are not events.
func (m *Component) Events() []Message {
	m.conn.mu.Lock()
	defer m.conn.mu.Unlock()
	return m.events()
}

// TakeEvents returns Events and forgets them: the next Events starts after
// them. Use it to assert what one step emitted.
func (m *Component) TakeEvents() []Message {
	m.conn.mu.Lock()
	defer m.conn.mu.Unlock()
	out := m.events()
	m.cursor = len(m.conn.msgs)
	return out
}

// WaitFor waits until cond reports true for the mirrored state (checked
// now and after every message the connection receives), for state changed
// by timers or background goroutines. It fails the test on timeout. cond
// receives a copy, as State returns it.
func (m *Component) WaitFor(cond func(state map[string]any) bool) {
	m.conn.tb.Helper()
	if err := m.conn.wait(m.name+" state condition", func() bool { return cond(m.State()) }); err != nil {
		m.conn.tb.Fatalf("livetest: %s.WaitFor: %v", m.name, err)
	}
}

// WaitEvent waits until Events holds an event of type typ and returns the
// first one (it stays in Events). It fails the test on timeout.
func (m *Component) WaitEvent(typ string) Message {
	m.conn.tb.Helper()
	var found Message
	err := m.conn.wait(fmt.Sprintf("%s event %q", m.name, typ), func() bool {
		for _, e := range m.Events() {
			if e.Type == typ {
				found = e
				return true
			}
		}
		return false
	})
	if err != nil {
		m.conn.tb.Fatalf("livetest: %s.WaitEvent: %v", m.name, err)
	}
	return found
}

// Room returns the component's client-side handle on room id. Client room
// messages (ROOM_JOIN, ROOM_EMIT, ...) always act through a component of
// the connection. Typed rooms are joined by the server (Base.JoinRoom); use
// the handle's Events to see their traffic.
func (m *Component) Room(id string) *Room { return &Room{comp: m, id: id} }

// Room is a component's handle on one room, speaking the client room
// messages of the protocol.
type Room struct {
	comp *Component
	id   string
}

// ID returns the room id.
func (r *Room) ID() string { return r.id }

func (r *Room) msg(typ string, payload map[string]any) map[string]any {
	if payload == nil {
		payload = map[string]any{}
	}
	payload["roomId"] = r.id
	return map[string]any{"type": typ, "componentId": r.comp.id, "roomId": r.id, "payload": payload}
}

// Join joins the room (ROOM_JOIN); initial seeds the state of a room that
// does not exist yet (nil for none). A refusal is a *ReplyError.
func (r *Room) Join(initial any) error {
	p := map[string]any{}
	if initial != nil {
		p["initialState"] = initial
	}
	_, err := r.comp.conn.request(r.msg(protocol.TypeRoomJoin, p))
	return err
}

// Leave leaves the room (ROOM_LEAVE).
func (r *Room) Leave() error {
	_, err := r.comp.conn.request(r.msg(protocol.TypeRoomLeave, nil))
	return err
}

// Emit emits event with data to the other members (ROOM_EMIT) and returns
// once the server has handled it. The server answers only failures, with
// a *ReplyError.
func (r *Room) Emit(event string, data any) error {
	return r.fireAndSync(r.msg(protocol.TypeRoomEmit, map[string]any{"event": event, "data": data}))
}

// SetState merges updates into the room's state (ROOM_STATE_SET) and
// returns once the server has handled it. A refusal is a *ReplyError.
func (r *Room) SetState(updates any) error {
	return r.fireAndSync(r.msg(protocol.TypeRoomStateSet, map[string]any{"state": updates}))
}

// fireAndSync sends a message that is answered only on failure, then a
// barrier: a failure arrives before the barrier's reply.
func (r *Room) fireAndSync(msg map[string]any) error {
	c := r.comp.conn
	id := reqPrefix + strconv.FormatUint(c.reqs.Add(1), 10)
	msg["requestId"] = id
	data, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("livetest: encode %v: %w", msg["type"], err)
	}
	from := c.mark()
	if err := c.send(frame{data: data}); err != nil {
		return err
	}
	if err := c.barrier(); err != nil {
		return err
	}
	if m, ok := c.find(from, func(m *Message) bool { return m.RequestID == id }); ok {
		return replyErr(m)
	}
	return nil
}

// State returns the room's state (ROOM_STATE_GET), as encoding/json decodes
// it into a map.
func (r *Room) State() (map[string]any, error) {
	reply, err := r.comp.conn.request(r.msg(protocol.TypeRoomStateGet, nil))
	if err != nil {
		return nil, err
	}
	var st map[string]any
	if err := json.Unmarshal(reply.Data, &st); err != nil {
		return nil, fmt.Errorf("livetest: room %s state: %w", r.id, err)
	}
	return st, nil
}

// Events returns the component's events of this room (Component.Events
// whose RoomID is the room's, BROADCASTs excluded).
func (r *Room) Events() []Message {
	var out []Message
	for _, e := range r.comp.Events() {
		if e.RoomID == r.id && e.Type != protocol.TypeBroadcast {
			out = append(out, e)
		}
	}
	return out
}

// copyValue deep-copies a decoded JSON value, turning json.Number into
// float64 as encoding/json does for interface values.
func copyValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = copyValue(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = copyValue(e)
		}
		return out
	case json.Number:
		if f, err := x.Float64(); err == nil {
			return f
		}
		return x.String()
	}
	return v
}
