package msgpack

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// jsCase is one input of testdata/jscheck.js.
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

// runJSCheck feeds the cases to the independent JavaScript decoder in
// testdata/jscheck.js. It skips when node is not installed.
func runJSCheck(t *testing.T, input map[string][]jsCase) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not on PATH: the JavaScript decoder check needs Node.js (apt-get install nodejs)")
	}
	in, err := json.Marshal(input)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "testdata/jscheck.js")
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("jscheck.js: %v\n%s", err, out)
	}
	total := 0
	for _, cs := range input {
		total += len(cs)
	}
	if !strings.Contains(string(out), "jscheck: ") || strings.Contains(string(out), "FAIL") {
		t.Fatalf("unexpected jscheck output:\n%s", out)
	}
	t.Logf("%s", bytes.TrimSpace(out))
	if want := "jscheck: " + itoa(total) + " ok, 0 failing"; !strings.Contains(string(out), want) {
		t.Fatalf("output %q lacks %q", out, want)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestJSDecoderReadsGoldens proves that a JavaScript decoder written
// independently of this package reads what the encoders write, and that
// room and component frames laid out as in the golden vectors parse in
// JavaScript.
func TestJSDecoderReadsGoldens(t *testing.T) {
	var mp []jsCase
	for _, g := range goldens {
		enc, err := AppendJSON(nil, []byte(g.json))
		if err != nil {
			t.Fatalf("%s: %v", g.name, err)
		}
		mp = append(mp, jsCase{Name: g.name, Hex: hex.EncodeToString(enc), JSON: g.decoded()})
	}
	for _, c := range []struct {
		name string
		v    any
		json string
	}{
		{"bin8", []byte{1, 2, 255}, `[1,2,255]`},
		{"bin16", bytes.Repeat([]byte{7}, 300), "[" + strings.TrimSuffix(strings.Repeat("7,", 300), ",") + "]"},
		{"Go map", map[string]any{"b": []any{1.5, nil}, "a": "x", "3": true}, `{"3":true,"a":"x","b":[1.5,null]}`},
	} {
		enc, err := Append(nil, c.v)
		if err != nil {
			t.Fatal(err)
		}
		mp = append(mp, jsCase{Name: c.name, Hex: hex.EncodeToString(enc), JSON: c.json})
	}
	rooms := []jsCase{
		{
			Name: "room event", Kind: 2, ComponentID: "AbCdEfGh", RoomID: "lobby", Event: "chat", JSON: `{"text":"hi"}`,
			// 02 | 08 "AbCdEfGh" | 05 "lobby" | 00 04 "chat" | {"text":"hi"}
			Hex: "02 08 41 62 43 64 45 66 47 68 05 6c 6f 62 62 79 00 04 63 68 61 74 81 a4 74 65 78 74 a2 68 69",
		},
		{
			Name: "room state", Kind: 3, ComponentID: "c1", RoomID: "r", Event: "$state:update", JSON: `{"state":{"count":5}}`,
			Hex: "03 02 63 31 01 72 00 0d 24 73 74 61 74 65 3a 75 70 64 61 74 65 81 a5 73 74 61 74 65 81 a5 63 6f 75 6e 74 05",
		},
		{
			Name: "event length above 255 is big-endian", Kind: 2, ComponentID: "", RoomID: "", Event: strings.Repeat("e", 256), JSON: `null`,
			Hex: "02 00 00 01 00 " + strings.Repeat("65 ", 256) + "c0",
		},
	}
	for i := range rooms {
		rooms[i].Hex = strings.ReplaceAll(rooms[i].Hex, " ", "")
	}
	comps := []jsCase{
		{Name: "component delta", ComponentID: "AbCdEfGh", PayloadHex: "01 2a",
			Hex: "01 08 41 62 43 64 45 66 47 68 01 2a"},
	}
	runJSCheck(t, map[string][]jsCase{"msgpack": mp, "roomFrames": rooms, "componentDeltas": comps})
}
