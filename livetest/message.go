package livetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/live-go/live/internal/msgpack"
	"github.com/live-go/live/internal/protocol"
)

// Types of the messages that stand for binary frames (JSON messages keep the
// wire type). Binary room frames are reported as ROOM_EVENT and ROOM_STATE
// messages with Binary set, so typed and untyped rooms read alike.
const (
	// TypeBinaryDelta is a 0x01 frame: a component's binary state delta,
	// encoded by the component; its bytes are in Message.Raw.
	TypeBinaryDelta = "BINARY_DELTA"
	// TypeBinary is a binary frame of an unknown type, or one that could
	// not be parsed (Message.Error says why).
	TypeBinary = "BINARY"
	// TypeInvalid is a text frame that is not JSON (a server bug);
	// Message.Error says why.
	TypeInvalid = "INVALID"
)

// Message is one message the server sent on a connection: a JSON object
// (a text frame holding an array yields one Message per element) or a
// binary frame. The fields other than Type and Raw are filled from the
// message when it has them.
type Message struct {
	// Type is the message type: a protocol type ("STATE_DELTA", "ERROR",
	// "ROOM_EVENT", ...), the event name of a custom Base.Emit, or one of
	// TypeBinaryDelta, TypeBinary and TypeInvalid.
	Type string
	// ComponentID is the component the message is about. For BROADCAST it
	// is the sender; for room messages, the receiving component.
	ComponentID string
	// RequestID echoes the request a reply answers.
	RequestID string
	// RoomID is the room of a room message (top-level roomId, or
	// payload.roomId in replies), or the room of a BROADCAST.
	RoomID string
	// Event is the event of a room message or the custom type of a
	// BROADCAST (payload.type).
	Event string
	// Action is the action of a component ERROR (payload.action).
	Action string
	// Error is the error text of an ERROR or of a failed reply.
	Error string
	// Success is the success flag of a reply.
	Success bool
	// Data is what the message carries: a custom emit's payload, a
	// BROADCAST's payload.data, a room message's data (decoded from
	// MessagePack to JSON for binary frames), a reply's result or room
	// state, a STATE_UPDATE's state, a STATE_DELTA's delta, a
	// STATE_SIGNATURE's signed state. Nil when the message has none.
	Data json.RawMessage
	// Payload is the message's "payload" member as sent, or nil.
	Payload json.RawMessage
	// Binary reports a binary frame.
	Binary bool
	// Raw is the message exactly as sent: the JSON object's text, or the
	// whole binary frame.
	Raw []byte

	seq    uint64 // top-level "seq" of state messages
	hasSeq bool
}

// Decode unmarshals m.Data into v.
func (m Message) Decode(v any) error {
	if len(m.Data) == 0 {
		return fmt.Errorf("livetest: %s message has no data", m.Type)
	}
	if err := json.Unmarshal(m.Data, v); err != nil {
		return fmt.Errorf("livetest: decode %s data: %w", m.Type, err)
	}
	return nil
}

// String returns the message's raw text (binary frames in hex).
func (m Message) String() string {
	if m.Binary {
		return fmt.Sprintf("%s %x", m.Type, m.Raw)
	}
	return string(m.Raw)
}

// parseFrame splits one server frame into messages. It never fails: a frame
// it cannot read becomes a TypeInvalid or TypeBinary message with Error set.
// The returned messages own their bytes (data may be reused by the caller).
func parseFrame(binary bool, data []byte) []Message {
	if binary {
		return []Message{parseBinary(bytes.Clone(data))}
	}
	text := bytes.TrimSpace(data)
	if len(text) > 0 && text[0] == '[' {
		var elems []json.RawMessage
		if err := json.Unmarshal(text, &elems); err != nil {
			return []Message{invalid(data, err)}
		}
		out := make([]Message, 0, len(elems))
		for _, e := range elems {
			out = append(out, parseObject(bytes.Clone(e)))
		}
		return out
	}
	return []Message{parseObject(bytes.Clone(text))}
}

func invalid(data []byte, err error) Message {
	return Message{Type: TypeInvalid, Raw: bytes.Clone(data), Error: err.Error()}
}

// parseObject reads one JSON message. raw is owned by the result.
func parseObject(raw []byte) Message {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return invalid(raw, err)
	}
	if top == nil {
		return invalid(raw, fmt.Errorf("message is not an object"))
	}
	m := Message{
		Type:        str(top["type"]),
		ComponentID: str(top["componentId"]),
		RequestID:   str(top["requestId"]),
		RoomID:      str(top["roomId"]),
		Event:       str(top["event"]),
		Error:       str(top["error"]),
		Raw:         raw,
	}
	if p, ok := top["payload"]; ok && !isNull(p) {
		m.Payload = p
	}
	_ = json.Unmarshal(top["success"], &m.Success)
	if s, ok := top["seq"]; ok {
		if n, err := strconv.ParseUint(string(s), 10, 64); err == nil {
			m.seq, m.hasSeq = n, true
		}
	}
	var payload map[string]json.RawMessage
	if len(m.Payload) > 0 && m.Payload[0] == '{' {
		_ = json.Unmarshal(m.Payload, &payload)
	}
	field := func(k string) json.RawMessage {
		if v, ok := payload[k]; ok && len(v) > 0 {
			return v
		}
		return nil
	}
	switch m.Type {
	case protocol.TypeStateUpdate, protocol.TypeStateRehydrated:
		m.Data = field("state")
	case protocol.TypeStateDelta:
		m.Data = field("delta")
	case protocol.TypeStateSignature:
		m.Data = field("signedState")
	case protocol.TypeError:
		if m.Error == "" {
			m.Error = str(field("error"))
		}
		m.Action = str(field("action"))
	case protocol.TypeBroadcast:
		m.Event = str(field("type"))
		m.Data = field("data")
		m.RoomID = str(top["room"])
	case protocol.TypeMessageResponse, protocol.TypeActionResponse, protocol.TypeComponentRehydrated,
		protocol.TypeAuthResponse:
		m.Data = top["result"]
		if m.Type == protocol.TypeAuthResponse {
			m.Data = m.Payload
		}
	case protocol.TypeRoomJoined, protocol.TypeRoomLeft, protocol.TypeRoomState, protocol.TypeRoomEvent,
		protocol.TypeRoomSystem:
		if d, ok := top["data"]; ok {
			m.Data = d // broadcast form: {roomId, event, data}
		} else {
			m.Data = field("state") // reply form: payload {roomId, state}
		}
		if m.RoomID == "" {
			m.RoomID = str(field("roomId"))
		}
	default:
		if d, ok := top["data"]; ok {
			m.Data = d
		} else {
			m.Data = top["payload"]
		}
	}
	return m
}

// parseBinary reads one binary frame. frame is owned by the result.
func parseBinary(frame []byte) Message {
	m := Message{Type: TypeBinary, Binary: true, Raw: frame}
	if len(frame) == 0 {
		m.Error = "empty binary frame"
		return m
	}
	switch frame[0] {
	case protocol.FrameComponentDelta:
		id, _, err := protocol.ParseComponentDelta(frame)
		if err != nil {
			m.Error = err.Error()
			return m
		}
		m.Type, m.ComponentID = TypeBinaryDelta, string(id)
	case protocol.FrameRoomEvent, protocol.FrameRoomState:
		f, err := protocol.ParseRoomFrame(frame)
		if err != nil {
			m.Error = err.Error()
			return m
		}
		m.Type = protocol.TypeRoomEvent
		if f.Kind == protocol.FrameRoomState {
			m.Type = protocol.TypeRoomState
		}
		m.ComponentID, m.RoomID, m.Event = string(f.ComponentID), string(f.RoomID), string(f.Event)
		data, err := roomPayload(f.Payload)
		if err != nil {
			m.Error = err.Error()
		}
		m.Data = data
	default:
		m.Error = fmt.Sprintf("unknown binary frame type 0x%02x", frame[0])
	}
	return m
}

// roomPayload returns the JSON form of a binary room frame's payload.
// Rooms encode payloads with MessagePack unless registered with the "json"
// codec. Any MessagePack value longer than one byte starts with a byte above
// 0x7f, which cannot start JSON text, so a longer payload that is valid JSON
// is taken as JSON; one-byte payloads are read as MessagePack.
func roomPayload(p []byte) (json.RawMessage, error) {
	if len(p) > 1 && json.Valid(p) {
		return json.RawMessage(bytes.Clone(p)), nil
	}
	out, err := msgpack.DecodeToJSON(nil, p)
	if err != nil {
		return nil, fmt.Errorf("room payload: %w", err)
	}
	return out, nil
}

// str decodes a JSON string member; anything else yields "".
func str(raw json.RawMessage) string {
	if len(raw) < 2 || raw[0] != '"' {
		return ""
	}
	if body := raw[1 : len(raw)-1]; raw[len(raw)-1] == '"' && bytes.IndexByte(body, '\\') < 0 && utf8.Valid(body) {
		return string(body) // no escapes: the text is the value
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return ""
	}
	return s
}

func isNull(raw json.RawMessage) bool { return string(raw) == "null" }
