package protocol

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// reply parses frame and returns the reply frame the server would send, or
// "" when the frame is accepted.
func reply(t *testing.T, frame string) string {
	t.Helper()
	env, err := Parse([]byte(frame))
	if err == nil {
		if env.Type == "" {
			t.Fatalf("Parse(%s): accepted with empty Type", frame)
		}
		return ""
	}
	if err.Error() != err.Message {
		t.Fatalf("Error() = %q, want %q", err.Error(), err.Message)
	}
	out := AppendErrorReply(nil, err)
	if !json.Valid(out) {
		t.Fatalf("reply is not valid JSON: %s", out)
	}
	return string(out)
}

func errReply(cid, msg, rid string) string {
	o := Object(nil)
	o.Str("type", "ERROR")
	if cid != "-" {
		o.Str("componentId", cid)
	}
	o.Bool("success", false)
	o.Str("error", "Invalid message: "+msg)
	if rid != "-" {
		o.Str("requestId", rid)
	}
	return string(o.Close())
}

const validSigned = `{"data":"eyJ9","signature":"abc","timestamp":1795773727840,"version":1,"componentId":"c-1"}`

func TestParseErrorReplies(t *testing.T) {
	const (
		invalidJSON    = `{"type":"ERROR","error":"Invalid JSON"}`
		expectedObject = `{"type":"ERROR","error":"Invalid message: expected object"}`
	)
	tests := []struct {
		name, frame, want string
	}{
		// Step 5: JSON syntax.
		{"empty", ``, invalidJSON},
		{"whitespace only", " \n\t\r", invalidJSON},
		{"not json", `{not json`, invalidJSON},
		{"trailing garbage", `{"type":"PING"} x`, invalidJSON},
		{"two objects", `{"type":"PING"}{}`, invalidJSON},
		{"trailing comma", `{"type":"PING",}`, invalidJSON},
		{"single quotes", `{'type':'PING'}`, invalidJSON},
		{"unquoted key", `{type:"PING"}`, invalidJSON},
		{"bad escape", `{"type":"\x"}`, invalidJSON},
		{"short unicode escape", `{"type":"\u12"}`, invalidJSON},
		{"raw control char", "{\"type\":\"a\nb\"}", invalidJSON},
		{"leading zero", `{"timestamp":01}`, invalidJSON},
		{"bare minus", `{"timestamp":-}`, invalidJSON},
		{"dot without digits", `{"timestamp":1.}`, invalidJSON},
		{"exponent without digits", `{"timestamp":1e+}`, invalidJSON},
		{"NaN", `{"timestamp":NaN}`, invalidJSON},
		{"truncated literal", `{"expectResponse":tru}`, invalidJSON},
		{"unterminated string", `{"type":"PING`, invalidJSON},
		{"unclosed object", `{"type":"PING"`, invalidJSON},
		{"mismatched brackets", `{"payload":[}]}`, invalidJSON},
		{"byte order mark", "\xef\xbb\xbf{}", invalidJSON},
		{"invalid root after value", `[] ]`, invalidJSON},
		// Step 6: root type.
		{"array root", `[1,2]`, expectedObject},
		{"null root", `null`, expectedObject},
		{"string root", ` "x" `, expectedObject},
		{"number root", `42`, expectedObject},
		{"bool root", `true`, expectedObject},
		// Envelope (§1.4), in order.
		{"missing type", `{"componentId":"c1","requestId":"r1"}`, errReply("c1", "missing type", "r1")},
		{"type not a string", `{"type":7,"requestId":"r1"}`, errReply("-", "missing type", "r1")},
		{"type null", `{"type":null}`, errReply("-", "missing type", "-")},
		{"type key is case-sensitive", `{"Type":"CALL_ACTION"}`, errReply("-", "missing type", "-")},
		{"missing type beats bad componentId", `{"componentId":1,"requestId":"r1"}`, errReply("-", "missing type", "r1")},
		{"componentId number", `{"type":"COMPONENT_UNMOUNT","componentId":123,"requestId":"r1"}`, errReply("-", "componentId must be a string", "r1")},
		{"componentId null", `{"type":"CALL_ACTION","componentId":null,"action":"a"}`, errReply("-", "componentId must be a string", "-")},
		{"requestId object", `{"type":"COMPONENT_UNMOUNT","componentId":"c","requestId":{"x":1}}`, errReply("c", "requestId must be a string", "-")},
		{"responseId number", `{"type":"AUTH","responseId":1,"requestId":"r1"}`, errReply("-", "responseId must be a string", "r1")},
		{"expectResponse string", `{"type":"CALL_ACTION","componentId":"c","action":"a","expectResponse":"yes"}`, errReply("c", "expectResponse must be a boolean", "-")},
		{"expectResponse null", `{"type":"CALL_ACTION","componentId":"c","action":"a","expectResponse":null}`, errReply("c", "expectResponse must be a boolean", "-")},
		{"timestamp string", `{"type":"AUTH","timestamp":"now"}`, errReply("-", "timestamp must be a number", "-")},
		{"userId number", `{"type":"AUTH","userId":5}`, errReply("-", "userId must be a string", "-")},
		{"room array", `{"type":"AUTH","room":[]}`, errReply("-", "room must be a string", "-")},
		{"envelope order", `{"type":"AUTH","room":1,"userId":1,"timestamp":"x","expectResponse":1,"responseId":1}`, errReply("-", "responseId must be a string", "-")},
		{"envelope before unknown type", `{"type":"NOPE","requestId":1}`, errReply("-", "requestId must be a string", "-")},
		// Unknown types.
		{"unknown type", `{"type":"NOPE","componentId":"c1","requestId":"r1"}`, `{"type":"MESSAGE_RESPONSE","componentId":"c1","success":false,"error":"Unknown message type","requestId":"r1"}`},
		{"COMPONENT_ACTION", `{"type":"COMPONENT_ACTION","requestId":"r1"}`, `{"type":"MESSAGE_RESPONSE","success":false,"error":"Unknown message type","requestId":"r1"}`},
		{"COMPONENT_PING", `{"type":"COMPONENT_PING","componentId":"c","requestId":"r"}`, `{"type":"MESSAGE_RESPONSE","componentId":"c","success":false,"error":"Unknown message type","requestId":"r"}`},
		{"COMPONENT_PONG", `{"type":"COMPONENT_PONG"}`, `{"type":"MESSAGE_RESPONSE","success":false,"error":"Unknown message type"}`},
		{"lowercase type", `{"type":"call_action"}`, `{"type":"MESSAGE_RESPONSE","success":false,"error":"Unknown message type"}`},
		{"empty type", `{"type":""}`, `{"type":"MESSAGE_RESPONSE","success":false,"error":"Unknown message type"}`},
		{"type with trailing space", `{"type":"PING "}`, `{"type":"MESSAGE_RESPONSE","success":false,"error":"Unknown message type"}`},
		{"server type", `{"type":"STATE_DELTA"}`, `{"type":"MESSAGE_RESPONSE","success":false,"error":"Unknown message type"}`},
		{"empty ids are echoed", `{"type":"NOPE","componentId":"","requestId":""}`, `{"type":"MESSAGE_RESPONSE","componentId":"","success":false,"error":"Unknown message type","requestId":""}`},
		{"echo is decoded and re-escaped", `{"type":"NOPE","componentId":"a\"b\u00e9\n","requestId":"<&>"}`, `{"type":"MESSAGE_RESPONSE","componentId":"a\"bé\n","success":false,"error":"Unknown message type","requestId":"<&>"}`},
		// COMPONENT_MOUNT.
		{"mount without payload", `{"type":"COMPONENT_MOUNT","requestId":"m1"}`, errReply("-", "COMPONENT_MOUNT requires payload", "m1")},
		{"mount payload null", `{"type":"COMPONENT_MOUNT","payload":null}`, errReply("-", "COMPONENT_MOUNT requires payload", "-")},
		{"mount payload array", `{"type":"COMPONENT_MOUNT","payload":[{"component":"X"}]}`, errReply("-", "COMPONENT_MOUNT requires payload", "-")},
		{"mount payload string", `{"type":"COMPONENT_MOUNT","payload":"X"}`, errReply("-", "COMPONENT_MOUNT requires payload", "-")},
		{"mount component missing", `{"type":"COMPONENT_MOUNT","payload":{"componentName":"X"}}`, errReply("-", "payload.component must be a string", "-")},
		{"mount component number", `{"type":"COMPONENT_MOUNT","payload":{"component":123},"requestId":"m2"}`, errReply("-", "payload.component must be a string", "m2")},
		{"mount props string", `{"type":"COMPONENT_MOUNT","payload":{"component":"X","props":"nope"}}`, errReply("-", "payload.props must be an object", "-")},
		{"mount props array", `{"type":"COMPONENT_MOUNT","payload":{"component":"X","props":[]}}`, errReply("-", "payload.props must be an object", "-")},
		{"mount props null", `{"type":"COMPONENT_MOUNT","payload":{"component":"X","props":null}}`, errReply("-", "payload.props must be an object", "-")},
		{"mount room number", `{"type":"COMPONENT_MOUNT","payload":{"component":"X","room":5}}`, errReply("-", "payload.room must be a string", "-")},
		{"mount userId bool", `{"type":"COMPONENT_MOUNT","payload":{"component":"X","userId":true}}`, errReply("-", "payload.userId must be a string", "-")},
		{"mount debugLabel object", `{"type":"COMPONENT_MOUNT","payload":{"component":"X","debugLabel":{}}}`, errReply("-", "payload.debugLabel must be a string", "-")},
		{"mount check order", `{"type":"COMPONENT_MOUNT","componentId":"mount-X","payload":{"debugLabel":1,"userId":1,"room":1,"props":1,"component":"X"}}`, errReply("mount-X", "payload.props must be an object", "-")},
		// COMPONENT_UNMOUNT.
		{"unmount without componentId", `{"type":"COMPONENT_UNMOUNT","requestId":"r"}`, errReply("-", "componentId is required", "r")},
		// COMPONENT_REHYDRATE.
		{"rehydrate without componentId", `{"type":"COMPONENT_REHYDRATE","payload":{"component":"X","signedState":` + validSigned + `}}`, errReply("-", "componentId is required", "-")},
		{"rehydrate without payload", `{"type":"COMPONENT_REHYDRATE","componentId":"c"}`, errReply("c", "COMPONENT_REHYDRATE requires payload", "-")},
		{"rehydrate component missing", `{"type":"COMPONENT_REHYDRATE","componentId":"c","payload":{"componentName":"X","signedState":` + validSigned + `}}`, errReply("c", "payload.component must be a string", "-")},
		{"rehydrate signedState missing", `{"type":"COMPONENT_REHYDRATE","componentId":"c","payload":{"component":"X"}}`, errReply("c", "payload.signedState is malformed", "-")},
		{"rehydrate signedState string", `{"type":"COMPONENT_REHYDRATE","componentId":"c","payload":{"component":"X","signedState":"x"},"requestId":"m6"}`, errReply("c", "payload.signedState is malformed", "m6")},
		{"rehydrate signedState array", `{"type":"COMPONENT_REHYDRATE","componentId":"c","payload":{"component":"X","signedState":[]}}`, errReply("c", "payload.signedState is malformed", "-")},
		{"rehydrate version string", `{"type":"COMPONENT_REHYDRATE","componentId":"c","payload":{"component":"X","signedState":{"data":"d","signature":"s","timestamp":1,"version":"1","componentId":"c"}}}`, errReply("c", "payload.signedState is malformed", "-")},
		{"rehydrate data missing", `{"type":"COMPONENT_REHYDRATE","componentId":"c","payload":{"component":"X","signedState":{"signature":"s","timestamp":1,"version":1,"componentId":"c"}}}`, errReply("c", "payload.signedState is malformed", "-")},
		{"rehydrate signature number", `{"type":"COMPONENT_REHYDRATE","componentId":"c","payload":{"component":"X","signedState":{"data":"d","signature":1,"timestamp":1,"version":1,"componentId":"c"}}}`, errReply("c", "payload.signedState is malformed", "-")},
		{"rehydrate timestamp string", `{"type":"COMPONENT_REHYDRATE","componentId":"c","payload":{"component":"X","signedState":{"data":"d","signature":"s","timestamp":"1","version":1,"componentId":"c"}}}`, errReply("c", "payload.signedState is malformed", "-")},
		{"rehydrate inner componentId missing", `{"type":"COMPONENT_REHYDRATE","componentId":"c","payload":{"component":"X","signedState":{"data":"d","signature":"s","timestamp":1,"version":1}}}`, errReply("c", "payload.signedState is malformed", "-")},
		{"rehydrate nonce number", `{"type":"COMPONENT_REHYDRATE","componentId":"c","payload":{"component":"X","signedState":{"data":"d","signature":"s","timestamp":1,"version":1,"componentId":"c","nonce":1}}}`, errReply("c", "payload.signedState is malformed", "-")},
		{"rehydrate nonce null", `{"type":"COMPONENT_REHYDRATE","componentId":"c","payload":{"component":"X","signedState":{"data":"d","signature":"s","timestamp":1,"version":1,"componentId":"c","nonce":null}}}`, errReply("c", "payload.signedState is malformed", "-")},
		{"rehydrate compressed string", `{"type":"COMPONENT_REHYDRATE","componentId":"c","payload":{"component":"X","signedState":{"data":"d","signature":"s","timestamp":1,"version":1,"componentId":"c","compressed":"yes"}}}`, errReply("c", "payload.signedState is malformed", "-")},
		{"rehydrate encrypted number", `{"type":"COMPONENT_REHYDRATE","componentId":"c","payload":{"component":"X","signedState":{"data":"d","signature":"s","timestamp":1,"version":1,"componentId":"c","encrypted":0}}}`, errReply("c", "payload.signedState is malformed", "-")},
		{"rehydrate signedState duplicate last wins", `{"type":"COMPONENT_REHYDRATE","componentId":"c","payload":{"component":"X","signedState":{"data":"d","signature":"s","timestamp":1,"version":1,"componentId":"c","version":"2"}}}`, errReply("c", "payload.signedState is malformed", "-")},
		{"rehydrate room number", `{"type":"COMPONENT_REHYDRATE","componentId":"c","payload":{"component":"X","signedState":` + validSigned + `,"room":1}}`, errReply("c", "payload.room must be a string", "-")},
		{"rehydrate userId number", `{"type":"COMPONENT_REHYDRATE","componentId":"c","payload":{"component":"X","signedState":` + validSigned + `,"userId":1}}`, errReply("c", "payload.userId must be a string", "-")},
		// CALL_ACTION.
		{"action without componentId", `{"type":"CALL_ACTION","action":"x"}`, errReply("-", "componentId is required", "-")},
		{"action missing", `{"type":"CALL_ACTION","componentId":"c","requestId":"m4"}`, errReply("c", "action must be a string", "m4")},
		{"action number", `{"type":"CALL_ACTION","componentId":"c","action":42}`, errReply("c", "action must be a string", "-")},
		{"action in payload does not count", `{"type":"CALL_ACTION","componentId":"c","payload":{"action":"x"}}`, errReply("c", "action must be a string", "-")},
		{"componentId before action", `{"type":"CALL_ACTION"}`, errReply("-", "componentId is required", "-")},
		// PROPERTY_UPDATE.
		{"property update without componentId", `{"type":"PROPERTY_UPDATE","property":"p","payload":{"value":1}}`, errReply("-", "componentId is required", "-")},
		{"property missing", `{"type":"PROPERTY_UPDATE","componentId":"c","payload":{"value":1}}`, errReply("c", "property must be a string", "-")},
		{"property update without payload", `{"type":"PROPERTY_UPDATE","componentId":"c","property":"n","requestId":"m5"}`, errReply("c", "PROPERTY_UPDATE requires payload.value", "m5")},
		{"property update payload number", `{"type":"PROPERTY_UPDATE","componentId":"c","property":"p","payload":5}`, errReply("c", "PROPERTY_UPDATE requires payload.value", "-")},
		{"property update payload null", `{"type":"PROPERTY_UPDATE","componentId":"c","property":"p","payload":null}`, errReply("c", "PROPERTY_UPDATE requires payload.value", "-")},
		// AUTH.
		{"auth payload string", `{"type":"AUTH","payload":"tok","requestId":"m9"}`, errReply("-", "AUTH payload must be an object", "m9")},
		{"auth payload null", `{"type":"AUTH","payload":null}`, errReply("-", "AUTH payload must be an object", "-")},
		{"auth payload array", `{"type":"AUTH","payload":[]}`, errReply("-", "AUTH payload must be an object", "-")},
		// ROOM_*.
		{"room without componentId", `{"type":"ROOM_JOIN","roomId":"r"}`, errReply("-", "componentId is required", "-")},
		{"room payload string", `{"type":"ROOM_STATE_SET","componentId":"c","roomId":"r","payload":"x"}`, errReply("c", "room payload must be an object", "-")},
		{"room payload null", `{"type":"ROOM_LEAVE","componentId":"c","roomId":"r","payload":null}`, errReply("c", "room payload must be an object", "-")},
		{"room payload array", `{"type":"ROOM_LEAVE","componentId":"c","roomId":"r","payload":[]}`, errReply("c", "room payload must be an object", "-")},
		{"room payload checked before roomId", `{"type":"ROOM_JOIN","componentId":"c","payload":1}`, errReply("c", "room payload must be an object", "-")},
		{"roomId missing", `{"type":"ROOM_JOIN","componentId":"c"}`, errReply("c", "roomId must be a non-empty string", "-")},
		{"roomId number", `{"type":"ROOM_JOIN","componentId":"c","roomId":7}`, errReply("c", "roomId must be a non-empty string", "-")},
		{"roomId object", `{"type":"ROOM_JOIN","componentId":"c","roomId":{"a":1},"requestId":"m8"}`, errReply("c", "roomId must be a non-empty string", "m8")},
		{"truthy top-level roomId wins over payload", `{"type":"ROOM_JOIN","componentId":"c","roomId":true,"payload":{"roomId":"r"}}`, errReply("c", "roomId must be a non-empty string", "-")},
		{"empty roomIds", `{"type":"ROOM_JOIN","componentId":"c","roomId":"","payload":{"roomId":""}}`, errReply("c", "roomId must be a non-empty string", "-")},
		{"payload roomId number", `{"type":"ROOM_LEAVE","componentId":"c","payload":{"roomId":5}}`, errReply("c", "roomId must be a non-empty string", "-")},
		{"payload roomId number under top-level roomId", `{"type":"ROOM_LEAVE","componentId":"c","roomId":"r","payload":{"roomId":5}}`, errReply("c", "payload.roomId must be a string", "-")},
		{"payload roomId null under top-level roomId", `{"type":"ROOM_LEAVE","componentId":"c","roomId":"r","payload":{"roomId":null}}`, errReply("c", "payload.roomId must be a string", "-")},
		{"emit without payload", `{"type":"ROOM_EMIT","componentId":"c","roomId":"r"}`, errReply("c", "payload.event must be a string", "-")},
		{"emit without event", `{"type":"ROOM_EMIT","componentId":"c","roomId":"r","payload":{},"requestId":"m7"}`, errReply("c", "payload.event must be a string", "m7")},
		{"emit event number", `{"type":"ROOM_EMIT","componentId":"c","roomId":"r","payload":{"event":1}}`, errReply("c", "payload.event must be a string", "-")},
		{"state set array", `{"type":"ROOM_STATE_SET","componentId":"c","roomId":"r","payload":{"state":[1]}}`, errReply("c", "payload.state must be an object", "-")},
		{"state set null", `{"type":"ROOM_STATE_SET","componentId":"c","roomId":"r","payload":{"state":null}}`, errReply("c", "payload.state must be an object", "-")},
		{"state set without payload", `{"type":"ROOM_STATE_SET","componentId":"c","roomId":"r"}`, errReply("c", "payload.state must be an object", "-")},
		// FILE_UPLOAD_*: envelope only.
		{"upload bad componentId", `{"type":"FILE_UPLOAD_CHUNK","componentId":9}`, errReply("-", "componentId must be a string", "-")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := reply(t, tt.frame); got != tt.want {
				t.Errorf("Parse(%s)\n got reply %s\nwant reply %s", tt.frame, got, tt.want)
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	frames := []string{
		`{"type":"COMPONENT_UNMOUNT","componentId":""}`,
		`{"type":"CALL_ACTION","componentId":"c","action":""}`,
		`{"type":"AUTH"}`,
		`{"type":"FILE_UPLOAD_START","componentId":"c","uploadId":5,"filename":{},"requestId":"r"}`,
		`{"type":"FILE_UPLOAD_CHUNK"}`,
		`{"type":"FILE_UPLOAD_COMPLETE","payload":7}`,
		`{"type":"PROPERTY_UPDATE","componentId":"c","property":"p","payload":{}}`,
		`{"type":"ROOM_LEAVE","componentId":"c","payload":{"roomId":"r2"}}`,
		`{"type":"ROOM_LEAVE","componentId":"c","roomId":0,"payload":{"roomId":"r2"}}`,
		`{"type":"ROOM_LEAVE","componentId":"c","roomId":false,"payload":{"roomId":"r2"}}`,
		`{"type":"ROOM_LEAVE","componentId":"c","roomId":null,"payload":{"roomId":"r2"}}`,
		`{"type":"ROOM_STATE_GET","componentId":"c","roomId":"r","payload":{}}`,
		`{"type":"COMPONENT_REHYDRATE","componentId":"c","payload":{"component":"X","signedState":{"data":"d","signature":"s","timestamp":-1.5e3,"version":0,"componentId":"","nonce":"n","compressed":false,"encrypted":true}}}`,
		`{"type":"AUTH","timestamp":1e400}`,
		`{"type":"AUTH","timestamp":-0.0E-0}`,
	}
	for _, frame := range frames {
		t.Run(frame, func(t *testing.T) {
			if got := reply(t, frame); got != "" {
				t.Errorf("Parse(%s) rejected: %s", frame, got)
			}
		})
	}
}

func TestParsePing(t *testing.T) {
	frames := []string{
		`{"type":"PING"}`,
		`{"type":"PING","componentId":1,"requestId":{},"expectResponse":"x","payload":null}`,
		`{"type":"\u0050ING"}`,
		`{"type":"x","type":"PING"}`,
		"\n{ \"type\" :\t\"PING\" }\r\n",
	}
	for _, frame := range frames {
		t.Run(frame, func(t *testing.T) {
			env, err := Parse([]byte(frame))
			if err != nil {
				t.Fatalf("Parse(%s): %v", frame, err)
			}
			if env.Type != TypePing || string(env.Frame) != frame || env.ComponentID != "" || env.Payload != nil {
				t.Errorf("Parse(%s) = %+v, want a bare PING envelope", frame, env)
			}
		})
	}
	// PING is only recognised after the JSON and root checks.
	if got := reply(t, `{"type":"PING"`); got != `{"type":"ERROR","error":"Invalid JSON"}` {
		t.Errorf("truncated PING: %s", got)
	}
	if got := reply(t, `{"type":"PING","type":"ping"}`); !strings.Contains(got, "Unknown message type") {
		t.Errorf("overridden PING: %s", got)
	}
}

// view is an Envelope with raw fields as strings, for readable comparisons.
type view struct {
	Type, ComponentID, RequestID         string
	HasComponentID, HasRequestID, Expect bool
	Payload, Value, Props, SignedState   string
	Data, State                          string
	Action, Property, Component, Room    string
	DebugLabel, RoomID, Event            string
	NilPayload, NilValue, NilProps       bool
	NilData, NilState, NilSignedState    bool
}

func viewOf(e Envelope) view {
	return view{
		Type: e.Type, ComponentID: e.ComponentID, RequestID: e.RequestID,
		HasComponentID: e.HasComponentID, HasRequestID: e.HasRequestID, Expect: e.ExpectResponse,
		Payload: string(e.Payload), Value: string(e.Value), Props: string(e.Props), SignedState: string(e.SignedState),
		Data: string(e.Data), State: string(e.State),
		Action: e.Action, Property: e.Property, Component: e.Component, Room: e.Room,
		DebugLabel: e.DebugLabel, RoomID: e.RoomID, Event: e.Event,
		NilPayload: e.Payload == nil, NilValue: e.Value == nil, NilProps: e.Props == nil,
		NilData: e.Data == nil, NilState: e.State == nil, NilSignedState: e.SignedState == nil,
	}
}

// nils is the view of an Envelope with every raw field absent.
func nils(v view) view {
	v.NilPayload = v.Payload == ""
	v.NilValue = v.Value == ""
	v.NilProps = v.Props == ""
	v.NilData = v.Data == ""
	v.NilState = v.State == ""
	v.NilSignedState = v.SignedState == ""
	return v
}

func TestParseExtract(t *testing.T) {
	tests := []struct {
		name, frame string
		want        view
	}{
		{"call action", string(benchCallAction), view{
			Type: TypeCallAction, ComponentID: "AbCdEfGh", RequestID: "r1", HasComponentID: true, HasRequestID: true,
			Expect: true, Payload: `{}`, Action: "increment"}},
		{"call action payload any", `{"type":"CALL_ACTION","componentId":"c","action":"go","payload":[1, {"a" : null}],"expectResponse":false}`, view{
			Type: TypeCallAction, ComponentID: "c", HasComponentID: true, Payload: `[1, {"a" : null}]`, Action: "go"}},
		{"call action payload null", `{"type":"CALL_ACTION","componentId":"c","action":"go","payload":null}`, view{
			Type: TypeCallAction, ComponentID: "c", HasComponentID: true, Action: "go"}},
		{"mount", `{"type":"COMPONENT_MOUNT","componentId":"mount-Counter","payload":{"component":"Counter","props":{"a":1},"room":"lobby","userId":"ignored","debugLabel":"d"},"requestId":"req-1","expectResponse":true,"timestamp":1795773727835}`, view{
			Type: TypeComponentMount, ComponentID: "mount-Counter", RequestID: "req-1", HasComponentID: true, HasRequestID: true, Expect: true,
			Payload:   `{"component":"Counter","props":{"a":1},"room":"lobby","userId":"ignored","debugLabel":"d"}`,
			Component: "Counter", Props: `{"a":1}`, Room: "lobby", DebugLabel: "d"}},
		{"mount minimal", `{"type":"COMPONENT_MOUNT","payload":{"component":"Counter"}}`, view{
			Type: TypeComponentMount, Payload: `{"component":"Counter"}`, Component: "Counter"}},
		{"unmount", `{"type":"COMPONENT_UNMOUNT","componentId":"AbCdEfGh","requestId":"r"}`, view{
			Type: TypeComponentUnmount, ComponentID: "AbCdEfGh", RequestID: "r", HasComponentID: true, HasRequestID: true}},
		{"rehydrate", `{"type":"COMPONENT_REHYDRATE","componentId":"old","payload":{"component":"Counter","signedState":` + validSigned + `,"room":"r1"}}`, view{
			Type: TypeComponentRehydrate, ComponentID: "old", HasComponentID: true,
			Payload:   `{"component":"Counter","signedState":` + validSigned + `,"room":"r1"}`,
			Component: "Counter", SignedState: validSigned, Room: "r1"}},
		{"property update", `{"type":"PROPERTY_UPDATE","componentId":"c","property":"name","payload":{"value":"x"}}`, view{
			Type: TypePropertyUpdate, ComponentID: "c", HasComponentID: true, Payload: `{"value":"x"}`, Property: "name", Value: `"x"`}},
		{"property update null value", `{"type":"PROPERTY_UPDATE","componentId":"c","property":"p","payload":{"value":null}}`, view{
			Type: TypePropertyUpdate, ComponentID: "c", HasComponentID: true, Payload: `{"value":null}`, Property: "p", Value: `null`}},
		{"property update without value", `{"type":"PROPERTY_UPDATE","componentId":"c","property":"p","payload":{"other":1}}`, view{
			Type: TypePropertyUpdate, ComponentID: "c", HasComponentID: true, Payload: `{"other":1}`, Property: "p"}},
		{"auth", `{"type":"AUTH","payload":{"token":"t"},"requestId":"a1"}`, view{
			Type: TypeAuth, RequestID: "a1", HasRequestID: true, Payload: `{"token":"t"}`}},
		{"room join top-level roomId", `{"type":"ROOM_JOIN","componentId":"c","roomId":"chat","payload":{"roomId":"other","initialState":{"n":0}}}`, view{
			Type: TypeRoomJoin, ComponentID: "c", HasComponentID: true, Payload: `{"roomId":"other","initialState":{"n":0}}`,
			RoomID: "chat", State: `{"n":0}`}},
		{"room leave payload roomId", `{"type":"ROOM_LEAVE","componentId":"c","payload":{"roomId":"r2"}}`, view{
			Type: TypeRoomLeave, ComponentID: "c", HasComponentID: true, Payload: `{"roomId":"r2"}`, RoomID: "r2"}},
		{"room falsy top-level roomId", `{"type":"ROOM_STATE_GET","componentId":"c","roomId":-0.0e10,"payload":{"roomId":"r3"}}`, view{
			Type: TypeRoomStateGet, ComponentID: "c", HasComponentID: true, Payload: `{"roomId":"r3"}`, RoomID: "r3"}},
		{"room underflowing top-level roomId is falsy", `{"type":"ROOM_STATE_GET","componentId":"c","roomId":1e-400,"payload":{"roomId":"r4"}}`, view{
			Type: TypeRoomStateGet, ComponentID: "c", HasComponentID: true, Payload: `{"roomId":"r4"}`, RoomID: "r4"}},
		{"room emit", `{"type":"ROOM_EMIT","componentId":"c","roomId":"r","payload":{"event":"typing","data":{"on":true}}}`, view{
			Type: TypeRoomEmit, ComponentID: "c", HasComponentID: true, Payload: `{"event":"typing","data":{"on":true}}`,
			RoomID: "r", Event: "typing", Data: `{"on":true}`}},
		{"room emit null data", `{"type":"ROOM_EMIT","componentId":"c","roomId":"r","payload":{"event":"e","data":null}}`, view{
			Type: TypeRoomEmit, ComponentID: "c", HasComponentID: true, Payload: `{"event":"e","data":null}`,
			RoomID: "r", Event: "e", Data: `null`}},
		{"room state set", `{"type":"ROOM_STATE_SET","componentId":"c","roomId":"r","payload":{"state":{"a":1}}}`, view{
			Type: TypeRoomStateSet, ComponentID: "c", HasComponentID: true, Payload: `{"state":{"a":1}}`, RoomID: "r", State: `{"a":1}`}},
		{"upload start", `{"type":"FILE_UPLOAD_START","componentId":"c","uploadId":"u","filename":"a.png","requestId":"r"}`, view{
			Type: TypeFileUploadStart, ComponentID: "c", RequestID: "r", HasComponentID: true, HasRequestID: true}},
		{"duplicate keys last wins", `{"type":"AUTH","type":"CALL_ACTION","componentId":1,"componentId":"c","action":"a","action":"b","payload":{"x":1},"payload":{"y":2}}`, view{
			Type: TypeCallAction, ComponentID: "c", HasComponentID: true, Payload: `{"y":2}`, Action: "b"}},
		{"duplicate payload keys last wins", `{"type":"COMPONENT_MOUNT","payload":{"component":1,"component":"B","room":2,"room":"r"}}`, view{
			Type: TypeComponentMount, Payload: `{"component":1,"component":"B","room":2,"room":"r"}`, Component: "B", Room: "r"}},
		{"escaped keys", `{"\u0074ype":"CALL_\u0041CTION","component\u0049d":"c","\u0061\u0063\u0074\u0069\u006f\u006e":"a"}`, view{
			Type: TypeCallAction, ComponentID: "c", HasComponentID: true, Action: "a"}},
		{"keys are case-sensitive", `{"type":"CALL_ACTION","componentId":"c","action":"a","Action":"b","ComponentId":1}`, view{
			Type: TypeCallAction, ComponentID: "c", HasComponentID: true, Action: "a"}},
		{"escapes and unicode in values", `{"type":"CALL_ACTION","componentId":"a\"b\\c\/d\b\f\n\r\t","action":"\u00e9\u65e5\ud83d\ude00 ünï","requestId":"\ud800x\udc00"}`, view{
			Type: TypeCallAction, ComponentID: "a\"b\\c/d\b\f\n\r\t", HasComponentID: true, Action: "é日😀 ünï",
			RequestID: "\uFFFDx\uFFFD", HasRequestID: true}},
		{"invalid utf8 replaced", "{\"type\":\"CALL_ACTION\",\"componentId\":\"a\xffb\xc3\",\"action\":\"\xed\xa0\x80\"}", view{
			Type: TypeCallAction, ComponentID: "a\uFFFDb\uFFFD", HasComponentID: true, Action: "\uFFFD\uFFFD\uFFFD"}},
		{"whitespace everywhere", " \t\n{ \"type\" : \"ROOM_EMIT\" ,\r\n \"componentId\"\t:\"c\" , \"payload\" : { \"event\" : \"e\" , \"data\" : [ 1 , 2 ] , \"roomId\" : \"r\" } }\n ", view{
			Type: TypeRoomEmit, ComponentID: "c", HasComponentID: true,
			Payload: `{ "event" : "e" , "data" : [ 1 , 2 ] , "roomId" : "r" }`, RoomID: "r", Event: "e", Data: `[ 1 , 2 ]`}},
		{"huge numbers", `{"type":"CALL_ACTION","componentId":"c","action":"a","timestamp":123456789012345678901234567890e999,"payload":-1.7976931348623157e309}`, view{
			Type: TypeCallAction, ComponentID: "c", HasComponentID: true, Action: "a", Payload: `-1.7976931348623157e309`}},
		{"unknown members ignored", `{"type":"AUTH","extra":{"deep":[[[{"x":"}"}]]]},"payload":{}}`, view{
			Type: TypeAuth, Payload: `{}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := Parse([]byte(tt.frame))
			if err != nil {
				t.Fatalf("Parse(%s): %v", tt.frame, err)
			}
			if string(env.Frame) != tt.frame {
				t.Errorf("Frame = %s", env.Frame)
			}
			if got, want := viewOf(env), nils(tt.want); !reflect.DeepEqual(got, want) {
				t.Errorf("Parse(%s)\n got %+v\nwant %+v", tt.frame, got, want)
			}
		})
	}
}

func TestParseRawFieldsDoNotAliasOnAppend(t *testing.T) {
	frame := []byte(`{"type":"CALL_ACTION","componentId":"c","action":"a","payload":{"x":1},"requestId":"r"}`)
	orig := string(frame)
	env, err := Parse(frame)
	if err != nil {
		t.Fatal(err)
	}
	_ = append(env.Payload, "garbage"...)
	if string(frame) != orig {
		t.Errorf("appending to Payload changed the frame: %s", frame)
	}
}

func TestParseNesting(t *testing.T) {
	nested := func(n int) string {
		return `{"type":"CALL_ACTION","componentId":"c","action":"a","payload":` +
			strings.Repeat("[", n) + strings.Repeat("]", n) + `}`
	}
	// The root object is one level: 9999 arrays make 10000, json.Valid's limit.
	for _, n := range []int{1, 300, 9999} {
		frame := nested(n)
		if !json.Valid([]byte(frame)) {
			t.Fatalf("json.Valid rejects depth %d", n+1)
		}
		env, err := Parse([]byte(frame))
		if err != nil || len(env.Payload) != 2*n {
			t.Errorf("depth %d: err %v, payload length %d", n+1, err, len(env.Payload))
		}
	}
	frame := nested(10000)
	if json.Valid([]byte(frame)) {
		t.Fatal("json.Valid accepts depth 10001")
	}
	if got := reply(t, frame); got != `{"type":"ERROR","error":"Invalid JSON"}` {
		t.Errorf("depth 10001: %s", got)
	}
	// Deep non-object roots are bounded the same way.
	if got := reply(t, strings.Repeat("[", 10001)+strings.Repeat("]", 10001)); got != `{"type":"ERROR","error":"Invalid JSON"}` {
		t.Errorf("deep array root: %s", got)
	}
	if got := reply(t, strings.Repeat("[", 10000)+strings.Repeat("]", 10000)); got != `{"type":"ERROR","error":"Invalid message: expected object"}` {
		t.Errorf("array root at the limit: %s", got)
	}
}

func TestAppendErrorReply(t *testing.T) {
	if got := AppendErrorReply([]byte("x"), nil); string(got) != "x" {
		t.Errorf("nil error appended %q", got)
	}
	e := &Error{Kind: KindInvalid, Message: "Invalid message: missing type", ComponentID: "c", HasComponentID: true}
	if got, want := string(AppendErrorReply([]byte("["), e)), `[{"type":"ERROR","componentId":"c","success":false,"error":"Invalid message: missing type"}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	for _, msg := range []string{MsgRateLimitExceeded, MsgMessageTooLarge, DepthError(32)} {
		if got, want := string(AppendError(nil, msg)), `{"type":"ERROR","error":"`+msg+`"}`; got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
	if got := DepthError(32); got != "JSON nesting too deep (max 32)" {
		t.Errorf("DepthError(32) = %q", got)
	}
}

func TestParseAllocs(t *testing.T) {
	frames := map[string]string{
		"call action": string(benchCallAction),
		"mount":       `{"type":"COMPONENT_MOUNT","componentId":"mount-Counter","payload":{"component":"Counter","props":{},"room":"lobby","debugLabel":"x"},"requestId":"r"}`,
		"escaped":     `{"\u0074ype":"CALL_ACTION","componentId":"\u0041bc","action":"x\ny","requestId":"r"}`,
		"no strings":  `{"type":"AUTH","payload":{"token":"t"}}`,
	}
	for name, frame := range frames {
		t.Run(name, func(t *testing.T) {
			data := []byte(frame)
			allocs := testing.AllocsPerRun(100, func() {
				if _, err := Parse(data); err != nil {
					t.Fatal(err)
				}
			})
			want := 1.0
			if name == "no strings" {
				want = 0
			}
			if allocs > want {
				t.Errorf("Parse allocates %v times, want <= %v", allocs, want)
			}
		})
	}
}
