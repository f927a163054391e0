package protocol

import "strings"

// Envelope is one validated client frame. String fields are decoded (escapes
// resolved, invalid UTF-8 replaced by U+FFFD) and share one allocation; raw
// fields are sub-slices of Frame holding the member's JSON text verbatim and
// are nil when the member is absent. Only the fields of the message's Type
// are filled; the table says which.
//
//	Type                  strings                              raw
//	COMPONENT_MOUNT       Component, Room?, DebugLabel?        Props? (object)
//	COMPONENT_REHYDRATE   ComponentID, Component, Room?        SignedState (shape-checked object)
//	CALL_ACTION           ComponentID, Action                  Payload? (any JSON)
//	PROPERTY_UPDATE       ComponentID, Property                Value? (any JSON, may be null)
//	AUTH                  —                                    Payload? (object)
//	ROOM_JOIN             ComponentID, RoomID                  State = payload.initialState?
//	ROOM_LEAVE/STATE_GET  ComponentID, RoomID                  —
//	ROOM_EMIT             ComponentID, RoomID, Event           Data = payload.data?
//	ROOM_STATE_SET        ComponentID, RoomID                  State = payload.state (object)
//	COMPONENT_UNMOUNT     ComponentID                          —
//	FILE_UPLOAD_*         —                                    — (the upload layer re-reads Frame)
//
// ComponentID and RequestID are set whenever the frame carries them, for
// every type. A PING frame yields only Type and Frame.
type Envelope struct {
	Type           string // one of the client Type constants
	ComponentID    string // "" when absent; see HasComponentID
	RequestID      string // "" when absent; see HasRequestID
	HasComponentID bool   // the frame had a componentId (possibly "")
	HasRequestID   bool   // the frame had a requestId (possibly "")
	ExpectResponse bool   // expectResponse === true

	Payload []byte // raw "payload"; nil when absent or null

	Action string // CALL_ACTION action (may be "")

	// IdempotencyKey is CALL_ACTION's optional top-level "idempotencyKey"
	// (a live-go extension): retries with the same key get the first
	// call's reply instead of running the action again.
	IdempotencyKey string
	// ResumeSeq is COMPONENT_REHYDRATE's optional "payload.seq" (a live-go
	// extension): the last state sequence number the client applied, so
	// the server can resume the same instance and replay what it missed.
	ResumeSeq    uint64
	HasResumeSeq bool
	Property     string // PROPERTY_UPDATE property
	Value        []byte // PROPERTY_UPDATE payload.value; nil when absent
	Component    string // COMPONENT_MOUNT / COMPONENT_REHYDRATE payload.component
	Props        []byte // COMPONENT_MOUNT payload.props (an object); nil when absent
	Room         string // COMPONENT_MOUNT / COMPONENT_REHYDRATE payload.room
	DebugLabel   string // COMPONENT_MOUNT payload.debugLabel
	SignedState  []byte // COMPONENT_REHYDRATE payload.signedState (an object)
	RoomID       string // ROOM_*: top-level roomId when truthy, else payload.roomId
	Event        string // ROOM_EMIT payload.event
	Data         []byte // ROOM_EMIT payload.data; nil when absent
	State        []byte // ROOM_STATE_SET payload.state; ROOM_JOIN payload.initialState

	Frame []byte // the whole input frame
}

// topFields are the top-level members Parse reads; the last duplicate wins.
type topFields struct {
	typ, componentID, requestID, responseID, expectResponse, timestamp,
	userID, room, payload, action, property, roomID, idempotencyKey span
}

// payloadFields are the payload members Parse reads; the last duplicate wins.
type payloadFields struct {
	component, props, room, userID, debugLabel, signedState,
	value, roomID, event, data, state, initialState, seq span
}

// keyBufLen bounds the decoded length of the member names Parse looks for.
const keyBufLen = 16

// Parse parses and validates one client text frame: steps 5, 6, 8 and 9 of
// spec §1.3 (the caller has already applied the rate limit, the size limit
// and Depth). It returns the Envelope, or an Error whose reply frame
// AppendErrorReply writes:
//
//   - invalid JSON, including trailing bytes after the value → KindFrame
//     "Invalid JSON" (acceptance is exactly that of json.Valid);
//   - a root that is not an object → KindFrame "Invalid message: expected object";
//   - type "PING" → Envelope{Type: "PING"} and no error, before any check;
//   - envelope and per-type shape failures → KindInvalid with the reference's
//     reason, in the reference's order;
//   - any other type string → KindUnknownType.
//
// Member names are matched exactly (case-sensitive, after unescaping) and the
// last of duplicate members wins, as with JSON.parse. As in the reference, a
// JSON null is a present value of the wrong type for every optional string,
// boolean, number and object member; only free-form members (CALL_ACTION's
// payload, payload.value, payload.data, payload.initialState) accept it.
//
// The Envelope keeps references to data (Frame and the raw fields): data must
// not be modified or reused while the Envelope is in use. Parse never panics;
// it allocates once for the decoded strings of a valid frame.
func Parse(data []byte) (Envelope, *Error) {
	s := scanner{data: data}
	s.ws()
	if s.i >= len(data) {
		return Envelope{}, &Error{Kind: KindFrame, Message: MsgInvalidJSON}
	}
	if data[s.i] != '{' {
		if _, ok := s.skip(0); !ok {
			return Envelope{}, &Error{Kind: KindFrame, Message: MsgInvalidJSON}
		}
		s.ws()
		if s.i != len(data) {
			return Envelope{}, &Error{Kind: KindFrame, Message: MsgInvalidJSON}
		}
		return Envelope{}, &Error{Kind: KindFrame, Message: MsgExpectedObject}
	}
	s.i++
	var f topFields
	for first := true; ; first = false {
		k, v, done, ok := s.member(first, 1)
		if !ok {
			return Envelope{}, &Error{Kind: KindFrame, Message: MsgInvalidJSON}
		}
		if done {
			break
		}
		f.set(data, k, v)
	}
	s.ws()
	if s.i != len(data) {
		return Envelope{}, &Error{Kind: KindFrame, Message: MsgInvalidJSON}
	}
	var env Envelope
	if err := f.envelope(data, &env); err != nil {
		return Envelope{}, err
	}
	return env, nil
}

func (f *topFields) set(data []byte, k, v span) {
	var buf [keyBufLen]byte
	switch string(shortKey(data, k, buf[:0])) {
	case "type":
		f.typ = v
	case "componentId":
		f.componentID = v
	case "requestId":
		f.requestID = v
	case "responseId":
		f.responseID = v
	case "expectResponse":
		f.expectResponse = v
	case "timestamp":
		f.timestamp = v
	case "userId":
		f.userID = v
	case "room":
		f.room = v
	case "payload":
		f.payload = v
	case "action":
		f.action = v
	case "property":
		f.property = v
	case "roomId":
		f.roomID = v
	case "idempotencyKey":
		f.idempotencyKey = v
	}
}

func (p *payloadFields) set(data []byte, k, v span) {
	var buf [keyBufLen]byte
	switch string(shortKey(data, k, buf[:0])) {
	case "component":
		p.component = v
	case "props":
		p.props = v
	case "room":
		p.room = v
	case "userId":
		p.userID = v
	case "debugLabel":
		p.debugLabel = v
	case "signedState":
		p.signedState = v
	case "value":
		p.value = v
	case "roomId":
		p.roomID = v
	case "event":
		p.event = v
	case "data":
		p.data = v
	case "state":
		p.state = v
	case "initialState":
		p.initialState = v
	case "seq":
		p.seq = v
	}
}

// readPayload collects the members of the (already validated) payload
// object; it returns zero fields when the payload is not an object.
func readPayload(data []byte, v span) (p payloadFields) {
	if v.kind != kindObject {
		return p
	}
	s := scanner{data: data[:v.end], i: v.start + 1}
	for first := true; ; first = false {
		k, val, done, ok := s.member(first, 2)
		if !ok || done {
			return p
		}
		p.set(data, k, val)
	}
}

// validSignedState applies the reference's minimal SignedState shape check:
// data, signature, componentId strings, timestamp and version numbers,
// optional nonce string, optional compressed and encrypted booleans.
func validSignedState(data []byte, v span) bool {
	if v.kind != kindObject {
		return false
	}
	var dat, sig, ts, ver, cid, nonce, compressed, encrypted span
	s := scanner{data: data[:v.end], i: v.start + 1}
	for first := true; ; first = false {
		k, val, done, ok := s.member(first, 3)
		if !ok {
			return false
		}
		if done {
			break
		}
		var buf [keyBufLen]byte
		switch string(shortKey(data, k, buf[:0])) {
		case "data":
			dat = val
		case "signature":
			sig = val
		case "timestamp":
			ts = val
		case "version":
			ver = val
		case "componentId":
			cid = val
		case "nonce":
			nonce = val
		case "compressed":
			compressed = val
		case "encrypted":
			encrypted = val
		}
	}
	return dat.kind == kindString && sig.kind == kindString &&
		ts.kind == kindNumber && ver.kind == kindNumber && cid.kind == kindString &&
		optString(nonce) && optBool(compressed) && optBool(encrypted)
}

func optString(v span) bool { return v.kind == kindAbsent || v.kind == kindString }
func optObject(v span) bool { return v.kind == kindAbsent || v.kind == kindObject }
func optBool(v span) bool {
	return v.kind == kindAbsent || v.kind == kindTrue || v.kind == kindFalse
}

// rawOf returns the raw value, or nil when absent.
func rawOf(data []byte, v span) []byte {
	if v.kind == kindAbsent {
		return nil
	}
	return v.raw(data)
}

// fail builds the Error of a frame that failed validation, echoing
// componentId and requestId when they are strings.
func (f *topFields) fail(data []byte, kind ErrorKind, msg string) *Error {
	e := &Error{Kind: kind, Message: msg}
	if f.componentID.kind == kindString {
		e.ComponentID, e.HasComponentID = decodeString(data, f.componentID), true
	}
	if f.requestID.kind == kindString {
		e.RequestID, e.HasRequestID = decodeString(data, f.requestID), true
	}
	return e
}

// envelope runs steps 8 and 9 of spec §1.3 on the collected members and
// fills env, which must be zero.
func (f *topFields) envelope(data []byte, env *Envelope) *Error {
	env.Frame = data
	var tbuf [24]byte
	var typeName []byte
	if f.typ.kind == kindString {
		typeName = shortKey(data, f.typ, tbuf[:0])
		if string(typeName) == TypePing {
			env.Type = TypePing
			return nil
		}
	}

	// Envelope checks, in the reference's order.
	var msg string
	switch {
	case f.typ.kind != kindString:
		msg = msgMissingType
	case !optString(f.componentID):
		msg = msgComponentIDString
	case !optString(f.requestID):
		msg = msgRequestIDString
	case !optString(f.responseID):
		msg = msgResponseIDString
	case !optBool(f.expectResponse):
		msg = msgExpectResponseBool
	case f.timestamp.kind != kindAbsent && f.timestamp.kind != kindNumber:
		msg = msgTimestampNumber
	case !optString(f.userID):
		msg = msgUserIDString
	case !optString(f.room):
		msg = msgRoomString
	}
	if msg != "" {
		return f.fail(data, KindInvalid, msg)
	}
	typ, known := clientType(typeName)
	if !known {
		return f.fail(data, KindUnknownType, MsgUnknownType)
	}

	env.Type = typ
	env.HasComponentID = f.componentID.kind == kindString
	env.HasRequestID = f.requestID.kind == kindString
	env.ExpectResponse = f.expectResponse.kind == kindTrue
	if f.payload.kind != kindNull {
		env.Payload = rawOf(data, f.payload)
	}
	var strs strSpans
	strs.setOpt(strComponentID, f.componentID)
	strs.setOpt(strRequestID, f.requestID)
	if msg = f.typed(data, env, &strs); msg != "" {
		return f.fail(data, KindInvalid, msg)
	}
	strs.decodeInto(env, data)
	return nil
}

// typed applies the per-type checks of spec §1.5 (required members first,
// then types, in the reference's order) and fills the type's fields. It
// returns the failure message, or "".
func (f *topFields) typed(data []byte, env *Envelope, strs *strSpans) string {
	hasCID := env.HasComponentID
	switch env.Type {
	case TypeComponentMount:
		if f.payload.kind != kindObject {
			return msgMountPayload
		}
		p := readPayload(data, f.payload)
		switch {
		case p.component.kind != kindString:
			return msgPayloadComponent
		case !optObject(p.props):
			return msgPayloadProps
		case !optString(p.room):
			return msgPayloadRoom
		case !optString(p.userID):
			return msgPayloadUserID
		case !optString(p.debugLabel):
			return msgPayloadDebugLabel
		}
		strs[strComponent] = p.component
		strs.setOpt(strRoom, p.room)
		strs.setOpt(strDebugLabel, p.debugLabel)
		env.Props = rawOf(data, p.props)

	case TypeComponentUnmount:
		if !hasCID {
			return msgComponentIDRequired
		}

	case TypeComponentRehydrate:
		if !hasCID {
			return msgComponentIDRequired
		}
		if f.payload.kind != kindObject {
			return msgRehydratePayload
		}
		p := readPayload(data, f.payload)
		switch {
		case p.component.kind != kindString:
			return msgPayloadComponent
		case !validSignedState(data, p.signedState):
			return msgSignedState
		case !optString(p.room):
			return msgPayloadRoom
		case !optString(p.userID):
			return msgPayloadUserID
		}
		if p.seq.kind != kindAbsent {
			n, ok := parseUint(p.seq.raw(data))
			if p.seq.kind != kindNumber || !ok {
				return msgPayloadSeq
			}
			env.ResumeSeq, env.HasResumeSeq = n, true
		}
		strs[strComponent] = p.component
		strs.setOpt(strRoom, p.room)
		env.SignedState = rawOf(data, p.signedState)

	case TypeCallAction:
		if !hasCID {
			return msgComponentIDRequired
		}
		if f.action.kind != kindString {
			return msgActionString
		}
		if !optString(f.idempotencyKey) {
			return msgIdempotencyKeyString
		}
		strs[strAction] = f.action
		strs.setOpt(strIdempotencyKey, f.idempotencyKey)

	case TypePropertyUpdate:
		if !hasCID {
			return msgComponentIDRequired
		}
		if f.property.kind != kindString {
			return msgPropertyString
		}
		if f.payload.kind != kindObject {
			return msgPropertyValue
		}
		strs[strProperty] = f.property
		env.Value = rawOf(data, readPayload(data, f.payload).value)

	case TypeAuth:
		if !optObject(f.payload) {
			return msgAuthPayload
		}

	case TypeRoomJoin, TypeRoomLeave, TypeRoomEmit, TypeRoomStateSet, TypeRoomStateGet:
		if !hasCID {
			return msgComponentIDRequired
		}
		if !optObject(f.payload) {
			return msgRoomPayload
		}
		p := readPayload(data, f.payload)
		// JavaScript `msg.roomId || payload?.roomId`.
		room := p.roomID
		if truthy(data, f.roomID) {
			room = f.roomID
		}
		if room.kind != kindString || room.end-room.start == 2 {
			return msgRoomID
		}
		if !optString(p.roomID) {
			return msgPayloadRoomID
		}
		switch env.Type {
		case TypeRoomEmit:
			if p.event.kind != kindString {
				return msgPayloadEvent
			}
			strs[strEvent] = p.event
			env.Data = rawOf(data, p.data)
		case TypeRoomStateSet:
			if p.state.kind != kindObject {
				return msgPayloadState
			}
			env.State = rawOf(data, p.state)
		case TypeRoomJoin:
			env.State = rawOf(data, p.initialState)
		}
		strs[strRoomID] = room
	}
	return ""
}

// strField names the decoded string fields of an Envelope.
type strField uint8

const (
	strComponentID strField = iota
	strRequestID
	strAction
	strProperty
	strComponent
	strRoom
	strDebugLabel
	strRoomID
	strEvent
	strIdempotencyKey
	numStrFields
)

// plainLen returns the total length of the recorded literals' bodies and
// whether none of them needs decoding.
func (ss *strSpans) plainLen() (n int, ok bool) {
	for i := range ss {
		if ss[i].kind == kindString {
			if ss[i].slow {
				return 0, false
			}
			n += ss[i].end - ss[i].start - 2
		}
	}
	return n, true
}

// strSpans records which string literal fills which Envelope field; kindAbsent
// entries are left empty.
type strSpans [numStrFields]span

// setOpt records v for field when v is a string.
func (ss *strSpans) setOpt(field strField, v span) {
	if v.kind == kindString {
		ss[field] = v
	}
}

// decodeInto decodes every recorded literal into one string and fills env's
// string fields with substrings of it: one allocation in all (none when
// every string is empty).
func (ss *strSpans) decodeInto(env *Envelope, data []byte) {
	var end [numStrFields]int
	var all string
	if n, ok := ss.plainLen(); ok {
		// Fast path: no escapes, so the decoded text is the raw text.
		var b strings.Builder
		b.Grow(n)
		for i := range ss {
			if ss[i].kind == kindString {
				b.Write(data[ss[i].start+1 : ss[i].end-1])
			}
			end[i] = b.Len()
		}
		all = b.String()
	} else {
		var inline [128]byte
		buf := inline[:0]
		for i := range ss {
			if ss[i].kind == kindString {
				buf = appendDecoded(buf, data, ss[i])
			}
			end[i] = len(buf)
		}
		all = string(buf)
	}
	start := 0
	for i := range ss {
		if ss[i].kind != kindString {
			continue
		}
		v := all[start:end[i]]
		start = end[i]
		switch strField(i) {
		case strComponentID:
			env.ComponentID = v
		case strRequestID:
			env.RequestID = v
		case strAction:
			env.Action = v
		case strProperty:
			env.Property = v
		case strComponent:
			env.Component = v
		case strRoom:
			env.Room = v
		case strDebugLabel:
			env.DebugLabel = v
		case strRoomID:
			env.RoomID = v
		case strEvent:
			env.Event = v
		case strIdempotencyKey:
			env.IdempotencyKey = v
		}
	}
}

// parseUint parses a plain non-negative decimal integer (no sign, fraction
// or exponent) that fits in 53 bits.
func parseUint(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 16 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, n < 1<<53
}
