package live

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/live-go/live/internal/protocol"
	"github.com/live-go/live/internal/sendq"
)

// dispatch routes one validated client message (spec §1.5).
func (s *Server) dispatch(c *conn, env *protocol.Envelope) {
	switch env.Type {
	case protocol.TypeComponentMount:
		s.handleMount(c, env)
	case protocol.TypeComponentUnmount:
		s.handleUnmount(c, env)
	case protocol.TypeCallAction:
		s.handleAction(c, env)
	case protocol.TypePropertyUpdate:
		s.handlePropertyUpdate(c, env)
	case protocol.TypeComponentRehydrate:
		s.handleRehydrate(c, env)
	case protocol.TypeAuth:
		s.handleAuth(c, env)
	case protocol.TypeRoomJoin, protocol.TypeRoomLeave, protocol.TypeRoomEmit,
		protocol.TypeRoomStateSet, protocol.TypeRoomStateGet:
		s.handleRoom(c, env)
	case protocol.TypeFileUploadStart, protocol.TypeFileUploadChunk, protocol.TypeFileUploadComplete:
		s.handleUpload(c, env)
	default:
		// Valid protocol messages whose feature is not enabled on this
		// server (rooms, auth, uploads, rehydration) get a clear error
		// rather than silence.
		c.pushError(fmt.Sprintf("%s is not supported by this server", env.Type), env.ComponentID, env.RequestID)
	}
}

// response builds a MESSAGE_RESPONSE / ACTION_RESPONSE:
// {type, componentId, success, result?, error?, requestId?}; componentId and
// requestId are echoed exactly when the client sent them (even "").
func response(typ string, env *protocol.Envelope, success bool, result []byte, errMsg string) []byte {
	o := protocol.Object(make([]byte, 0, 80+len(env.ComponentID)+len(result)+len(errMsg)+len(env.RequestID)))
	o.Str("type", typ)
	if env.HasComponentID {
		o.Str("componentId", env.ComponentID)
	}
	o.Bool("success", success)
	if result != nil {
		o.Raw("result", result)
	}
	o.StrIfSet("error", errMsg)
	if env.HasRequestID {
		o.Str("requestId", env.RequestID)
	}
	return o.Close()
}

// componentError builds the component-form ERROR {type, componentId, payload:{action, error}}.
func componentError(componentID, action, errMsg string) []byte {
	msg := make([]byte, 0, 64+len(componentID)+len(action)+len(errMsg))
	msg = append(msg, `{"type":"ERROR","componentId":`...)
	msg = protocol.AppendString(msg, componentID)
	msg = append(msg, `,"payload":{"action":`...)
	msg = protocol.AppendString(msg, action)
	msg = append(msg, `,"error":`...)
	msg = protocol.AppendString(msg, errMsg)
	return append(msg, "}}"...)
}

func rehydrationRequired(id string) string { return "COMPONENT_REHYDRATION_REQUIRED:" + id }

// ---- COMPONENT_MOUNT (spec §2.5) ----

func (s *Server) handleMount(c *conn, env *protocol.Envelope) {
	fail := func(msg string) {
		sendTo(c, response(protocol.TypeMessageResponse, env, false, nil, msg))
	}
	def := s.lookupDef(env.Component)
	if def == nil {
		fail(fmt.Sprintf("Component '%s' not found", env.Component))
		return
	}
	if env.Room != "" && !validRoomID(env.Room) {
		fail(msgInvalidRoom)
		return
	}
	if err := def.auth.checkComponent(c.ctx, c.identity()); err != nil {
		fail(clientMessage(err))
		return
	}
	var (
		result []byte
		err    error
	)
	if def.singleton {
		result, err = s.mountSingleton(c, def, env)
	} else {
		start := time.Now()
		result, err = s.mountNew(c, def, env)
		def.mountFast.note(time.Since(start))
	}
	if err != nil {
		fail(clientMessage(err))
		return
	}
	s.observeMount(c, def, result)
	sendTo(c, response(protocol.TypeMessageResponse, env, true, result, ""))
}

// mountResult builds {componentId, initialState, signedState}.
func mountResult(id string, state, signed []byte) []byte {
	o := protocol.Object(make([]byte, 0, 48+len(id)+len(state)+len(signed)))
	o.Str("componentId", id)
	o.Raw("initialState", state)
	o.Raw("signedState", signed)
	return o.Close()
}

func (s *Server) mountNew(c *conn, def *componentDef, env *protocol.Envelope) ([]byte, error) {
	in := s.newInstance(def)
	if err := in.applyProps(env.Props); err != nil {
		return nil, err
	}
	in.id = s.newComponentID()
	s.setRoom(in, env.Room)
	in.mu.Lock()
	defer in.unlock()
	s.instances.Store(in.id, in)
	in.addSub(c)
	if !c.addComp(in) {
		in.removeSub(c)
		s.forget(in)
		return nil, errors.New("connection closed")
	}
	return in.start(c, true)
}

// start sends the initial snapshot and runs the creation hooks. Called with
// in.mu held, c attached.
func (in *instance) start(c *conn, fresh bool) ([]byte, error) {
	ctx := &Ctx{Context: c.ctx, conn: c}
	msg, _, signed, err := in.snapshotMessage()
	if err != nil {
		return nil, err
	}
	c.push(sendq.Item{Data: msg, Kind: sendq.Snapshot, Key: in.id})
	in.begin()
	if fresh {
		if h, ok := in.comp.(ConnectHook); ok {
			in.safeCall(ctx, "onConnect", func() { h.OnConnect(ctx) })
		}
		if h, ok := in.comp.(MountHook); ok {
			var herr error
			if perr := in.safeCall(ctx, "onMount", func() { herr = h.OnMount(ctx) }); perr != nil {
				herr = perr
			}
			if herr != nil {
				msg := componentError(in.id, "onMount", "Mount initialization failed: "+clientMessage(herr))
				in.deliver(func() { c.push(sendq.Item{Data: msg, Kind: sendq.Message}) })
			}
		}
	}
	if in.def.singleton && in.remote == nil {
		if h, ok := in.comp.(ClientJoinHook); ok {
			n := in.subscriberCount()
			in.safeCall(ctx, "onClientJoin", func() { h.OnClientJoin(ctx, c.id, n) })
		}
	}
	in.end(ctx)
	state := in.currentState(make([]byte, 0, 128))
	return mountResult(in.id, state, signed), nil
}

// currentState rebuilds the state object from the last sent encodings
// (equal to the current state right after a flush). Called with mu held.
func (in *instance) currentState(dst []byte) []byte {
	if in.remote != nil {
		b, _ := json.Marshal(in.remote.state)
		return append(dst, b...)
	}
	return in.st.current(dst)
}

func (s *Server) mountSingleton(c *conn, def *componentDef, env *protocol.Envelope) ([]byte, error) {
	if s.cluster != nil {
		in, fresh, err := s.cluster.singletonInstance(c.ctx, def, env.Props, env.Room)
		if err != nil {
			return nil, err
		}
		in.addSub(c)
		if !c.addComp(in) {
			destroyed := s.detachLocked(in, c, false)
			in.unlock()
			if destroyed {
				s.forget(in)
			}
			return nil, errors.New("connection closed")
		}
		res, err := in.start(c, fresh && in.remote == nil)
		in.unlock()
		return res, err
	}
	for {
		s.singletonMu.Lock()
		in := s.singletons[def.name]
		fresh := in == nil
		if fresh {
			in = s.newInstance(def)
			if err := in.applyProps(env.Props); err != nil {
				s.singletonMu.Unlock()
				return nil, err
			}
			in.id = s.newComponentID()
			s.setRoom(in, env.Room)
			in.mu.Lock() // not yet published: cannot contend
			s.singletons[def.name] = in
			s.instances.Store(in.id, in)
		}
		s.singletonMu.Unlock()
		if !fresh {
			in.mu.Lock()
			if in.destroyed { // lost a race with the last leave: start over
				in.unlock()
				continue
			}
		}
		in.addSub(c)
		if !c.addComp(in) {
			destroyed := s.detachLocked(in, c, false)
			in.unlock()
			if destroyed {
				s.forget(in)
			}
			return nil, errors.New("connection closed")
		}
		res, err := in.start(c, fresh)
		in.unlock()
		return res, err
	}
}

// applyProps sets writable fields from mount props. Props naming fields the
// client may not write are ignored (logged): clients often send their whole
// initial state; only declared Writable fields can be seeded (our fix of
// spec §14: props never reach server-only state).
func (in *instance) applyProps(props []byte) error {
	if len(props) == 0 {
		return nil
	}
	if key, found := protocol.ForbiddenKey(props, protocol.DefaultMaxDepth); found {
		return fmt.Errorf("Invalid props: forbidden key '%s'", key)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(props, &m); err != nil {
		return fmt.Errorf("Invalid props: %w", err)
	}
	for k, raw := range m {
		if !in.def.writable[k] {
			in.srv.log.Debug("live: ignoring non-writable mount prop", "component", in.def.name, "prop", k)
			continue
		}
		// A prop replaces the field's value whole (decoding into the
		// existing value would merge maps and structs).
		f := &in.def.fields[in.def.byName[k]]
		nv := reflect.New(f.typ)
		if err := decodeStrict(raw, nv.Interface()); err != nil {
			return fmt.Errorf("Invalid prop '%s': %w", k, err)
		}
		in.elem().Field(f.index).Set(nv.Elem())
	}
	return nil
}

// ---- COMPONENT_UNMOUNT (spec §2.10, with the ownership check of §14) ----

func (s *Server) handleUnmount(c *conn, env *protocol.Envelope) {
	// Only the connection's own components can be unmounted. An unknown or
	// foreign id is answered like a successful (idempotent) unmount, so
	// ids cannot be probed, but nothing is touched.
	if in := c.removeComp(env.ComponentID); in != nil {
		s.detach(in, c, false)
	}
	sendTo(c, response(protocol.TypeMessageResponse, env, true, nil, ""))
}

// detach removes c from in, running leave hooks, and destroys in when no
// connection remains.
func (s *Server) detach(in *instance, c *conn, disconnect bool) {
	in.mu.Lock()
	s.observeUnmount(c, in) // under mu: a singleton proxy's id changes on takeover
	destroyed := s.detachLocked(in, c, disconnect)
	in.unlock()
	if destroyed {
		s.forget(in)
	}
}

// detachLocked is detach with in.mu held; it reports whether in was
// destroyed (the caller then calls forget after unlocking).
func (s *Server) detachLocked(in *instance, c *conn, disconnect bool) bool {
	remaining := in.removeSub(c)
	if remaining < 0 || in.destroyed {
		return false
	}
	ctx := &Ctx{Context: c.ctx, conn: c}
	if in.def.singleton && in.remote == nil {
		if h, ok := in.comp.(ClientLeaveHook); ok {
			in.begin()
			in.safeCall(ctx, "onClientLeave", func() { h.OnClientLeave(ctx, c.id, remaining) })
			in.end(ctx)
		}
	}
	if remaining > 0 {
		return false
	}
	if disconnect {
		in.begin()
		if h, ok := in.comp.(DisconnectHook); ok {
			in.safeCall(ctx, "onDisconnect", func() { h.OnDisconnect(ctx) })
		}
		// Presence follows connectivity: leave rooms now, rejoin on resume.
		in.away = in.away[:0]
		for _, m := range in.rooms {
			in.away = append(in.away, awayRoom{id: m.room.id, payload: m.payload, client: m.client})
			m.room.leave(ctx, in, LeaveReasonDisconnect)
		}
		in.end(ctx)
		if !c.left.Load() && in.startGrace() {
			return false // kept for a resuming client; destroyed when grace ends
		}
	}
	in.destroyLocked()
	return true
}

// destroyLocked marks in destroyed and runs OnDestroy. Called with mu held.
func (in *instance) destroyLocked() {
	if in.destroyed {
		return
	}
	in.destroyed = true
	if in.owner != nil && in.srv.cluster != nil {
		in.srv.cluster.handOff(in)
	}
	if in.renew != nil {
		in.renew.Stop()
	}
	in.endGrace()
	in.ring = nil
	if len(in.rooms) > 0 {
		in.leaveAll(context.Background(), LeaveReasonCleanup)
	}
	if h, ok := in.comp.(DestroyHook); ok {
		in.safeCall(&Ctx{}, "onDestroy", h.OnDestroy)
	}
}

// setRoom records the mount room of a new instance (broadcast audience).
func (s *Server) setRoom(in *instance, room string) {
	if room != "" {
		in.room = room
		s.broadcast.add(room, in)
	}
}

// forget removes a destroyed instance from the registries.
func (s *Server) forget(in *instance) {
	if in.room != "" {
		s.broadcast.remove(in.room, in)
	}
	s.instances.CompareAndDelete(in.id, func(x *instance) bool { return x == in })
	if in.def.singleton {
		s.singletonMu.Lock()
		if s.singletons[in.def.name] == in {
			delete(s.singletons, in.def.name)
		}
		s.singletonMu.Unlock()
	}
}

// ---- CALL_ACTION (spec §2.6) ----

func (s *Server) handleAction(c *conn, env *protocol.Envelope) {
	in := c.owned(env.ComponentID)
	if in == nil {
		sendTo(c, response(protocol.TypeActionResponse, env, false, nil, rehydrationRequired(env.ComponentID)))
		return
	}
	s.stats.actions.Add(1)
	start := time.Now()
	// Registry level, before the component: per-action auth with the
	// caller's identity (no component ERROR is emitted for a denial).
	if rule := in.def.actAuth[env.Action]; rule != nil {
		if err := s.checkAction(c.ctx, rule, c.identity(), in.def.name, env.Action, env.Payload); err != nil {
			s.observeAction(in, env.Action, start, err)
			sendTo(c, response(protocol.TypeActionResponse, env, false, nil, clientMessage(err)))
			return
		}
	}
	in.replying.Add(1) // holds back signature renewals until the reply is queued
	defer in.replying.Add(-1)
	result, err := in.call(c, env.Action, env.Payload, env.IdempotencyKey)
	if err == nil && in.lostOwnership() {
		// The owner could not mirror the new state and stepped down: the
		// action's effect may not survive, so it is not acknowledged.
		err = &actionError{msg: "OWNERSHIP_LOST: this instance no longer owns the singleton"}
	}
	s.observeAction(in, env.Action, start, err)
	if err != nil {
		msg := clientMessage(err)
		var ae *actionError
		if !errors.As(err, &ae) || ae.emit {
			sendTo(c, componentError(in.id, env.Action, msg))
		}
		sendTo(c, response(protocol.TypeActionResponse, env, false, nil, msg))
		return
	}
	if env.ExpectResponse {
		sendTo(c, response(protocol.TypeActionResponse, env, true, result, ""))
	}
}

// actionError carries whether the failure is also emitted as a component
// ERROR (the reference skips the emit for cancellations and for registry
// level refusals).
type actionError struct {
	msg  string
	emit bool
	err  error
}

func (e *actionError) Error() string { return e.msg }
func (e *actionError) Unwrap() error { return e.err }

func notCallable(action string) error {
	return &actionError{msg: fmt.Sprintf("Action '%s' is not callable", action), emit: true}
}

// resolveAction applies the reference's action security checks in order.
func (d *componentDef) resolveAction(action string) (*actionInfo, error) {
	if blockedActions[action] || strings.HasPrefix(action, "_") || strings.HasPrefix(action, "#") || action == "" {
		return nil, notCallable(action)
	}
	if info := d.actions[action]; info != nil {
		return info, nil
	}
	if len(d.actions) == 0 {
		return nil, &actionError{msg: fmt.Sprintf("Action '%s' is not callable - component has no publicActions defined", action), emit: true}
	}
	if d.methods[action] {
		return nil, &actionError{msg: fmt.Sprintf("Action '%s' exists on '%s' but is not listed in publicActions. Add it to: Actions: []string{..., %q}", action, d.name, action), emit: true}
	}
	return nil, notCallable(action)
}

// call runs one client action on in. With an idempotency key, a repeated
// call within the window returns the first call's outcome without running
// the action again.
func (in *instance) call(c *conn, action string, payload []byte, idemKey string) ([]byte, error) {
	if in.isRemote() {
		result, err := in.srv.cluster.forward(c, in, action, payload, idemKey)
		in.srv.observeForward(in.def.name, err)
		return result, err
	}
	if idemKey == "" {
		result, _, err := in.callOnce(c, action, payload)
		return result, err
	}
	// Keys are scoped to the caller and the action, so one caller's key
	// can never return another caller's result (singletons are shared).
	scope := "anon"
	if id := c.identity(); id != nil {
		scope = "user:" + id.ID
	}
	key := scope + "\x00" + action + "\x00" + idemKey
	for {
		in.mu.Lock()
		e, state := in.idemLookup(key)
		if state == idemUnknown {
			in.idemBegin(key)
		}
		in.unlock()
		switch state {
		case idemDone:
			return e.result, e.err
		case idemRunning:
			// The same call is still running (a retry overtook the first
			// attempt): wait for its outcome instead of running twice.
			select {
			case <-e.done:
				continue
			case <-c.ctx.Done():
				return nil, c.ctx.Err()
			}
		}
		result, ran, err := in.callOnce(c, action, payload)
		in.mu.Lock()
		in.idemFinish(key, result, err, ran)
		in.unlock()
		return result, err
	}
}

// callOnce runs the action; ran reports whether it got past the checks
// that refuse a call without running anything (so a retry may succeed).
func (in *instance) callOnce(c *conn, action string, payload []byte) (result []byte, ran bool, err error) {
	result, err = in.callChecked(c, action, payload, &ran)
	return result, ran, err
}

func (in *instance) callChecked(c *conn, action string, payload []byte, ran *bool) ([]byte, error) {
	info, err := in.def.resolveAction(action)
	if err != nil {
		return nil, err
	}
	if err := c.allowAction(in.def, action); err != nil {
		in.srv.observeActionRateLimited(c, in.def, action)
		return nil, err
	}
	args := [3]reflect.Value{in.ptr(), {}, {}}
	ctx := &Ctx{Context: c.ctx, conn: c, action: action}
	args[1] = reflect.ValueOf(ctx)
	nargs := 2
	if info.arg != nil {
		arg, err := decodeArg(info.arg, payload)
		if err != nil {
			return nil, &actionError{msg: fmt.Sprintf("Action '%s' payload validation failed: %s", action, err), emit: true, err: err}
		}
		args[2] = arg
		nargs = 3
	}

	in.mu.Lock()
	defer in.unlock()
	if in.destroyed {
		return nil, &actionError{msg: rehydrationRequired(in.id)}
	}
	in.begin()
	defer in.end(ctx)
	*ran = true
	if h, ok := in.comp.(BeforeActionHook); ok {
		var herr error
		if perr := in.safeCall(ctx, "beforeAction", func() { herr = h.BeforeAction(ctx, action) }); perr != nil {
			herr = perr
		}
		if errors.Is(herr, ErrCancelled) {
			return nil, &actionError{msg: fmt.Sprintf("Action '%s' was cancelled", action), err: herr}
		}
		if herr != nil {
			pv := componentError(in.id, action, fmt.Sprintf("Action '%s' failed pre-validation", action))
			in.deliver(func() { c.pushData(sendq.Message, pv) })
			msg := clientMessage(herr)
			return nil, &actionError{msg: msg, emit: !strings.Contains(msg, "pre-validation"), err: herr}
		}
	}
	var out []reflect.Value
	if perr := in.safeCall(ctx, action, func() { out = info.fn.Call(args[:nargs]) }); perr != nil {
		return nil, perr
	}
	if errv := out[len(out)-1]; !errv.IsNil() {
		return nil, errv.Interface().(error)
	}
	if !info.hasResult {
		return nil, nil // like a void JS method: no "result" in the reply
	}
	var res []byte
	if info.resultEnc != nil {
		res, err = info.resultEnc(make([]byte, 0, 32), out[0])
	} else {
		res, err = marshalValue(nil, out[0].Interface())
	}
	if err != nil {
		in.srv.log.Error("live: cannot encode action result", "component", in.def.name, "action", action, "err", err)
		return nil, errInternal
	}
	return res, nil
}

// decodeArg decodes a payload into a new value of type t, strictly.
func decodeArg(t reflect.Type, payload []byte) (reflect.Value, error) {
	v := reflect.New(t)
	if len(payload) > 0 && !bytes.Equal(payload, []byte("null")) {
		if key, found := protocol.ForbiddenKey(payload, protocol.DefaultMaxDepth); found {
			return v, fmt.Errorf("forbidden key '%s'", key)
		}
		if err := decodeStrict(payload, v.Interface()); err != nil {
			return v, err
		}
	}
	if val, ok := v.Interface().(interface{ Validate() error }); ok {
		if err := val.Validate(); err != nil {
			return v, err
		}
	} else if val, ok := v.Elem().Interface().(interface{ Validate() error }); ok {
		if err := val.Validate(); err != nil {
			return v, err
		}
	}
	return v.Elem(), nil
}

// decodeStrict decodes raw into ptr rejecting unknown object fields and
// trailing data.
func decodeStrict(raw []byte, ptr any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(ptr); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("unexpected data after the value")
	}
	return nil
}

// ---- PROPERTY_UPDATE (spec §2.9) ----

func (s *Server) handlePropertyUpdate(c *conn, env *protocol.Envelope) {
	reply := func(err error) {
		if err != nil {
			sendTo(c, response(protocol.TypeMessageResponse, env, false, nil, clientMessage(err)))
			return
		}
		sendTo(c, response(protocol.TypeMessageResponse, env, true, nil, ""))
	}
	in := c.owned(env.ComponentID)
	if in == nil {
		reply(errors.New(rehydrationRequired(env.ComponentID)))
		return
	}
	reply(in.setProperty(c, env.Property, env.Value))
}

func (in *instance) setProperty(c *conn, p string, value []byte) error {
	switch {
	case p == "__proto__" || p == "constructor" || p == "prototype":
		return fmt.Errorf("PROPERTY_UPDATE rejected: '%s' is a reserved key", p)
	case strings.HasPrefix(p, "$"):
		return fmt.Errorf("PROPERTY_UPDATE rejected: '%s' is server-only ($-prefixed fields cannot be written by the client). Use a server action to mutate it.", p)
	case !in.def.writable[p]:
		return fmt.Errorf("PROPERTY_UPDATE rejected: '%s' is not an updatable field of '%s'. Allowed: [%s]. Declare it in Component.Writable to allow client writes.",
			p, in.def.name, strings.Join(in.def.wlist, ", "))
	}
	if len(value) == 0 {
		// payload.value absent: like the reference's setState({p: undefined}),
		// nothing changes.
		return nil
	}
	f := &in.def.fields[in.def.byName[p]]
	nv := reflect.New(f.typ)
	if key, found := protocol.ForbiddenKey(value, protocol.DefaultMaxDepth); found {
		return fmt.Errorf("PROPERTY_UPDATE rejected: invalid value for '%s': forbidden key '%s'", p, key)
	}
	if err := decodeStrict(value, nv.Interface()); err != nil {
		return fmt.Errorf("PROPERTY_UPDATE rejected: invalid value for '%s': %s", p, err)
	}
	in.mu.Lock()
	defer in.unlock()
	if in.destroyed {
		return errors.New(rehydrationRequired(in.id))
	}
	if in.remote != nil {
		return fmt.Errorf("Component '%s' not found", in.id)
	}
	ctx := &Ctx{Context: c.ctx, conn: c}
	in.begin()
	in.elem().Field(f.index).Set(nv.Elem())
	in.end(ctx)
	return nil
}
