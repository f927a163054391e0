package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/coder/websocket"

	"github.com/live-go/live/internal/diff"
	"github.com/live-go/live/internal/protocol"
)

// MountOption sets an optional field of a COMPONENT_MOUNT request.
type MountOption func(*mountConfig)

type mountConfig struct {
	room       string
	debugLabel string
}

// WithRoom mounts the component in room (payload.room): the server
// subscribes it to the room's broadcasts.
func WithRoom(room string) MountOption {
	return func(c *mountConfig) { c.room = room }
}

// WithDebugLabel sets payload.debugLabel, a free-form label the server shows
// in its debugging tools.
func WithDebugLabel(label string) MountOption {
	return func(c *mountConfig) { c.debugLabel = label }
}

// Component is a mounted server component and the client's mirror of its
// state. Create it with [Client.Mount]; all methods are safe for concurrent
// use.
//
// The mirror follows the server: STATE_UPDATE deep-merges payload.state,
// STATE_DELTA applies payload.delta with the protocol's null rules (a nested
// null deletes the key), and STATE_UPDATE / STATE_SIGNATURE refresh the
// signed state. Numbers in the mirror are float64, as encoding/json decodes
// them.
type Component struct {
	c     *Client
	name  string
	props json.RawMessage // kept so a later re-mount can repeat the request
	cfg   mountConfig

	mu             sync.Mutex
	id             string
	state          map[string]any
	signed         json.RawMessage
	seq            uint64
	unmounted      bool
	changed        chan struct{} // non-nil while a WaitFor waits; closed on change
	changeHandlers handlers[func(state, delta map[string]any)]
	events         map[string]handlers[func(json.RawMessage)]
	binHandlers    handlers[func([]byte)]
}

// Wire shapes of the component requests (spec §1.5, §10.3 clientMessages).
type (
	mountMessage struct {
		Type           string       `json:"type"`
		ComponentID    string       `json:"componentId"`
		Payload        mountPayload `json:"payload"`
		RequestID      string       `json:"requestId"`
		ExpectResponse bool         `json:"expectResponse"`
	}
	mountPayload struct {
		Component  string          `json:"component"`
		Props      json.RawMessage `json:"props"`
		Room       string          `json:"room,omitempty"`
		DebugLabel string          `json:"debugLabel,omitempty"`
	}
	mountResult struct {
		ComponentID  string          `json:"componentId"`
		InitialState map[string]any  `json:"initialState"`
		SignedState  json.RawMessage `json:"signedState"`
	}
	actionMessage struct {
		Type           string          `json:"type"`
		ComponentID    string          `json:"componentId"`
		Action         string          `json:"action"`
		Payload        json.RawMessage `json:"payload"`
		RequestID      string          `json:"requestId,omitempty"`
		ExpectResponse bool            `json:"expectResponse,omitempty"`
	}
	propertyMessage struct {
		Type           string        `json:"type"`
		ComponentID    string        `json:"componentId"`
		Property       string        `json:"property"`
		Payload        propertyValue `json:"payload"`
		RequestID      string        `json:"requestId"`
		ExpectResponse bool          `json:"expectResponse"`
	}
	propertyValue struct {
		Value any `json:"value"`
	}
	unmountMessage struct {
		Type           string `json:"type"`
		ComponentID    string `json:"componentId"`
		RequestID      string `json:"requestId"`
		ExpectResponse bool   `json:"expectResponse"`
	}
)

// Mount sends COMPONENT_MOUNT for the component class named component with
// props (any value encoding to a JSON object; nil sends {}) and waits for
// the reply. Messages the server sent for the new component id before the
// reply (STATE_UPDATE, deltas from onMount, ...) are replayed into the
// mirror, so on return it equals the server's state. A failed mount returns
// an [*Error] with the server's message.
func (c *Client) Mount(ctx context.Context, component string, props any, opts ...MountOption) (*Component, error) {
	var cfg mountConfig
	for _, o := range opts {
		o(&cfg)
	}
	rawProps, err := marshalObject(props)
	if err != nil {
		return nil, fmt.Errorf("client: mount %s: encode props: %w", component, err)
	}
	var mounted *Component
	_, err = c.roundTrip(ctx, protocol.TypeComponentMount, func(requestID string) ([]byte, error) {
		return json.Marshal(mountMessage{
			Type:        protocol.TypeComponentMount,
			ComponentID: "mount-" + component,
			Payload: mountPayload{
				Component:  component,
				Props:      rawProps,
				Room:       cfg.room,
				DebugLabel: cfg.debugLabel,
			},
			RequestID:      requestID,
			ExpectResponse: true,
		})
	}, c.mountHook(component, rawProps, cfg, &mounted))
	if err != nil {
		return nil, err
	}
	return mounted, nil
}

// mountHook returns the reply hook of a mount request. It runs on the reader
// goroutine for a successful reply: it registers the component, replays the
// messages buffered for its id, and stores it in *out.
func (c *Client) mountHook(component string, props json.RawMessage, cfg mountConfig, out **Component) func(Message) error {
	return func(reply Message) error {
		var res mountResult
		if err := json.Unmarshal(reply.Result, &res); err != nil {
			return fmt.Errorf("client: mount %s: malformed reply result: %w", component, err)
		}
		if res.ComponentID == "" {
			return fmt.Errorf("client: mount %s: reply has no result.componentId", component)
		}
		if res.InitialState == nil {
			res.InitialState = make(map[string]any)
		}
		m := &Component{
			c:      c,
			name:   component,
			props:  props,
			cfg:    cfg,
			id:     res.ComponentID,
			state:  res.InitialState,
			signed: nonNull(res.SignedState),
		}
		for _, msg := range c.register(m) {
			m.handle(msg)
		}
		*out = m
		return nil
	}
}

// marshalObject encodes v, mapping nil to {}.
func marshalObject(v any) (json.RawMessage, error) {
	if v == nil {
		return json.RawMessage("{}"), nil
	}
	return json.Marshal(v)
}

// ID returns the server-assigned component id.
func (m *Component) ID() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.id
}

// Name returns the component class name given to Mount.
func (m *Component) Name() string { return m.name }

// State returns a deep copy of the mirrored state.
func (m *Component) State() map[string]any {
	m.mu.Lock()
	defer m.mu.Unlock()
	return deepCopyMap(m.state)
}

// Decode stores the mirrored state in the value pointed to by v, through
// JSON (so struct tags apply).
func (m *Component) Decode(v any) error {
	m.mu.Lock()
	b, err := json.Marshal(m.state)
	m.mu.Unlock()
	if err != nil {
		return fmt.Errorf("client: encode state: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("client: decode state: %w", err)
	}
	return nil
}

// SignedState returns the newest signed state received (from the mount
// reply, STATE_UPDATE or STATE_SIGNATURE), or nil.
func (m *Component) SignedState() json.RawMessage {
	m.mu.Lock()
	defer m.mu.Unlock()
	return bytes.Clone(m.signed)
}

// Seq returns the "seq" extension field of the newest STATE_UPDATE or
// STATE_DELTA that carried one; 0 when the server sends none.
func (m *Component) Seq() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.seq
}

// liveID returns the id to address the component with, or ErrUnmounted.
func (m *Component) liveID() (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.unmounted {
		return "", ErrUnmounted
	}
	return m.id, nil
}

// Call invokes action with payload (nil sends {}) and waits for the
// ACTION_RESPONSE; it returns the action's raw result. A failed action
// returns an [*Error] with the server's message; an id the server does not
// know on this connection also matches [ErrRehydrationRequired].
func (m *Component) Call(ctx context.Context, action string, payload any) (json.RawMessage, error) {
	id, err := m.liveID()
	if err != nil {
		return nil, err
	}
	p, err := marshalObject(payload)
	if err != nil {
		return nil, fmt.Errorf("client: call %s: encode payload: %w", action, err)
	}
	reply, err := m.c.roundTrip(ctx, protocol.TypeCallAction, func(requestID string) ([]byte, error) {
		return json.Marshal(actionMessage{
			Type:           protocol.TypeCallAction,
			ComponentID:    id,
			Action:         action,
			Payload:        p,
			RequestID:      requestID,
			ExpectResponse: true,
		})
	}, nil)
	if err != nil {
		return nil, err
	}
	return reply.Result, nil
}

// Fire invokes action without waiting: no requestId and no expectResponse
// are sent, so a successful action gets no reply. A failure still produces
// an ACTION_RESPONSE (and usually an ERROR emit), delivered to the On
// handlers of this component.
func (m *Component) Fire(ctx context.Context, action string, payload any) error {
	id, err := m.liveID()
	if err != nil {
		return err
	}
	p, err := marshalObject(payload)
	if err != nil {
		return fmt.Errorf("client: fire %s: encode payload: %w", action, err)
	}
	b, err := json.Marshal(actionMessage{
		Type:        protocol.TypeCallAction,
		ComponentID: id,
		Action:      action,
		Payload:     p,
	})
	if err != nil {
		return fmt.Errorf("client: fire %s: %w", action, err)
	}
	return m.c.write(ctx, websocket.MessageText, b)
}

// Set sends PROPERTY_UPDATE for property with value and waits for the reply.
func (m *Component) Set(ctx context.Context, property string, value any) error {
	id, err := m.liveID()
	if err != nil {
		return err
	}
	_, err = m.c.roundTrip(ctx, protocol.TypePropertyUpdate, func(requestID string) ([]byte, error) {
		return json.Marshal(propertyMessage{
			Type:           protocol.TypePropertyUpdate,
			ComponentID:    id,
			Property:       property,
			Payload:        propertyValue{Value: value},
			RequestID:      requestID,
			ExpectResponse: true,
		})
	}, nil)
	return err
}

// Unmount sends COMPONENT_UNMOUNT and waits for the reply. The handle is
// detached locally first, whatever the outcome: later messages for the id
// are not routed to it, and its methods return [ErrUnmounted].
func (m *Component) Unmount(ctx context.Context) error {
	m.mu.Lock()
	if m.unmounted {
		m.mu.Unlock()
		return ErrUnmounted
	}
	id := m.id
	m.unmounted = true
	if m.changed != nil {
		close(m.changed)
		m.changed = nil
	}
	m.mu.Unlock()
	m.c.unregister(m, id)
	_, err := m.c.roundTrip(ctx, protocol.TypeComponentUnmount, func(requestID string) ([]byte, error) {
		return json.Marshal(unmountMessage{
			Type:           protocol.TypeComponentUnmount,
			ComponentID:    id,
			RequestID:      requestID,
			ExpectResponse: true,
		})
	}, nil)
	return err
}

// OnChange registers fn, called after every mirror change with a deep copy
// of the new state and of the applied delta (nil for a STATE_UPDATE
// snapshot). The maps are shared by the handlers of one change; fn may keep
// them but must not modify them. fn runs on the client's reader goroutine
// (see [Client]). The returned function removes the registration.
func (m *Component) OnChange(fn func(state, delta map[string]any)) (remove func()) {
	m.mu.Lock()
	id := m.changeHandlers.add(fn)
	m.mu.Unlock()
	return func() {
		m.mu.Lock()
		m.changeHandlers.remove(id)
		m.mu.Unlock()
	}
}

// On registers fn for every message of type event routed to this component:
// custom emits (type = the emitted name), ERROR, BROADCAST (from other
// components; the sender never gets its own), and also the state messages
// and unmatched replies. fn receives the raw "payload"; for an ERROR without
// a payload it receives {"error": <top-level error>}. fn runs on the
// client's reader goroutine and must not modify the slice. The returned
// function removes the registration.
func (m *Component) On(event string, fn func(payload json.RawMessage)) (remove func()) {
	m.mu.Lock()
	if m.events == nil {
		m.events = make(map[string]handlers[func(json.RawMessage)])
	}
	h := m.events[event]
	id := h.add(fn)
	m.events[event] = h
	m.mu.Unlock()
	return func() {
		m.mu.Lock()
		h := m.events[event]
		h.remove(id)
		m.events[event] = h
		m.mu.Unlock()
	}
}

// OnBinary registers fn for 0x01 binary state deltas addressed to this
// component; fn receives the payload after the id (encoding defined by the
// server component). fn runs on the reader goroutine and must not modify or
// retain the slice. The returned function removes the registration.
func (m *Component) OnBinary(fn func(payload []byte)) (remove func()) {
	m.mu.Lock()
	id := m.binHandlers.add(fn)
	m.mu.Unlock()
	return func() {
		m.mu.Lock()
		m.binHandlers.remove(id)
		m.mu.Unlock()
	}
}

// WaitFor blocks until cond reports true for the mirrored state (checked now
// and after every change), ctx ends, the component is unmounted or the
// connection closes. cond receives a deep copy and is called on the calling
// goroutine.
func (m *Component) WaitFor(ctx context.Context, cond func(state map[string]any) bool) error {
	for {
		m.mu.Lock()
		if m.unmounted {
			m.mu.Unlock()
			return ErrUnmounted
		}
		snap := deepCopyMap(m.state)
		if m.changed == nil {
			m.changed = make(chan struct{})
		}
		ch := m.changed
		m.mu.Unlock()
		if cond(snap) {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("client: wait for %s state: %w", m.name, ctx.Err())
		case <-m.c.done:
			return m.c.Err()
		}
	}
}

// handle applies one routed message. It runs on the reader goroutine.
func (m *Component) handle(msg Message) {
	var (
		patch    map[string]any // merged into the mirror
		signed   json.RawMessage
		isDelta  bool
		hasState bool
	)
	switch msg.Type {
	case protocol.TypeStateUpdate:
		var p struct {
			State       map[string]any  `json:"state"`
			SignedState json.RawMessage `json:"signedState"`
		}
		if json.Unmarshal(msg.Payload, &p) == nil {
			patch, signed, hasState = p.State, nonNull(p.SignedState), true
		}
	case protocol.TypeStateDelta:
		var p struct {
			Delta map[string]any `json:"delta"`
		}
		if json.Unmarshal(msg.Payload, &p) == nil {
			patch, isDelta, hasState = p.Delta, true, true
		}
	case protocol.TypeStateSignature:
		var p struct {
			SignedState json.RawMessage `json:"signedState"`
		}
		if json.Unmarshal(msg.Payload, &p) == nil {
			signed = nonNull(p.SignedState)
		}
	}

	m.mu.Lock()
	if m.unmounted {
		m.mu.Unlock()
		return
	}
	var snap, delta map[string]any
	var onChange []handler[func(state, delta map[string]any)]
	if patch != nil {
		if isDelta && len(m.changeHandlers.list) > 0 {
			delta = deepCopyMap(patch) // diff.Apply may alias parts of patch
		}
		m.state = diff.Apply(m.state, patch)
		if m.changed != nil {
			close(m.changed)
			m.changed = nil
		}
		if onChange = m.changeHandlers.list; len(onChange) > 0 {
			snap = deepCopyMap(m.state)
		}
	}
	if signed != nil {
		m.signed = signed
	}
	if hasState && msg.Seq != 0 {
		m.seq = msg.Seq
	}
	events := m.events[msg.Type].list
	m.mu.Unlock()

	for _, h := range onChange {
		h.fn(snap, delta)
	}
	if len(events) == 0 {
		return
	}
	payload := msg.Payload
	if payload == nil && msg.Type == protocol.TypeError {
		payload, _ = json.Marshal(struct {
			Error string `json:"error"`
		}{msg.Error})
	}
	for _, h := range events {
		h.fn(payload)
	}
}

// handleBinary delivers a 0x01 payload. It runs on the reader goroutine.
func (m *Component) handleBinary(payload []byte) {
	m.mu.Lock()
	hs := m.binHandlers.list
	m.mu.Unlock()
	for _, h := range hs {
		h.fn(payload)
	}
}

// deepCopyMap copies a decoded JSON object; it never returns nil.
func deepCopyMap(src map[string]any) map[string]any {
	dst := make(map[string]any, len(src))
	for k, v := range src {
		dst[k] = deepCopyValue(v)
	}
	return dst
}

func deepCopyValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return deepCopyMap(t)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = deepCopyValue(e)
		}
		return out
	default:
		return v
	}
}
