package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommittedFileIsCurrent fails when jsclient/protocol_gen.js differs from
// what the generator produces now: run `go generate ./jsclient`.
func TestCommittedFileIsCurrent(t *testing.T) {
	want, err := render()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join("..", "..", "protocol_gen.js"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("jsclient/protocol_gen.js is stale: run `go generate ./jsclient`\n--- generated ---\n%s", want)
	}
}

func TestRender(t *testing.T) {
	src, err := render()
	if err != nil {
		t.Fatal(err)
	}
	s := string(src)
	if !strings.HasPrefix(s, header+"\n") {
		t.Fatalf("missing generated-code header: %q", s[:min(len(s), 80)])
	}
	tests := []struct{ name, want string }{
		{"mount type", `  COMPONENT_MOUNT: "COMPONENT_MOUNT",`},
		{"origin close code", `  ORIGIN_REJECTED: 4003,`},
		{"abnormal close code", `  ABNORMAL: 1006,`},
		{"ws path", `  WS: "/api/live/ws",`},
		{"storage prefix", `  STORAGE_PREFIX: "fluxstack_component_",`},
		{"heartbeat", `  HEARTBEAT_MS: 30000,`},
		{"backoff cap", `  RECONNECT_CAP_MS: 16000,`},
		{"room pattern", `  ROOM_ID_PATTERN: "^[a-zA-Z0-9_:.-]{1,64}$",`},
		{"sub join", `  SUB_JOIN: "$sub:join",`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(s, tc.want+"\n") {
				t.Errorf("generated file lacks %q", tc.want)
			}
		})
	}
	// Every group is one frozen export, names unique.
	seen := map[string]bool{}
	for _, g := range groups() {
		if seen[g.name] {
			t.Errorf("duplicate export %s", g.name)
		}
		seen[g.name] = true
		names := map[string]bool{}
		for _, e := range g.entries {
			if names[e.name] {
				t.Errorf("%s: duplicate key %s", g.name, e.name)
			}
			names[e.name] = true
		}
	}
}
