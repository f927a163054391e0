package protocol

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// jsCase is one input of internal/msgpack/testdata/jscheck.js, an
// independent JavaScript reader of the binary frames.
type jsCase struct {
	Name        string     `json:"name"`
	Hex         string     `json:"hex"`
	JSON        string     `json:"json,omitempty"`
	Kind        int        `json:"kind,omitempty"`
	ComponentID string     `json:"componentId,omitempty"`
	RoomID      string     `json:"roomId,omitempty"`
	Event       string     `json:"event,omitempty"`
	PayloadHex  string     `json:"payloadHex,omitempty"`
	Fields      [][]string `json:"fields,omitempty"`
}

// TestJSDecoderReadsFrames feeds frames and state payloads written by this
// package's encoders to the JavaScript reader, which must find in them what
// was encoded. It skips when node is not installed.
func TestJSDecoderReadsFrames(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not on PATH: the JavaScript decoder check needs Node.js (apt-get install nodejs)")
	}
	var rooms, comps, states []jsCase

	// Room frames: payloads are hand-written msgpack.
	for _, r := range []struct {
		name        string
		kind        byte
		comp, room  string
		event, data string
		payload     string
	}{
		{"event", FrameRoomEvent, "AbCdEfGh", "lobby", "chat", `{"text":"hi"}`, "81 a4 74 65 78 74 a2 68 69"},
		{"system", FrameRoomEvent, "c1", "game:1", EventSubJoin, `{"subscriberId":"x","count":2}`,
			"82 ac 73 75 62 73 63 72 69 62 65 72 49 64 a1 78 a5 63 6f 75 6e 74 02"},
		{"state", FrameRoomState, "c2", "r", EventStateUpdate, `{"state":{"n":-1}}`, "81 a5 73 74 61 74 65 81 a1 6e ff"},
		{"long event", FrameRoomEvent, "", "r", strings.Repeat("é", 300), `null`, "c0"},
		{"unicode ids", FrameRoomEvent, "ç", "sala-ü", "ev", `[1.5]`, "91 cb 3f f8 00 00 00 00 00 00"},
	} {
		tail, err := AppendRoomFrameTail(nil, r.room, r.event, hx(t, r.payload))
		if err != nil {
			t.Fatal(err)
		}
		frame, err := AppendRoomFrame(nil, r.kind, r.comp, tail)
		if err != nil {
			t.Fatal(err)
		}
		rooms = append(rooms, jsCase{Name: r.name, Hex: hex.EncodeToString(frame), Kind: int(r.kind),
			ComponentID: r.comp, RoomID: r.room, Event: r.event, JSON: r.data})
	}

	// State payloads, inside 0x01 frames.
	codec, err := NewStateCodecFields([]StateField{
		{"u8", WireUint8}, {"u16", WireUint16}, {"u32", WireUint32}, {"i8", WireInt8}, {"i16", WireInt16},
		{"i32", WireInt32}, {"f32", WireFloat32}, {"f64", WireFloat64}, {"ok", WireBool}, {"name", WireString},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var fields [][]string
	for _, f := range codec.Fields() {
		fields = append(fields, []string{f.Name, f.Type.String()})
	}
	for i, s := range []struct{ delta, want string }{
		{`{"u8":200,"u16":65535,"u32":4294967295,"i8":-128,"i16":-32768,"i32":-2147483648,"f32":1.5,"f64":0.1,"ok":true,"name":"héllo 🎮"}`,
			`{"u8":200,"u16":65535,"u32":4294967295,"i8":-128,"i16":-32768,"i32":-2147483648,"f32":1.5,"f64":0.1,"ok":true,"name":"héllo 🎮"}`},
		{`{"name":"x","u8":256}`, `{"u8":0,"name":"x"}`},
		{`{"i8":128,"u32":4294967296,"ok":"yes"}`, `{"u32":0,"i8":-128,"ok":true}`},
		{`{"f32":0.1}`, `{"f32":0.10000000149011612}`},
		{`{"name":12.5,"u16":"0x10"}`, `{"u16":16,"name":"12.5"}`},
	} {
		bin, _, err := codec.EncodeJSON(nil, []byte(s.delta))
		if err != nil {
			t.Fatal(err)
		}
		states = append(states, jsCase{Name: fmt.Sprint("state ", i), Hex: hex.EncodeToString(bin), Fields: fields, JSON: s.want})
		frame, err := AppendComponentDelta(nil, "AbCdEfGh", bin)
		if err != nil {
			t.Fatal(err)
		}
		comps = append(comps, jsCase{Name: fmt.Sprint("frame ", i), Hex: hex.EncodeToString(frame),
			ComponentID: "AbCdEfGh", PayloadHex: hex.EncodeToString(bin)})
	}

	in, err := json.Marshal(map[string][]jsCase{"roomFrames": rooms, "componentDeltas": comps, "stateDeltas": states})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "../msgpack/testdata/jscheck.js")
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("jscheck.js: %v\n%s", err, out)
	}
	want := fmt.Sprintf("jscheck: %d ok, 0 failing", len(rooms)+len(comps)+len(states))
	if !strings.Contains(string(out), want) {
		t.Fatalf("jscheck output %q lacks %q", out, want)
	}
	t.Logf("%s", bytes.TrimSpace(out))
}
