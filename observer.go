package live

import "time"

// Observer receives the server's events, for metrics and tracing. Set it
// in Options.Observer; the Prometheus integration in the separate module
// github.com/live-go/live/liveprom is one implementation.
//
// Observer is an interface rather than a struct of optional funcs (the
// net/http/httptrace style) because one value usually carries shared state
// (the metric vectors), and because the server checks one field for nil
// instead of one per event: with no Observer set, an event costs a nil
// check and nothing else. Embed NopObserver in an implementation to pick
// only the events it needs; methods added to Observer later are added to
// NopObserver too, so such an implementation keeps compiling.
//
// Methods are called synchronously on the goroutine that caused the event
// (a connection's reader, worker or writer goroutine, a cluster backend's
// delivery goroutine, a timer), sometimes with a component's or a room's
// lock held. They must be safe for concurrent use, must not block, and must
// not call back into the Server. Keep them to counter and histogram
// updates; hand anything slower to a goroutine of your own.
//
// Identifiers in events (connection, component instance, room ids, room
// event names, client-sent action names that are not registered) come from
// unbounded sets: do not use them as metric labels. Component names and
// registered action names (ActionEvent.Registered) are bounded by the
// registry.
type Observer interface {
	// ConnOpened reports a connection accepted by the server (after
	// Options.Identify and the connection limit).
	ConnOpened(ConnEvent)
	// ConnClosed reports a connection unregistered after its teardown.
	ConnClosed(ConnEvent)
	// ComponentMounted reports a component attached to a connection: a
	// COMPONENT_MOUNT answered with success, a rehydrate or a resume.
	ComponentMounted(ComponentEvent)
	// ComponentUnmounted reports a component detached from a connection:
	// COMPONENT_UNMOUNT, the connection closing, or the instance moving to
	// a newer connection of the same client (resume) or going away
	// (rehydrated elsewhere, singleton ownership lost).
	ComponentUnmounted(ComponentEvent)
	// ActionDone reports a completed CALL_ACTION, successful or not.
	ActionDone(ActionEvent)
	// DeltaSent reports a STATE_DELTA (JSON or binary) encoded once for
	// all of a component's subscribers.
	DeltaSent(DeltaEvent)
	// Flushed reports one frame written by a connection's writer, with the
	// bytes queued behind it: a sample of the send-queue depth taken at
	// every write, at the cost of one uncontended lock.
	Flushed(FlushEvent)
	// Resynced reports a connection whose send queue overflowed: its
	// queued deltas were dropped and snapshots of its components sent
	// instead.
	Resynced(ConnEvent)
	// SlowConsumer reports a connection closed because its send queue
	// passed twice Options.SendQueueBytes.
	SlowConsumer(ConnEvent)
	// RoomJoined reports a component joining a room.
	RoomJoined(RoomEvent)
	// RoomLeft reports a component leaving a room.
	RoomLeft(RoomEvent)
	// RoomEmitted reports an event emitted into a room on this node (by a
	// component, a client or the server), with the members it reached.
	RoomEmitted(RoomEvent)
	// RateLimited reports a refused frame or action.
	RateLimited(RateLimitEvent)
	// Cluster reports singleton ownership changes, forwarded actions and
	// failed backend operations.
	Cluster(ClusterEvent)
}

// NopObserver implements every Observer method as a no-op. Embed it in an
// Observer to implement only some of the events.
type NopObserver struct{}

var _ Observer = NopObserver{}

// ConnOpened does nothing.
func (NopObserver) ConnOpened(ConnEvent) {}

// ConnClosed does nothing.
func (NopObserver) ConnClosed(ConnEvent) {}

// ComponentMounted does nothing.
func (NopObserver) ComponentMounted(ComponentEvent) {}

// ComponentUnmounted does nothing.
func (NopObserver) ComponentUnmounted(ComponentEvent) {}

// ActionDone does nothing.
func (NopObserver) ActionDone(ActionEvent) {}

// DeltaSent does nothing.
func (NopObserver) DeltaSent(DeltaEvent) {}

// Flushed does nothing.
func (NopObserver) Flushed(FlushEvent) {}

// Resynced does nothing.
func (NopObserver) Resynced(ConnEvent) {}

// SlowConsumer does nothing.
func (NopObserver) SlowConsumer(ConnEvent) {}

// RoomJoined does nothing.
func (NopObserver) RoomJoined(RoomEvent) {}

// RoomLeft does nothing.
func (NopObserver) RoomLeft(RoomEvent) {}

// RoomEmitted does nothing.
func (NopObserver) RoomEmitted(RoomEvent) {}

// RateLimited does nothing.
func (NopObserver) RateLimited(RateLimitEvent) {}

// Cluster does nothing.
func (NopObserver) Cluster(ClusterEvent) {}

// ConnEvent describes a connection.
type ConnEvent struct {
	ConnID     string // the connection id (unbounded)
	RemoteAddr string // the client's network address, as the transport reports it
}

// MountKind says how a component was attached to a connection.
type MountKind uint8

// Mount kinds.
const (
	MountNew       MountKind = iota // COMPONENT_MOUNT (a new instance, or joining a singleton)
	MountRehydrate                  // COMPONENT_REHYDRATE from a signed state
	MountResume                     // a reconnecting client resumed a live instance
)

// String returns "mount", "rehydrate" or "resume".
func (k MountKind) String() string {
	switch k {
	case MountRehydrate:
		return "rehydrate"
	case MountResume:
		return "resume"
	}
	return "mount"
}

// ComponentEvent describes a component attached to or detached from a
// connection.
type ComponentEvent struct {
	Component   string    // the registered component name
	ComponentID string    // the instance id (unbounded)
	ConnID      string    // the connection (unbounded)
	Kind        MountKind // how it was attached (ComponentMounted only)
}

// ActionEvent describes a completed CALL_ACTION.
type ActionEvent struct {
	Component   string // the registered component name
	ComponentID string // the instance id (unbounded)
	// Action is the action name as the client sent it. It is one of the
	// component's registered actions only when Registered is set;
	// otherwise the call was refused and the name is the client's choice.
	Action     string
	Registered bool
	// Duration is the time from receiving the call to its outcome:
	// authorization, waiting for the instance's lock, the action itself,
	// and the state diff (for a singleton owned by another node, the
	// round trip to it).
	Duration time.Duration
	// Err is nil on success; otherwise why the call failed, as answered to
	// the client (refused, rate limited, the action's own error, a panic).
	Err error
}

// DeltaEvent describes one encoded state delta.
type DeltaEvent struct {
	Component   string // the registered component name
	ComponentID string // the instance id (unbounded)
	Bytes       int    // the encoded message, sent as is to every subscriber
}

// FlushEvent describes one frame written to a connection.
type FlushEvent struct {
	ConnID string // the connection (unbounded)
	Bytes  int    // the frame's size
	Queued int    // bytes waiting in the connection's send queue after the write
}

// RoomEvent describes a room join, leave or emit.
type RoomEvent struct {
	RoomID      string // the room id (unbounded)
	ComponentID string // the joining, leaving or emitting component; "" for server emits
	Event       string // the event name (RoomEmitted only; chosen by the emitter, unbounded)
	Typed       bool   // a typed room
	Recipients  int    // members reached on this node (RoomEmitted only)
}

// RateLimitKind says which limit refused a request.
type RateLimitKind uint8

// Rate limit kinds.
const (
	RateLimitFrame  RateLimitKind = iota // the connection's frame token bucket (Options.RateLimitBurst)
	RateLimitAction                      // a component's ActionRateLimit
)

// String returns "frame" or "action".
func (k RateLimitKind) String() string {
	if k == RateLimitAction {
		return "action"
	}
	return "frame"
}

// RateLimitEvent describes a refused frame or action.
type RateLimitEvent struct {
	Kind      RateLimitKind
	ConnID    string // the connection (unbounded)
	Component string // the registered component name (RateLimitAction only)
	Action    string // the registered action name (RateLimitAction only)
}

// ClusterEventKind says what happened in the cluster.
type ClusterEventKind uint8

// Cluster event kinds.
const (
	// ClusterOwnershipAcquired: this node became a singleton's owner (a
	// fresh lease, or a takeover from a node that left or died).
	ClusterOwnershipAcquired ClusterEventKind = iota
	// ClusterOwnershipLost: this node stopped owning a singleton it owned
	// (lease lost, fenced write, backend failure past the lease TTL).
	ClusterOwnershipLost
	// ClusterForwarded: an action was forwarded to the singleton's owner
	// on another node; Err is the call's failure, if any (the forward
	// itself or the action's own error).
	ClusterForwarded
	// ClusterBackendError: an operation on the Cluster backend failed
	// (the same failures Stats.ClusterErrors counts).
	ClusterBackendError
	// ClusterOwnershipReleased: this node handed a singleton it owned over
	// on purpose (its last local client left, or the node shut down).
	ClusterOwnershipReleased
)

// String returns "ownership_acquired", "ownership_lost",
// "ownership_released", "forwarded" or "backend_error".
func (k ClusterEventKind) String() string {
	switch k {
	case ClusterOwnershipAcquired:
		return "ownership_acquired"
	case ClusterOwnershipLost:
		return "ownership_lost"
	case ClusterOwnershipReleased:
		return "ownership_released"
	case ClusterForwarded:
		return "forwarded"
	}
	return "backend_error"
}

// ClusterEvent describes a cluster event.
type ClusterEvent struct {
	Kind ClusterEventKind
	// Component is the singleton's registered name; "" for operations that
	// concern no singleton (node liveness, rooms).
	Component string
	Err       error // the failure, if any
}
