package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/live-go/live/internal/diff"
	"github.com/live-go/live/internal/protocol"
)

// Room describes a typed room type T for RegisterRoom (the reference's
// LiveRoom). T is a struct embedding RoomBase; its exported JSON fields are
// the room's public state, its unexported fields server-only. Room ids are
// "<Name>:<instance>"; components join them server-side with
// Base.JoinRoom(id).Join(payload) — clients cannot ROOM_JOIN a typed room.
// Members receive binary frames: 0x02 for events and membership, 0x03 for
// state changes, their payload encoded with Codec.
type Room[T any] struct {
	// Name is the id prefix (required; no ':').
	Name string
	// MaxMembers caps membership ("Room is full"); 0 means no cap.
	MaxMembers int
	// Codec encodes frame payloads: "msgpack" (default, what the
	// reference's clients decode) or "json".
	Codec string
	// New returns a new room value with its default state. Default new(T).
	New func() *T
	// DiffDepth is the nested diff depth of state changes. Default 3.
	DiffDepth int
}

// RoomBase is embedded in typed room structs.
type RoomBase struct {
	r *room
}

func (b *RoomBase) roomBase() *RoomBase { return b }

type roomBaseHolder interface{ roomBase() *RoomBase }

// ID returns the room id.
func (b *RoomBase) ID() string { return b.r.id }

// MemberCount returns the number of members. Call it from room hooks or
// UpdateRoom (the room is locked there).
func (b *RoomBase) MemberCount() int { return len(b.r.members) }

// Members returns the members in join order. Call it from room hooks or
// UpdateRoom.
func (b *RoomBase) Members() []Member { return b.r.memberList() }

// Emit sends event to every member (no exclusion), as a 0x02 frame. Call it
// from room hooks or UpdateRoom.
func (b *RoomBase) Emit(event string, data any) error {
	raw, err := marshalValue(nil, data)
	if err != nil {
		return err
	}
	b.r.emit(nil, nil, event, raw, 0)
	return nil
}

// RoomCtx is passed to typed room hooks.
type RoomCtx struct {
	context.Context
	// ComponentID is the member (or emitter; "server" for server emits).
	ComponentID string
	// Identity is the member's identity (nil when anonymous).
	Identity *Identity
	// Payload is the join payload (OnJoin).
	Payload json.RawMessage
	// Membership is a per-member server-only bag, created at join and
	// handed back at leave.
	Membership map[string]any
	// Reason is the leave reason (OnLeave).
	Reason string
}

// Typed room hooks, implemented on *T.
type (
	// RoomOnCreate runs when the room is created; an error deletes it
	// ("Room initialization failed").
	RoomOnCreate interface {
		OnCreate(ctx context.Context) error
	}
	// RoomOnJoin runs before a member is admitted; an error rejects the
	// join ("Join rejected by room").
	RoomOnJoin interface{ OnJoin(ctx *RoomCtx) error }
	// RoomOnLeave runs when a member leaves (any reason).
	RoomOnLeave interface{ OnLeave(ctx *RoomCtx) }
	// RoomOnEvent observes every event emitted into the room.
	RoomOnEvent interface {
		OnEvent(ctx *RoomCtx, event string, data json.RawMessage)
	}
	// RoomOnDestroy runs when the empty room is about to be destroyed;
	// returning false keeps it.
	RoomOnDestroy interface{ OnDestroy() bool }
)

type roomDef struct {
	name  string
	newFn func() reflect.Value
	stateShape
	maxMembers int
	json       bool
}

// RegisterRoom registers typed room type T.
func RegisterRoom[T any](s *Server, r Room[T]) error {
	t := reflect.TypeFor[T]()
	switch {
	case r.Name == "" || strings.Contains(r.Name, ":") || !validRoomID(r.Name):
		return fmt.Errorf("live: RegisterRoom: invalid Name %q", r.Name)
	case t.Kind() != reflect.Struct:
		return fmt.Errorf("live: RegisterRoom %q: %v is not a struct", r.Name, t)
	case r.Codec != "" && r.Codec != "msgpack" && r.Codec != "json":
		return fmt.Errorf("live: RegisterRoom %q: unknown Codec %q", r.Name, r.Codec)
	}
	if _, ok := any(new(T)).(roomBaseHolder); !ok {
		return fmt.Errorf("live: RegisterRoom %q: %v must embed live.RoomBase", r.Name, t)
	}
	fields, _, err := collectStateFields(r.Name, t, reflect.TypeFor[RoomBase]())
	if err != nil {
		return err
	}
	def := &roomDef{name: r.Name, stateShape: stateShape{fields: fields, depth: r.DiffDepth}, maxMembers: r.MaxMembers, json: r.Codec == "json"}
	if def.depth <= 0 {
		def.depth = diff.DefaultMaxDepth
	}
	if r.New != nil {
		newFn := r.New
		def.newFn = func() reflect.Value {
			if p := newFn(); p != nil {
				return reflect.ValueOf(p)
			}
			return reflect.ValueOf(new(T))
		}
	} else {
		def.newFn = func() reflect.Value { return reflect.ValueOf(new(T)) }
	}
	s.roomDefsMu.Lock()
	defer s.roomDefsMu.Unlock()
	if s.roomDefs == nil {
		s.roomDefs = map[string]*roomDef{}
	}
	if _, dup := s.roomDefs[r.Name]; dup {
		return fmt.Errorf("live: room %q already registered", r.Name)
	}
	s.roomDefs[r.Name] = def
	return nil
}

// typedRoomDef returns the typed room registered for id's prefix, if any.
func (s *Server) typedRoomDef(id string) *roomDef {
	prefix, _, ok := strings.Cut(id, ":")
	if !ok {
		return nil
	}
	s.roomDefsMu.RLock()
	defer s.roomDefsMu.RUnlock()
	return s.roomDefs[prefix]
}

// typedRoomFor returns the typed room id, creating it.
func (s *Server) typedRoomFor(id string, def *roomDef) (*room, error) {
	if r, ok := s.rooms.Load(id); ok {
		return r, nil
	}
	ptr := def.newFn()
	tr := &typedRoom{def: def, ptr: ptr, elem: ptr.Elem(), val: ptr.Interface()}
	tr.st.init(&def.stateShape)
	r := &room{srv: s, id: id, members: map[*instance]*roomMember{}, typed: tr, serverOnly: true}
	tr.val.(roomBaseHolder).roomBase().r = r
	if _, err := tr.st.encode(nil, tr.elem); err != nil {
		return nil, err
	}
	if !s.rooms.StoreIfAbsent(id, r) {
		r, _ = s.rooms.Load(id)
	}
	return r, nil
}

// typedRoom is the typed part of a room. Its fields are guarded by room.mu.
type typedRoom struct {
	def     *roomDef
	ptr     reflect.Value
	elem    reflect.Value
	val     any
	st      stateTracker
	created bool
}

func (t *typedRoom) ctx(ctx context.Context, m *roomMember) *RoomCtx {
	rc := &RoomCtx{Context: ctx}
	if m != nil {
		rc.ComponentID, rc.Identity, rc.Membership = m.in.id, m.identity.clone(), m.membership
		rc.Payload = m.payload
	}
	return rc
}

// admit runs creation and join hooks for m. Called with r.mu held.
func (t *typedRoom) admit(ctx context.Context, r *room, m *roomMember) error {
	if !t.created {
		if h, ok := t.val.(RoomOnCreate); ok {
			if err := callRoomHook(func() error { return h.OnCreate(ctx) }); err != nil {
				r.srv.log.Warn("live: room OnCreate failed", "room", r.id, "err", err)
				r.destroyed = true
				r.srv.rooms.CompareAndDelete(r.id, func(x *room) bool { return x == r })
				return errors.New(errRoomInitFailed)
			}
		}
		t.created = true
	}
	if t.def.maxMembers > 0 && len(r.members) >= t.def.maxMembers {
		return errors.New(errRoomFull)
	}
	m.membership = map[string]any{}
	if h, ok := t.val.(RoomOnJoin); ok {
		if err := callRoomHook(func() error { return h.OnJoin(t.ctx(ctx, m)) }); err != nil {
			if len(r.members) == 0 {
				r.scheduleEmpty()
			}
			return errors.New(errRoomRejected)
		}
	}
	m.binHead[0] = binaryHead(0x02, m.in.id)
	m.binHead[1] = binaryHead(0x03, m.in.id)
	t.flush(r)
	return nil
}

func (t *typedRoom) leave(ctx context.Context, r *room, m *roomMember, reason string) {
	if h, ok := t.val.(RoomOnLeave); ok {
		rc := t.ctx(ctx, m)
		rc.Reason = reason
		_ = callRoomHook(func() error { h.OnLeave(rc); return nil })
	}
	// Send the state change to everyone but the leaver.
	delete(r.members, m.in)
	t.flush(r)
	r.members[m.in] = m
}

func (t *typedRoom) observe(r *room, from *instance, event string, data []byte) {
	h, ok := t.val.(RoomOnEvent)
	if !ok {
		return
	}
	rc := &RoomCtx{Context: context.Background(), ComponentID: "server"}
	if from != nil {
		if m := r.members[from]; m != nil {
			rc = t.ctx(context.Background(), m)
		}
	}
	_ = callRoomHook(func() error { h.OnEvent(rc, event, json.RawMessage(data)); return nil })
	t.flush(r)
}

func (t *typedRoom) destroy() bool {
	if h, ok := t.val.(RoomOnDestroy); ok {
		keep := false
		_ = callRoomHook(func() error { keep = !h.OnDestroy(); return nil })
		return !keep
	}
	return true
}

func (t *typedRoom) current() []byte { return t.st.current(make([]byte, 0, 64)) }

// flush sends the typed state's changes to every member as 0x03 frames.
// Called with r.mu held.
func (t *typedRoom) flush(r *room) {
	delta, _, err := t.st.diff(t.elem)
	if err != nil {
		r.srv.log.Error("live: cannot encode room state", "room", r.id, "err", err)
		return
	}
	if delta == nil {
		return
	}
	data := make([]byte, 0, len(delta)+10)
	data = append(append(append(data, `{"state":`...), delta...), '}')
	t.send(r, nil, 1, protocol.EventStateUpdate, data)
}

// emitBinary sends an event (0x02) to every member but skip.
func (t *typedRoom) emitBinary(r *room, skip *instance, event string, data []byte) int {
	return t.send(r, skip, 0, event, data)
}

func (t *typedRoom) send(r *room, skip *instance, kind int, event string, data []byte) int {
	payload := data
	if !t.def.json {
		var err error
		if payload, err = msgpackFromJSON(nil, data); err != nil {
			r.srv.log.Error("live: cannot encode room payload", "room", r.id, "event", event, "err", err)
			return 0
		}
	}
	tail, err := roomFrameTail(r.id, event, payload)
	if err != nil {
		r.srv.log.Error("live: cannot build room frame", "room", r.id, "event", event, "err", err)
		return 0
	}
	return r.deliver(skip, kind, tail)
}

// UpdateRoom runs fn on the typed room of h with the room locked (the
// component must be a member), then sends the room's state changes to
// every member. Use it to call the room type's own methods.
func UpdateRoom[T any](h *RoomHandle, fn func(room *T) error) error {
	m, err := h.member()
	if err != nil {
		return err
	}
	r := m.room
	if r.typed == nil {
		return errors.New("live: UpdateRoom needs a typed room")
	}
	p, ok := r.typed.val.(*T)
	if !ok {
		return fmt.Errorf("live: room %q is a %T, not a *%v", r.id, r.typed.val, reflect.TypeFor[T]())
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	err = callRoomHook(func() error { return fn(p) })
	r.typed.flush(r)
	return err
}

func callRoomHook(f func() error) (err error) {
	defer func() {
		if rec := recover(); rec != nil {
			err = fmt.Errorf("panic: %v", rec)
		}
	}()
	return f()
}
