package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/live-go/live/internal/protocol"
)

// rehydrationRequired is the marker the server puts in the error text when a
// component id is unknown to the connection (spec §1.8).
const rehydrationRequired = "COMPONENT_REHYDRATION_REQUIRED"

// ErrClosed is wrapped by every error caused by the connection being closed,
// by [Client.Close] or by the peer. The close status, when there is one, is
// wrapped too: use websocket.CloseStatus(err) to read it.
var ErrClosed = errors.New("client: connection closed")

// ErrRehydrationRequired matches (with errors.Is) an [*Error] whose server
// message contains COMPONENT_REHYDRATION_REQUIRED: the server does not know
// the component id on this connection, and the caller decides whether to
// re-mount or rehydrate.
var ErrRehydrationRequired = errors.New("client: component rehydration required")

// ErrUnmounted is returned (or wrapped) by [Component] methods called after
// [Component.Unmount], or after a reconnection failed to recover the
// component ([RecoveryFailed]).
var ErrUnmounted = errors.New("client: component unmounted")

// ErrOutcomeUnknown is returned by [Component.Call] when the connection was
// lost after the action was sent and the component came back as a new
// server instance (rehydrated or remounted): the server that received the
// first attempt is gone with its idempotency records, so whether the action
// ran cannot be known, and it is not sent again.
var ErrOutcomeUnknown = errors.New("client: connection lost during the action and the component was recreated; the action may or may not have run")

// Error is a failed reply from the server: a reply with "success":false or a
// reply of type ERROR. Use errors.As to get it from a returned error.
type Error struct {
	// Message is the server's error text, verbatim.
	Message string
	// Type is the type of the failed reply (ACTION_RESPONSE, MESSAGE_RESPONSE,
	// ERROR, ...).
	Type string
}

// Error implements the error interface.
func (e *Error) Error() string {
	return "client: " + e.Type + ": " + e.Message
}

// Is reports whether target is [ErrRehydrationRequired] and the server's
// message asks for a rehydration.
func (e *Error) Is(target error) bool {
	return target == ErrRehydrationRequired && strings.Contains(e.Message, rehydrationRequired)
}

// Message is one server message, after array frames have been split.
//
// Only the envelope fields are decoded; Payload, Result and Raw keep the
// original JSON. A field of the wrong JSON type is left at its zero value.
// The byte slices are shared between all handlers of the message and must
// not be modified.
type Message struct {
	// Type is the message type, e.g. STATE_DELTA or ACTION_RESPONSE.
	Type string
	// ComponentID is the top-level "componentId" (empty when absent).
	ComponentID string
	// RequestID is the top-level "requestId" echoed by replies.
	RequestID string
	// Success is the top-level "success" flag; nil when absent.
	Success *bool
	// Error is the top-level "error" text (empty when absent). Component
	// ERROR emits carry their text in Payload instead.
	Error string
	// Seq is the top-level "seq" extension field of STATE_UPDATE and
	// STATE_DELTA; 0 when absent or not a non-negative integer.
	Seq uint64
	// Payload is the raw "payload" field; nil when absent.
	Payload json.RawMessage
	// Result is the raw "result" field of a reply; nil when absent.
	Result json.RawMessage
	// Raw is the whole JSON object.
	Raw json.RawMessage

	connectionID string // CONNECTION_ESTABLISHED only
	hasSeq       bool   // Seq was present and valid
}

// wireMessage is the strict decoding target for the envelope; any type
// mismatch falls back to parseLenient.
type wireMessage struct {
	Type         string          `json:"type"`
	ComponentID  string          `json:"componentId"`
	RequestID    string          `json:"requestId"`
	ConnectionID string          `json:"connectionId"`
	Success      *bool           `json:"success"`
	Error        string          `json:"error"`
	Seq          json.RawMessage `json:"seq"`
	Payload      json.RawMessage `json:"payload"`
	Result       json.RawMessage `json:"result"`
}

// parseMessage decodes one JSON object. It reports false for anything that
// is not an object.
func parseMessage(raw []byte) (Message, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return Message{}, false
	}
	var w wireMessage
	if err := json.Unmarshal(raw, &w); err != nil {
		return parseLenient(raw)
	}
	m := Message{
		Type:         w.Type,
		ComponentID:  w.ComponentID,
		RequestID:    w.RequestID,
		Success:      w.Success,
		Error:        w.Error,
		Payload:      nonNull(w.Payload),
		Result:       nonNull(w.Result),
		Raw:          raw,
		connectionID: w.ConnectionID,
	}
	m.Seq, m.hasSeq = parseSeq(w.Seq)
	return m, true
}

// parseLenient decodes an object whose envelope fields have unexpected JSON
// types: each field is taken only when it has the expected type.
func parseLenient(raw []byte) (Message, bool) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return Message{}, false
	}
	str := func(k string) string {
		var s string
		if v, ok := fields[k]; ok && json.Unmarshal(v, &s) == nil {
			return s
		}
		return ""
	}
	m := Message{
		Type:         str("type"),
		ComponentID:  str("componentId"),
		RequestID:    str("requestId"),
		Error:        str("error"),
		Payload:      nonNull(fields["payload"]),
		Result:       nonNull(fields["result"]),
		Raw:          raw,
		connectionID: str("connectionId"),
	}
	m.Seq, m.hasSeq = parseSeq(fields["seq"])
	var b bool
	if v, ok := fields["success"]; ok && json.Unmarshal(v, &b) == nil && !bytes.Equal(v, []byte("null")) {
		m.Success = &b
	}
	return m, true
}

// parseSeq reads a "seq" field: a JSON integer in [0, 2^64).
func parseSeq(raw json.RawMessage) (uint64, bool) {
	if len(raw) == 0 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(raw), 10, 64)
	if err != nil {
		return 0, false
	}
	return n, true
}

func nonNull(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return raw
}

// replyError converts a failed reply into an *Error, or returns nil.
func replyError(msg Message) error {
	if msg.Type != protocol.TypeError && (msg.Success == nil || *msg.Success) {
		return nil
	}
	text := msg.Error
	if text == "" && msg.Payload != nil {
		var p struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(msg.Payload, &p) == nil {
			text = p.Error
		}
	}
	if text == "" {
		text = "request failed"
	}
	return &Error{Message: text, Type: msg.Type}
}
