package live

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/live-go/live/internal/diff"
	"github.com/live-go/live/internal/protocol"
	"github.com/live-go/live/internal/sendq"
)

// Room limits and defaults (spec Appendix A).
const (
	// MaxRoomsPerConnection bounds the rooms one connection joins with
	// ROOM_JOIN.
	MaxRoomsPerConnection = 50
	// MaxRoomStateSize bounds a room's state, as JSON bytes. A change that
	// would exceed it is refused before it is applied.
	MaxRoomStateSize = 10 << 20
	// emptyRoomTTL is how long an empty room lives before destruction.
	emptyRoomTTL = 5 * time.Minute
	// maxRoomHops bounds cascades of room events through handlers.
	maxRoomHops = 8
)

// Room error strings (spec §1.8).
const (
	errRoomNotMember   = "Not a member of this room"
	errRoomServerOnly  = "Room state is server-only"
	errRoomTooLarge    = "Room state exceeds maximum size limit"
	errRoomLimit       = "Room limit exceeded"
	errRoomTypedJoin   = "Room requires server-side join via component action"
	errRoomFull        = "Room is full"
	errRoomRejected    = "Join rejected by room"
	errRoomInitFailed  = "Room initialization failed"
	errComponentNotFnd = "Component not found"
)

// Leave reasons passed to leave hooks.
const (
	LeaveReasonLeave      = "leave"
	LeaveReasonDisconnect = "disconnect"
	LeaveReasonCleanup    = "cleanup"
)

// room is one room: untyped (JSON state and messages) or typed (a
// registered Go type, binary frames).
type room struct {
	srv *Server
	id  string

	mu         sync.Mutex
	members    map[*instance]*roomMember
	order      []*roomMember  // join order, for presence lists
	remote     []remoteMember // members on other nodes (cluster)
	hq         []func()       // handler calls of server/remote emits, run in order
	hRunning   bool
	handlers   map[string][]*roomSub
	state      rawState // untyped rooms
	serverOnly bool
	deepDiff   bool
	typed      *typedRoom // typed rooms; nil for untyped
	destroyed  bool
	emptyTimer *time.Timer
	createdAt  time.Time

	// Presence notices of untyped rooms ($sub:join, $sub:leave), delivered
	// in batches (see queueNotice).
	seq        uint64      // sequence number of the next notice
	pend       [][]byte    // notice tails not yet delivered, oldest first
	pendSeq    uint64      // sequence number of pend[0]
	lastFlush  time.Time   // when notices were last delivered
	flushTimer *time.Timer // delivers pend when the window closes
	flushArmed bool        // flushTimer is set and has not run yet
}

// Presence notices are batched per room: the first notice after a quiet
// period is delivered at once; later ones wait until noticeWindow has passed
// since the previous delivery, then go out together, one queue item (and
// so usually one frame) per member. A join storm into a room of n members
// then costs each member one write per window instead of one per join, and
// the window grows with n because a delivery costs n writes.
const (
	noticeWindowPerMember = 100 * time.Microsecond
	maxNoticeWindow       = 100 * time.Millisecond
)

// roomMember is one member component of a room.
type roomMember struct {
	room       *room
	in         *instance
	identity   *Identity
	joinedAt   time.Time
	payload    json.RawMessage // typed join payload, kept to rejoin on resume
	membership map[string]any  // typed rooms: per-member server-only bag
	jsonHead   []byte          // {"componentId":"<id>",
	binHead    [2][]byte       // 0x02 / 0x03 frame heads for this member
	client     bool            // joined with ROOM_JOIN (counts toward the connection limit)
	conn       *conn           // the connection whose ROOM_JOIN it was (client joins)
	seq        uint64          // sequence number of its own $sub:join; it receives the notices after it
}

type roomSub struct {
	in *instance
	fn func(ctx *Ctx, data json.RawMessage)
}

// Member describes a room member (presence).
type Member struct {
	ComponentID string    `json:"componentId"`
	UserID      string    `json:"userId,omitempty"`
	JoinedAt    time.Time `json:"joinedAt,omitzero"`
	Node        string    `json:"node,omitempty"` // the member's node, when on another node
}

// rawState is an untyped room's state: JSON values by key, in insertion
// order, with their encoded size tracked for the size limit.
type rawState struct {
	keys []string
	vals map[string][]byte
	size int // size of the state as a JSON object
}

func (st *rawState) encode(dst []byte) []byte {
	dst = append(dst, '{')
	for i, k := range st.keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendKey(dst, k)
		dst = append(dst, st.vals[k]...)
	}
	return append(dst, '}')
}

func entrySize(k string, v []byte) int { return len(protocol.AppendString(nil, k)) + 1 + len(v) }

// apply merges the top-level keys of updates (a JSON object) into the state
// with the deep-diff rules and returns the changes as a JSON object (nil when
// nothing changed). Nothing is modified when the result would exceed limit.
func (st *rawState) apply(updates []byte, deep bool, limit int) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(updates, &m); err != nil {
		return nil, fmt.Errorf("invalid room state: %w", err)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	type change struct {
		key   string
		val   []byte
		delta []byte
	}
	var changes []change
	size := st.size
	if size == 0 {
		size = 2
	}
	for _, k := range keys {
		nv, err := compactJSON(m[k])
		if err != nil {
			return nil, fmt.Errorf("invalid room state: %w", err)
		}
		old, had := st.vals[k]
		if had && string(old) == string(nv) {
			continue
		}
		delta := nv
		if deep && had && len(old) > 0 && old[0] == '{' && nv[0] == '{' {
			d, changed, err := diff.Object(nil, old, nv, 1, diff.DefaultMaxDepth)
			if err != nil {
				return nil, fmt.Errorf("invalid room state: %w", err)
			}
			if !changed {
				continue
			}
			delta = d
		}
		if had {
			size -= entrySize(k, old)
		} else if len(st.vals) > 0 || len(changes) > 0 {
			size++ // comma
		}
		size += entrySize(k, nv)
		changes = append(changes, change{k, nv, delta})
	}
	if len(changes) == 0 {
		return nil, nil
	}
	if size > limit {
		return nil, errors.New(errRoomTooLarge)
	}
	if st.vals == nil {
		st.vals = map[string][]byte{}
	}
	out := []byte{'{'}
	for i, c := range changes {
		if _, had := st.vals[c.key]; !had {
			st.keys = append(st.keys, c.key)
		}
		st.vals[c.key] = c.val
		if i > 0 {
			out = append(out, ',')
		}
		out = appendKey(out, c.key)
		out = append(out, c.delta...)
	}
	st.size = size
	return append(out, '}'), nil
}

func compactJSON(raw []byte) ([]byte, error) {
	var b bytes.Buffer
	b.Grow(len(raw))
	if err := json.Compact(&b, raw); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// ---- registry ----

// roomFor returns the room id, creating it (untyped) if needed.
func (s *Server) roomFor(id string, create bool) *room {
	if r, ok := s.rooms.Load(id); ok {
		return r
	}
	if !create {
		return nil
	}
	r := &room{srv: s, id: id, members: map[*instance]*roomMember{}, deepDiff: true, createdAt: time.Now()}
	if s.rooms.StoreIfAbsent(id, r) {
		return r
	}
	r, _ = s.rooms.Load(id)
	return r
}

// scheduleEmpty arranges destruction of an empty room. Called with r.mu held.
func (r *room) scheduleEmpty() {
	if len(r.members) > 0 || r.destroyed {
		return
	}
	if r.emptyTimer == nil {
		r.emptyTimer = time.AfterFunc(emptyRoomTTL, r.destroyIfEmpty)
	} else {
		r.emptyTimer.Reset(emptyRoomTTL)
	}
}

func (r *room) destroyIfEmpty() {
	r.mu.Lock()
	if len(r.members) > 0 || r.destroyed {
		r.mu.Unlock()
		return
	}
	if r.typed != nil && !r.typed.destroy() {
		r.scheduleEmpty() // the room asked to be kept
		r.mu.Unlock()
		return
	}
	r.destroyed = true
	r.mu.Unlock()
	r.srv.rooms.CompareAndDelete(r.id, func(x *room) bool { return x == r })
}

// ---- membership ----

// join adds in to r. Called with in.mu held. initial seeds the state of a
// new untyped room (ignored otherwise). admitted, if set, runs under the
// room's lock once in is a member (or already was), before any room
// traffic can reach it: the place to queue the join's reply so that it
// precedes every notice and event of the room.
func (r *room) join(ctx context.Context, in *instance, id *Identity, initial, payload []byte, client bool, admitted func(state []byte)) ([]byte, error) {
	state, joined, err := r.admit(ctx, in, id, initial, payload, client, admitted)
	// The component's join hook runs after the room is joined and unlocked,
	// so it may use the room (On, Emit, SetState).
	if joined {
		if h, ok := in.comp.(RoomJoinHook); ok {
			hctx := &Ctx{Context: ctx}
			in.safeCall(hctx, "onRoomJoin", func() { h.OnRoomJoin(hctx, r.id) })
		}
	}
	return state, err
}

// admit adds in to r under r.mu; joined reports a new membership.
func (r *room) admit(ctx context.Context, in *instance, id *Identity, initial, payload []byte, client bool, admitted func(state []byte)) ([]byte, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.destroyed {
		return nil, false, errRoomGone
	}
	if m := r.members[in]; m != nil {
		state := r.stateJSON() // already a member: idempotent
		if admitted != nil {
			admitted(state)
		}
		return state, false, nil
	}
	m := &roomMember{room: r, in: in, identity: id, joinedAt: time.Now(), client: client,
		payload: append(json.RawMessage(nil), payload...)}
	m.jsonHead = append(append([]byte(`{"componentId":`), protocol.AppendString(nil, in.id)...), ',')
	if r.typed != nil {
		if err := r.typed.admit(ctx, r, m); err != nil {
			return nil, false, err
		}
	} else if len(r.members) == 0 && len(r.state.keys) == 0 && len(initial) > 0 && initial[0] == '{' {
		if _, err := r.state.apply(initial, r.deepDiff, MaxRoomStateSize); err != nil {
			return nil, false, err
		}
	}
	if r.emptyTimer != nil {
		r.emptyTimer.Stop()
	}
	r.members[in] = m
	r.order = append(r.order, m)
	if in.rooms == nil {
		in.rooms = map[string]*roomMember{}
	}
	in.rooms[r.id] = m
	m.seq = r.seq
	state := r.stateJSON()
	if admitted != nil {
		admitted(state)
	}
	r.system(in, protocol.EventSubJoin, r.count())
	r.srv.observeRoomJoin(r, in)
	if n := r.srv.cluster; n != nil {
		if len(r.members) == 1 {
			n.roomJoinedLocally(r)
		}
		w := roomWire{Kind: "j", Comp: in.id}
		if id != nil {
			w.User = id.ID
		}
		n.enqueueRoom(r.id, w)
	}
	return state, true, nil
}

var errRoomGone = errors.New("live: room destroyed")

// leave removes in from r, with the handlers it registered there. Called
// with in.mu held.
func (r *room) leave(ctx context.Context, in *instance, reason string) {
	r.mu.Lock()
	m := r.members[in]
	if m == nil {
		r.mu.Unlock()
		return
	}
	if r.typed != nil {
		r.typed.leave(ctx, r, m, reason)
	}
	r.flushTo(m) // the notices it was a member for, before it goes
	delete(r.members, in)
	r.order = slices.DeleteFunc(r.order, func(x *roomMember) bool { return x == m })
	for ev, subs := range r.handlers {
		r.handlers[ev] = slices.DeleteFunc(subs, func(s *roomSub) bool { return s.in == in })
	}
	delete(in.rooms, r.id)
	r.srv.observeRoomLeave(r, in)
	if m.conn != nil {
		m.conn.roomLeft(in.id, r.id)
	}
	if r.count() > 0 {
		r.system(in, protocol.EventSubLeave, r.count())
	}
	r.scheduleEmpty()
	if n := r.srv.cluster; n != nil {
		n.enqueueRoom(r.id, roomWire{Kind: "l", Comp: in.id})
		if len(r.members) == 0 {
			n.roomEmptyLocally(r.id)
		}
	}
	r.mu.Unlock()
	if h, ok := in.comp.(RoomLeaveHook); ok {
		hctx := &Ctx{Context: ctx}
		in.safeCall(hctx, "onRoomLeave", func() { h.OnRoomLeave(hctx, r.id, reason) })
	}
}

// leaveAll removes in from every room. Called with in.mu held.
func (in *instance) leaveAll(ctx context.Context, reason string) {
	for _, m := range in.rooms {
		m.room.leave(ctx, in, reason)
	}
}

// stateJSON returns the room's full public state. Called with r.mu held.
func (r *room) stateJSON() []byte {
	if r.typed != nil {
		return r.typed.current()
	}
	return r.state.encode(make([]byte, 0, 64))
}

// members returns the presence list. Called with r.mu held.
func (r *room) memberList() []Member {
	out := make([]Member, 0, r.count())
	for _, m := range r.order {
		mm := Member{ComponentID: m.in.id, JoinedAt: m.joinedAt}
		if m.identity != nil {
			mm.UserID = m.identity.ID
		}
		out = append(out, mm)
	}
	for _, m := range r.remote {
		out = append(out, Member{ComponentID: m.Comp, UserID: m.User, Node: m.Node})
	}
	return out
}

// ---- delivery ----

// deliver queues a room message on the connections of every member except
// skip. tail is the shared message body after the recipient's head. Called
// with r.mu held.
func (r *room) deliver(skip *instance, binKind int, tail []byte) int {
	if len(r.pend) > 0 {
		r.flushNotices(time.Now()) // room messages keep their order
	}
	n := 0
	for _, m := range r.order {
		if m.in == skip {
			continue
		}
		head := m.jsonHead
		kind := sendq.Message
		if binKind >= 0 {
			head, kind = m.binHead[binKind], sendq.Binary
		}
		m.in.subsMu.Lock()
		subs := m.in.subs
		m.in.subsMu.Unlock()
		for _, c := range subs {
			c.push(sendq.Item{Prefix: head, Data: tail, Kind: kind})
		}
		n++
	}
	r.srv.stats.roomDeliveries.Add(uint64(n))
	return n
}

// jsonTail builds `"type":T,"roomId":R,"event":E,"data":D,"timestamp":N}`.
func (r *room) jsonTail(typ, event string, data []byte) []byte {
	t := make([]byte, 0, 80+len(r.id)+len(event)+len(data))
	t = append(t, `"type":`...)
	t = protocol.AppendString(t, typ)
	t = append(t, `,"roomId":`...)
	t = protocol.AppendString(t, r.id)
	t = append(t, `,"event":`...)
	t = protocol.AppendString(t, event)
	t = append(t, `,"data":`...)
	t = append(t, data...)
	t = append(t, `,"timestamp":`...)
	t = strconv.AppendInt(t, time.Now().UnixMilli(), 10)
	return append(t, '}')
}

// count is the number of members on every node. Called with r.mu held.
func (r *room) count() int { return len(r.members) + len(r.remote) }

// systemFor announces a member on another node to the local members.
func (r *room) systemFor(componentID, event string) {
	d := make([]byte, 0, 64)
	d = append(d, `{"subscriberId":`...)
	d = protocol.AppendString(d, componentID)
	d = append(d, `,"count":`...)
	d = strconv.AppendInt(d, int64(r.count()), 10)
	d = append(d, '}')
	if r.typed != nil {
		r.typed.emitBinary(r, nil, event, d)
		return
	}
	r.deliver(nil, -1, r.jsonTail(protocol.TypeRoomSystem, event, d))
}

// system broadcasts a $sub:join / $sub:leave event about subject to the
// other members. Called with r.mu held.
func (r *room) system(subject *instance, event string, count int) {
	d := make([]byte, 0, 64)
	d = append(d, `{"subscriberId":`...)
	d = protocol.AppendString(d, subject.id)
	d = append(d, `,"count":`...)
	d = strconv.AppendInt(d, int64(count), 10)
	d = append(d, '}')
	if r.typed != nil {
		r.typed.emitBinary(r, subject, event, d)
		return
	}
	r.queueNotice(r.jsonTail(protocol.TypeRoomSystem, event, d))
}

// queueNotice adds a presence notice about a local member, which goes to
// every current member that joined before it (the subject of a join is the
// last to have joined; the subject of a leave is gone). It is delivered at
// once after a quiet period, else with the notices that follow it when the
// room's notice window closes. Called with r.mu held.
//
// Every member receives every notice meant for it, in order, each with the
// fields and count of the moment it was made; only the frames change. That
// holds because deliver flushes the pending notices before any other room
// message and leave flushes a leaving member's share before removing it.
func (r *room) queueNotice(tail []byte) {
	if len(r.pend) == 0 {
		r.pendSeq = r.seq
	}
	r.pend = append(r.pend, tail)
	r.seq++
	if r.flushArmed {
		return
	}
	now := time.Now()
	wait := min(time.Duration(len(r.members))*noticeWindowPerMember, maxNoticeWindow) - now.Sub(r.lastFlush)
	if wait <= 0 {
		r.flushNotices(now)
		return
	}
	r.flushArmed = true
	if r.flushTimer == nil {
		r.flushTimer = time.AfterFunc(wait, r.flushLater)
	} else {
		r.flushTimer.Reset(wait)
	}
}

// flushLater delivers the pending notices when the window closes.
func (r *room) flushLater() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.flushArmed = false
	if len(r.pend) > 0 {
		r.flushNotices(time.Now())
	}
}

// flushNotices delivers the pending notices: one queue item per member
// connection, sharing the tails. Called with r.mu held.
func (r *room) flushNotices(now time.Time) {
	r.lastFlush = now
	pend, first := r.pend, r.pendSeq
	r.pend = nil // handed out: never appended to or modified again
	n := 0
	for _, m := range r.order {
		n += m.pushNotices(noticesFor(m, pend, first))
	}
	r.srv.stats.roomDeliveries.Add(uint64(n))
}

// flushTo delivers to m alone the pending notices meant for it. Called with
// r.mu held.
func (r *room) flushTo(m *roomMember) {
	r.srv.stats.roomDeliveries.Add(uint64(m.pushNotices(noticesFor(m, r.pend, r.pendSeq))))
}

// noticesFor returns the notices of pend (the first numbered first) that
// follow m's own join.
func noticesFor(m *roomMember, pend [][]byte, first uint64) [][]byte {
	start := 0
	if m.seq >= first {
		start = int(m.seq-first) + 1
	}
	if start >= len(pend) {
		return nil
	}
	return pend[start:len(pend):len(pend)]
}

// pushNotices queues tails to m's connections as one item and returns
// len(tails).
func (m *roomMember) pushNotices(tails [][]byte) int {
	if len(tails) == 0 {
		return 0
	}
	m.in.subsMu.Lock()
	subs := m.in.subs
	m.in.subsMu.Unlock()
	for _, c := range subs {
		c.push(sendq.Item{Prefix: m.jsonHead, Tails: tails, Kind: sendq.Message})
	}
	return len(tails)
}

// emit delivers an event to the members except skip and schedules the
// handlers registered with RoomHandle.On. Called with r.mu held.
func (r *room) emit(from *instance, skip *instance, event string, data []byte, hops int) int {
	if n := r.srv.cluster; n != nil {
		w := roomWire{Kind: "ev", Event: event, Data: append(json.RawMessage(nil), data...)}
		if skip != nil {
			w.Exclude = skip.id
		}
		n.enqueueRoom(r.id, w)
	}
	if r.typed != nil {
		r.typed.observe(r, from, event, data)
		n := r.typed.emitBinary(r, skip, event, data)
		r.srv.observeRoomEmit(r, from, event, n)
		r.runHandlers(from, skip, event, data, hops)
		return n
	}
	n := r.deliver(skip, -1, r.jsonTail(protocol.TypeRoomEvent, event, data))
	r.srv.observeRoomEmit(r, from, event, n)
	r.runHandlers(from, skip, event, data, hops)
	return n
}

// runHandlers schedules the On handlers of members other than skip; each
// runs under its own component's lock, after the emitter's lock is released.
func (r *room) runHandlers(from, skip *instance, event string, data []byte, hops int) {
	subs := r.handlers[event]
	if len(subs) == 0 {
		return
	}
	if hops >= maxRoomHops {
		r.srv.log.Warn("live: room event cascade too deep, dropped", "room", r.id, "event", event)
		return
	}
	payload := json.RawMessage(append([]byte(nil), data...))
	for _, sub := range subs {
		if sub.in == skip {
			continue
		}
		target, fn := sub.in, sub.fn
		run := func() { target.runRoomHandler(fn, payload, hops+1) }
		if from != nil {
			from.later(run) // after the emitting component's lock is released
		} else {
			r.queueHandler(run) // server or remote emits: in order, off every lock
		}
	}
}

// queueHandler runs f on the room's handler runner: a goroutine started on
// demand that runs queued handler calls in order and exits when none are
// left. Called with r.mu held.
func (r *room) queueHandler(f func()) {
	r.hq = append(r.hq, f)
	if r.hRunning {
		return
	}
	r.hRunning = true
	go r.runHandlerQueue()
}

func (r *room) runHandlerQueue() {
	for {
		r.mu.Lock()
		if len(r.hq) == 0 {
			r.hRunning = false
			r.hq = nil
			r.mu.Unlock()
			return
		}
		f := r.hq[0]
		r.hq[0] = nil
		r.hq = r.hq[1:]
		r.mu.Unlock()
		f()
	}
}

func (in *instance) runRoomHandler(fn func(*Ctx, json.RawMessage), data json.RawMessage, hops int) {
	in.mu.Lock()
	defer in.unlock()
	if in.destroyed {
		return
	}
	ctx := &Ctx{Context: context.Background()}
	in.begin()
	in.hops = uint16(min(hops, maxRoomHops))
	in.safeCall(ctx, "room handler", func() { fn(ctx, data) })
	in.hops = 0
	in.end(ctx)
}

// setState applies updates and broadcasts the changes to the members except
// skip. Called with r.mu held.
func (r *room) setState(skip *instance, updates []byte) error {
	changes, err := r.state.apply(updates, r.deepDiff, MaxRoomStateSize)
	if err != nil || changes == nil {
		return err
	}
	if n := r.srv.cluster; n != nil {
		n.enqueueRoom(r.id, roomWire{Kind: "st", Data: append(json.RawMessage(nil), updates...)})
	}
	d := make([]byte, 0, len(changes)+12)
	d = append(append(append(d, `{"state":`...), changes...), '}')
	r.deliver(skip, -1, r.jsonTail(protocol.TypeRoomState, protocol.EventStateUpdate, d))
	return nil
}

// ---- client room messages (spec §4.6) ----

func (s *Server) handleRoom(c *conn, env *protocol.Envelope) {
	fail := func(msg string) { c.pushError(msg, env.ComponentID, env.RequestID) }
	in := c.owned(env.ComponentID)
	if in == nil {
		fail(errComponentNotFnd)
		return
	}
	if !validRoomID(env.RoomID) {
		fail(msgInvalidRoom)
		return
	}
	in.mu.Lock()
	defer in.unlock()
	if in.destroyed {
		fail(errComponentNotFnd)
		return
	}
	r := s.roomFor(env.RoomID, false)
	switch env.Type {
	case protocol.TypeRoomJoin:
		if s.typedRoomDef(env.RoomID) != nil {
			fail(errRoomTypedJoin)
			return
		}
		if !c.inClientRoom(env.RoomID) && c.clientRooms() >= MaxRoomsPerConnection {
			fail(errRoomLimit)
			return
		}
		// Filtered like a client state write (spec §4.5).
		initial := env.State
		if len(initial) > 0 {
			var serr error
			if initial, serr = protocol.StripKeys(initial, func(k string) bool { return strings.HasPrefix(k, "$") }); serr == nil {
				initial, serr = protocol.Sanitize(initial, protocol.SanitizeDepth)
			}
			if serr != nil {
				initial = nil
			}
		}
		if err := s.authorizeRoom(c, env.RoomID); err != nil {
			fail(err.Error())
			return
		}
		ctx := &Ctx{Context: c.ctx, conn: c}
		// The reply is queued as the member is admitted, under the room's
		// lock: no notice or event of the room can reach the client
		// before its ROOM_JOINED (nor can the join hook's effects).
		reply := func(state []byte) {
			o := protocol.Object(make([]byte, 0, 96+len(state)))
			o.Str("type", protocol.TypeRoomJoined)
			o.Str("componentId", env.ComponentID)
			p := protocol.Object(make([]byte, 0, 48+len(state)))
			p.Str("roomId", env.RoomID)
			p.Raw("state", state)
			o.Raw("payload", p.Close())
			o.StrIfSet("requestId", env.RequestID)
			sendTo(c, o.Close())
		}
		in.begin()
		var err error
		for range 3 { // a room being destroyed concurrently is recreated
			r = s.roomFor(env.RoomID, true)
			if _, err = r.join(c.ctx, in, c.identity(), initial, nil, true, reply); !errors.Is(err, errRoomGone) {
				break
			}
		}
		in.end(ctx)
		if err != nil {
			fail(err.Error())
			return
		}
		if m := in.rooms[env.RoomID]; m != nil && m.client && m.conn == nil {
			m.conn = c
			c.roomJoined(in.id, env.RoomID)
		}
	case protocol.TypeRoomLeave:
		if r != nil {
			ctx := &Ctx{Context: c.ctx, conn: c}
			in.begin()
			r.leave(c.ctx, in, LeaveReasonLeave)
			in.end(ctx)
		}
		o := protocol.Object(make([]byte, 0, 96))
		o.Str("type", protocol.TypeRoomLeft)
		o.Str("componentId", env.ComponentID)
		p := protocol.Object(make([]byte, 0, 32))
		p.Str("roomId", env.RoomID)
		o.Raw("payload", p.Close())
		o.StrIfSet("requestId", env.RequestID)
		sendTo(c, o.Close())
	case protocol.TypeRoomEmit, protocol.TypeRoomStateSet, protocol.TypeRoomStateGet:
		if r == nil || in.rooms[env.RoomID] == nil {
			fail(errRoomNotMember)
			return
		}
		s.roomMemberMessage(c, in, r, env, fail)
	}
}

func (s *Server) roomMemberMessage(c *conn, in *instance, r *room, env *protocol.Envelope, fail func(string)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch env.Type {
	case protocol.TypeRoomEmit:
		if strings.HasPrefix(env.Event, "$") {
			// "$sub:join", "$state:update"... are the server's: a client
			// must not forge presence or state events.
			fail("Event names starting with '$' are reserved for the server")
			return
		}
		data := env.Data
		if data == nil {
			data = []byte("null")
		}
		if clean, err := protocol.Sanitize(data, protocol.SanitizeDepth); err == nil {
			data = clean
		}
		in.outMu.Lock()
		hops := int(in.hops)
		in.outMu.Unlock()
		in.begin()
		r.emit(in, in, env.Event, data, hops)
		in.end(&Ctx{Context: c.ctx, conn: c})
	case protocol.TypeRoomStateSet:
		if r.serverOnly || r.typed != nil {
			fail(errRoomServerOnly)
			return
		}
		clean, err := protocol.StripKeys(env.State, func(k string) bool { return strings.HasPrefix(k, "$") })
		if err == nil {
			clean, err = protocol.Sanitize(clean, protocol.SanitizeDepth)
		}
		if err != nil {
			clean = []byte("{}")
		}
		if err := r.setState(in, clean); err != nil {
			fail(err.Error())
		}
	case protocol.TypeRoomStateGet:
		state := r.stateJSON()
		o := protocol.Object(make([]byte, 0, 96+len(state)))
		o.Str("type", protocol.TypeRoomState)
		o.Str("componentId", env.ComponentID)
		p := protocol.Object(make([]byte, 0, 48+len(state)))
		p.Str("roomId", env.RoomID)
		p.Raw("state", state)
		o.Raw("payload", p.Close())
		o.StrIfSet("requestId", env.RequestID)
		sendTo(c, o.Close())
	}
}

// authorizeRoom applies the first auth provider's RoomAuthorizer (spec §4.11).
func (s *Server) authorizeRoom(c *conn, roomID string) error {
	if len(s.opts.AuthProviders) == 0 {
		return nil
	}
	p := s.opts.AuthProviders[0]
	az, ok := p.(RoomAuthorizer)
	if !ok {
		return nil
	}
	allowed, err := az.AuthorizeRoom(c.ctx, c.identity().clone(), roomID)
	if err != nil {
		return fmt.Errorf("Room authorization error: %s", err)
	}
	if !allowed {
		return fmt.Errorf("Access to room '%s' denied by auth provider '%s'", roomID, p.Name())
	}
	return nil
}

// ---- component-side room API (spec §4.7) ----

// RoomJoinHook runs on a component after it joined a room.
type RoomJoinHook interface {
	OnRoomJoin(ctx *Ctx, roomID string)
}

// RoomLeaveHook runs on a component after it left a room; reason is
// LeaveReasonLeave, LeaveReasonDisconnect or LeaveReasonCleanup.
type RoomLeaveHook interface {
	OnRoomLeave(ctx *Ctx, roomID, reason string)
}

// RoomHandle is a component's handle on one room. Its methods may only be
// called from the component's actions and hooks (they rely on the component
// lock), except where noted.
type RoomHandle struct {
	in *instance
	id string
}

// JoinRoom returns the handle of room id for the component. Room ids are
// 1–64 characters of [A-Za-z0-9_:.-]; an id whose prefix before ':' is a
// registered typed room's Name addresses that typed room.
func (b *Base) JoinRoom(id string) *RoomHandle { return &RoomHandle{in: b.in, id: id} }

// ID returns the room id.
func (h *RoomHandle) ID() string { return h.id }

// JoinOption modifies RoomHandle.Join.
type JoinOption func(*joinOptions)

type joinOptions struct{ serverOnly bool }

// ServerOnlyState makes an untyped room created by this join refuse client
// ROOM_STATE_SET ("Room state is server-only"); clients may still read the
// state and emit. It has no effect on an existing room.
func ServerOnlyState() JoinOption { return func(o *joinOptions) { o.serverOnly = true } }

// Join makes the component a member. initial seeds the state of a new
// untyped room; for a typed room it is the payload handed to OnJoin. The
// component's connections get ROOM_JOINED for typed rooms (spec §4.7).
func (h *RoomHandle) Join(initial any, opts ...JoinOption) error {
	var jo joinOptions
	for _, f := range opts {
		f(&jo)
	}
	in := h.in
	if in == nil {
		return ErrDestroyed
	}
	if !validRoomID(h.id) {
		return errors.New(msgInvalidRoom)
	}
	var raw []byte
	if initial != nil {
		var err error
		if raw, err = marshalValue(nil, initial); err != nil {
			return err
		}
	}
	var id *Identity
	if subs := in.subsSnapshot(); len(subs) > 0 {
		id = subs[0].identity()
	}
	for range 3 {
		var r *room
		if td := in.srv.typedRoomDef(h.id); td != nil {
			var err error
			if r, err = in.srv.typedRoomFor(h.id, td); err != nil {
				return err
			}
		} else {
			r = in.srv.roomFor(h.id, true)
			if jo.serverOnly {
				r.mu.Lock()
				if len(r.members) == 0 && len(r.state.keys) == 0 {
					r.serverOnly = true
				}
				r.mu.Unlock()
			}
		}
		state, err := r.join(context.Background(), in, id, raw, raw, false, nil)
		if errors.Is(err, errRoomGone) {
			continue
		}
		if err != nil {
			return err
		}
		if r.typed != nil {
			msg := make([]byte, 0, 128+len(state))
			msg = append(msg, `{"type":"ROOM_JOINED","componentId":`...)
			msg = protocol.AppendString(msg, in.id)
			msg = append(msg, `,"roomId":`...)
			msg = protocol.AppendString(msg, h.id)
			msg = append(msg, `,"event":"$room:joined","data":{"state":`...)
			msg = append(msg, state...)
			msg = append(msg, `},"timestamp":`...)
			msg = strconv.AppendInt(msg, time.Now().UnixMilli(), 10)
			msg = append(msg, '}')
			in.deliver(func() { in.fanout(sendq.Item{Data: msg, Kind: sendq.Message}) })
		}
		return nil
	}
	return errRoomGone
}

// Leave removes the component from the room (no-op if not a member).
func (h *RoomHandle) Leave() error {
	if h.in == nil {
		return ErrDestroyed
	}
	if m := h.in.rooms[h.id]; m != nil {
		m.room.leave(context.Background(), h.in, LeaveReasonLeave)
	}
	return nil
}

// EmitOption modifies RoomHandle.Emit.
type EmitOption func(*emitOptions)

type emitOptions struct{ includeSelf bool }

// IncludeSelf makes a room emit reach the emitting component too.
func IncludeSelf() EmitOption { return func(o *emitOptions) { o.includeSelf = true } }

// Emit sends event with data (JSON-encoded) to the other members of the
// room (and to this component with IncludeSelf), and runs their On
// handlers. The component must be a member.
func (h *RoomHandle) Emit(event string, data any, opts ...EmitOption) error {
	m, err := h.member()
	if err != nil {
		return err
	}
	var o emitOptions
	for _, f := range opts {
		f(&o)
	}
	raw, err := marshalValue(nil, data)
	if err != nil {
		return err
	}
	skip := h.in
	if o.includeSelf {
		skip = nil
	}
	r := m.room
	r.mu.Lock()
	r.emit(h.in, skip, event, raw, int(h.in.hops))
	r.mu.Unlock()
	return nil
}

// SetState merges updates (a JSON object value, e.g. a map or struct) into
// an untyped room's state with the deep-diff rules and sends the changes to
// the other members. A change that would make the state larger than
// MaxRoomStateSize is refused before it is applied. For typed rooms use
// UpdateRoom.
func (h *RoomHandle) SetState(updates any) error {
	m, err := h.member()
	if err != nil {
		return err
	}
	if m.room.typed != nil {
		return errors.New("live: typed room state is changed with UpdateRoom")
	}
	raw, err := marshalValue(nil, updates)
	if err != nil {
		return err
	}
	if len(raw) == 0 || raw[0] != '{' {
		return errors.New("live: room state updates must be a JSON object")
	}
	r := m.room
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.setState(h.in, raw)
}

// State returns the room's full public state as JSON.
func (h *RoomHandle) State() (json.RawMessage, error) {
	m, err := h.member()
	if err != nil {
		return nil, err
	}
	m.room.mu.Lock()
	defer m.room.mu.Unlock()
	return json.RawMessage(m.room.stateJSON()), nil
}

// Members returns the room's members in join order (presence).
func (h *RoomHandle) Members() ([]Member, error) {
	m, err := h.member()
	if err != nil {
		return nil, err
	}
	m.room.mu.Lock()
	defer m.room.mu.Unlock()
	return m.room.memberList(), nil
}

// On registers fn for event in this room: it runs (under this component's
// lock, like an action; state changes it makes are sent) for events emitted
// by other members or by the server. It returns a function that removes the
// handler. Handlers belong to the membership: they are dropped when the
// component leaves the room, including when its connection drops. Register
// them in OnRoomJoin (RoomJoinHook), which runs again when a resumed
// component rejoins its rooms.
func (h *RoomHandle) On(event string, fn func(ctx *Ctx, data json.RawMessage)) (func(), error) {
	m, err := h.member()
	if err != nil {
		return nil, err
	}
	sub := &roomSub{in: h.in, fn: fn}
	r := m.room
	r.mu.Lock()
	if r.handlers == nil {
		r.handlers = map[string][]*roomSub{}
	}
	r.handlers[event] = append(r.handlers[event], sub)
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		r.handlers[event] = slices.DeleteFunc(r.handlers[event], func(s *roomSub) bool { return s == sub })
		r.mu.Unlock()
	}, nil
}

func (h *RoomHandle) member() (*roomMember, error) {
	if h.in == nil {
		return nil, ErrDestroyed
	}
	m := h.in.rooms[h.id]
	if m == nil {
		return nil, errors.New(errRoomNotMember)
	}
	return m, nil
}

// subsSnapshot returns the instance's connections.
func (in *instance) subsSnapshot() []*conn {
	in.subsMu.Lock()
	defer in.subsMu.Unlock()
	return in.subs
}

// ---- server-side room API ----

// EmitToRoom sends event with data to every member of room id (no
// exclusion), as the server. It reports how many members it reached.
func (s *Server) EmitToRoom(id, event string, data any) (int, error) {
	r := s.roomFor(id, false)
	if r == nil {
		return 0, nil
	}
	raw, err := marshalValue(nil, data)
	if err != nil {
		return 0, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.emit(nil, nil, event, raw, 0), nil
}

// RoomMembers returns the members of room id (presence), or nil.
func (s *Server) RoomMembers(id string) []Member {
	r := s.roomFor(id, false)
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.memberList()
}

// awayRoom remembers a room membership across a disconnect.
type awayRoom struct {
	id      string
	payload json.RawMessage
	client  bool
}

// rejoin restores the memberships left on disconnect. Called with in.mu held.
func (in *instance) rejoin(c *conn) {
	for _, a := range in.away {
		var r *room
		if td := in.srv.typedRoomDef(a.id); td != nil {
			var err error
			if r, err = in.srv.typedRoomFor(a.id, td); err != nil {
				continue
			}
		} else {
			r = in.srv.roomFor(a.id, true)
		}
		if _, err := r.join(c.ctx, in, c.identity(), nil, a.payload, a.client, nil); err != nil {
			in.srv.log.Info("live: could not rejoin room after resume", "room", a.id, "component", in.id, "err", err)
			continue
		}

		if m := in.rooms[a.id]; m != nil && a.client {
			m.conn = c
			c.roomJoined(in.id, a.id)
		}
	}
	in.away = nil
}

// clientRooms counts the distinct rooms this connection's components are
// in through ROOM_JOIN (spec §6.2: at most MaxRoomsPerConnection).
func (c *conn) clientRooms() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.rooms)
}

// inClientRoom reports whether one of the connection's components is in
// roomID through ROOM_JOIN.
func (c *conn) inClientRoom(roomID string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.rooms[roomID]) > 0
}

func (c *conn) roomJoined(componentID, roomID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rooms == nil {
		c.rooms = map[string]map[string]bool{}
	}
	if c.rooms[roomID] == nil {
		c.rooms[roomID] = map[string]bool{}
	}
	c.rooms[roomID][componentID] = true
}

func (c *conn) roomLeft(componentID, roomID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.rooms[roomID], componentID)
	if len(c.rooms[roomID]) == 0 {
		delete(c.rooms, roomID)
	}
}
