package live

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/live-go/live/internal/diff"
)

// Component describes a live component type T for Register. T is a struct
// that embeds Base; its exported fields (as encoding/json would serialize
// them, named by their json tags) are the public state synced to clients, and
// its unexported fields are server-only. Methods of *T listed in Actions are
// callable by clients.
//
// An action method has one of these forms, where P is a payload type decoded
// strictly from the client's JSON (unknown fields rejected) and R is any
// JSON-encodable result sent back in ACTION_RESPONSE.result:
//
//	func (c *T) Name(ctx *live.Ctx) error
//	func (c *T) Name(ctx *live.Ctx, p P) error
//	func (c *T) Name(ctx *live.Ctx) (R, error)
//	func (c *T) Name(ctx *live.Ctx, p P) (R, error)
//
// The client calls it by its name with the first letter lowered ("Increment"
// is action "increment"). If P has a method Validate() error, it runs after
// decoding and its error rejects the call.
type Component[T any] struct {
	// Name is the registry name clients mount (required).
	Name string
	// Actions is the allow-list of client-callable actions, by client name
	// ("increment"). Anything not listed is rejected.
	Actions []string
	// Writable lists the json names of state fields that a client may set,
	// with PROPERTY_UPDATE or as mount props. Default: none.
	Writable []string
	// Singleton makes every mount of Name share one instance.
	Singleton bool
	// New returns a new instance with its initial state. Default: new(T).
	New func() *T
	// DiffDepth is how deep nested objects are diffed before being sent
	// whole (spec §2.7). Default 3.
	DiffDepth int
	// Auth is checked against the connection's identity at mount and
	// rehydrate; failures answer "AUTH_DENIED: <reason>".
	Auth *AuthRule
	// ActionAuth holds per-action rules, checked with the CALLER's
	// identity (for singletons, the connection calling, not the one that
	// mounted).
	ActionAuth map[string]AuthRule
	// ActionRateLimit limits calls per connection; nil means no limit
	// beyond the connection's frame rate limit.
	ActionRateLimit *ActionRateLimit
}

// ActionRateLimit is a fixed-window limit on a component's actions per
// connection (spec §2.6 f).
type ActionRateLimit struct {
	// MaxCalls per Window.
	MaxCalls int
	// Window is the length of a window, which starts at its first call.
	Window time.Duration
	// PerAction counts each action separately instead of all together.
	PerAction bool
}

// Base is embedded in every component struct. It connects the value to the
// engine: its id, emits, background updates and logger.
type Base struct {
	in *instance
}

func (b *Base) liveBase() *Base { return b }

type baseHolder interface{ liveBase() *Base }

// ID returns the component instance id (assigned at mount).
func (b *Base) ID() string {
	if b.in == nil {
		return ""
	}
	return b.in.id
}

// Name returns the registered component name.
func (b *Base) Name() string {
	if b.in == nil {
		return ""
	}
	return b.in.def.name
}

// Logger returns the server's logger with the component's id and name.
func (b *Base) Logger() *slog.Logger {
	if b.in == nil {
		return slog.New(slog.DiscardHandler)
	}
	return b.in.srv.log.With("component", b.in.def.name, "id", b.in.id)
}

// Emit sends a custom message {type: event, componentId, payload} to the
// connections of this component (every attached connection for a
// singleton). Payload is encoded as JSON. It may be called from actions,
// hooks and background goroutines. Messages are delivered in call order;
// state changes made by the running action are sent when it returns.
func (b *Base) Emit(event string, payload any) error {
	if b.in == nil {
		return ErrDestroyed
	}
	return b.in.emit(event, payload)
}

// Update runs fn with the component locked, as an action would, and then
// sends the resulting state delta. Use it to change state from background
// goroutines (timers, subscriptions). It must not be called from inside an
// action or hook of the same component (that would deadlock); there, just
// change the fields. It returns ErrDestroyed after the component is gone.
func (b *Base) Update(fn func()) error {
	if b.in == nil {
		return ErrDestroyed
	}
	return b.in.update(fn)
}

// Ctx is passed to actions and hooks. It is a context.Context cancelled when
// the calling connection closes, and it identifies the caller. A Ctx is only
// valid during the call it was passed to.
type Ctx struct {
	context.Context
	conn   *conn
	action string
}

// ConnectionID returns the id of the calling connection ("" when the call
// did not come from a client, e.g. Update).
func (c *Ctx) ConnectionID() string {
	if c.conn == nil {
		return ""
	}
	return c.conn.id
}

// Action returns the name of the running action ("" in hooks).
func (c *Ctx) Action() string { return c.action }

// Identity returns the calling connection's identity, or nil when it is
// anonymous (or the call did not come from a connection). It is never
// taken from client-supplied fields.
func (c *Ctx) Identity() *Identity {
	if c.conn == nil {
		return nil
	}
	return c.conn.identity().clone() // a copy: the session itself is immutable
}

// Lifecycle hooks. A component implements any of these on *T.
type (
	// ConnectHook runs right after a new instance is created (mount),
	// before MountHook.
	ConnectHook interface{ OnConnect(ctx *Ctx) }
	// MountHook runs after the initial state was sent. An error is sent to
	// the client as ERROR {action:"onMount", error:"Mount initialization
	// failed: ..."}; the mount still succeeds.
	MountHook interface{ OnMount(ctx *Ctx) error }
	// StateChangeHook runs after each change of public state with the json
	// names of the changed fields. It is not re-entered; state changes it
	// makes are sent too.
	StateChangeHook interface {
		OnStateChange(ctx *Ctx, changed []string)
	}
	// BeforeActionHook runs before each client action, after the allow-list
	// and payload checks. Returning ErrCancelled cancels the call ("Action
	// 'x' was cancelled"); another error rejects it ("Action 'x' failed
	// pre-validation" is emitted and the error is the reply).
	BeforeActionHook interface {
		BeforeAction(ctx *Ctx, action string) error
	}
	// DisconnectHook runs when the component's last connection closes.
	DisconnectHook interface{ OnDisconnect(ctx *Ctx) }
	// DestroyHook runs when the instance is destroyed (unmount, last
	// connection gone, shutdown).
	DestroyHook interface{ OnDestroy() }
	// ClientJoinHook runs (singletons) when a connection attaches, with the
	// new number of connections.
	ClientJoinHook interface {
		OnClientJoin(ctx *Ctx, connectionID string, count int)
	}
	// ClientLeaveHook runs (singletons) when a connection detaches (unmount
	// or disconnect), with the number remaining.
	ClientLeaveHook interface {
		OnClientLeave(ctx *Ctx, connectionID string, remaining int)
	}
)

// blockedActions are never callable, whatever the allow-list says: the
// reference's reserved names plus our hook and Base method names.
var blockedActions = map[string]bool{}

func init() {
	for _, n := range strings.Fields(`constructor destroy executeAction getSerializableState onMount
		onDestroy onConnect onDisconnect onStateChange onRoomJoin onRoomLeave onRehydrate onAction
		onClientJoin onClientLeave setState sendBinaryDelta emit broadcast broadcastToRoom
		createStateProxy createDirectStateAccessors generateId setAuthContext _resetAuthContext $auth
		$private _privateState $persistent _inStateChange $room $rooms subscribeToRoom
		unsubscribeFromRoom emitRoomEvent onRoomEvent emitRoomEventWithState
		beforeAction id name logger update liveBase toString valueOf hasOwnProperty
		isPrototypeOf propertyIsEnumerable toLocaleString __defineGetter__ __defineSetter__
		__lookupGetter__ __lookupSetter__ __proto__`) {
		blockedActions[n] = true
	}
}

// componentDef is the registered, type-erased description of a component.
type componentDef struct {
	name  string
	typ   reflect.Type // the struct type T
	newFn func() reflect.Value
	stateShape
	byName    map[string]int // json name → index in fields
	writable  map[string]bool
	wlist     []string // writable names, sorted, for error messages
	actions   map[string]*actionInfo
	methods   map[string]bool // client names of every valid action method, listed or not
	singleton bool
	auth      *AuthRule
	actAuth   map[string]*AuthRule
	rate      *ActionRateLimit

	unknownHealth actionHealth // ActionWarnings counts of calls to unregistered actions
	mountFast     fastStreak   // non-singleton mounts run on the reader when known fast
}

type fieldInfo struct {
	name  string
	key   []byte // `"name":`
	index int
	typ   reflect.Type
	enc   fieldEncoder
}

type actionInfo struct {
	name      string
	fn        reflect.Value
	arg       reflect.Type // nil when the action takes no payload
	hasResult bool
	resultEnc fieldEncoder // a plain struct result's encoder; nil: marshalValue
	health    actionHealth // ActionWarnings counts
	fast      fastStreak   // runs on the reader when known fast
}

// An action whose last inlineStreak runs each took at most
// inlineMaxDuration runs on the goroutine that read its frame, when the
// connection's worker has nothing to do: no hand-off to another goroutine,
// and the reply is written there too. One slower run sends it back to the
// worker (which keeps the socket read while an action blocks).
const (
	inlineMaxDuration = 500 * time.Microsecond
	inlineStreak      = 16
)

// fastStreak counts consecutive runs of some request (an action, a
// component's mount) that took at most inlineMaxDuration, capped at
// inlineStreak.
type fastStreak struct{ n atomic.Int32 }

// note records one run's duration.
func (f *fastStreak) note(d time.Duration) {
	if d > inlineMaxDuration {
		f.n.Store(0)
		return
	}
	if f.n.Load() < inlineStreak {
		f.n.Add(1)
	}
}

// known reports whether the last inlineStreak runs were all fast.
func (f *fastStreak) known() bool { return f.n.Load() >= inlineStreak }

// noteDuration records one run's duration for the inline decision.
func (a *actionInfo) noteDuration(d time.Duration) { a.fast.note(d) }

// inlineable reports whether the action may run on the reader.
func (a *actionInfo) inlineable() bool { return a.fast.known() }

var (
	ctxPtrType = reflect.TypeFor[*Ctx]()
	errorType  = reflect.TypeFor[error]()
)

// Register adds component type T to the server. It returns an error for a
// missing or duplicate name, an action not backed by a method of the right
// shape, a blocked action name, or a Writable entry that is not a state field.
func Register[T any](s *Server, c Component[T]) error {
	def, err := newComponentDef(c)
	if err != nil {
		return err
	}
	return s.addDef(def)
}

func newComponentDef[T any](c Component[T]) (*componentDef, error) {
	t := reflect.TypeFor[T]()
	if c.Name == "" {
		return nil, fmt.Errorf("live: Register %v: Name is required", t)
	}
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("live: Register %q: %v is not a struct", c.Name, t)
	}
	if _, ok := any(new(T)).(baseHolder); !ok {
		return nil, fmt.Errorf("live: Register %q: %v must embed live.Base", c.Name, t)
	}
	def := &componentDef{
		name:      c.Name,
		typ:       t,
		byName:    map[string]int{},
		writable:  map[string]bool{},
		actions:   map[string]*actionInfo{},
		methods:   map[string]bool{},
		singleton: c.Singleton,
		auth:      c.Auth,
		actAuth:   map[string]*AuthRule{},
	}
	if c.ActionRateLimit != nil {
		if c.ActionRateLimit.MaxCalls <= 0 || c.ActionRateLimit.Window <= 0 {
			return nil, fmt.Errorf("live: Register %q: ActionRateLimit needs positive MaxCalls and Window", c.Name)
		}
		r := *c.ActionRateLimit
		def.rate = &r
	}
	for a, r := range c.ActionAuth {
		if !slices.Contains(c.Actions, a) {
			return nil, fmt.Errorf("live: Register %q: ActionAuth for %q, which is not in Actions", c.Name, a)
		}
		rule := r
		def.actAuth[a] = &rule
	}
	def.depth = c.DiffDepth
	if def.depth <= 0 {
		def.depth = diff.DefaultMaxDepth
	}
	if c.New != nil {
		newFn := c.New
		def.newFn = func() reflect.Value {
			p := newFn()
			if p == nil {
				p = new(T)
			}
			return reflect.ValueOf(p)
		}
	} else {
		def.newFn = func() reflect.Value { return reflect.ValueOf(new(T)) }
	}
	if err := def.collectFields(); err != nil {
		return nil, err
	}
	for _, w := range c.Writable {
		if _, ok := def.byName[w]; !ok {
			return nil, fmt.Errorf("live: Register %q: Writable field %q is not a public state field", c.Name, w)
		}
		def.writable[w] = true
	}
	def.wlist = slices.Sorted(func(yield func(string) bool) {
		for w := range def.writable {
			if !yield(w) {
				return
			}
		}
	})
	pt := reflect.PointerTo(t)
	for i := range pt.NumMethod() {
		m := pt.Method(i)
		if info, ok := actionFromMethod(m); ok {
			def.methods[info.name] = true
		}
	}
	for _, a := range c.Actions {
		if blockedActions[a] || strings.HasPrefix(a, "_") || strings.HasPrefix(a, "#") || strings.HasPrefix(a, "$") {
			return nil, fmt.Errorf("live: Register %q: action %q is a reserved name", c.Name, a)
		}
		m, ok := pt.MethodByName(methodName(a))
		if !ok {
			return nil, fmt.Errorf("live: Register %q: action %q has no method %s on %v", c.Name, a, methodName(a), pt)
		}
		info, ok := actionFromMethod(m)
		if !ok || info.name != a {
			return nil, fmt.Errorf("live: Register %q: method %s must be func(*live.Ctx[, P]) ([R, ]error)", c.Name, m.Name)
		}
		def.actions[a] = info
	}
	return def, nil
}

// methodName maps a client action name to its Go method name.
func methodName(action string) string {
	r, n := utf8.DecodeRuneInString(action)
	if r == utf8.RuneError {
		return action
	}
	return string(unicode.ToUpper(r)) + action[n:]
}

// actionFromMethod reports whether m has an action signature.
func actionFromMethod(m reflect.Method) (*actionInfo, bool) {
	ft := m.Type // includes the receiver
	if ft.NumIn() < 2 || ft.NumIn() > 3 || ft.In(1) != ctxPtrType || ft.IsVariadic() {
		return nil, false
	}
	if ft.NumOut() < 1 || ft.NumOut() > 2 || ft.Out(ft.NumOut()-1) != errorType {
		return nil, false
	}
	r, n := utf8.DecodeRuneInString(m.Name)
	info := &actionInfo{
		name:      string(unicode.ToLower(r)) + m.Name[n:],
		fn:        m.Func,
		hasResult: ft.NumOut() == 2,
	}
	if ft.NumIn() == 3 {
		info.arg = ft.In(2)
	}
	if rt := ft.Out(0); info.hasResult && rt.Kind() == reflect.Struct && !marshals(rt) {
		info.resultEnc = structEncoder(rt) // nil: marshalValue
	}
	return info, true
}

func (d *componentDef) collectFields() error {
	fields, byName, err := collectStateFields(d.name, d.typ, reflect.TypeFor[Base]())
	d.fields, d.byName = fields, byName
	return err
}

// lookupDef resolves a client component name with the reference's rules
// (spec §2.3): exact, Name+"Component", Capitalized+"Component", Capitalized.
func (s *Server) lookupDef(name string) *componentDef {
	s.defsMu.RLock()
	defer s.defsMu.RUnlock()
	if d := s.defs[name]; d != nil {
		return d
	}
	if d := s.defs[name+"Component"]; d != nil {
		return d
	}
	c := methodName(name)
	if d := s.defs[c+"Component"]; d != nil {
		return d
	}
	return s.defs[c]
}

func (s *Server) addDef(d *componentDef) error {
	s.defsMu.Lock()
	defer s.defsMu.Unlock()
	if _, dup := s.defs[d.name]; dup {
		return fmt.Errorf("live: component %q already registered", d.name)
	}
	s.defs[d.name] = d
	return nil
}

// ComponentNames returns the registered component names, sorted.
func (s *Server) ComponentNames() []string {
	s.defsMu.RLock()
	defer s.defsMu.RUnlock()
	names := make([]string, 0, len(s.defs))
	for n := range s.defs {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
