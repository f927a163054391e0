package client

import (
	"bytes"
	"context"
	"crypto/rand"
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
// use. The handle stays valid across reconnections: after one, the client
// reattaches it to a server instance (see [Component.OnRecover]), possibly
// under a new id.
//
// The mirror follows the server: STATE_UPDATE and STATE_REHYDRATED replace
// it with payload.state (they always carry the full state), STATE_DELTA
// applies payload.delta with the protocol's null rules (a nested null
// deletes the key), and STATE_UPDATE, STATE_REHYDRATED and STATE_SIGNATURE
// refresh the signed state. When the server numbers state messages
// (top-level "seq"), a STATE_DELTA whose seq is not above the last applied
// one is stale and ignored. Numbers in the mirror are float64, as
// encoding/json decodes them.
type Component struct {
	c     *Client
	name  string
	props json.RawMessage // repeated by a fresh mount after a refused rehydration
	cfg   mountConfig
	order uint64 // mount order, for deterministic recovery

	mu              sync.Mutex // after Client.mu when both are held
	id              string
	state           map[string]any
	signed          json.RawMessage
	signedUsed      bool   // signed was sent in a COMPONENT_REHYDRATE (nonces are single-use)
	seq             uint64 // last applied "seq"
	seqKnown        bool   // the server numbers this instance's state messages
	incarnation     uint64 // bumped when the server instance changes
	recovering      bool
	recoverSnapshot bool // a STATE_UPDATE arrived while recovering
	unmounted       bool
	lostErr         error         // why recovery gave the component up
	changed         chan struct{} // non-nil while a WaitFor waits; closed on change
	changeHandlers  handlers[func(state, delta map[string]any)]
	recoverHandlers handlers[func(Recovery)]
	events          map[string]handlers[func(json.RawMessage)]
	binHandlers     handlers[func([]byte)]
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
		IdempotencyKey string          `json:"idempotencyKey,omitempty"`
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
// an [*Error] with the server's message. While the client is reconnecting,
// Mount waits for the connection first.
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
		return encodeMount(component, rawProps, cfg, requestID)
	}, c.mountHook(component, rawProps, cfg, &mounted))
	if err != nil {
		return nil, err
	}
	return mounted, nil
}

func encodeMount(component string, props json.RawMessage, cfg mountConfig, requestID string) ([]byte, error) {
	return json.Marshal(mountMessage{
		Type:        protocol.TypeComponentMount,
		ComponentID: "mount-" + component,
		Payload: mountPayload{
			Component:  component,
			Props:      props,
			Room:       cfg.room,
			DebugLabel: cfg.debugLabel,
		},
		RequestID:      requestID,
		ExpectResponse: true,
	})
}

// mountFrame encodes the COMPONENT_MOUNT that created m.
func (m *Component) mountFrame(requestID string) ([]byte, error) {
	return encodeMount(m.name, m.props, m.cfg, requestID)
}

// decodeMountResult reads a successful mount reply's result.
func decodeMountResult(component string, reply Message) (mountResult, error) {
	var res mountResult
	if err := json.Unmarshal(reply.Result, &res); err != nil {
		return res, fmt.Errorf("client: mount %s: malformed reply result: %w", component, err)
	}
	if res.ComponentID == "" {
		return res, fmt.Errorf("client: mount %s: reply has no result.componentId", component)
	}
	if res.InitialState == nil {
		res.InitialState = make(map[string]any)
	}
	return res, nil
}

// mountHook returns the reply hook of a mount request. It runs on the reader
// goroutine for a successful reply: it registers the component, replays the
// messages buffered for its id, and stores it in *out.
func (c *Client) mountHook(component string, props json.RawMessage, cfg mountConfig, out **Component) func(Message) error {
	return func(reply Message) error {
		res, err := decodeMountResult(component, reply)
		if err != nil {
			return err
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

// ID returns the server-assigned component id. It changes when a
// reconnection rehydrates or remounts the component.
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
// reply, STATE_UPDATE, STATE_REHYDRATED or STATE_SIGNATURE), or nil.
func (m *Component) SignedState() json.RawMessage {
	m.mu.Lock()
	defer m.mu.Unlock()
	return bytes.Clone(m.signed)
}

// Seq returns the "seq" extension field of the newest state message
// (STATE_UPDATE, STATE_DELTA, STATE_REHYDRATED) that carried one: the
// sequence number of the last delta reflected in the mirror. It is 0 when
// the server sends none, and restarts when the component gets a new id.
func (m *Component) Seq() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.seq
}

// target returns the id to address the component with and its incarnation,
// or an error wrapping ErrUnmounted.
func (m *Component) target() (string, uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.unmounted {
		if m.lostErr != nil {
			return "", 0, fmt.Errorf("%w: not recovered after a reconnection: %w", ErrUnmounted, m.lostErr)
		}
		return "", 0, ErrUnmounted
	}
	return m.id, m.incarnation, nil
}

// newIdempotencyKey returns a fresh 26-character random key (128 bits).
func newIdempotencyKey() string { return rand.Text() }

// Call invokes action with payload (nil sends {}) and waits for the
// ACTION_RESPONSE; it returns the action's raw result. A failed action
// returns an [*Error] with the server's message; an id the server does not
// know on this connection also matches [ErrRehydrationRequired]. When ctx
// has no deadline, RequestTimeout bounds the whole call, retries included.
//
// Every call carries a fresh "idempotencyKey". If the connection is lost
// before the reply, Call waits for the reconnection and sends the action
// again with the same key: when the component was resumed, the server
// answers with the first outcome without running the action twice. When the
// request had reached the connection but the component came back as a new
// instance (rehydrated or remounted), whether the action ran cannot be
// known, and Call fails with [ErrOutcomeUnknown]. Options.DisableIdempotency
// turns keys and retries off.
func (m *Component) Call(ctx context.Context, action string, payload any) (json.RawMessage, error) {
	c := m.c
	if _, _, err := m.target(); err != nil {
		return nil, err
	}
	p, err := marshalObject(payload)
	if err != nil {
		return nil, fmt.Errorf("client: call %s: encode payload: %w", action, err)
	}
	ctx, cancel := c.requestContext(ctx)
	defer cancel()
	var key string
	retry := !c.opts.DisableIdempotency && !c.opts.Reconnect.Disabled
	if !c.opts.DisableIdempotency {
		key = newIdempotencyKey()
	}
	var (
		sent    bool   // a frame with key reached a connection
		sentInc uint64 // the incarnation it was sent to
	)
	for {
		s, err := c.connected(ctx)
		if err != nil {
			return nil, err
		}
		id, inc, err := m.target()
		if err != nil {
			return nil, err
		}
		if sent && inc != sentInc {
			return nil, fmt.Errorf("client: call %s: %w", action, ErrOutcomeUnknown)
		}
		reply, wrote, err := c.roundTripOn(ctx, s, protocol.TypeCallAction, func(requestID string) ([]byte, error) {
			return json.Marshal(actionMessage{
				Type:           protocol.TypeCallAction,
				ComponentID:    id,
				Action:         action,
				Payload:        p,
				RequestID:      requestID,
				ExpectResponse: true,
				IdempotencyKey: key,
			})
		}, nil)
		if wrote && !sent {
			sent, sentInc = true, inc
		}
		if err == nil {
			return reply.Result, nil
		}
		if !retry || !isLost(err) {
			return nil, err
		}
		c.log.Debug("client: connection lost during a call; retrying after reconnection", "component", m.name, "action", action)
	}
}

// Fire invokes action without waiting: no requestId, expectResponse or
// idempotency key are sent, so a successful action gets no reply. A failure
// still produces an ACTION_RESPONSE (and usually an ERROR emit), delivered
// to the On handlers of this component. While the client is reconnecting,
// Fire waits for the connection first; it is never retried.
func (m *Component) Fire(ctx context.Context, action string, payload any) error {
	if _, _, err := m.target(); err != nil {
		return err
	}
	p, err := marshalObject(payload)
	if err != nil {
		return fmt.Errorf("client: fire %s: encode payload: %w", action, err)
	}
	ctx, cancel := m.c.requestContext(ctx)
	defer cancel()
	s, err := m.c.connected(ctx)
	if err != nil {
		return err
	}
	id, _, err := m.target()
	if err != nil {
		return err
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
	return m.c.writeOn(ctx, s, websocket.MessageText, b)
}

// Set sends PROPERTY_UPDATE for property with value and waits for the reply.
// While the client is reconnecting it waits for the connection first; if
// the connection is lost before the reply, Set fails with an error wrapping
// [ErrClosed] (the property may or may not have been set).
func (m *Component) Set(ctx context.Context, property string, value any) error {
	if _, _, err := m.target(); err != nil {
		return err
	}
	_, err := m.c.roundTrip(ctx, protocol.TypePropertyUpdate, func(requestID string) ([]byte, error) {
		id, _, err := m.target()
		if err != nil {
			return nil, err
		}
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
// are not routed to it, and its methods return [ErrUnmounted]. While the
// client is reconnecting, Unmount only detaches the handle (it is not
// recovered, and the server drops the old instance when its grace period
// ends) and returns nil.
func (m *Component) Unmount(ctx context.Context) error {
	m.mu.Lock()
	if m.unmounted {
		m.mu.Unlock()
		return ErrUnmounted
	}
	id := m.id
	m.unmounted = true
	m.wakeLocked()
	m.mu.Unlock()
	m.c.unregister(m, id)
	c := m.c
	c.mu.Lock()
	reconnecting := c.err == nil && !c.closing.Load() && (c.state != StateConnected || c.cur == nil || c.cur.dead)
	c.mu.Unlock()
	if reconnecting {
		return nil
	}
	_, err := c.roundTrip(ctx, protocol.TypeComponentUnmount, func(requestID string) ([]byte, error) {
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
// of the new state and of the applied delta (nil when the whole state was
// replaced: STATE_UPDATE, STATE_REHYDRATED, a fresh mount after a
// reconnection). The maps are shared by the handlers of one change; fn may
// keep them but must not modify them. fn runs on the client's reader
// goroutine (see [Client]). The returned function removes the registration.
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

// OnRecover registers fn, called once per reconnection after the component
// was reattached (resumed, rehydrated or remounted) or given up, with what
// happened. fn runs on the client's supervisor goroutine before the client
// reports StateConnected; it must return quickly and must not wait for a
// server reply there. The returned function removes the registration.
func (m *Component) OnRecover(fn func(Recovery)) (remove func()) {
	m.mu.Lock()
	id := m.recoverHandlers.add(fn)
	m.mu.Unlock()
	return func() {
		m.mu.Lock()
		m.recoverHandlers.remove(id)
		m.mu.Unlock()
	}
}

func (m *Component) notifyRecovered(ev Recovery) {
	m.mu.Lock()
	hs := m.recoverHandlers.list
	m.mu.Unlock()
	if len(hs) == 0 {
		return
	}
	m.c.inHook.Store(true)
	defer m.c.inHook.Store(false)
	for _, h := range hs {
		h.fn(ev)
	}
}

// markSignedUsed records that signed was sent for rehydration, unless a
// newer signed state has replaced it meanwhile.
func (m *Component) markSignedUsed(signed json.RawMessage) {
	m.mu.Lock()
	if bytes.Equal(m.signed, signed) {
		m.signedUsed = true
	}
	m.mu.Unlock()
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
// client ends. It keeps waiting across reconnections. cond receives a deep
// copy and is called on the calling goroutine.
func (m *Component) WaitFor(ctx context.Context, cond func(state map[string]any) bool) error {
	for {
		m.mu.Lock()
		if m.unmounted {
			m.mu.Unlock()
			_, _, err := m.target()
			return err
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

// wakeLocked wakes WaitFor callers. Called with mu held.
func (m *Component) wakeLocked() {
	if m.changed != nil {
		close(m.changed)
		m.changed = nil
	}
}

// replaceStateLocked replaces the mirror and returns the function that runs
// the OnChange handlers (to be called after mu is released). Called with mu
// held.
func (m *Component) replaceStateLocked(state map[string]any) func() {
	m.state = state
	m.wakeLocked()
	hs := m.changeHandlers.list
	if len(hs) == 0 {
		return func() {}
	}
	snap := deepCopyMap(m.state)
	return func() {
		for _, h := range hs {
			h.fn(snap, nil)
		}
	}
}

// handle applies one routed message. It runs on the reader goroutine.
func (m *Component) handle(msg Message) {
	var (
		replace  map[string]any // the new mirror
		patch    map[string]any // merged into the mirror
		signed   json.RawMessage
		isDelta  bool
		hasState bool // a state message with a usable payload
	)
	switch msg.Type {
	case protocol.TypeStateUpdate, protocol.TypeStateRehydrated:
		var p struct {
			State       map[string]any  `json:"state"`
			SignedState json.RawMessage `json:"signedState"`
		}
		if json.Unmarshal(msg.Payload, &p) == nil {
			replace, signed, hasState = p.State, nonNull(p.SignedState), p.State != nil
		}
	case protocol.TypeStateDelta:
		var p struct {
			Delta map[string]any `json:"delta"`
		}
		if json.Unmarshal(msg.Payload, &p) == nil {
			patch, isDelta, hasState = p.Delta, true, p.Delta != nil
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
	if isDelta && msg.hasSeq && m.seqKnown && msg.Seq <= m.seq {
		m.mu.Unlock()
		m.c.log.Debug("client: dropping a stale STATE_DELTA", "componentId", msg.ComponentID, "seq", msg.Seq, "applied", m.seq)
		return
	}
	var snap, delta map[string]any
	var onChange []handler[func(state, delta map[string]any)]
	if hasState {
		if replace != nil {
			m.state = replace
			if m.recovering && msg.Type == protocol.TypeStateUpdate {
				m.recoverSnapshot = true
			}
		} else {
			if len(m.changeHandlers.list) > 0 {
				delta = deepCopyMap(patch) // diff.Apply may alias parts of patch
			}
			m.state = diff.Apply(m.state, patch)
		}
		m.wakeLocked()
		if onChange = m.changeHandlers.list; len(onChange) > 0 {
			snap = deepCopyMap(m.state)
		}
		if msg.hasSeq {
			m.seq, m.seqKnown = msg.Seq, true
		}
	}
	if signed != nil {
		m.signed, m.signedUsed = signed, false
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
