package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"time"

	"github.com/live-go/live/internal/protocol"
	"github.com/live-go/live/internal/sendq"
	"github.com/live-go/live/internal/signing"
)

// RehydrateHook runs when an instance is recreated from a client's signed
// state (COMPONENT_REHYDRATE), after ConnectHook and before MountHook, with
// the decoded previous public state. Public fields are already restored;
// use it to rebuild server-only fields.
type RehydrateHook interface {
	OnRehydrate(ctx *Ctx, previous json.RawMessage)
}

// Recovery limits.
const (
	ringMaxEntries = 64       // deltas kept per instance for resume
	ringMaxBytes   = 64 << 10 // and at most this many bytes
	idemMaxEntries = 256      // idempotency keys remembered per instance
)

// ErrStateRehydrated is the rehydrate error for a signed state whose
// component was already rehydrated (its id retired): replaying any of its
// signed states cannot clone it.
var ErrStateRehydrated = errors.New("State already rehydrated")

// ---- signature renewal (spec §3.8) ----

// scheduleRenewal arranges one STATE_SIGNATURE for the current state at most
// once per SignatureRenewInterval after a change. Called with mu held.
func (in *instance) scheduleRenewal() {
	interval := in.srv.opts.SignatureRenewInterval
	if interval < 0 || in.renewPending || in.destroyed {
		return
	}
	in.renewPending = true
	d := max(0, in.lastSigned+interval-monoNow())
	if in.renew == nil {
		in.renew = time.AfterFunc(d, in.renewNow)
	} else {
		in.renew.Reset(d)
	}
}

func (in *instance) renewNow() {
	in.mu.Lock()
	defer in.unlock()
	if in.destroyed {
		in.renewPending = false
		return
	}
	if in.replying.Load() > 0 {
		// An action's reply has not been queued yet: the renewal its state
		// change caused must not overtake it (the reference sends replies
		// before any timer can fire). Look again shortly.
		in.renew.Reset(time.Millisecond)
		return
	}
	in.renewPending = false
	msg, err := in.signatureMessage()
	if err != nil {
		in.srv.log.Error("live: cannot renew signature", "component", in.def.name, "id", in.id, "err", err)
		return
	}
	// Local only: every node signs for its own clients.
	in.fanoutLocal(sendq.Item{Data: msg, Kind: sendq.Message})
}

// signatureMessage signs the current state and builds
// {"type":"STATE_SIGNATURE","componentId":ID,"payload":{"signedState":S}}.
// Called with mu held.
func (in *instance) signatureMessage() ([]byte, error) {
	state, err := in.encodeState(make([]byte, 0, 128))
	if err != nil {
		return nil, err
	}
	signed, err := in.sign(state)
	if err != nil {
		return nil, err
	}
	msg := make([]byte, 0, 80+len(in.id)+len(signed))
	msg = append(msg, `{"type":"STATE_SIGNATURE","componentId":`...)
	msg = protocol.AppendString(msg, in.id)
	msg = append(msg, `,"payload":{"signedState":`...)
	msg = append(msg, signed...)
	return append(msg, "}}"...), nil
}

// ---- delta ring (resume) ----

type ringEntry struct {
	seq uint64
	it  sendq.Item
}

// deltaRing is the circular buffer of an instance's recent deltas. It is
// allocated with the first delta, so a component that never changed (or
// is destroyed) carries only a nil pointer.
type deltaRing struct {
	entries [ringMaxEntries]ringEntry
	head    int // oldest entry
	n       int // entries held
	bytes   int // their total Data size
}

// recordDelta keeps a delta for clients that resume, in a circular buffer
// of at most ringMaxEntries entries and ringMaxBytes bytes. Called with mu
// held.
func (in *instance) recordDelta(seq uint64, it sendq.Item) {
	if in.ring == nil {
		in.ring = new(deltaRing)
	}
	r := in.ring
	if r.n == ringMaxEntries {
		r.drop()
	}
	r.entries[(r.head+r.n)%ringMaxEntries] = ringEntry{seq, it}
	r.n++
	r.bytes += len(it.Data)
	for r.bytes > ringMaxBytes && r.n > 1 {
		r.drop()
	}
}

// drop forgets the oldest entry.
func (r *deltaRing) drop() {
	e := &r.entries[r.head]
	r.bytes -= len(e.it.Data)
	*e = ringEntry{}
	r.head = (r.head + 1) % ringMaxEntries
	r.n--
}

// missedSince returns the deltas after seq if the ring still holds all of
// them. Called with mu held.
func (in *instance) missedSince(seq uint64) ([]sendq.Item, bool) {
	if seq == in.seq {
		return nil, true
	}
	r := in.ring
	if seq > in.seq || r == nil || r.n == 0 || r.entries[r.head].seq > seq+1 {
		return nil, false
	}
	var out []sendq.Item
	for i := range r.n {
		if e := r.entries[(r.head+i)%ringMaxEntries]; e.seq > seq {
			out = append(out, e.it)
		}
	}
	return out, true
}

// ---- grace period ----

// startGrace keeps a connection-less instance alive for ResumeGrace.
// Called with mu held; returns false when there is no grace (destroy now).
func (in *instance) startGrace() bool {
	g := in.srv.opts.ResumeGrace
	if g < 0 || in.srv.isClosing() {
		return false
	}
	in.graceGen++
	if !in.graced {
		in.graced = true
		in.srv.grace.detached.Add(1)
	}
	in.srv.grace.push(in, in.graceGen, monoNow()+g)
	return true
}

// endGrace records that in is no longer kept for a resuming client
// (resumed or destroyed). Called with mu held.
func (in *instance) endGrace() {
	if in.graced {
		in.graced = false
		in.srv.grace.detached.Add(-1)
	}
}

// graceExpired destroys in when the grace it got at detach generation gen
// is still running (no client resumed it meanwhile) and reports whether it
// did.
func (in *instance) graceExpired(gen uint32) bool {
	in.mu.Lock()
	if in.destroyed || !in.graced || in.graceGen != gen || in.subscriberCount() > 0 {
		in.unlock()
		return false
	}
	in.destroyLocked()
	in.unlock()
	in.srv.forget(in)
	return true
}

func (s *Server) isClosing() bool {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	return s.closing
}

// destroyAll destroys every remaining instance (Shutdown, after the
// connections are gone).
func (s *Server) destroyAll() {
	s.instances.Range(func(_ string, in *instance) bool {
		in.mu.Lock()
		in.destroyLocked()
		in.unlock()
		s.forget(in)
		return true
	})
}

// ---- COMPONENT_REHYDRATE (spec §3.10, with replay protection) ----

func (s *Server) handleRehydrate(c *conn, env *protocol.Envelope) {
	reply := func(newID string, err error) {
		o := protocol.Object(make([]byte, 0, 128))
		o.Str("type", protocol.TypeComponentRehydrated)
		if env.HasComponentID {
			o.Str("componentId", env.ComponentID)
		}
		o.Bool("success", err == nil)
		if err == nil {
			r := protocol.Object(make([]byte, 0, 48))
			r.Str("newComponentId", newID)
			o.Raw("result", r.Close())
		} else {
			o.Str("error", clientMessage(err))
		}
		if env.HasRequestID {
			o.Str("requestId", env.RequestID)
		}
		sendTo(c, o.Close())
	}
	newID, err := s.rehydrate(c, env)
	reply(newID, err)
}

func (s *Server) rehydrate(c *conn, env *protocol.Envelope) (string, error) {
	ss, err := signing.ParseSignedState(env.SignedState)
	if err != nil {
		return "", err
	}
	def := s.lookupDef(env.Component)
	if def == nil {
		return "", fmt.Errorf("Component '%s' not found", env.Component)
	}
	if env.Room != "" && !validRoomID(env.Room) {
		return "", errors.New(msgInvalidRoom)
	}
	if err := def.auth.checkComponent(c.ctx, c.identity()); err != nil {
		return "", err
	}
	// Age, HMAC, nonce (consumed once), decrypt, component name.
	state, err := s.signer.Open(c.ctx, ss, def.name, signing.OpenOptions{ConsumeNonce: true})
	if err != nil {
		return "", err
	}
	if def.singleton {
		return s.rehydrateSingleton(c, def, env, ss, state)
	}
	// Resume: the instance is still alive (grace period, or a stale
	// connection that has not noticed it is gone yet).
	if env.HasResumeSeq {
		if in, ok := s.instances.Load(ss.ComponentID); ok && in.def == def {
			if id, ok := s.resume(c, in, env.ResumeSeq); ok {
				return id, nil
			}
		}
	}
	// Classic rehydrate: a new instance; the old id is retired for good.
	if err := s.retire(c.ctx, ss); err != nil {
		return "", err
	}
	in := s.newInstance(def)
	if err := in.restore(state); err != nil {
		return "", err
	}
	in.id = s.newComponentID()
	in.version = ss.Version
	s.setRoom(in, env.Room)
	in.mu.Lock()
	defer in.unlock()
	s.instances.Store(in.id, in)
	in.addSub(c)
	if !c.addComp(in) {
		in.removeSub(c)
		s.forget(in)
		return "", errors.New("connection closed")
	}
	ctx := &Ctx{Context: c.ctx, conn: c}
	stateJSON, err := in.encodeState(make([]byte, 0, 128))
	if err != nil {
		return "", err
	}
	signed, err := in.sign(stateJSON)
	if err != nil {
		return "", err
	}
	msg := make([]byte, 0, 160+len(stateJSON)+len(signed))
	msg = append(msg, `{"type":"STATE_REHYDRATED","componentId":`...)
	msg = protocol.AppendString(msg, in.id)
	msg = append(msg, `,"payload":{"state":`...)
	msg = append(msg, stateJSON...)
	msg = append(msg, `,"signedState":`...)
	msg = append(msg, signed...)
	msg = append(msg, `,"oldComponentId":`...)
	msg = protocol.AppendString(msg, ss.ComponentID)
	msg = append(msg, `,"newComponentId":`...)
	msg = protocol.AppendString(msg, in.id)
	msg = append(msg, `},"seq":`...)
	msg = strconv.AppendUint(msg, in.seq, 10)
	msg = append(msg, '}')
	c.push(sendq.Item{Data: msg, Kind: sendq.Snapshot, Key: in.id})
	in.begin()
	if h, ok := in.comp.(ConnectHook); ok {
		in.safeCall(ctx, "onConnect", func() { h.OnConnect(ctx) })
	}
	if h, ok := in.comp.(RehydrateHook); ok {
		prev := json.RawMessage(append([]byte(nil), state...))
		in.safeCall(ctx, "onRehydrate", func() { h.OnRehydrate(ctx, prev) })
	}
	if h, ok := in.comp.(MountHook); ok {
		var herr error
		if perr := in.safeCall(ctx, "onMount", func() { herr = h.OnMount(ctx) }); perr != nil {
			herr = perr
		}
		if herr != nil { // logged only, as in the reference
			in.srv.log.Warn("live: OnMount failed after rehydrate", "component", def.name, "id", in.id, "err", herr)
		}
	}
	in.end(ctx)
	s.observeRehydrate(c, def, in.id)
	return in.id, nil
}

// retire marks the signed state's component id as rehydrated (once) and
// destroys the instance if it is still alive, so no signed state of it can
// ever produce a second copy.
func (s *Server) retire(ctx context.Context, ss signing.SignedState) error {
	if err := s.retired.Use(ctx, "retired:"+ss.ComponentID, time.UnixMilli(ss.Timestamp)); err != nil {
		if errors.Is(err, signing.ErrNonceUsed) {
			return ErrStateRehydrated
		}
		return err
	}
	if old, ok := s.instances.Load(ss.ComponentID); ok && !old.def.singleton {
		s.evict(old)
	}
	return nil
}

// evict destroys a live instance and detaches it from its connections.
func (s *Server) evict(in *instance) {
	in.mu.Lock()
	in.subsMu.Lock()
	subs := append([]*conn(nil), in.subs...)
	in.subsMu.Unlock()
	for _, oc := range subs {
		in.removeSub(oc)
		oc.removeComp(in.id)
		s.observeUnmount(oc, in)
	}
	in.destroyLocked()
	in.unlock()
	s.forget(in)
}

// restore sets public fields from a state object; keys that are not fields
// (removed since the state was signed) are ignored.
func (in *instance) restore(state []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(state, &m); err != nil {
		return fmt.Errorf("Invalid state: %w", err)
	}
	for k, raw := range m {
		i, ok := in.def.byName[k]
		if !ok {
			continue
		}
		f := &in.def.fields[i]
		nv := reflect.New(f.typ)
		if err := json.Unmarshal(raw, nv.Interface()); err != nil {
			return fmt.Errorf("Invalid state for '%s': %w", k, err)
		}
		in.elem().Field(f.index).Set(nv.Elem())
	}
	return nil
}

// resume attaches c to a live instance and brings it up to date: the missed
// deltas when the ring still has them, else a snapshot. The client gets a
// fresh signature either way. It returns false when in is gone.
func (s *Server) resume(c *conn, in *instance, seq uint64) (string, bool) {
	in.mu.Lock()
	defer in.unlock()
	if in.destroyed {
		return "", false
	}
	in.endGrace()
	// Move the instance off any other (stale) connection of this client.
	in.subsMu.Lock()
	subs := append([]*conn(nil), in.subs...)
	in.subsMu.Unlock()
	if !in.def.singleton {
		for _, oc := range subs {
			if oc != c {
				in.removeSub(oc)
				oc.removeComp(in.id)
				s.observeUnmount(oc, in)
			}
		}
	}
	already := false
	for _, oc := range subs {
		already = already || oc == c
	}
	if !already {
		in.addSub(c)
	}
	if !c.addComp(in) {
		in.removeSub(c)
		return "", false
	}
	if len(in.away) > 0 {
		in.begin()
		in.rejoin(c)
		in.end(&Ctx{Context: c.ctx, conn: c})
	}
	missed, ok := in.missedSince(seq)
	if ok {
		for _, it := range missed {
			c.push(it)
		}
		s.observeResume(c, in, false)
	} else {
		msg, _, _, err := in.snapshotMessage()
		if err != nil {
			return "", false
		}
		c.push(sendq.Item{Data: msg, Kind: sendq.Snapshot, Key: in.id})
		s.observeResume(c, in, true)
	}
	if msg, err := in.signatureMessage(); err == nil {
		c.push(sendq.Item{Data: msg, Kind: sendq.Message})
	}
	ctx := &Ctx{Context: c.ctx, conn: c}
	if in.def.singleton && !already {
		if h, ok := in.comp.(ClientJoinHook); ok {
			n := in.subscriberCount()
			in.begin()
			in.safeCall(ctx, "onClientJoin", func() { h.OnClientJoin(ctx, c.id, n) })
			in.end(ctx)
		}
	}
	return in.id, true
}

// rehydrateSingleton joins the live singleton (resuming when the client's
// instance is still the live one) or seeds a new one from the signed state.
func (s *Server) rehydrateSingleton(c *conn, def *componentDef, env *protocol.Envelope, ss signing.SignedState, state []byte) (string, error) {
	for {
		s.singletonMu.Lock()
		in := s.singletons[def.name]
		s.singletonMu.Unlock()
		if in != nil {
			if env.HasResumeSeq && in.id == ss.ComponentID {
				if id, ok := s.resume(c, in, env.ResumeSeq); ok {
					return id, nil
				}
				continue // destroyed meanwhile
			}
			// Join the live instance; its state wins over the signed one.
			res, err := s.mountSingleton(c, def, &protocol.Envelope{Component: def.name})
			if err != nil {
				return "", err
			}
			id := resultID(res)
			s.observeRehydrateJoin(c, def, id)
			return id, nil
		}
		if s.cluster != nil {
			// The singleton lives in the cluster (owner or proxy): join it
			// as a mount does; its mirrored state wins over the signed one.
			res, err := s.mountSingleton(c, def, &protocol.Envelope{Component: def.name, Room: env.Room})
			if err != nil {
				return "", err
			}
			id := resultID(res)
			s.observeRehydrateJoin(c, def, id)
			return id, nil
		}
		// Seed a new instance from the signed state.
		in = s.newInstance(def)
		if err := in.restore(state); err != nil {
			return "", err
		}
		in.id = s.newComponentID()
		in.version = ss.Version
		s.setRoom(in, env.Room)
		in.mu.Lock()
		s.singletonMu.Lock()
		if s.singletons[def.name] != nil { // lost the race: join instead
			s.singletonMu.Unlock()
			in.unlock()
			s.forget(in)
			continue
		}
		s.singletons[def.name] = in
		s.instances.Store(in.id, in)
		s.singletonMu.Unlock()
		in.addSub(c)
		if !c.addComp(in) {
			destroyed := s.detachLocked(in, c, false)
			in.unlock()
			if destroyed {
				s.forget(in)
			}
			return "", errors.New("connection closed")
		}
		_, err := in.start(c, true)
		in.unlock()
		if err != nil {
			return "", err
		}
		s.observeRehydrate(c, def, in.id)
		return in.id, nil
	}
}

// resultID extracts componentId from a mount result object.
func resultID(result []byte) string {
	var r struct {
		ComponentID string `json:"componentId"`
	}
	_ = json.Unmarshal(result, &r)
	return r.ComponentID
}

// ---- idempotent actions ----

type idemEntry struct {
	result []byte
	err    error
	at     time.Time
	done   chan struct{} // closed when the first call finished
	fin    bool
}

type idemState uint8

const (
	idemUnknown idemState = iota
	idemRunning
	idemDone
)

// idemLookup returns the state of key. Called with mu held.
func (in *instance) idemLookup(key string) (*idemEntry, idemState) {
	e := in.idem[key]
	switch {
	case e == nil:
		return nil, idemUnknown
	case !e.fin:
		return e, idemRunning
	case time.Since(e.at) > in.srv.opts.IdempotencyWindow:
		delete(in.idem, key)
		return nil, idemUnknown
	}
	return e, idemDone
}

// idemBegin records that the call for key is running. Called with mu held.
func (in *instance) idemBegin(key string) {
	if in.idem == nil {
		in.idem = make(map[string]*idemEntry)
	}
	if len(in.idem) >= idemMaxEntries {
		in.idemEvict()
	}
	in.idem[key] = &idemEntry{at: time.Now(), done: make(chan struct{})}
}

// idemFinish stores the outcome of key's call and wakes its waiters. A call
// refused before it ran anything is forgotten, so a retry may succeed.
// Called with mu held.
func (in *instance) idemFinish(key string, result []byte, err error, ran bool) {
	e := in.idem[key]
	if e == nil {
		return
	}
	if ran {
		e.result, e.err, e.at, e.fin = result, err, time.Now(), true
	} else {
		delete(in.idem, key)
	}
	close(e.done)
}

// idemEvict drops expired outcomes and, if still full, the oldest finished
// one. Called with mu held.
func (in *instance) idemEvict() {
	now := time.Now()
	oldestKey, oldest := "", now
	for k, e := range in.idem {
		if !e.fin {
			continue
		}
		if now.Sub(e.at) > in.srv.opts.IdempotencyWindow {
			delete(in.idem, k)
			continue
		}
		if e.at.Before(oldest) {
			oldestKey, oldest = k, e.at
		}
	}
	if len(in.idem) >= idemMaxEntries && oldestKey != "" {
		delete(in.idem, oldestKey)
	}
}
