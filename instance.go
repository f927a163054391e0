package live

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/live-go/live/internal/protocol"
	"github.com/live-go/live/internal/sendq"
)

// instance is one live component value and its engine state.
//
// Lock order (see LOCKS.md): instance.mu → instance.subsMu → conn.mu →
// sendq. mu serialises actions, hooks and state reads; subsMu guards the
// subscriber list so that background Emit can fan out without waiting for a
// running action.
type instance struct {
	srv  *Server
	def  *componentDef
	id   string
	room string // mount room (broadcast audience), fixed at creation
	comp any    // *T (reflection: value and fields)

	mu sync.Mutex
	st stateTracker
	// seq is the sequence number of the last delta (snapshots carry it
	// unchanged); version that of the last signed state.
	seq     uint64
	version int64

	// recovery (recovery.go)
	lastSigned time.Duration // monoNow of the last signature
	renew      *time.Timer
	ring       *deltaRing // recent deltas for resuming clients; nil until the first
	idem       map[string]*idemEntry
	replying   atomic.Int32 // actions whose reply is not queued yet (renewNow waits for them)
	graceGen   uint32       // bumped at each detach; stale queue entries skip
	hops       uint16       // room-event cascade depth of the running handler (at most maxRoomHops)

	destroyed    bool
	inChange     bool // OnStateChange running
	renewPending bool
	graced       bool // connection-less, queued in srv.grace for expiry
	running      bool // component code is running (guarded by outMu)
	steppedDown  bool // cluster: the owner gave the singleton up (guarded by mu)

	subsMu sync.Mutex
	subs   []*conn // attached connections (one unless singleton)

	// outbox holds messages emitted while component code runs under mu
	// (running): they are delivered by end, after the state delta.
	outMu  sync.Mutex
	outbox []func()
	post   []func() // run after mu is released (other components' room handlers)

	owner  *ownerState   // cluster: this node owns the singleton (guarded by mu)
	remote *remoteMirror // cluster: a proxy of a singleton owned elsewhere (guarded by mu)

	rooms map[string]*roomMember // rooms this instance is a member of (guarded by mu)
	away  []awayRoom             // rooms left on disconnect, rejoined on resume
}

// ptr returns the component as a reflect.Value of type *T.
func (in *instance) ptr() reflect.Value { return reflect.ValueOf(in.comp) }

// elem returns the component's struct value (addressable).
func (in *instance) elem() reflect.Value { return reflect.ValueOf(in.comp).Elem() }

// monoEpoch and monoNow give a monotonic clock as a plain Duration, 8 bytes
// where a time.Time takes 24: for timestamps kept per component.
var monoEpoch = time.Now()

func monoNow() time.Duration { return time.Since(monoEpoch) }

// unlock releases mu, then runs the work component code deferred with
// later (which must not run under this instance's lock).
func (in *instance) unlock() {
	in.outMu.Lock()
	post := in.post
	in.post = nil
	in.outMu.Unlock()
	in.mu.Unlock()
	for _, f := range post {
		f()
	}
}

// later runs f after the running component code has released the
// instance lock, or now when no component code is running.
func (in *instance) later(f func()) {
	in.outMu.Lock()
	if in.running {
		in.post = append(in.post, f)
		in.outMu.Unlock()
		return
	}
	in.outMu.Unlock()
	f()
}

// begin marks the start of component code run under mu: emits are held in
// the outbox until end.
func (in *instance) begin() {
	in.outMu.Lock()
	in.running = true
	in.outMu.Unlock()
}

// end sends the state delta, then the held emits in order. Called with mu
// held, after begin.
func (in *instance) end(ctx *Ctx) {
	in.flush(ctx)
	in.outMu.Lock()
	for i, send := range in.outbox {
		send()
		in.outbox[i] = nil
	}
	in.outbox = in.outbox[:0]
	in.running = false
	in.outMu.Unlock()
}

// deliver runs send now, or after the running component code's delta.
func (in *instance) deliver(send func()) {
	in.outMu.Lock()
	if in.running {
		in.outbox = append(in.outbox, send)
	} else {
		send()
	}
	in.outMu.Unlock()
}

func (s *Server) newInstance(def *componentDef) *instance {
	ptr := def.newFn()
	in := &instance{
		srv:  s,
		def:  def,
		comp: ptr.Interface(),
	}
	in.st.init(&def.stateShape)
	in.comp.(baseHolder).liveBase().in = in
	return in
}

// encodeState appends the full public state object to dst and refreshes
// the per-field snapshot. Called with mu held.
func (in *instance) encodeState(dst []byte) ([]byte, error) {
	if in.remote != nil {
		b, err := json.Marshal(in.remote.state)
		return append(dst, b...), err
	}
	return in.st.encode(dst, in.elem())
}

// diffState returns the delta since the last sent state (nil when nothing
// changed) and the changed field names. Called with mu held.
func (in *instance) diffState() ([]byte, []string, error) {
	return in.st.diff(in.elem())
}

// flush sends the delta of the current state, if any, to every subscriber,
// then runs OnStateChange (not re-entrantly; changes it makes are flushed
// too). Called with mu held.
func (in *instance) flush(ctx *Ctx) {
	if in.remote != nil {
		return // a proxy's state changes only through the owner's deltas
	}
	for range 8 { // bound OnStateChange cascades
		delta, changed, err := in.diffState()
		if err != nil {
			in.srv.log.Error("live: cannot encode component state", "component", in.def.name, "id", in.id, "err", err)
			return
		}
		if delta == nil {
			return
		}
		in.seq++
		msg, start, end := in.deltaMessage(delta)
		it := sendq.Item{Data: msg, Kind: sendq.Delta, Key: in.id, DeltaStart: start, DeltaEnd: end}
		in.fanout(it)
		in.recordDelta(in.seq, it)
		in.scheduleRenewal()
		in.srv.observeDelta(in, len(msg))
		h, ok := in.comp.(StateChangeHook)
		if !ok || in.inChange {
			return
		}
		in.inChange = true
		names := append([]string(nil), changed...)
		in.safeCall(ctx, "onStateChange", func() { h.OnStateChange(ctx, names) })
		in.inChange = false
	}
}

// deltaMessage builds {"type":"STATE_DELTA","componentId":ID,"payload":{"delta":D},"seq":N}
// and returns where D starts and ends in it.
func (in *instance) deltaMessage(delta []byte) (msg []byte, start, end int) {
	// 86 fixed bytes, with the longest seq: no append grows the buffer.
	msg = make([]byte, 0, 86+len(in.id)+len(delta))
	msg = append(msg, `{"type":"STATE_DELTA","componentId":`...)
	msg = protocol.AppendString(msg, in.id)
	msg = append(msg, `,"payload":{"delta":`...)
	start = len(msg)
	msg = append(msg, delta...)
	end = len(msg)
	msg = append(msg, `},"seq":`...)
	msg = strconv.AppendUint(msg, in.seq, 10)
	return append(msg, '}'), start, end
}

// snapshotMessage builds a STATE_UPDATE with the full state and a fresh
// signature. Called with mu held.
func (in *instance) snapshotMessage() (msg, state, signed []byte, err error) {
	state, err = in.encodeState(make([]byte, 0, 128))
	if err != nil {
		return nil, nil, nil, err
	}
	signed, err = in.sign(state)
	if err != nil {
		return nil, nil, nil, err
	}
	// seq counts deltas: a snapshot carries the seq of the last delta it
	// includes, so connections that did not get this snapshot see no gap.
	msg = make([]byte, 0, 96+len(in.id)+len(state)+len(signed))
	msg = append(msg, `{"type":"STATE_UPDATE","componentId":`...)
	msg = protocol.AppendString(msg, in.id)
	msg = append(msg, `,"payload":{"state":`...)
	msg = append(msg, state...)
	msg = append(msg, `,"signedState":`...)
	msg = append(msg, signed...)
	msg = append(msg, `},"seq":`...)
	msg = strconv.AppendUint(msg, in.seq, 10)
	msg = append(msg, '}')
	return msg, state, signed, nil
}

// sign signs state with the next version and returns the signedState JSON.
func (in *instance) sign(state []byte) ([]byte, error) {
	in.version++
	in.lastSigned = monoNow()
	ss, err := in.srv.signer.Sign(in.id, in.def.name, in.version, state)
	if err != nil {
		return nil, fmt.Errorf("live: sign state: %w", err)
	}
	return ss.AppendJSON(make([]byte, 0, 160+len(ss.Data))), nil
}

// fanout queues it on every subscriber (and, on a cluster owner, on every
// other node's subscribers). Encode once, fan out the same bytes.
func (in *instance) fanout(it sendq.Item) {
	in.fanoutLocal(it)
	if in.owner != nil && in.srv.cluster != nil {
		in.srv.cluster.ownerFanout(in, it)
	}
}

// fanoutLocal queues it on this node's subscribers.
func (in *instance) fanoutLocal(it sendq.Item) {
	in.subsMu.Lock()
	subs := in.subs // never mutated in place (see addSub/removeSub)
	in.subsMu.Unlock()
	for _, c := range subs {
		c.push(it)
	}
}

// emit sends a custom component message to every subscriber.
func (in *instance) emit(event string, payload any) error {
	msg := make([]byte, 0, 64+len(event))
	msg = append(msg, `{"type":`...)
	msg = protocol.AppendString(msg, event)
	msg = append(msg, `,"componentId":`...)
	msg = protocol.AppendString(msg, in.id)
	msg = append(msg, `,"payload":`...)
	var err error
	msg, err = marshalValue(msg, payload)
	if err != nil {
		return fmt.Errorf("live: emit %q: %w", event, err)
	}
	msg = append(msg, '}')
	in.deliver(func() { in.fanout(sendq.Item{Data: msg, Kind: sendq.Message}) })
	return nil
}

// sendTo queues msg on one connection only.
func sendTo(c *conn, msg []byte) {
	if c != nil {
		c.pushData(sendq.Message, msg)
	}
}

// update implements Base.Update.
func (in *instance) update(fn func()) error {
	in.mu.Lock()
	defer in.unlock()
	if in.destroyed {
		return ErrDestroyed
	}
	ctx := &Ctx{Context: context.Background()}
	in.begin()
	err := in.safeCall(ctx, "update", fn)
	in.end(ctx)
	return err
}

// safeCall runs fn, turning a panic into a logged error.
func (in *instance) safeCall(ctx *Ctx, what string, fn func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			in.srv.log.Error("live: panic in component code", "component", in.def.name, "id", in.id,
				"in", what, "panic", r, "stack", string(debug.Stack()))
			err = errInternal
		}
	}()
	fn()
	return nil
}

var errInternal = &Error{Message: "Internal server error"}

// subscriberCount returns the number of attached connections.
func (in *instance) subscriberCount() int {
	in.subsMu.Lock()
	defer in.subsMu.Unlock()
	return len(in.subs)
}

// addSub attaches c, which ends a grace period (an attached instance is not
// kept for a resuming client). Called with mu held.
func (in *instance) addSub(c *conn) int {
	in.endGrace()
	in.subsMu.Lock()
	defer in.subsMu.Unlock()
	// Appending in place is safe for fanout's lock-free snapshots: they
	// never read past their own length. Removal copies (removeSub).
	in.subs = append(in.subs, c)
	return len(in.subs)
}

// removeSub detaches c and returns the remaining count, or -1 if c was not
// attached.
func (in *instance) removeSub(c *conn) int {
	in.subsMu.Lock()
	defer in.subsMu.Unlock()
	for i, x := range in.subs {
		if x == c {
			// Copy on write: fanout may be iterating the old slice.
			subs := make([]*conn, 0, len(in.subs)-1)
			subs = append(subs, in.subs[:i]...)
			in.subs = append(subs, in.subs[i+1:]...)
			return len(in.subs)
		}
	}
	return -1
}
