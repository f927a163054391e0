package protocol

import "errors"

// Protocol-level error texts the server sends in {"type":"ERROR","error":…}
// frames (spec §1.8). Clients may match on them.
const (
	MsgRateLimitExceeded = "Rate limit exceeded"
	MsgMessageTooLarge   = "Message too large"
	MsgInvalidJSON       = "Invalid JSON"
	MsgExpectedObject    = "Invalid message: expected object"
	MsgUnknownType       = "Unknown message type"
)

// Validation failures of Parse, after the "Invalid message: " prefix
// (spec §1.4, §1.5).
const (
	invalidPrefix = "Invalid message: "

	msgMissingType          = invalidPrefix + "missing type"
	msgComponentIDString    = invalidPrefix + "componentId must be a string"
	msgRequestIDString      = invalidPrefix + "requestId must be a string"
	msgResponseIDString     = invalidPrefix + "responseId must be a string"
	msgExpectResponseBool   = invalidPrefix + "expectResponse must be a boolean"
	msgTimestampNumber      = invalidPrefix + "timestamp must be a number"
	msgUserIDString         = invalidPrefix + "userId must be a string"
	msgRoomString           = invalidPrefix + "room must be a string"
	msgComponentIDRequired  = invalidPrefix + "componentId is required"
	msgMountPayload         = invalidPrefix + "COMPONENT_MOUNT requires payload"
	msgRehydratePayload     = invalidPrefix + "COMPONENT_REHYDRATE requires payload"
	msgPayloadComponent     = invalidPrefix + "payload.component must be a string"
	msgPayloadProps         = invalidPrefix + "payload.props must be an object"
	msgPayloadRoom          = invalidPrefix + "payload.room must be a string"
	msgPayloadUserID        = invalidPrefix + "payload.userId must be a string"
	msgPayloadDebugLabel    = invalidPrefix + "payload.debugLabel must be a string"
	msgSignedState          = invalidPrefix + "payload.signedState is malformed"
	msgActionString         = invalidPrefix + "action must be a string"
	msgIdempotencyKeyString = invalidPrefix + "idempotencyKey must be a string"
	msgPayloadSeq           = invalidPrefix + "payload.seq must be a non-negative integer"
	msgPropertyString       = invalidPrefix + "property must be a string"
	msgPropertyValue        = invalidPrefix + "PROPERTY_UPDATE requires payload.value"
	msgAuthPayload          = invalidPrefix + "AUTH payload must be an object"
	msgRoomPayload          = invalidPrefix + "room payload must be an object"
	msgRoomID               = invalidPrefix + "roomId must be a non-empty string"
	msgPayloadRoomID        = invalidPrefix + "payload.roomId must be a string"
	msgPayloadEvent         = invalidPrefix + "payload.event must be a string"
	msgPayloadState         = invalidPrefix + "payload.state must be an object"
)

// Errors of StripKeys.
var (
	// ErrInvalidJSON reports input that is not valid JSON.
	ErrInvalidJSON = errors.New("protocol: invalid JSON")
	// ErrNotObject reports valid JSON whose root is not an object.
	ErrNotObject = errors.New("protocol: JSON value is not an object")
)

// ErrorKind tells which reply a rejected frame gets (spec §1.3).
type ErrorKind uint8

const (
	// KindFrame: the frame is not JSON or its root is not an object
	// (steps 5, 6). Reply {"type":"ERROR","error":…} with no echo.
	KindFrame ErrorKind = iota + 1
	// KindInvalid: the message failed shape validation (step 9). Reply
	// ERROR with componentId, success:false, error and requestId.
	KindInvalid
	// KindUnknownType: type is a string but not a client message type.
	// Reply MESSAGE_RESPONSE with success:false and "Unknown message type".
	KindUnknownType
)

// Error is a frame rejected by Parse. Message is the exact text of the
// reply's "error" field. ComponentID and RequestID are echoed in the reply
// only when the frame carried them as strings (HasComponentID, HasRequestID);
// they are never set for KindFrame.
type Error struct {
	Kind           ErrorKind
	Message        string
	ComponentID    string
	RequestID      string
	HasComponentID bool
	HasRequestID   bool
}

// Error returns the reply text.
func (e *Error) Error() string { return e.Message }

// AppendErrorReply appends the reply frame the server sends for e, with the
// reference's key order:
//
//	{"type":"ERROR","error":"Invalid JSON"}
//	{"type":"ERROR","componentId":"c1","success":false,"error":"Invalid message: …","requestId":"r1"}
//	{"type":"MESSAGE_RESPONSE","componentId":"c1","success":false,"error":"Unknown message type","requestId":"r1"}
//
// A nil e appends nothing.
func AppendErrorReply(dst []byte, e *Error) []byte {
	if e == nil {
		return dst
	}
	if e.Kind == KindFrame {
		return AppendError(dst, e.Message)
	}
	typ := TypeError
	if e.Kind == KindUnknownType {
		typ = TypeMessageResponse
	}
	o := Object(dst)
	o.Str("type", typ)
	if e.HasComponentID {
		o.Str("componentId", e.ComponentID)
	}
	o.Bool("success", false)
	o.Str("error", e.Message)
	if e.HasRequestID {
		o.Str("requestId", e.RequestID)
	}
	return o.Close()
}

// AppendError appends the bare protocol error frame
// {"type":"ERROR","error":msg}, used for rate limiting, oversized frames,
// excessive nesting and unparsable frames.
func AppendError(dst []byte, msg string) []byte {
	o := Object(dst)
	o.Str("type", TypeError)
	o.Str("error", msg)
	return o.Close()
}
