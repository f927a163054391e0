package protocol

// Client → server message types (spec §1.4, §1.5). These are exactly the
// types Parse accepts; any other type string is answered with
// "Unknown message type".
const (
	TypeComponentMount     = "COMPONENT_MOUNT"
	TypeComponentUnmount   = "COMPONENT_UNMOUNT"
	TypeComponentRehydrate = "COMPONENT_REHYDRATE"
	TypeCallAction         = "CALL_ACTION"
	TypePropertyUpdate     = "PROPERTY_UPDATE"
	TypeAuth               = "AUTH"
	TypeRoomJoin           = "ROOM_JOIN"
	TypeRoomLeave          = "ROOM_LEAVE"
	TypeRoomEmit           = "ROOM_EMIT"
	TypeRoomStateSet       = "ROOM_STATE_SET"
	TypeRoomStateGet       = "ROOM_STATE_GET"
	TypeFileUploadStart    = "FILE_UPLOAD_START"
	TypeFileUploadChunk    = "FILE_UPLOAD_CHUNK"
	// TypeFileUploadComplete is both the client's "upload finished" message
	// and the server's reply to it.
	TypeFileUploadComplete = "FILE_UPLOAD_COMPLETE"
	// TypePing is the client heartbeat; the server ignores it silently.
	TypePing = "PING"
)

// Server → client message types (spec §1.6).
const (
	TypeConnectionEstablished   = "CONNECTION_ESTABLISHED"
	TypeAuthResponse            = "AUTH_RESPONSE"
	TypeMessageResponse         = "MESSAGE_RESPONSE"
	TypeActionResponse          = "ACTION_RESPONSE"
	TypeComponentRehydrated     = "COMPONENT_REHYDRATED"
	TypeStateUpdate             = "STATE_UPDATE"
	TypeStateDelta              = "STATE_DELTA"
	TypeStateRehydrated         = "STATE_REHYDRATED"
	TypeStateSignature          = "STATE_SIGNATURE"
	TypeError                   = "ERROR"
	TypeBroadcast               = "BROADCAST"
	TypeRoomJoined              = "ROOM_JOINED"
	TypeRoomLeft                = "ROOM_LEFT"
	TypeRoomState               = "ROOM_STATE"
	TypeRoomEvent               = "ROOM_EVENT"
	TypeRoomSystem              = "ROOM_SYSTEM"
	TypeFileUploadStartResponse = "FILE_UPLOAD_START_RESPONSE"
	TypeFileUploadProgress      = "FILE_UPLOAD_PROGRESS"
)

// Reserved event names carried in the "event" field of room messages
// (spec §1.6, §4.8).
const (
	// EventRoomJoined marks the server-initiated ROOM_JOINED of a typed room.
	EventRoomJoined = "$room:joined"
	// EventStateUpdate marks a ROOM_STATE broadcast of changed keys.
	EventStateUpdate = "$state:update"
	// EventSubJoin marks a ROOM_SYSTEM membership gain.
	EventSubJoin = "$sub:join"
	// EventSubLeave marks a ROOM_SYSTEM membership loss.
	EventSubLeave = "$sub:leave"
)

// clientType maps a decoded type string to its constant (so that the
// Envelope never holds a freshly allocated copy) and reports whether it is one
// of the 14 dispatchable client types. PING is not included: it is handled
// before validation.
func clientType(b []byte) (string, bool) {
	switch string(b) {
	case TypeComponentMount:
		return TypeComponentMount, true
	case TypeComponentUnmount:
		return TypeComponentUnmount, true
	case TypeComponentRehydrate:
		return TypeComponentRehydrate, true
	case TypeCallAction:
		return TypeCallAction, true
	case TypePropertyUpdate:
		return TypePropertyUpdate, true
	case TypeAuth:
		return TypeAuth, true
	case TypeRoomJoin:
		return TypeRoomJoin, true
	case TypeRoomLeave:
		return TypeRoomLeave, true
	case TypeRoomEmit:
		return TypeRoomEmit, true
	case TypeRoomStateSet:
		return TypeRoomStateSet, true
	case TypeRoomStateGet:
		return TypeRoomStateGet, true
	case TypeFileUploadStart:
		return TypeFileUploadStart, true
	case TypeFileUploadChunk:
		return TypeFileUploadChunk, true
	case TypeFileUploadComplete:
		return TypeFileUploadComplete, true
	}
	return "", false
}
