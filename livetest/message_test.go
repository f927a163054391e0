package livetest

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/live-go/live/internal/msgpack"
	"github.com/live-go/live/internal/protocol"
)

// view is what the tests compare of a Message.
type view struct {
	Type, ComponentID, RequestID, RoomID, Event, Action, Error string
	Success, Binary                                            bool
	Data                                                       string
}

func viewOf(m Message) view {
	return view{m.Type, m.ComponentID, m.RequestID, m.RoomID, m.Event, m.Action, m.Error, m.Success, m.Binary, string(m.Data)}
}

func roomFrame(t *testing.T, kind byte, comp, room, event string, data any) []byte {
	t.Helper()
	payload, err := msgpack.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	tail, err := protocol.AppendRoomFrameTail(nil, room, event, payload)
	if err != nil {
		t.Fatal(err)
	}
	f, err := protocol.AppendRoomFrame(nil, kind, comp, tail)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestParseFrame(t *testing.T) {
	delta, err := protocol.AppendComponentDelta(nil, "c1", []byte{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	jsonTail, err := protocol.AppendRoomFrameTail(nil, "r:1", "e", []byte(`{"a":[1,2]}`))
	if err != nil {
		t.Fatal(err)
	}
	jsonRoom, err := protocol.AppendRoomFrame(nil, protocol.FrameRoomEvent, "c1", jsonTail)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		binary bool
		frame  string
		want   []view
	}{
		{"emit", false, `{"type":"saved","componentId":"c1","payload":{"n":1}}`,
			[]view{{Type: "saved", ComponentID: "c1", Data: `{"n":1}`}}},
		{"emit null", false, `{"type":"saved","componentId":"c1","payload":null}`,
			[]view{{Type: "saved", ComponentID: "c1", Data: `null`}}},
		{"array", false, ` [{"type":"STATE_DELTA","componentId":"c1","payload":{"delta":{"n":2}},"seq":3},{"type":"ACTION_RESPONSE","componentId":"c1","success":true,"result":5,"requestId":"lt-2"}]`,
			[]view{
				{Type: "STATE_DELTA", ComponentID: "c1", Data: `{"n":2}`},
				{Type: "ACTION_RESPONSE", ComponentID: "c1", RequestID: "lt-2", Success: true, Data: "5"},
			}},
		{"state update", false, `{"type":"STATE_UPDATE","componentId":"c1","payload":{"state":{"n":0},"signedState":{}},"seq":0}`,
			[]view{{Type: "STATE_UPDATE", ComponentID: "c1", Data: `{"n":0}`}}},
		{"signature", false, `{"type":"STATE_SIGNATURE","componentId":"c1","payload":{"signedState":{"v":1}}}`,
			[]view{{Type: "STATE_SIGNATURE", ComponentID: "c1", Data: `{"v":1}`}}},
		{"protocol error", false, `{"type":"ERROR","error":"Rate limit exceeded"}`,
			[]view{{Type: "ERROR", Error: "Rate limit exceeded"}}},
		{"component error", false, `{"type":"ERROR","componentId":"c1","payload":{"action":"add","error":"bad"}}`,
			[]view{{Type: "ERROR", ComponentID: "c1", Action: "add", Error: "bad"}}},
		{"failed reply", false, `{"type":"MESSAGE_RESPONSE","componentId":"mount-X","success":false,"error":"Component 'X' not found","requestId":"lt-1"}`,
			[]view{{Type: "MESSAGE_RESPONSE", ComponentID: "mount-X", RequestID: "lt-1", Error: "Component 'X' not found"}}},
		{"broadcast", false, `{"type":"BROADCAST","componentId":"c2","payload":{"type":"shout","data":"hi"},"room":"lobby"}`,
			[]view{{Type: "BROADCAST", ComponentID: "c2", RoomID: "lobby", Event: "shout", Data: `"hi"`}}},
		{"room event", false, `{"componentId":"c1","type":"ROOM_EVENT","roomId":"r:1","event":"typing","data":{"on":true},"timestamp":1}`,
			[]view{{Type: "ROOM_EVENT", ComponentID: "c1", RoomID: "r:1", Event: "typing", Data: `{"on":true}`}}},
		{"room joined reply", false, `{"type":"ROOM_JOINED","componentId":"c1","payload":{"roomId":"r:1","state":{"a":1}},"requestId":"lt-3"}`,
			[]view{{Type: "ROOM_JOINED", ComponentID: "c1", RoomID: "r:1", RequestID: "lt-3", Data: `{"a":1}`}}},
		{"auth response", false, `{"type":"AUTH_RESPONSE","success":false,"payload":{"authenticated":false,"error":"Authentication failed"}}`,
			[]view{{Type: "AUTH_RESPONSE", Data: `{"authenticated":false,"error":"Authentication failed"}`}}},
		{"wrong member types", false, `{"type":1,"componentId":["x"],"success":"yes","payload":"p","seq":-1}`,
			[]view{{Data: `"p"`}}},
		{"not json", false, `{"type":`, []view{{Type: TypeInvalid, Error: "unexpected end of JSON input"}}},
		{"not an object", false, `42`, []view{{Type: TypeInvalid, Error: "json: cannot unmarshal number into Go value of type map[string]json.RawMessage"}}},
		{"array of non-objects", false, `[1,{"type":"A"}]`, []view{
			{Type: TypeInvalid, Error: "json: cannot unmarshal number into Go value of type map[string]json.RawMessage"},
			{Type: "A", Data: ""},
		}},
		{"bad array", false, `[{"type":"A"},`, []view{{Type: TypeInvalid, Error: "unexpected end of JSON input"}}},
		{"room frame", true, string(roomFrame(t, protocol.FrameRoomEvent, "c1", "game:1", "move", map[string]any{"x": 1})),
			[]view{{Type: "ROOM_EVENT", ComponentID: "c1", RoomID: "game:1", Event: "move", Binary: true, Data: `{"x":1}`}}},
		{"room state frame", true, string(roomFrame(t, protocol.FrameRoomState, "c1", "game:1", "$state:update", map[string]any{"round": 2})),
			[]view{{Type: "ROOM_STATE", ComponentID: "c1", RoomID: "game:1", Event: "$state:update", Binary: true, Data: `{"round":2}`}}},
		{"json room frame", true, string(jsonRoom),
			[]view{{Type: "ROOM_EVENT", ComponentID: "c1", RoomID: "r:1", Event: "e", Binary: true, Data: `{"a":[1,2]}`}}},
		{"one-byte payload is msgpack", true, string(roomFrame(t, protocol.FrameRoomEvent, "c1", "r", "n", 53)),
			[]view{{Type: "ROOM_EVENT", ComponentID: "c1", RoomID: "r", Event: "n", Binary: true, Data: `53`}}},
		{"component delta", true, string(delta), []view{{Type: TypeBinaryDelta, ComponentID: "c1", Binary: true}}},
		{"short room frame", true, "\x02\x01c", []view{{Type: TypeBinary, Binary: true, Error: "protocol: binary frame too short: 3 bytes, need 6"}}},
		{"unknown binary", true, "\x09abc", []view{{Type: TypeBinary, Binary: true, Error: "unknown binary frame type 0x09"}}},
		{"empty binary", true, "", []view{{Type: TypeBinary, Binary: true, Error: "empty binary frame"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseFrame(tt.binary, []byte(tt.frame))
			views := make([]view, len(got))
			for i, m := range got {
				views[i] = viewOf(m)
			}
			if diff := cmp.Diff(tt.want, views, cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("parseFrame (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseFrameOwnsBytes(t *testing.T) {
	buf := []byte(`{"type":"saved","componentId":"c1","payload":{"n":1}}`)
	m := parseFrame(false, buf)[0]
	for i := range buf {
		buf[i] = 'x'
	}
	if string(m.Data) != `{"n":1}` || m.Raw[0] != '{' {
		t.Fatalf("message aliases the frame buffer: %s", m.Raw)
	}
}

func TestMessageDecode(t *testing.T) {
	m := parseFrame(false, []byte(`{"type":"saved","componentId":"c1","payload":{"n":1}}`))[0]
	var v struct{ N int }
	if err := m.Decode(&v); err != nil || v.N != 1 {
		t.Fatalf("Decode = %+v, %v", v, err)
	}
	if err := (Message{Type: "X"}).Decode(&v); err == nil {
		t.Fatal("Decode of a message without data succeeded")
	}
	var s string
	if err := m.Decode(&s); err == nil {
		t.Fatal("Decode into the wrong type succeeded")
	}
	if got := m.String(); got != string(m.Raw) {
		t.Fatalf("String = %q", got)
	}
	if got := (Message{Type: TypeBinary, Binary: true, Raw: []byte{1, 2}}).String(); got != "BINARY 0102" {
		t.Fatalf("binary String = %q", got)
	}
}

func TestApplyMirror(t *testing.T) {
	c := &Conn{tracks: map[string]*track{}}
	for _, f := range []string{
		`{"type":"STATE_UPDATE","componentId":"c1","payload":{"state":{"n":1,"o":{"a":1,"b":2}},"signedState":{"v":1}},"seq":2}`,
		`{"type":"STATE_DELTA","componentId":"c1","payload":{"delta":{"n":9}},"seq":2}`,          // stale
		`{"type":"STATE_DELTA","componentId":"c1","payload":{"delta":{"o":{"b":null}}},"seq":3}`, // nested null deletes
		`{"type":"STATE_DELTA","componentId":"c1","payload":{"delta":{"big":9007199254740993}},"seq":4}`,
		`{"type":"STATE_SIGNATURE","componentId":"c1","payload":{"signedState":{"v":2}}}`,
		`{"type":"saved","componentId":"c1","payload":{"n":1}}`,
	} {
		m := parseFrame(false, []byte(f))[0]
		c.apply(&m)
	}
	tr := c.tracks["c1"]
	want := map[string]any{"n": json.Number("1"), "o": map[string]any{"a": json.Number("1")}, "big": json.Number("9007199254740993")}
	if diff := cmp.Diff(want, tr.state); diff != "" {
		t.Fatalf("mirror (-want +got):\n%s", diff)
	}
	if string(tr.signed) != `{"v":2}` || tr.seq != 4 {
		t.Fatalf("signed %s seq %d", tr.signed, tr.seq)
	}
	comp := &Component{conn: c, id: "c1"}
	var v struct{ Big int64 }
	if err := comp.DecodeErr(&v); err != nil || v.Big != 9007199254740993 {
		t.Fatalf("exact decode = %d, %v", v.Big, err)
	}
	if got := comp.State()["n"]; got != 1.0 {
		t.Fatalf("State()[n] = %#v, want float64 1", got)
	}
}
